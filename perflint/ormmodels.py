"""ORM models the project defines, read from their class definitions.

Django models and SQLAlchemy mapped classes, their relations (ForeignKey, OneToOne,
ManyToMany, generic relations, reverse accessors; ``relationship()`` with its ``lazy=``
setting and ``backref``) and their properties/methods that run queries. A model is
usually defined in one file and used in another, so the per-file pass only records what
it sees, as JSON-safe "model" records in ``FileResult.schema_records``; the project
phase (perflint.schema) joins them with the findings that depend on them
(SchemaCheck kinds ``lazy_relation`` and ``querying_member``).

A class counts as a model only on evidence the code shows: a base that resolves (through
the imports) to ``django.db.models.Model`` or a SQLAlchemy declarative base, a
``__tablename__``, or a field / ``relationship()`` constructor that resolves to Django or
SQLAlchemy. Look-alike names from elsewhere are never taken for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context
from perflint.cstutil import dotted_name, iter_subtree
from perflint.queries import classify_call

# Files that can define a model: a Django field or model base, a mapped class's marker, a
# ``relationship()``. Others are not watched at all.
MODEL_CANDIDATE = re.compile(
    r"Model\b|Field\(|ForeignKey|__tablename__|__table__|relationship\(|get_queryset|REST_FRAMEWORK")
# Framework settings dicts whose keys findings depend on (DRF's default pagination).
_SETTINGS_DICTS = frozenset({"REST_FRAMEWORK"})
# A member record lists at most this many ``self.<attr>`` uses (records stay small).
_MAX_USES = 16
# Access kinds of ``self.<attr>`` inside a member, strongest first (one kept per attr).
_ACCESS_ORDER = ("manager_always", "manager", "call", "read")
_PROPERTY_DECORATORS = frozenset({"property", "cached_property", "functools.cached_property",
                                  "django.utils.functional.cached_property"})


@dataclass
class _Member:
    """A property or method of a model class, as far as its body has been read."""

    kind: str  # "property" | "method"
    queries: bool = False
    uses: dict[str, str] = field(default_factory=dict)  # attr of self -> access kind

    def use(self, attr: str, access: str) -> None:
        previous = self.uses.get(attr)
        if previous is None and len(self.uses) >= _MAX_USES:
            return
        if previous is None or _ACCESS_ORDER.index(access) < _ACCESS_ORDER.index(previous):
            self.uses[attr] = access

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "queries": self.queries, "uses": dict(sorted(self.uses.items()))}


@dataclass
class _ModelClass:
    name: str
    orm: str  # "django" | "sqlalchemy"
    node: cst.ClassDef
    bases: list[str]
    relations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # target model -> {accessor: relation} it gains (Django reverse accessors, backrefs)
    reverse: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, _Member] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)  # attribute -> manager class
    # ``class Base(DeclarativeBase)``: the base mapped classes extend, not one itself
    declarative_base: bool = False

    def records(self, module: str) -> list[dict[str, Any]]:
        if self.declarative_base and not self.relations:
            return []
        members = {name: member.to_json() for name, member in sorted(self.members.items())
                   if member.queries or member.uses}
        records: list[dict[str, Any]] = [{
            "op": "model", "table": self.name, "orm": self.orm, "module": module,
            "bases": self.bases, "relations": self.relations, "members": members,
            "managers": self.managers,
        }]
        for target, relations in sorted(self.reverse.items()):
            records.append({"op": "model", "table": target, "orm": self.orm, "reverse": True,
                            "relations": relations})
        return records


class ModelCollector:
    """The engine's visitor for model classes (registered next to FactCollector)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._classes: list[_ModelClass | None] = []
        self._members: list[_Member | None] = []
        self._local_models: dict[str, str] = {}  # model classes of this file -> orm

    # -- classes ------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef, ctx: Context) -> None:
        model = _model_class(node, ctx, self._local_models)
        if model is not None:
            self._local_models[model.name] = model.orm
        elif _eager_manager(node):
            # ``get_queryset()`` that select_related/prefetch_related: the models that use
            # this manager load relations the code at the query site does not show
            self.records.append({"op": "eager_manager", "table": node.name.value})
        self._classes.append(model)

    def leave_ClassDef(self, node: cst.ClassDef, ctx: Context) -> None:
        model = self._classes.pop()
        if model is not None:
            self.records.extend(model.records(ctx.summary.summary.module))

    # -- settings -------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign, ctx: Context) -> None:
        """``REST_FRAMEWORK = {...}`` in a settings module: the keys it sets."""
        if ctx.frame.kind != "module" or len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name) and target.value in _SETTINGS_DICTS:
            self.records.append({"op": "setting", "table": target.value, "keys": _dict_keys(node.value)})
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) \
                and target.value.value in _SETTINGS_DICTS:
            key = target.slice[0].slice if len(target.slice) == 1 else None
            text = key.value.evaluated_value if isinstance(key, cst.Index) and isinstance(
                key.value, cst.SimpleString) else None
            self.records.append({"op": "setting", "table": target.value.value,
                                 "keys": [text] if isinstance(text, str) else ["*"]})

    # -- members --------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef, ctx: Context) -> None:
        owner = self._classes[-1] if self._classes else None
        if owner is None or ctx.frame.node is not owner.node:
            # a nested def keeps reporting to the member around it (its body may run there)
            self._members.append(self._members[-1] if self._members else None)
            return
        kind = _member_kind(node)
        member = None
        if kind is not None and not (node.name.value.startswith("__") and node.name.value.endswith("__")):
            member = owner.members.setdefault(node.name.value, _Member(kind))
        self._members.append(member)

    def leave_FunctionDef(self, node: cst.FunctionDef, ctx: Context) -> None:
        if self._members:
            self._members.pop()

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        member = self._members[-1] if self._members else None
        if member is None:
            return
        query = classify_call(node, ctx)
        if query is not None and not query.is_write and not query.is_ddl:
            member.queries = True
            return
        use = self_use(node)
        if use is not None:
            member.use(*use)

    def visit_Attribute(self, node: cst.Attribute, ctx: Context) -> None:
        member = self._members[-1] if self._members else None
        if member is None or not isinstance(node.value, cst.Name) or node.value.value != "self":
            return
        parent = ctx.parents[-1] if ctx.parents else None
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if _is_called_attribute(parent, ctx):
                return  # ``self.tags.count()``: visit_Call sees the whole chain
            member.use(node.attr.value, "read")
        elif not (isinstance(parent, cst.Call) and parent.func is node):
            member.use(node.attr.value, "read")


def _dict_keys(value: cst.BaseExpression) -> list[str]:
    """Keys a settings dict literal sets to something (``None`` sets nothing); ["*"] when
    the value is not a literal we can read (``{**BASE, ...}``, ``dict(...)``)."""
    if not isinstance(value, cst.Dict):
        return ["*"]
    keys: list[str] = []
    for element in value.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return ["*"]
        key = element.key.evaluated_value
        if not isinstance(key, str):
            return ["*"]
        if not (isinstance(element.value, cst.Name) and element.value.value == "None"):
            keys.append(key)
    return keys


def _eager_manager(node: cst.ClassDef) -> bool:
    """A manager class (a base named ``...Manager``) whose ``get_queryset`` loads relations."""
    if not isinstance(node.body, cst.IndentedBlock) or not any(
            (dotted_name(arg.value) or "").endswith("Manager") for arg in node.bases):
        return False
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "get_queryset":
            for sub in iter_subtree(statement):
                if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) \
                        and sub.func.attr.value in kb.DJANGO_EAGER_METHODS:
                    return True
    return False


def _is_called_attribute(attribute: cst.Attribute, ctx: Context) -> bool:
    grand = ctx.parents[-2] if len(ctx.parents) >= 2 else None
    return isinstance(grand, cst.Call) and grand.func is attribute


def self_use(call: cst.Call) -> tuple[str, str] | None:
    """(attr, access) for ``self.<attr>.<method>(...)`` (a manager call: cached methods a
    prefetch serves, or ``manager_always`` for the ones that query anyway) or
    ``self.<method>(...)`` ("call")."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    value = func.value
    if isinstance(value, cst.Name) and value.value == "self":
        return func.attr.value, "call"
    methods = [func.attr.value]
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        methods.append(value.func.attr.value)
        value = value.func.value
    if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == "self":
        access = manager_access(list(reversed(methods)))
        if access is not None:
            return value.attr.value, access
        return value.attr.value, "read"
    return None


def manager_access(methods: list[str]) -> str | None:
    """How a chain of calls on a related manager queries: "manager" when a prefetch cache
    serves it (``.all()``, ``.count()``), "manager_always" when it runs a new query anyway
    (``.filter(...).first()``), None when the first call is not a manager method (or a
    write: PFL203's)."""
    if not methods:
        return None
    first = methods[0]
    if first in kb.RELATED_MANAGER_WRITE_METHODS:
        return None
    if len(methods) == 1 and first in kb.RELATED_MANAGER_CACHED_METHODS:
        return "manager"
    if all(m in kb.DJANGO_QUERYSET_BUILDERS or m in kb.DJANGO_QUERY_TERMINALS
           or m in kb.RELATED_MANAGER_CACHED_METHODS or m in kb.SQLALCHEMY_QUERY_BUILDERS
           or m in kb.SQLALCHEMY_QUERY_TERMINALS for m in methods):
        if all(m in kb.RELATED_MANAGER_CACHED_METHODS for m in methods):
            return "manager"
        return "manager_always"
    return None


def _member_kind(node: cst.FunctionDef) -> str | None:
    names = [dotted_name(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator) or ""
             for d in node.decorators]
    if any(name in _PROPERTY_DECORATORS or name.rpartition(".")[2] == "cached_property" for name in names):
        return "property"
    if any(name in ("staticmethod", "classmethod") or name.endswith((".setter", ".deleter"))
           for name in names):
        return None
    return "method"


# -- which classes are models ------------------------------------------------------------
def _model_class(node: cst.ClassDef, ctx: Context, local: dict[str, str]) -> _ModelClass | None:
    bases = [arg.value for arg in node.bases if arg.keyword is None]
    orm = None
    declarative = False
    flask_db: str | None = None  # ``db`` of ``class Book(db.Model)`` (Flask-SQLAlchemy)
    for base in bases:
        qualified = ctx.qualified_name(base) or ""
        dotted = dotted_name(base) or ""
        if qualified in kb.DJANGO_MODEL_BASES:
            orm = "django"
        elif qualified in kb.SQLALCHEMY_DECLARATIVE_BASES:
            orm, declarative = "sqlalchemy", True
        elif dotted in local:
            orm = local[dotted]
        if dotted.endswith(".Model") and dotted.count(".") == 1:
            flask_db = dotted.partition(".")[0]
    statements = _class_statements(node)
    for _name, value, _annotation in statements:
        if orm is not None:
            break
        if isinstance(value, cst.Call):
            if _django_field(value, ctx) is not None:
                orm = "django"
            elif _is_relationship(value, ctx, flask_db) or _is_flask_column(value, flask_db):
                orm = "sqlalchemy"
    marked = any(name in kb.SQLALCHEMY_MODEL_MARKERS for name, _, _ in statements)
    if orm is None and marked:
        orm = "sqlalchemy"
    if orm is None:
        return None
    model = _ModelClass(node.name.value, orm, node,
                        [(dotted_name(base) or "").rpartition(".")[2] for base in bases if dotted_name(base)])
    model.declarative_base = declarative and not marked
    if orm == "django":
        _django_relations(model, statements, ctx)
        model.managers = _django_managers(statements)
    else:
        _sqlalchemy_relations(model, statements, ctx, flask_db)
    return model


def _is_flask_column(call: cst.Call, flask_db: str | None) -> bool:
    """``db.Column(...)`` in ``class Book(db.Model)``: the same ``db`` on both sides."""
    dotted = dotted_name(call.func) or ""
    return flask_db is not None and dotted in (f"{flask_db}.Column", f"{flask_db}.mapped_column")


def _class_statements(node: cst.ClassDef) -> list[tuple[str, cst.BaseExpression | None, cst.BaseExpression | None]]:
    """(name, value, annotation) of each ``name = value`` / ``name: T = value`` in the body."""
    found: list[tuple[str, cst.BaseExpression | None, cst.BaseExpression | None]] = []
    if not isinstance(node.body, cst.IndentedBlock):
        return found
    for statement in node.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                    and isinstance(small.targets[0].target, cst.Name):
                found.append((small.targets[0].target.value, small.value, None))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                found.append((small.target.value, small.value, small.annotation.annotation))
    return found


# -- Django ----------------------------------------------------------------------------
def _django_field(call: cst.Call, ctx: Context) -> str | None:
    """The relation kind of a Django relation field constructor, "" for any other Django
    model field, None when the call is not a Django field."""
    qualified = ctx.qualified_name(call.func)
    if qualified is None or not qualified.startswith(kb.DJANGO_FIELD_PACKAGES):
        return None
    last = qualified.rpartition(".")[2]
    if last in kb.DJANGO_RELATION_FIELDS:
        return kb.DJANGO_RELATION_FIELDS[last]
    return "" if last.endswith("Field") else None


def _django_relations(model: _ModelClass, statements: list[tuple[str, Any, Any]], ctx: Context) -> None:
    meta = _django_meta(model.node)
    abstract = meta.get("abstract") == "True"
    for name, value, _annotation in statements:
        if not isinstance(value, cst.Call):
            continue
        kind = _django_field(value, ctx)
        if not kind:
            continue
        target = "" if kind == "generic" else _django_target(value, model.name)
        model.relations[name] = {"kind": kind, "target": target, "lazy": "select",
                                 "many": kind in kb.TO_MANY_RELATIONS}
        if abstract or not target or kind.startswith("generic"):
            continue  # an abstract model's accessors belong to each concrete subclass
        accessor = _django_reverse_name(value, kind, model.name, meta.get("default_related_name"))
        if accessor:
            reverse_kind = {"fk": "reverse_fk", "o2o": "reverse_o2o", "m2m": "m2m"}[kind]
            model.reverse.setdefault(target, {})[accessor] = {
                "kind": reverse_kind, "target": model.name, "lazy": "select",
                "many": reverse_kind != "reverse_o2o"}


def _django_managers(statements: list[tuple[str, Any, Any]]) -> dict[str, str]:
    """``objects = BookManager()`` / ``objects = BookQuerySet.as_manager()``: attr -> class."""
    managers: dict[str, str] = {}
    for name, value, _annotation in statements:
        if not isinstance(value, cst.Call):
            continue
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("as_manager", "from_queryset"):
            func = func.value
        dotted = dotted_name(func) or ""
        last = dotted.rpartition(".")[2]
        if last.endswith(("Manager", "QuerySet")) and last not in ("Manager", "QuerySet"):
            managers[name] = last
    return managers


def _django_meta(node: cst.ClassDef) -> dict[str, str]:
    """``class Meta:`` settings that change relations: abstract, default_related_name."""
    found: dict[str, str] = {}
    if not isinstance(node.body, cst.IndentedBlock):
        return found
    for statement in node.body.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value == "Meta":
            for name, value, _ in _class_statements(statement):
                if isinstance(value, cst.Name):
                    found[name] = value.value
                elif isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                    found[name] = value.evaluated_value
    return found


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _first_positional(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
    return None


def _django_target(call: cst.Call, own: str) -> str:
    """The related model's class name; "" when the code does not say (``settings.AUTH_USER_MODEL``)."""
    value = _keyword(call, "to") or _first_positional(call)
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        text = value.evaluated_value.strip()
        return own if text == "self" else text.rpartition(".")[2]
    dotted = dotted_name(value) if value is not None else None
    if dotted is None or dotted.split(".")[0] == "settings":
        return ""
    return dotted.rpartition(".")[2]


def _django_reverse_name(call: cst.Call, kind: str, own: str, default: str | None) -> str | None:
    """The accessor the related model gains: ``related_name``, the Meta default, else
    ``<model>_set`` (one-to-one: ``<model>``); None for ``+`` or a name the code does not show."""
    value = _keyword(call, "related_name")
    text: str | None
    if value is None:
        text = default
        if text is None:
            return own.lower() if kind == "o2o" else f"{own.lower()}_set"
    elif isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        text = value.evaluated_value
    else:
        return None
    text = text.replace("%(class)s", own.lower())
    if "%(" in text or text.endswith("+") or not text.isidentifier():
        return None
    return text


# -- SQLAlchemy --------------------------------------------------------------------------
def _is_relationship(call: cst.Call, ctx: Context, flask_db: str | None) -> bool:
    qualified = ctx.qualified_name(call.func)
    if qualified in kb.SQLALCHEMY_RELATIONSHIP_FUNCTIONS:
        return True
    dotted = dotted_name(call.func) or ""
    head, _, last = dotted.rpartition(".")
    return flask_db is not None and head == flask_db and last in kb.SQLALCHEMY_RELATIONSHIP_NAMES


def _sqlalchemy_relations(model: _ModelClass, statements: list[tuple[str, Any, Any]], ctx: Context,
                          flask_db: str | None) -> None:
    for name, value, annotation in statements:
        if not isinstance(value, cst.Call) or not _is_relationship(value, ctx, flask_db):
            continue
        target = _sqlalchemy_target(value, annotation)
        dynamic = (dotted_name(value.func) or "").endswith("dynamic_loader")
        lazy = "dynamic" if dynamic else _lazy_setting(_keyword(value, "lazy"))
        model.relations[name] = {"kind": "relationship", "target": target, "lazy": lazy,
                                 "many": _sqlalchemy_many(value, annotation)}
        backref = _keyword(value, "backref")
        if backref is not None and target:
            accessor, backref_lazy = _backref(backref)
            if accessor:
                model.reverse.setdefault(target, {})[accessor] = {
                    "kind": "relationship", "target": model.name, "lazy": backref_lazy, "many": None}


def _lazy_setting(value: cst.BaseExpression | None) -> str:
    """``lazy=`` as one word: the string, or what True/False/None stand for."""
    if value is None:
        return "select"
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    if isinstance(value, cst.Name):
        return {"True": "select", "False": "joined", "None": "noload"}.get(value.value, "unknown")
    return "unknown"  # computed: never taken for lazy


def _sqlalchemy_target(call: cst.Call, annotation: cst.BaseExpression | None) -> str:
    value = _keyword(call, "argument") or _first_positional(call)
    if isinstance(value, cst.Lambda):
        value = value.body
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        text = value.evaluated_value.strip()
        return text.rpartition(".")[2] if text.replace(".", "").replace("_", "").isalnum() else ""
    if value is not None:
        dotted = dotted_name(value)
        return dotted.rpartition(".")[2] if dotted else ""
    return _annotated_target(annotation)


def _annotated_target(annotation: cst.BaseExpression | None) -> str:
    """``Mapped["Author"]``, ``Mapped[Optional[Author]]``, ``Mapped[list["Tag"]]`` -> the class."""
    node = annotation
    while isinstance(node, cst.Subscript):
        elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
        if not elements:
            return ""
        node = elements[0]
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        text = node.evaluated_value.strip()
        inner = text.rpartition("[")[2].rstrip("]").split("|")[0].strip()
        return inner.rpartition(".")[2] if inner.replace(".", "").replace("_", "").isalnum() else ""
    dotted = dotted_name(node) if node is not None else None
    return dotted.rpartition(".")[2] if dotted else ""


def _sqlalchemy_many(call: cst.Call, annotation: cst.BaseExpression | None) -> bool | None:
    uselist = _keyword(call, "uselist")
    if isinstance(uselist, cst.Name) and uselist.value in ("True", "False"):
        return uselist.value == "True"
    if isinstance(annotation, cst.Subscript):
        inner = annotation.slice[0].slice if annotation.slice else None
        if isinstance(inner, cst.Index):
            text = cst.Module([]).code_for_node(inner.value)
            head = text.strip("'\"").split("[")[0].rpartition(".")[2]
            if head in ("list", "List", "set", "Set", "Sequence", "Collection", "WriteOnlyMapped",
                        "DynamicMapped"):
                return True
            return False
    return None


def _backref(value: cst.BaseExpression) -> tuple[str | None, str]:
    """(accessor, lazy) of ``backref="books"`` or ``backref=backref("books", lazy=...)``."""
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value, "select"
    if isinstance(value, cst.Call):
        first = _first_positional(value)
        if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
            return first.evaluated_value, _lazy_setting(_keyword(value, "lazy"))
    return None, "select"
