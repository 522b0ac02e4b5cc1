"""The project's schema: tables, column types and the indexes that can serve a lookup.

Built in the project phase from DDL records (see schema_ddl.py, which reads them out of
``.sql`` files with sqlglot) applied in path order, the way migrations run. Plain data,
no sqlglot: a warm run evaluates cached findings against it without importing a parser.

Findings that depend on the schema (PFL109 implicit-cast, PFL113 missing-index, PFL103's
"unless an expression index exists") leave the per-file pass carrying a SchemaCheck and
are decided here, once every file has been read. A table the schema does not know is
never guessed about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# Column type families, as schema_ddl.py classifies declared types.
NUMBER, STRING, TEMPORAL, BOOLEAN, OTHER = "number", "string", "temporal", "boolean", "other"


@dataclass(frozen=True)
class SchemaCheck:
    """The condition under which a SQL finding stands.

    kind ``unindexed``: none of ``columns`` of ``table`` leads any index (PK, UNIQUE,
    KEY, CREATE INDEX) or is in a partial index's predicate, and not all of them are booleans; ``type_mismatch``: ``columns[0]`` has a type of another family
    than the literal kind in ``value`` ("number" or "string"); ``no_expression_index``:
    no expression index on ``table`` matches the expression key in ``value`` (stands for
    tables the schema does not know: that rule needs no schema).

    ORM models (``table`` is a model class name; ``origin`` the module the code imports it
    from, which picks among models of the same name): ``lazy_relation``: following
    ``columns[:-1]`` through to-one relations, ``columns[-1]`` is a relation that runs a
    query when used as ``value`` says: "read" (a Django to-one relation, a SQLAlchemy
    ``relationship`` with ``lazy="select"``) or "manager" (a Django related manager, a
    ``lazy="dynamic"`` relationship); ``querying_member``: ``columns[0]`` is a ``value``
    ("property" | "method") of the model whose body runs a query, itself or through a
    relation not in ``covered`` (the relations the rows were loaded with); ``model``: a
    model of that name is defined.

    Settings: ``unset_setting``: the project defines the settings dict ``table``
    (``REST_FRAMEWORK``) and none of ``columns`` is among its keys.
    """

    kind: str
    table: str
    columns: tuple[str, ...] = ()
    value: str = ""
    origin: str = ""
    covered: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "table": self.table, "columns": list(self.columns),
                                "value": self.value}
        if self.origin:
            data["origin"] = self.origin
        if self.covered:
            data["covered"] = list(self.covered)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaCheck:
        return cls(str(data["kind"]), str(data["table"]), tuple(map(str, data["columns"])),
                   str(data.get("value", "")), str(data.get("origin", "")),
                   tuple(map(str, data.get("covered", ()))))


@dataclass
class Index:
    name: str
    columns: tuple[str, ...]  # plain columns, in index order ("" where an expression sits)
    expressions: tuple[str, ...] = ()  # expression keys (schema_ddl.expression_key)
    unique: bool = False
    predicate_columns: tuple[str, ...] = ()  # a partial index's WHERE columns

    @property
    def leading(self) -> str:
        return self.columns[0] if self.columns else ""


@dataclass
class Table:
    name: str
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (declared type, family)
    indexes: list[Index] = field(default_factory=list)

    def leading_columns(self) -> set[str]:
        return {index.leading for index in self.indexes if index.leading}

    def served_columns(self) -> set[str]:
        """Columns a filter on which some index serves: leading columns, and the columns of
        a partial index's predicate (``WHERE status = 'doing'``: such a query reads its rows)."""
        return self.leading_columns() | {c for index in self.indexes for c in index.predicate_columns}


@dataclass
class Model:
    """An ORM model class the project defines (see perflint.ormmodels for the records)."""

    name: str
    orm: str  # "django" | "sqlalchemy"
    module: str
    bases: list[str] = field(default_factory=list)
    relations: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)  # attribute -> custom manager class


# Relation kinds (perflint.ormmodels) by what using them costs; kept here as well so that
# deciding cached findings never imports the knowledge of libraries the rules use.
_TO_ONE = frozenset({"fk", "o2o", "reverse_o2o", "generic"})
_TO_MANY = frozenset({"m2m", "reverse_fk", "generic_many"})
_SQLALCHEMY_LAZY = {"read": frozenset({"select"}), "manager": frozenset({"dynamic"})}
_MAX_MODEL_DEPTH = 6  # bases and member calls followed this deep


def _same_module(defined: str, imported: str) -> bool:
    """Module names from paths carry the directories above the import root
    (``fixtures.shop.app.models`` for ``app.models``), and a package may re-export its
    submodules' classes (``app.models`` for ``app.models.book``): the imported name must
    be a run of the defining module's components, or the other way round."""
    return f".{imported}." in f".{defined}." or f".{defined}." in f".{imported}."


def table_key(name: str) -> str:
    """Tables are matched by their unqualified, case-folded name (``public.Users`` = ``users``)."""
    return name.rsplit(".", 1)[-1].strip('"`[]').lower()


_NATURAL_PART = re.compile(r"(\d+)")


def natural_path_key(path: str) -> list[Any]:
    """Path order as migration tools number files: ``V2__`` before ``V10__``."""
    return [int(part) if part.isdigit() else part.lower() for part in _NATURAL_PART.split(path)]


class Schema:
    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self._index_table: dict[str, str] = {}  # index name -> table key, for DROP INDEX
        # ORM models by class name (two apps may both define one), kept apart from the DDL
        # tables: a model is not a table's columns, and neither replaces the other.
        self.models: dict[str, list[Model]] = {}
        # accessors a model gains from relations declared on others (Django reverse
        # accessors, SQLAlchemy backrefs), by the model's name and ORM
        self.reverse_relations: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # custom manager / queryset classes whose get_queryset loads relations
        self.eager_managers: set[str] = set()
        # framework settings the project's settings modules define (``REST_FRAMEWORK``): the
        # keys each one sets ("*" when the code changes it in ways not read)
        self.settings: dict[str, set[str]] = {}

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Schema:
        schema = cls()
        for record in records:
            try:
                schema.apply(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a tampered cache entry must not stop the run
        return schema

    def __bool__(self) -> bool:
        return bool(self.tables or self.models)

    def apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        key = table_key(record.get("table", ""))
        if op == "model":
            self._add_model(key, record)
        elif op == "eager_manager":
            self.eager_managers.add(str(record["table"]))
        elif op == "setting":
            self.settings.setdefault(str(record["table"]), set()).update(map(str, record["keys"]))
        elif op == "table":
            table = Table(key)
            for name, declared, family in record["columns"]:
                table.columns[name.lower()] = (declared, family)
            self.tables[key] = table
            for index in record.get("indexes", []):
                self._add_index(key, index)
        elif op == "index":
            self._add_index(key, record)
        elif op == "add_column":
            table = self.tables.get(key)
            if table is not None:
                column = record["column"].lower()
                table.columns[column] = (record["type"], record["family"])
                if record.get("indexed"):
                    table.indexes.append(Index(f"{key}_{column}", (column,), unique=True))
        elif op == "drop_table":
            self.tables.pop(key, None)
        elif op == "drop_index":
            owner = self._index_table.pop(record["name"].lower(), None)
            if owner in self.tables:
                table = self.tables[owner]
                table.indexes = [i for i in table.indexes if i.name.lower() != record["name"].lower()]

    def _add_model(self, key: str, record: dict[str, Any]) -> None:
        # Shapes checked here (a tampered cache entry fails now, inside from_records' guard,
        # not later while findings are decided).
        relations = {str(name): {str(k): v for k, v in relation.items()}
                     for name, relation in record["relations"].items()}
        if record.get("reverse"):
            self.reverse_relations.setdefault((key, str(record["orm"])), {}).update(relations)
            return
        members = {}
        for name, member in record.get("members", {}).items():
            uses = {str(attr): str(access) for attr, access in dict(member.get("uses", {})).items()}
            members[str(name)] = {"kind": str(member.get("kind", "")), "queries": bool(member.get("queries")),
                                  "uses": uses}
        managers = {str(attr): str(cls) for attr, cls in dict(record.get("managers", {})).items()}
        self.models.setdefault(key, []).append(Model(
            str(record["table"]), str(record["orm"]), str(record.get("module", "")),
            [str(base) for base in record.get("bases", [])], relations, members, managers))

    def _add_index(self, key: str, record: dict[str, Any]) -> None:
        table = self.tables.get(key)
        if table is None:
            return
        name = str(record.get("name") or f"{key}_{len(table.indexes)}")
        index = Index(name, tuple(c.lower() for c in record.get("columns", [])),
                      tuple(record.get("expressions", [])), bool(record.get("unique")),
                      tuple(c.lower() for c in record.get("predicate_columns", [])))
        table.indexes.append(index)
        self._index_table[name.lower()] = key

    def confirms(self, check: SchemaCheck) -> str | None:
        """None when the finding does not stand; otherwise what to append to its message
        (punctuation included, "" for nothing)."""
        if check.kind == "lazy_relation":
            return self._lazy_relation(check)
        if check.kind == "querying_member":
            return self._querying_member(check)
        if check.kind == "model":  # a model of that name is defined in the project
            return "" if self._definitions(check.table, check.origin) else None
        if check.kind == "unset_setting":  # the project's settings are read and do not set it
            keys = self.settings.get(check.table)
            return "" if keys is not None and "*" not in keys and not keys & set(check.columns) else None
        table = self.tables.get(table_key(check.table))
        if check.kind == "no_expression_index":
            if table is None:
                return ""
            matched = any(check.value in index.expressions for index in table.indexes)
            return None if matched else ""
        if table is None:
            return None
        if any(column not in table.columns for column in check.columns):
            return None  # a column the DDL does not declare: the schema is incomplete, stay quiet
        if check.kind == "unindexed":
            if not check.columns or set(check.columns) & table.served_columns():
                return None
            candidates = [column for column in check.columns if table.columns[column][1] != BOOLEAN]
            if not candidates:
                return None  # two values: a plain index would not be used; not a missing index
            return f"; add one, e.g. `CREATE INDEX ON {table.name} ({candidates[0]})`"
        if check.kind == "type_mismatch":
            declared, family = table.columns[check.columns[0]]
            if family in (NUMBER, STRING) and check.value in (NUMBER, STRING) and family != check.value:
                return f" ({table.name}.{check.columns[0]} is {declared})"
            return None
        return None

    # -- ORM models ------------------------------------------------------------------------
    def _definitions(self, name: str, origin: str = "") -> list[Model]:
        """The models of that class name (of the module ``origin`` when given)."""
        models = self.models.get(table_key(name), [])
        if origin:
            return [model for model in models if _same_module(model.module, origin)]
        return models

    def _relation(self, model: Model, attr: str) -> dict[str, Any] | None:
        """The relation ``attr`` names on ``model``: declared there, gained from another
        model's relation, or inherited from a base the project defines."""
        return self._inherited(model, lambda m: m.relations.get(attr) or self.reverse_relations.get(
            (table_key(m.name), m.orm), {}).get(attr))

    def _member(self, model: Model, name: str) -> dict[str, Any] | None:
        return self._inherited(model, lambda m: m.members.get(name))

    def _inherited(self, model: Model, own: Callable[[Model], dict[str, Any] | None],
                   depth: int = 0) -> dict[str, Any] | None:
        """What ``own`` finds on ``model``, else on the bases the project defines (bounded depth)."""
        found = own(model)
        if found is not None or depth >= _MAX_MODEL_DEPTH:
            return found
        for base in model.bases:
            for parent in self._definitions(base):
                if parent is not model:
                    found = self._inherited(parent, own, depth + 1)
                    if found is not None:
                        return found
        return None

    @staticmethod
    def _queries_on(relation: dict[str, Any], access: str) -> bool:
        """Does using the relation this way (read the attribute / call its manager) run a query?"""
        kind = relation.get("kind")
        if kind == "relationship":
            return relation.get("lazy") in _SQLALCHEMY_LAZY.get(access, ())
        return kind in (_TO_ONE if access == "read" else _TO_MANY)

    @staticmethod
    def _holds_one(relation: dict[str, Any]) -> bool:
        if relation.get("kind") == "relationship":
            return relation.get("many") is not True
        return relation.get("kind") in _TO_ONE

    def _lazy_relation(self, check: SchemaCheck) -> str | None:
        models = self._definitions(check.table, check.origin)
        if not models or not check.columns:
            return None
        for model in models:  # every model of that name must agree
            if self._loads_eagerly(model) or not self._lazy_along(model, check.columns, check.value):
                return None
        final = self._relation(models[0], check.columns[0]) if len(check.columns) == 1 else None
        if final is not None and final.get("kind") == "generic":
            return f" (a generic foreign key: `prefetch_related('{check.columns[0]}')`, select_related cannot follow it)"
        if final is not None and final.get("kind") == "relationship" and final.get("many") is False \
                and check.value == "read":
            return " (`joinedload` fits this many-to-one as well)"
        return ""

    def _loads_eagerly(self, model: Model, depth: int = 0) -> bool:
        """The model's managers (or its bases') load relations in ``get_queryset``: what a
        query site shows is not all it loads."""
        if any(manager in self.eager_managers for manager in model.managers.values()):
            return True
        return depth < _MAX_MODEL_DEPTH and any(
            self._loads_eagerly(parent, depth + 1)
            for base in model.bases for parent in self._definitions(base) if parent is not model)

    def _lazy_along(self, model: Model, path: tuple[str, ...], access: str) -> bool:
        current = [model]
        for step, attr in enumerate(path):
            targets: list[Model] = []
            for owner in current:
                relation = self._relation(owner, attr)
                if relation is None:
                    return False
                if step == len(path) - 1:
                    if not self._queries_on(relation, access):
                        return False
                    continue
                if not self._holds_one(relation) or not relation.get("target"):
                    return False
                related = self._related(owner, str(relation["target"]))
                if not related:
                    return False  # a model the project does not define: never guessed about
                targets.extend(related)
            if step == len(path) - 1:
                return True
            current = targets
        return False

    def _related(self, owner: Model, target: str) -> list[Model]:
        """The models a relation of ``owner`` points to: of its ORM, and of its module when
        that picks some (two apps may each define an ``Author``)."""
        models = [model for model in self._definitions(target) if model.orm == owner.orm]
        same_module = [model for model in models if model.module == owner.module]
        return same_module or models

    def _querying_member(self, check: SchemaCheck) -> str | None:
        models = self._definitions(check.table, check.origin)
        if not models or not check.columns:
            return None
        reasons = []
        for model in models:
            reason = self._member_queries(model, check.columns[0], check.value, frozenset(check.covered), 0)
            if reason is None:
                return None
            reasons.append(reason)
        return reasons[0]

    def _member_queries(self, model: Model, name: str, kind: str, covered: frozenset[str],
                        depth: int) -> str | None:
        """"" (or what it queries through) when the member runs a query on each object, else None."""
        member = self._member(model, name)
        if member is None or (kind and member.get("kind") != kind):
            return None
        if member.get("queries"):
            return ""
        if depth >= _MAX_MODEL_DEPTH:
            return None
        loaded = "*" in covered
        for attr, access in sorted(member.get("uses", {}).items()):
            relation = self._relation(model, attr)
            if relation is not None:
                manager = access in ("manager", "manager_always")
                if not self._queries_on(relation, "manager" if manager else "read"):
                    continue
                if access == "manager_always" or not (loaded or attr in covered):
                    return f" (through `self.{attr}`, a relation the rows were not loaded with)" \
                        if access != "manager_always" else f" (through `self.{attr}`)"
            elif access in ("read", "call"):
                inner = self._member_queries(model, attr, "property" if access == "read" else "method",
                                             covered, depth + 1)
                if inner is not None:
                    return inner or f" (through `self.{attr}`)"
        return None

    def to_json(self) -> dict[str, Any]:
        return {name: asdict(table) for name, table in sorted(self.tables.items())}


def build_schema(results: Iterable[Any], configured: list[str]) -> Schema:
    """The schema from every file's records (DDL of .sql files, ORM models of Python
    files): configured schema files first (in the order given), then the project's files
    in natural path order, as migrations run."""
    by_path = {result.path: result for result in results if result.schema_records}
    first = [path for path in configured if path in by_path]
    rest = sorted((path for path in by_path if path not in set(first)), key=natural_path_key)
    return Schema.from_records(record for path in first + rest for record in by_path[path].schema_records)


def decide_schema_checks(findings: list[Any], schema: Schema) -> list[Any]:
    """Keep the findings whose schema condition holds (their message gains what the
    schema adds); drop the rest. Findings without a condition pass unchanged."""
    kept = []
    for finding in findings:
        if not finding.schema_check:
            kept.append(finding)
            continue
        try:
            check = SchemaCheck.from_json(finding.schema_check)
        except (KeyError, TypeError, ValueError):
            continue
        detail = schema.confirms(check)
        if detail is None:
            continue
        finding.schema_check = None
        finding.message += detail
        kept.append(finding)
    return kept
