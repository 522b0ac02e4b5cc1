"""What the code shows an expression holds, for the database rules (PFL203, PFL205-PFL207):
a Django model class or instance, a queryset, a SQLAlchemy query, a session or connection,
a redis client.

Every answer follows imports (``ctx.qualified_name``), assignments (``ctx.assigned_values``,
which records ``with ... as name`` too), parameter annotations and, for ``self.x``, the
assignments of the enclosing class. A name alone is no evidence: ``x.keys()`` on something
the code does not show to be redis is a dict view, ``form.save()`` is not a model write.
The one fallback on names is a session or connection whose value the code does not show
at all (``self.session``, an unannotated ``conn`` parameter) before ``commit()``.

(perflint.querysets answers the eager-loading questions of PFL201/PFL202 with model
claims checked in the project phase; these answers are local to the file and final.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    call_method_name,
    dotted_name,
    iter_subtree,
    names_read,
    receiver,
    target_names,
    unwrap_iterable,
)
from perflint.queries import chain_calls, manager_root

# Deep enough for ``qs = qs.filter(...)`` chains and ``SessionLocal = sessionmaker(...)``;
# shallow enough that self-referencing assignments end quickly.
_MAX_DEPTH = 4
# ``range(0, n, step)`` with a literal step at least this large hands out chunk offsets.
_MIN_LITERAL_CHUNK = 10


# -- small node helpers ------------------------------------------------------------------
def unwrap_await(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Await):
        node = node.expression
    return node


def short_code(node: cst.CSTNode, ctx: Context, limit: int = 40) -> str | None:
    """The source of ``node`` on one line, or None when it is longer than ``limit``."""
    text = " ".join(ctx.module.code_for_node(node).split())
    return text if len(text) <= limit else None


def call_display(call: cst.Call, ctx: Context) -> str:
    """``psycopg2.connect(...)`` / ``httpx.AsyncClient()`` for messages."""
    func = dotted_name(call.func) or "call"
    return f"{func}(...)" if call.args else f"{func}()"


def qualified_call(node: cst.BaseExpression, ctx: Context) -> str | None:
    """The imported origin of what ``node`` calls (``await`` unwrapped), or None."""
    node = unwrap_await(node)
    if not isinstance(node, cst.Call):
        return None
    return ctx.qualified_name(node.func)


# -- names: assignments, ``with`` targets, parameters ----------------------------------
def _function_node(ctx: Context) -> cst.FunctionDef | None:
    function = ctx.function
    return function.node if function is not None and isinstance(function.node, cst.FunctionDef) else None


def parameter(name: str, ctx: Context) -> cst.Param | None:
    """The parameter ``name`` of the function being visited."""
    function = _function_node(ctx)
    if function is None:
        return None
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param
    return None


def parameter_names(ctx: Context) -> set[str]:
    function = _function_node(ctx)
    if function is None:
        return set()
    params = function.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def annotation_types(annotation: cst.Annotation | None, ctx: Context) -> set[str]:
    """Qualified names of the types an annotation mentions (``Optional[redis.Redis]``,
    ``list[Order]``, ``"Redis"``): each dotted name inside it, resolved through imports
    (and kept as written when it is not imported, e.g. a class of this module)."""
    if annotation is None:
        return set()
    expression: cst.BaseExpression = annotation.annotation
    if isinstance(expression, cst.SimpleString):  # a string (forward) annotation
        value = expression.evaluated_value
        try:
            expression = cst.parse_expression(value) if isinstance(value, str) else expression
        except cst.ParserSyntaxError:
            return set()
    found: set[str] = set()
    for node in _annotation_parts(expression):
        qualified = ctx.qualified_name(node)
        found.add(qualified or dotted_name(node) or "")
    found.discard("")
    return found


def _annotation_parts(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, (cst.Name, cst.Attribute)):
        yield node
    elif isinstance(node, cst.Subscript):
        yield from _annotation_parts(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                yield from _annotation_parts(element.slice.value)
    elif isinstance(node, cst.BinaryOperation):  # ``A | None``
        yield from _annotation_parts(node.left)
        yield from _annotation_parts(node.right)
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _annotation_parts(element.value)


# -- Django models and querysets -----------------------------------------------------------
def is_model_class(node: cst.BaseExpression, ctx: Context, depth: int = 0) -> bool:
    """A Django model class: imported from a ``models`` module (``from shop.models import
    Order``, ``django.contrib.auth.models.User``), a class of this module with a model
    base, or ``get_user_model()``."""
    if depth > _MAX_DEPTH or not isinstance(node, (cst.Name, cst.Attribute)):
        return False
    qualified = ctx.qualified_name(node)
    if qualified is not None:
        return qualified in kb.DJANGO_MODEL_BASES or _class_of_models_module(qualified)
    if not isinstance(node, cst.Name):
        return False
    values = ctx.assigned_values(node.value)
    if values:
        return all(qualified_call(value, ctx) in kb.MODEL_CLASS_FACTORIES for value in values)
    definition = _module_classes(ctx).get(node.value)
    if definition is None:
        return False
    return any(is_model_class(base.value, ctx, depth + 1) for base in definition.bases)


def _class_of_models_module(qualified: str) -> bool:
    """``shop.models.Order`` / ``shop.models.orders.Order``: a class (capitalised) in a
    ``models`` module or package; not ``shop.models.Order.objects`` (an attribute of one)."""
    parts = qualified.split(".")
    if kb.MODELS_MODULE not in parts[:-1] or not parts[-1][:1].isupper():
        return False
    after = parts[parts.index(kb.MODELS_MODULE) + 1:-1]
    return all(part[:1].islower() or part[:1] == "_" for part in after)


def _module_classes(ctx: Context) -> dict[str, cst.ClassDef]:
    return ctx.memoised(("db_module_classes", 0), lambda: {
        s.name.value: s for s in ctx.module.body if isinstance(s, cst.ClassDef)})


def is_queryset(node: cst.BaseExpression, ctx: Context, *, instances: bool = False,
                depth: int = 0) -> bool:
    """A lazy Django queryset: ``Model.objects.filter(...)`` (a chain of queryset methods on
    a manager), a related manager's ``order.items.all()`` on a model instance the code
    shows, or a local name every assignment of which is one. With ``instances``, only
    querysets whose rows are model instances (not ``values()`` / ``values_list()``)."""
    if depth > _MAX_DEPTH:
        return False
    methods = kb.DJANGO_INSTANCE_QUERYSETS if instances else kb.DJANGO_LAZY_QUERYSETS
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        return bool(values) and all(is_queryset(v, ctx, instances=instances, depth=depth + 1)
                                    for v in values)
    if not isinstance(node, cst.Call) or call_method_name(node) not in methods:
        return False
    base = receiver(node)
    if isinstance(base, cst.Attribute) and base.attr.value in kb.DJANGO_MANAGER_ATTRS:
        return True  # Model.objects.all()
    if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name):
        # ``order.items.all()``: a related manager of a model instance
        return is_model_instance(base.value, ctx, depth=depth + 1)
    return base is not None and is_queryset(base, ctx, instances=instances, depth=depth + 1)


def is_model_instance(node: cst.BaseExpression, ctx: Context, *, depth: int = 0) -> bool:
    """A model instance the function visibly holds: built with ``Model(...)``, fetched with
    ``Model.objects.get/create/first/...`` or ``get_object_or_404(Model, ...)`` (in every
    assignment of the name), or a parameter annotated with a model class."""
    if depth > _MAX_DEPTH or not isinstance(node, cst.Name):
        return False
    values = ctx.assigned_values(node.value)
    if values:
        return all(is_instance_expression(v, ctx, depth=depth + 1) for v in values)
    param = parameter(node.value, ctx)
    if param is None or param.annotation is None:
        return False
    annotation = param.annotation.annotation
    return isinstance(annotation, (cst.Name, cst.Attribute)) and is_model_class(annotation, ctx)


def is_instance_expression(node: cst.BaseExpression, ctx: Context, *, depth: int = 0) -> bool:
    """``Order(...)``, ``Order.objects.get(pk=1)``, ``get_object_or_404(Order, pk=1)``,
    ``Order.objects.get_or_create(...)[0]``."""
    node = unwrap_await(node)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:  # get_or_create(...)[0]
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) \
                and index.value.value == "0" and isinstance(node.value, cst.Call) \
                and call_method_name(node.value) in kb.DJANGO_PAIR_GETTERS:
            return _on_manager(node.value, ctx, depth)
        return False
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, (cst.Name, cst.Attribute)) and is_model_class(node.func, ctx):
        return True
    if ctx.qualified_name(node.func) in kb.DJANGO_INSTANCE_SHORTCUTS:
        return bool(node.args) and is_model_class(node.args[0].value, ctx)
    if call_method_name(node) in kb.DJANGO_INSTANCE_GETTERS:
        return _on_manager(node, ctx, depth)
    return False


def _on_manager(call: cst.Call, ctx: Context, depth: int) -> bool:
    base = receiver(call)
    if isinstance(base, cst.Attribute) and base.attr.value in kb.DJANGO_MANAGER_ATTRS:
        return True
    return base is not None and is_queryset(base, ctx, instances=True, depth=depth + 1)


def loop_yields_instances(loop: LoopFrame, name: str, ctx: Context) -> bool:
    """``name`` is the item of ``loop`` and the loop runs over model instances: a queryset,
    a list of ``Model(...)`` objects, or a parameter annotated ``list[Model]``."""
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return False
    iterable: cst.BaseExpression = node.iter
    target = node.target
    if isinstance(target, cst.Tuple) and isinstance(iterable, cst.Call) \
            and dotted_name(iterable.func) == "enumerate" and iterable.args \
            and len(target.elements) == 2:
        target, iterable = target.elements[1].value, iterable.args[0].value  # for i, obj in enumerate(qs)
    if not (isinstance(target, cst.Name) and target.value == name):
        return False
    iterable = unwrap_iterable(iterable, kb.ITERATION_WRAPPERS)
    return _holds_instances(iterable, ctx, 0)


def _holds_instances(node: cst.BaseExpression, ctx: Context, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if is_queryset(node, ctx, instances=True, depth=depth):
        return True
    if isinstance(node, (cst.List, cst.Tuple)):
        return bool(node.elements) and all(
            is_instance_expression(e.value, ctx, depth=depth + 1) for e in node.elements)
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        return is_instance_expression(node.elt, ctx, depth=depth + 1)
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        if values:
            return all(_holds_instances(v, ctx, depth + 1) for v in values)
        param = parameter(node.value, ctx)
        if param is not None and param.annotation is not None:
            # ``orders: list[Order]`` / ``QuerySet[Order]``: the element type is a model
            annotation = param.annotation.annotation
            return isinstance(annotation, cst.Subscript) and any(
                isinstance(e.slice, cst.Index) and is_model_class(e.slice.value, ctx)
                for e in annotation.slice)
    return False


def assigned_in(body: cst.CSTNode, name: str, ctx: Context) -> list[cst.BaseExpression]:
    """Values bound to ``name`` inside ``body`` (a loop body): ``name = v`` and the first
    element of ``name, created = Model.objects.get_or_create(...)``."""
    table = ctx.memoised(("db_assigned_in", id(body)), lambda: _assignments(body))
    return table.get(name, [])


def _assignments(body: cst.CSTNode) -> dict[str, list[cst.BaseExpression]]:
    table: dict[str, list[cst.BaseExpression]] = {}
    for sub in iter_subtree(body):
        if not isinstance(sub, cst.Assign):
            continue
        for target in sub.targets:
            bound = target.target
            if isinstance(bound, cst.Name):
                table.setdefault(bound.value, []).append(sub.value)
            elif isinstance(bound, cst.Tuple) and bound.elements \
                    and isinstance(bound.elements[0].value, cst.Name):
                value = unwrap_await(sub.value)
                if isinstance(value, cst.Call) and call_method_name(value) in kb.DJANGO_PAIR_GETTERS:
                    pair = cst.Subscript(value, [cst.SubscriptElement(cst.Index(cst.Integer("0")))])
                    table.setdefault(bound.elements[0].value.value, []).append(pair)
    return table


def model_label(node: cst.BaseExpression | None, ctx: Context) -> str:
    """``Order`` for messages, from a manager chain or a constructor; else ``Model``."""
    if isinstance(node, cst.Call):
        root = manager_root(node)
        if root is not None:
            return dotted_name(root) or "Model"
        if isinstance(node.func, (cst.Name, cst.Attribute)) and is_model_class(node.func, ctx):
            return dotted_name(node.func) or "Model"
    return "Model"


def iterates_batches(loop: LoopFrame, ctx: Context) -> bool:
    """``for chunk in chunked(ids, 500)`` / ``for batch in batches`` / ``for i in
    range(0, len(ids), size)``: each pass handles a batch, so one statement per pass is
    already the batched form."""
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return False
    def batches() -> bool:
        text = f"{ctx.module.code_for_node(node.target)} {ctx.module.code_for_node(node.iter)}".lower()
        return any(word in text for word in kb.BATCH_LOOP_WORDS) or steps_through_offsets(loop)

    return ctx.memoised(("db_batch_loop", id(node)), batches)


# SQLAlchemy calls whose first argument is what the statement reads from.
_ENTITY_METHODS = frozenset({"query", "select_from"})


def queries_table_from_loop(call: cst.Call, bound: set[str]) -> bool:
    """``session.query(model)`` / ``.select_from(FAMILY_MODEL[family])`` somewhere in the
    chain, with the model taken from the loop (``bound``): a different table per pass,
    SQLAlchemy's counterpart of ``model.objects`` on the loop's model."""
    for link in chain_calls(call):
        if call_method_name(link) not in _ENTITY_METHODS or not link.args \
                or link.args[0].keyword is not None:
            continue
        entity = link.args[0].value
        if isinstance(entity, (cst.Name, cst.Subscript)) and names_read(entity) & bound:
            return True
    return False


def steps_through_offsets(loop: LoopFrame) -> bool:
    """``for i in range(0, len(rows), size)``: the item is the offset of a slice (a chunk
    or a page), so each pass handles ``size`` rows, not one."""
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return False
    iterable = unwrap_iterable(node.iter, kb.ITERATION_WRAPPERS)
    if not (isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "range"
            and len(iterable.args) == 3):
        return False
    step = iterable.args[2].value
    if isinstance(step, cst.Integer):
        # ``range(0, n, 500)`` is chunking; ``range(0, n, 2)`` walks pairs of items
        return int(step.value.replace("_", ""), 0) >= _MIN_LITERAL_CHUNK
    # a size named or computed (``batch_size``, ``self._ID_CHUNK_SIZE``); ``-1`` counts down
    return not isinstance(step, (cst.UnaryOperation, cst.Float))


def iterates_schema(loop: LoopFrame) -> bool:
    """``for model in apps.get_models()``: one pass per table of the schema, not per row."""
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return False
    iterable = unwrap_iterable(node.iter, kb.ITERATION_WRAPPERS)
    return isinstance(iterable, cst.Call) and call_method_name(iterable) in kb.SCHEMA_ITERABLE_METHODS


def in_test_file(ctx: Context) -> bool:
    """``tests/...``, ``test_*.py``, ``*_test.py``, ``conftest.py``."""
    path = PurePosixPath(ctx.path.replace("\\", "/"))
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" \
        or any(part in ("tests", "test") for part in path.parts[:-1])


# -- SQLAlchemy ------------------------------------------------------------------------------
def is_sqlalchemy_query(node: cst.BaseExpression, ctx: Context, depth: int = 0) -> bool:
    """``session.query(User).filter(...)`` (a Query, lazy), directly or through a local."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        return bool(values) and all(is_sqlalchemy_query(v, ctx, depth + 1) for v in values)
    for link in chain_calls(node) if isinstance(node, cst.Call) else ():
        if call_method_name(link) == "query" and is_transaction_handle(receiver(link), ctx, session_only=True):
            return True
    return False


def is_transaction_handle(node: cst.BaseExpression | None, ctx: Context, *,
                          session_only: bool = False, by_name: bool = True, depth: int = 0) -> bool:
    """A SQLAlchemy session or a DB-API connection: assigned from a session class or factory
    (``SessionLocal()`` after ``SessionLocal = sessionmaker(...)``) or a connection factory,
    annotated with such a type, or, when the code shows neither (``self.session``, a
    parameter without annotation), named like one (``session``, ``conn``). Without
    ``by_name`` a name alone is not enough: a local ``session`` must also be one the
    function calls a database session's own methods on (``session.execute(...)``), as
    ``session`` may be an HTTP client's."""
    if node is None or depth > _MAX_DEPTH:
        return False
    node = unwrap_await(node)
    if isinstance(node, cst.Call):
        return _opens_transaction_handle(node, ctx, session_only, depth)
    names = kb.SESSION_HANDLE_NAMES if session_only else kb.TRANSACTION_HANDLE_NAMES
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        if any(is_transaction_handle(v, ctx, session_only=session_only, by_name=by_name, depth=depth + 1)
               for v in values):
            return True
        if values and not all(isinstance(unwrap_await(v), cst.Call) for v in values):
            return False  # bound to something the code shows is not a session
        if not values and ctx.qualified_name(node) is not None:
            return False  # an imported module or function (``transaction``), not a handle
        param = parameter(node.value, ctx)
        if param is not None and param.annotation is not None:
            types = kb.SESSION_CLASSES if session_only else kb.TRANSACTION_HANDLE_TYPES
            return bool(annotation_types(param.annotation, ctx) & types)
        if not by_name:
            return node.value.lower() in kb.SESSION_HANDLE_NAMES and node.value in _database_sessions(ctx)
        return node.value.lower() in names
    if isinstance(node, cst.Attribute):
        return by_name and node.attr.value.lower() in names
    return False


def _database_sessions(ctx: Context) -> frozenset[str]:
    """Names the current function calls a database session's own methods on
    (knowledge.DB_SESSION_ONLY_METHODS: ``session.execute``, ``session.commit``...)."""
    function = ctx.function
    if function is None:
        return frozenset()

    def collect() -> frozenset[str]:
        return frozenset(
            node.func.value.value for node in iter_subtree(function.node)
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name) and node.func.attr.value in kb.DB_SESSION_ONLY_METHODS)

    return ctx.memoised(("database sessions", id(function.node)), collect)


def _opens_transaction_handle(call: cst.Call, ctx: Context, session_only: bool, depth: int) -> bool:
    qualified = ctx.qualified_name(call.func)
    if qualified in kb.SESSION_CLASSES:
        return True
    if not session_only and ctx.knowledge.connection_factories.get(qualified or "") in kb.SQL_CONNECTION_KINDS:
        return True
    if isinstance(call.func, cst.Name):  # ``SessionLocal()`` after ``SessionLocal = sessionmaker(...)``
        return any(qualified_call(v, ctx) in kb.SESSION_FACTORIES
                   for v in ctx.assigned_values(call.func.value))
    return False


# -- redis -------------------------------------------------------------------------------------
def is_redis_client(node: cst.BaseExpression | None, ctx: Context, depth: int = 0) -> bool:
    """A redis client: built by ``redis.Redis(...)`` / ``redis.from_url`` / ``redis.asyncio``
    / django-redis (directly, through a local or module name, or through ``self.x``
    assigned in the class), or a parameter / attribute annotated with a redis type."""
    if node is None or depth > _MAX_DEPTH:
        return False
    node = unwrap_await(node)
    if isinstance(node, cst.Call):
        return ctx.qualified_name(node.func) in kb.REDIS_CLIENT_SOURCES
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        if values:  # the latest binding decides: ``r = {}`` after ``r = redis.Redis()``
            return is_redis_client(values[-1], ctx, depth + 1)
        param = parameter(node.value, ctx)
        return param is not None and bool(annotation_types(param.annotation, ctx) & kb.REDIS_CLIENT_SOURCES)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
            and node.value.value in ("self", "cls"):
        return _redis_attribute(node.attr.value, ctx, depth)
    return False


def _redis_attribute(attr: str, ctx: Context, depth: int) -> bool:
    """``self.<attr>`` of the enclosing class is assigned a redis client (in any method)
    or annotated with a redis type (class body or ``self.attr: T = ...``)."""
    owner = next((f for f in reversed(ctx.frames) if f.kind == "class"), None)
    if owner is None:
        return False
    for value, annotation, method in _attribute_bindings(owner.node, attr, ctx):
        if annotation is not None and annotation_types(annotation, ctx) & kb.REDIS_CLIENT_SOURCES:
            return True
        if value is None:
            continue
        inner = unwrap_await(value)
        if isinstance(inner, cst.Call) and ctx.qualified_name(inner.func) in kb.REDIS_CLIENT_SOURCES:
            return True
        if isinstance(inner, cst.Name) and method is not None:
            # ``def __init__(self, client: redis.Redis): self.client = client``
            params = method.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value == inner.value and \
                        annotation_types(param.annotation, ctx) & kb.REDIS_CLIENT_SOURCES:
                    return True
    return False


# (value, annotation, method) of one binding of a class attribute
Binding = tuple[cst.BaseExpression | None, cst.Annotation | None, cst.FunctionDef | None]


def _attribute_bindings(cls: cst.CSTNode, attr: str, ctx: Context) -> list[Binding]:
    """(value, annotation, method) of each ``self.<attr> = ...`` in the class's methods and
    each ``<attr>: T`` / ``<attr> = ...`` in its body."""
    table = ctx.memoised(("db_class_attributes", id(cls)), lambda: _class_bindings(cls))
    return table.get(attr, [])


def _class_bindings(cls: cst.CSTNode) -> dict[str, list[Binding]]:
    table: dict[str, list[Binding]] = {}
    assert isinstance(cls, cst.ClassDef)
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                _record_binding(small, table, None, class_level=True)
        elif isinstance(statement, cst.FunctionDef):
            for sub in iter_subtree(statement.body):
                _record_binding(sub, table, statement, class_level=False)
    return table


def _record_binding(node: cst.CSTNode, table: dict[str, list[Binding]], method: cst.FunctionDef | None, *,
                    class_level: bool) -> None:
    targets: list[cst.BaseExpression] = []
    annotation: cst.Annotation | None = None
    value: cst.BaseExpression | None = None
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
        value = node.value
    elif isinstance(node, cst.AnnAssign):
        targets, annotation, value = [node.target], node.annotation, node.value
    for target in targets:
        if class_level and isinstance(target, cst.Name):
            table.setdefault(target.value, []).append((value, annotation, method))
        elif not class_level and isinstance(target, cst.Attribute) \
                and isinstance(target.value, cst.Name) and target.value.value == "self":
            table.setdefault(target.attr.value, []).append((value, annotation, method))


# -- where a created object goes -----------------------------------------------------------
def names_bound_by(statement: cst.CSTNode) -> set[str]:
    if isinstance(statement, cst.Assign):
        names: set[str] = set()
        for target in statement.targets:
            names |= target_names(target.target)
        return names
    if isinstance(statement, cst.AnnAssign):
        return target_names(statement.target)
    if isinstance(statement, cst.WithItem) and statement.asname is not None:
        return target_names(statement.asname.name)
    return set()


def stores_outside(statement: cst.CSTNode) -> bool:
    """The statement puts its value somewhere that outlives the call: an attribute
    (``self.x``, ``g.db``, ``app.state.pool``) or an item (``cache[key]``)."""
    targets: list[cst.BaseExpression] = []
    if isinstance(statement, cst.Assign):
        targets = [t.target for t in statement.targets]
    elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)):
        targets = [statement.target]
    elif isinstance(statement, cst.WithItem) and statement.asname is not None:
        targets = [statement.asname.name]
    return any(isinstance(t, (cst.Attribute, cst.Subscript)) for t in targets)

