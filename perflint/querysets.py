"""What a query expression yields: which model's objects, loaded with which relations.

Django querysets (``Book.objects.filter(...).select_related("author")``), SQLAlchemy 1.x
queries (``session.query(Book).options(joinedload(Book.author))``), 2.0 statements run
through a session (``session.scalars(select(Book))``, ``session.execute(stmt).scalars()``)
and Flask-SQLAlchemy's ``Book.query``, also through local variables
(``books = Book.objects.all()`` ... ``for b in books``). Only what the code shows counts:
an expression whose origin cannot be followed has no source, and a model name is only a
claim the project phase checks against the models the project defines (perflint.schema).

Rules ask three questions: ``query_source(expr)``, ``loop_item(ctx, name)`` (the loop
that binds ``name`` to the objects of a query) and ``attribute_access(...)`` (what
``b.author.publisher`` / ``b.tags.filter(...).first()`` touches on such an object).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    assigned_names,
    dotted_name,
    iter_every_node,
    iter_subtree,
    receiver_last_name,
)
from perflint.sqltext import string_value

# Stages of a query expression: a statement not run yet (``select(Book)``), a Query or
# queryset (iterating runs it), a Result of Row tuples, rows of model objects, and rows
# that are not model objects (``values()``).
STATEMENT, QUERY, RESULT, ROWS, VALUES = "statement", "query", "result", "rows", "values"
_YIELDS_MODELS = (QUERY, ROWS)
_MAX_DEPTH = 12  # assignments followed through names (``qs = qs.filter(...)`` chains)
_WRAPPERS = frozenset({"list", "tuple", "sorted", "reversed", "iter"})


@dataclass(frozen=True)
class QuerySource:
    """A query whose objects the code shows."""

    orm: str  # "django" | "sqlalchemy" ("" for a partial: an update of a name's own query)
    model: str  # the model class name as written
    origin: str  # module the model class comes from (through the imports), "" if unknown
    node: cst.CSTNode | None  # the expression that builds the query (its line in messages)
    stage: str
    eager: frozenset[tuple[str, ...]] = frozenset()  # relation paths loaded up front
    eager_all: bool = False  # ``select_related()`` / ``joinedload("*")`` / options we cannot read
    sliced: bool = False  # ``qs[:50]``, ``.limit(50)``: the rows are bounded
    # a filter that bounds the rows by itself: a range (``created__gte``, ``Book.year > x``),
    # a set of keys (``pk__in``, ``in_(...)``) or one key (``pk=``)
    bounded: bool = False
    grouped: bool = False  # ``values(...).annotate(...)`` / ``group_by(...)``: a report

    @property
    def yields_models(self) -> bool:
        return self.stage in _YIELDS_MODELS

    def covers(self, path: tuple[str, ...]) -> bool:
        """Is the relation at ``path`` (from the loop item) loaded with the rows?"""
        if self.eager_all:
            return True
        size = len(path)
        return any(loaded[:size] == path for loaded in self.eager)

    def loaded_names(self) -> tuple[str, ...]:
        """First steps of the eager paths (``*`` when everything may be loaded)."""
        if self.eager_all:
            return ("*",)
        return tuple(sorted({path[0] for path in self.eager if path}))


def query_source(expr: cst.BaseExpression, ctx: Context) -> QuerySource | None:
    """The query ``expr`` evaluates to, or None. Memoised per node."""
    return ctx.memoised(("query_source", id(expr)), lambda: _orm_source(expr, ctx))


def _orm_source(expr: cst.BaseExpression, ctx: Context) -> QuerySource | None:
    result = _source(expr, ctx, frozenset(), 0)
    return result if result is not None and result.orm else None


def _source(expr: cst.BaseExpression, ctx: Context, seen: frozenset[str], depth: int) -> QuerySource | None:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Await):
        return _source(expr.expression, ctx, seen, depth + 1)
    if isinstance(expr, cst.Subscript):
        if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Slice):
            return None  # ``qs[0]``: one object
        inner = _source(expr.value, ctx, seen, depth + 1)
        return replace(inner, sliced=True) if inner is not None else None
    if isinstance(expr, cst.Name):
        return _from_name(expr.value, ctx, seen, depth)
    if not isinstance(expr, cst.Call):
        return None
    func = expr.func
    if isinstance(func, cst.Name) and func.value in _WRAPPERS and expr.args:
        return _source(expr.args[0].value, ctx, seen, depth + 1)
    if not isinstance(func, cst.Attribute) or ctx.qualified_name(func) in kb.SQLALCHEMY_SELECT_FUNCTIONS:
        return _select_statement(expr, ctx)
    method = func.attr.value
    receiver = func.value
    base: QuerySource | None
    if isinstance(receiver, cst.Attribute) and receiver.attr.value in kb.DJANGO_MANAGER_ATTRS:
        base = _model_root(receiver.value, "django", QUERY, receiver, ctx)
    elif isinstance(receiver, cst.Attribute) and receiver.attr.value == "query" \
            and _is_model_reference(receiver.value, ctx):
        base = _model_root(receiver.value, "sqlalchemy", QUERY, receiver, ctx)  # Flask-SQLAlchemy
    elif method == "query" and _session_receiver(expr):
        return _session_query(expr, ctx)
    elif method in ("scalars", "execute") and _session_receiver(expr):
        statement = _source(_first_argument(expr), ctx, seen, depth + 1) if expr.args else None
        if statement is None or statement.stage != STATEMENT:
            return None
        return replace(statement, stage=ROWS if method == "scalars" else RESULT, node=expr)
    else:
        base = _source(receiver, ctx, seen, depth + 1)
    if base is None:
        return None
    return _apply(base, method, expr, ctx)


def _from_name(name: str, ctx: Context, seen: frozenset[str], depth: int) -> QuerySource | None:
    """A local name: every value assigned to it so far must be a query over one model;
    eager loading added by any of them counts (``qs = qs.select_related(...)`` under an
    ``if``). A name that refers to itself (``qs = qs.filter(...)``) adds its changes."""
    if name in seen:
        return QuerySource("", "", "", None, "")
    values = ctx.assigned_values(name)
    if not values:
        return None
    sources = [_source(value, ctx, seen | {name}, depth + 1) for value in values]
    if any(source is None for source in sources):
        return None
    whole = [s for s in sources if s is not None and s.orm]
    if not whole:
        return QuerySource("", "", "", None, "", *_merged_eager(sources))
    first = whole[0]
    if any((s.orm, s.model, s.stage) != (first.orm, first.model, first.stage) for s in whole):
        return None
    eager, eager_all = _merged_eager(sources)
    return replace(first, eager=eager, eager_all=eager_all,
                   sliced=all(s.sliced for s in whole),
                   bounded=any(s.bounded for s in sources if s is not None),
                   grouped=any(s.grouped for s in sources if s is not None))


def _merged_eager(sources: list[QuerySource | None]) -> tuple[frozenset[tuple[str, ...]], bool]:
    eager: set[tuple[str, ...]] = set()
    eager_all = False
    for source in sources:
        if source is not None:
            eager |= source.eager
            eager_all = eager_all or source.eager_all
    return frozenset(eager), eager_all


def _apply(base: QuerySource, method: str, call: cst.Call, ctx: Context) -> QuerySource | None:
    """``base.<method>(...)``: the query it gives (None when it is no longer a query of
    model rows we can follow: ``get()``, ``count()``, a custom method)."""
    orm = base.orm
    if orm in ("django", "") and method in kb.DJANGO_EAGER_METHODS:
        eager, everything = _django_eager(call, ctx)
        return replace(base, eager=base.eager | eager, eager_all=base.eager_all or everything)
    if orm in ("sqlalchemy", "") and method == "options":
        eager, everything = _sqlalchemy_options(call, ctx)
        return replace(base, eager=base.eager | eager, eager_all=base.eager_all or everything)
    if orm == "django" or not orm and method in kb.DJANGO_QUERYSET_BUILDERS:
        if method in kb.DJANGO_NON_MODEL_ROWS:
            return replace(base, stage=VALUES)
        if method == "annotate" and base.stage == VALUES:
            return replace(base, grouped=True)  # ``values("day").annotate(n=Count("id"))``
        if method == "filter" and _django_bounding_filter(call) or method == "none":
            return replace(base, bounded=True)  # ``none()``: no rows at all
        if method in kb.DJANGO_QUERYSET_BUILDERS and method != "raw":
            return base
        return None
    # SQLAlchemy
    if method in ("limit", "slice"):
        return replace(base, sliced=True)
    if method == "group_by":
        return replace(base, grouped=True)
    if method in ("where", "filter", "filter_by") and _sqlalchemy_bounding_filter(call, method):
        return replace(base, bounded=True)
    if base.stage == RESULT and method == "scalars":
        return replace(base, stage=ROWS)
    if method == "all" and base.stage == QUERY:
        return replace(base, stage=ROWS)
    if method in kb.SQLALCHEMY_QUERY_BUILDERS and base.stage in (STATEMENT, QUERY, RESULT, ROWS, ""):
        return base
    return None


def _django_bounding_filter(call: cst.Call) -> bool:
    """``filter(created__gte=...)``, ``filter(pk__in=ids)``, ``filter(pk=...)``, also inside ``Q(...)``."""
    for sub in iter_every_node(call):
        if isinstance(sub, cst.Arg) and sub.keyword is not None:
            name = sub.keyword.value
            if name in kb.KEY_LOOKUPS or name.rpartition("__")[2] in kb.BOUNDING_LOOKUPS:
                return True
    return False


def _sqlalchemy_bounding_filter(call: cst.Call, method: str) -> bool:
    """``where(Book.year > x)``, ``Book.id.in_(ids)``, ``.between(a, b)``, ``filter_by(id=...)``."""
    if method == "filter_by":
        return any(arg.keyword is not None and arg.keyword.value in kb.KEY_LOOKUPS for arg in call.args)
    for sub in iter_every_node(call):
        if isinstance(sub, cst.Comparison) and any(
                isinstance(target.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual))
                for target in sub.comparisons):
            return True
        if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) \
                and sub.func.attr.value in ("in_", "between"):
            return True
    return False


def _first_argument(call: cst.Call) -> cst.BaseExpression:
    return call.args[0].value


def _session_receiver(call: cst.Call) -> bool:
    name = receiver_last_name(call)
    if not name:
        return False
    lowered = name.lower().lstrip("_")
    return lowered in kb.SESSION_RECEIVER_NAMES or lowered.rsplit("_", 1)[-1] in kb.SESSION_RECEIVER_NAMES


def _session_query(call: cst.Call, ctx: Context) -> QuerySource | None:
    """``session.query(Book)``: a Query of one entity (``query(Book.id)`` / two entities: rows of tuples)."""
    entities = [arg.value for arg in call.args if arg.keyword is None]
    if len(entities) != 1 or arg_star(call) or not _is_model_reference(entities[0], ctx):
        return None
    return _model_root(entities[0], "sqlalchemy", QUERY, call, ctx)


def arg_star(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def _select_statement(call: cst.Call, ctx: Context) -> QuerySource | None:
    """``select(Book)`` (SQLAlchemy 2.0 / SQLModel): a statement of one entity."""
    if ctx.qualified_name(call.func) not in kb.SQLALCHEMY_SELECT_FUNCTIONS:
        return None
    entities = [arg.value for arg in call.args if arg.keyword is None]
    if len(entities) != 1 or arg_star(call) or not _is_model_reference(entities[0], ctx):
        return None
    return _model_root(entities[0], "sqlalchemy", STATEMENT, call, ctx)


def _is_model_reference(node: cst.BaseExpression, ctx: Context) -> bool:
    """A class name (``Book``, ``models.Book``), not a local variable or a parameter:
    ``model.objects`` over a loop of models is a different table each time."""
    dotted = dotted_name(node)
    if dotted is None:
        return False
    root = dotted.partition(".")[0]
    if root in ("self", "cls"):
        return False
    function = ctx.function
    if function is not None and (root in function.assignments or _is_parameter(function.node, root)):
        return False
    return not any(root in loop.targets for loop in ctx.loops)


def _is_parameter(node: cst.CSTNode, name: str) -> bool:
    if not isinstance(node, cst.FunctionDef):
        return False
    params = node.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return any(param.name.value == name for param in every)


def _model_root(model: cst.BaseExpression, orm: str, stage: str, node: cst.CSTNode,
                ctx: Context) -> QuerySource | None:
    if not _is_model_reference(model, ctx):
        return None
    dotted = dotted_name(model) or ""
    qualified = ctx.qualified_name(model)
    if qualified is not None:
        origin = qualified.rpartition(".")[0]
    elif "." not in dotted and dotted in _module_classes(ctx):
        origin = ctx.summary.summary.module  # defined in this file
    else:
        origin = ""  # star-imported, or reached through a module object: any model of that name
    return QuerySource(orm, dotted.rpartition(".")[2], origin, node, stage)


def _module_classes(ctx: Context) -> frozenset[str]:
    return ctx.memoised(("module_classes", 0), lambda: frozenset(
        statement.name.value for statement in ctx.module.body if isinstance(statement, cst.ClassDef)))


# -- eager loading -------------------------------------------------------------------------
def _django_eager(call: cst.Call, ctx: Context) -> tuple[frozenset[tuple[str, ...]], bool]:
    """Paths of ``select_related("author__publisher")`` / ``prefetch_related("tags",
    Prefetch("reviews", queryset=Review.objects.select_related("user")))``. Arguments
    the code does not spell out (``*fields``, a variable) may load anything."""
    if not call.args:
        return frozenset(), True  # ``select_related()``: every non-null foreign key
    paths: set[tuple[str, ...]] = set()
    for arg in call.args:
        if arg.star or arg.keyword is not None:
            return frozenset(), True
        text = _literal_text(arg.value, ctx)
        if text is not None:
            paths.add(tuple(text.split("__")))
            continue
        if isinstance(arg.value, cst.Call) and (dotted_name(arg.value.func) or "").rpartition(".")[2] \
                == kb.DJANGO_PREFETCH_CLASS:
            prefetched = _prefetch_object(arg.value, ctx)
            if prefetched is None:
                return frozenset(), True
            paths |= prefetched
            continue
        return frozenset(), True
    return frozenset(paths), False


def _prefetch_object(call: cst.Call, ctx: Context) -> set[tuple[str, ...]] | None:
    lookup = call.args[0].value if call.args and call.args[0].keyword is None else None
    text = _literal_text(lookup, ctx) if lookup is not None else None
    if text is None:
        return None
    path = tuple(text.split("__"))
    paths = {path}
    for arg in call.args:
        if arg.keyword is None:
            continue
        if arg.keyword.value == "to_attr":
            attr = _literal_text(arg.value, ctx)
            if attr:
                paths.add((*path[:-1], attr))
        elif arg.keyword.value == "queryset":
            inner = query_source(arg.value, ctx)
            if inner is not None:
                paths |= {(*path, *nested) for nested in inner.eager}
    return paths


def _literal_text(node: cst.BaseExpression, ctx: Context) -> str | None:
    if isinstance(node, cst.Name):
        resolved = ctx.lookup_string(node.value)
        if resolved is None:
            return None
        node = resolved
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    text = string_value(node) if isinstance(node, cst.ConcatenatedString) else None
    return text


def _sqlalchemy_options(call: cst.Call, ctx: Context) -> tuple[frozenset[tuple[str, ...]], bool]:
    """Paths settled by ``options(joinedload(Book.author).selectinload(Author.tags), ...)``."""
    paths: set[tuple[str, ...]] = set()
    for arg in call.args:
        if arg.star or not isinstance(arg.value, cst.Call):
            return frozenset(), True  # options built elsewhere: they may load anything
        loaded = _loader_chain(arg.value, ctx)
        if loaded is None:
            return frozenset(), True
        paths |= loaded
    return frozenset(paths), False


def _loader_chain(call: cst.Call, ctx: Context) -> set[tuple[str, ...]] | None:
    """``joinedload(A.b).selectinload(B.c)`` -> {("b",), ("b", "c")}; None for a "*"
    wildcard (everything); options that do not load (``load_only``, ``undefer``) add nothing."""
    links: list[cst.Call] = [call]
    while isinstance(links[-1].func, cst.Attribute) and isinstance(links[-1].func.value, cst.Call):
        links.append(links[-1].func.value)  # ``<earlier option>.selectinload(...)``
    links.reverse()
    path: tuple[str, ...] = ()
    loaded: set[tuple[str, ...]] = set()
    for position, link in enumerate(links):
        func = link.func
        if position and isinstance(func, cst.Attribute):
            name = func.attr.value
        else:
            name = (dotted_name(func) or "").rpartition(".")[2]
        if name == "Load" or (name not in kb.SQLALCHEMY_EAGER_OPTIONS and name not in kb.SQLALCHEMY_PATH_OPTIONS):
            continue  # ``Load(Book)`` names the entity; ``load_only(...)`` loads no relation
        for arg in link.args:
            if arg.keyword is not None:
                continue
            steps = _option_steps(arg.value, ctx)
            if steps is None:
                return None
            path = (*path, *steps)
        if name in kb.SQLALCHEMY_EAGER_OPTIONS and path:
            loaded.add(path)
    return loaded


def _option_steps(node: cst.BaseExpression, ctx: Context) -> tuple[str, ...] | None:
    """``Book.author`` -> ("author",); ``"author.publisher"`` -> both; ``Book.tags.of_type(X)``
    -> ("tags",); None for ``"*"`` (a wildcard) or an expression we cannot read."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in (
            "of_type", "and_"):
        node = node.func.value
    if isinstance(node, cst.Attribute):
        return (node.attr.value,)
    text = _literal_text(node, ctx)
    if text is None or "*" in text:
        return None
    return tuple(part.rpartition(":")[2] for part in text.split("."))


# -- loop items and what is read on them -------------------------------------------------------
def loop_item(ctx: Context, name: str) -> tuple[LoopFrame, QuerySource] | None:
    """The enclosing loop whose item ``name`` is an object of a query the code shows
    (``for b in Book.objects.filter(...)``, ``for i, b in enumerate(books)``), with that query."""
    for loop in reversed(ctx.loops):
        if name not in loop.targets:
            continue
        binding = ctx.memoised(("loop_item", id(loop.node)), partial(_loop_binding, loop, ctx))
        if binding is None or binding[0] != name:
            return None
        return loop, binding[1]
    return None


def _loop_binding(loop: LoopFrame, ctx: Context) -> tuple[str, QuerySource] | None:
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return None
    target, iterable = node.target, node.iter
    if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args:
        iterable = iterable.args[0].value
        if not (isinstance(target, cst.Tuple) and len(target.elements) == 2):
            return None
        target = target.elements[1].value
    if not isinstance(target, cst.Name):
        return None
    source = query_source(iterable, ctx)
    if source is None or not source.yields_models:
        return None
    if loop.body is not None and not isinstance(node, cst.CompFor) and target.value in _assigned(loop, ctx):
        return None  # the name is rebound inside the loop: no longer the row
    return target.value, _with_later_prefetch(source, iterable, ctx)


def _assigned(loop: LoopFrame, ctx: Context) -> set[str]:
    body = loop.body
    return ctx.memoised(("assigned", id(body)), lambda: assigned_names(body) if body is not None else set())


def _with_later_prefetch(source: QuerySource, iterable: cst.BaseExpression, ctx: Context) -> QuerySource:
    """``prefetch_related_objects(books, "author")`` in the function, on the rows the loop
    walks: those relations are loaded too."""
    if not isinstance(iterable, cst.Name) or ctx.function is None:
        return source
    extra: set[tuple[str, ...]] = set()
    everything = False
    for sub in iter_subtree(ctx.function.node):
        if isinstance(sub, cst.Call) and (dotted_name(sub.func) or "").rpartition(".")[2] \
                == kb.DJANGO_PREFETCH_FUNCTION and sub.args and isinstance(sub.args[0].value, cst.Name) \
                and sub.args[0].value.value == iterable.value:
            fake = cst.Call(cst.Name("prefetch_related"), sub.args[1:])
            eager, all_ = _django_eager(fake, ctx)
            extra |= eager
            everything = everything or all_
    if not extra and not everything:
        return source
    return replace(source, eager=source.eager | extra, eager_all=source.eager_all or everything)


@dataclass(frozen=True)
class Access:
    """What an expression rooted at a loop item touches: ``b.author.publisher`` reads
    ("author", "publisher"); ``b.tags.filter(...).first()`` has ``manager`` "tags" and
    ``methods`` ("filter", "first"); ``b.get_total()`` reads nothing and calls "get_total"."""

    root: str
    reads: tuple[str, ...]
    manager: str | None
    methods: tuple[str, ...]
    # the node of each read prefix: nodes[i] spans ``b.<reads[0]>...<reads[i]>``
    nodes: tuple[cst.Attribute, ...]
    manager_node: cst.Attribute | None = None


def attribute_chain(node: cst.BaseExpression) -> tuple[str, list[cst.Attribute]] | None:
    """(root name, attribute nodes innermost first) of ``root.a.b.c``."""
    attributes: list[cst.Attribute] = []
    while isinstance(node, cst.Attribute):
        attributes.append(node)
        node = node.value
    if not isinstance(node, cst.Name) or not attributes:
        return None
    attributes.reverse()
    return node.value, attributes


def call_access(call: cst.Call) -> Access | None:
    """The access a method-call chain makes on the object it starts from."""
    methods: list[str] = []
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        methods.append(node.func.attr.value)
        node = node.func.value
    if isinstance(node, cst.Name):
        return Access(node.value, (), None, tuple(reversed(methods)), ())
    chain = attribute_chain(node)
    if chain is None:
        return None
    root, attributes = chain
    methods.reverse()
    from perflint.ormmodels import manager_access

    names = tuple(a.attr.value for a in attributes)
    if manager_access(methods) is not None:
        return Access(root, names[:-1], names[-1], tuple(methods), tuple(attributes[:-1]), attributes[-1])
    return Access(root, names, None, tuple(methods), tuple(attributes))


def read_access(node: cst.Attribute, ctx: Context) -> Access | None:
    """The reads of ``b.author.name``; assigning to it (``b.author = a``, ``del b.author``)
    reads only what is before the last attribute."""
    chain = attribute_chain(node)
    if chain is None:
        return None
    root, attributes = chain
    parent = ctx.parents[-1] if ctx.parents else None
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is node or isinstance(parent, cst.Del):
        attributes = attributes[:-1]
        if not attributes:
            return None
    return Access(root, tuple(a.attr.value for a in attributes), None, (), tuple(attributes))


def is_chain_link(node: cst.CSTNode, ctx: Context) -> bool:
    """``node`` is an inner part of a longer attribute / method chain (``b.author`` in
    ``b.author.name`` or in ``b.author.save()``): the outermost part describes it."""
    parent = ctx.parents[-1] if ctx.parents else None
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return True
    return isinstance(parent, cst.Call) and parent.func is node


def lookup_text(path: tuple[str, ...]) -> str:
    """Django's lookup spelling of a relation path: ``author__publisher``."""
    return "__".join(path)
