"""Which calls run a database query, and the SQL text they run (when it can be seen)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from perflint import knowledge as kb
from perflint.clients import http_request
from perflint.context import Context
from perflint.cstutil import (
    call_method_name,
    dotted_name,
    iter_every_node,
    iter_subtree,
    receiver,
    receiver_last_name,
)
from perflint.sqltext import (
    HOLE_PREFIX,
    POSITIONAL,
    is_write,
    looks_like_sql,
    placeholder_name,
    string_value,
)


@dataclass(frozen=True)
class QueryCall:
    """A call that runs a query. ``sql_node`` is where its SQL literal starts, if known."""

    kind: str  # "sql" | "orm"
    is_write: bool
    is_batch: bool
    sql_text: str | None = None
    sql_node: cst.BaseExpression | None = None
    # The expression passed as SQL when its text could not be seen (a variable, a call).
    opaque_sql: cst.BaseExpression | None = None
    # CREATE/ALTER/DROP/TRUNCATE...: schema work, neither a read nor a row write.
    is_ddl: bool = False


_DDL_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:create|alter|drop|truncate|grant|revoke|comment\s+on|rename)\b",
    re.IGNORECASE | re.DOTALL,
)
# ``FROM <hole>``: the table name itself is formatted into the text (``%s`` with the ``%``
# operator, ``{}`` / f-string holes), quoted or not, possibly after a fixed schema.
_TABLE_REFERENCE = re.compile(r"\b(?:from|join|into|update|table)\s+([^\s,()]+)", re.IGNORECASE)
_HOLE_NAME = re.compile(r"^(?:%s|%\(\w+\)s|__pfl_hole_\d+__)$")


def is_ddl(text: str) -> bool:
    return _DDL_START.match(text) is not None


def has_dynamic_table(text: str) -> bool:
    """The statement's table name is formatted in, so it can differ per call
    (``FROM %s``, ``FROM `%s```, ``FROM {schema}.{table}``; not ``FROM %(schema)ssqlite_master``)."""
    for match in _TABLE_REFERENCE.finditer(text):
        last = match.group(1).rsplit(".", 1)[-1].strip("`\"[]")
        if _HOLE_NAME.match(last):
            return True
    return False


def sql_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in kb.SQL_KEYWORDS:
            return arg.value
    if call.args and call.args[0].keyword is None and call.args[0].star == "":
        return call.args[0].value
    return None


def _resolve_string(node: cst.BaseExpression, ctx: Context) -> cst.BaseExpression | None:
    """The string expression an argument stands for: itself, a named constant, or ``text(...)``."""
    if isinstance(node, cst.Name):
        return ctx.lookup_string(node.value)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return ctx.lookup_class_string(node.value.value, node.attr.value)
    if isinstance(node, cst.Call) and dotted_name(node.func) in ctx.knowledge.sql_sink_functions:
        inner = sql_argument(node)
        return _resolve_string(inner, ctx) if inner is not None else None
    return node


def _is_db_receiver(name: str | None, names: frozenset[str]) -> bool:
    if not name:
        return False
    lowered = name.lower().lstrip("_")
    return lowered in names or lowered.rsplit("_", 1)[-1] in names


_PARAMS_KEYWORDS = frozenset({"params", "parameters", "values", "args", "vars", "multiparams"})


def wildcard_params(call: cst.Call, ctx: Context) -> frozenset[str]:
    """Placeholders this sink call binds to a pattern that starts with a wildcard
    (``(f"%{q}%",)``, ``{"q": "%" + q}``, asyncpg's ``fetch(sql, "%" + q)``): positional
    ones as ``pfl_pos_<i>``, named ones by name (see SqlContext)."""
    sql_text_argument = sql_argument(call)
    values: list[cst.BaseExpression] = []
    container: cst.BaseExpression | None = None
    for arg in call.args:
        if arg.value is sql_text_argument or arg.star:
            continue
        if arg.keyword is not None:
            if arg.keyword.value in _PARAMS_KEYWORDS:
                container = arg.value
            continue
        values.append(arg.value)
    if container is None and len(values) == 1 and isinstance(values[0], cst.Tuple | cst.List | cst.Dict | cst.Name):
        container = values[0]
    if isinstance(container, cst.Name):  # ``params = (...)`` earlier in the function
        container = ctx.frame.collections.get(container.value)
    found: set[str] = set()
    if isinstance(container, cst.Tuple | cst.List):
        values = [element.value for element in container.elements]
    elif isinstance(container, cst.Dict):
        for element in container.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                key = element.key.evaluated_value
                if isinstance(key, str) and _starts_with_wildcard(element.value, ctx):
                    found.add(placeholder_name(key))  # as normalise names it
        return frozenset(found)
    for index, value in enumerate(values):
        if _starts_with_wildcard(value, ctx):
            found.add(POSITIONAL.format(index))
    return frozenset(found)


def _starts_with_wildcard(value: cst.BaseExpression, ctx: Context) -> bool:
    if isinstance(value, cst.Name):
        resolved = ctx.lookup_string(value.value)
        if resolved is None:
            return False
        value = resolved
    text = string_value(value)
    if text is None or text.startswith(HOLE_PREFIX):  # ``f"{q}%"``: starts with the user's text
        return False
    return text.startswith(("%", "_"))


def sql_of_call(call: cst.Call, ctx: Context) -> tuple[str, cst.BaseExpression] | None:
    """(text, literal node) when ``call`` is a SQL sink whose argument is SQL-looking text."""
    return ctx.memoised(("sql", id(call)), lambda: _sql_of_call(call, ctx))


def _sql_of_call(call: cst.Call, ctx: Context) -> tuple[str, cst.BaseExpression] | None:
    method = call_method_name(call)
    trusted = ctx.knowledge.sql_sink_methods.get(method or "")
    # (dotted_name is None for anything but a Name/Attribute chain; exact types as there)
    is_function_sink = dotted_name(call.func) in ctx.knowledge.sql_sink_functions
    if trusted is not None and type(call.func) is cst.Attribute or is_function_sink:
        argument = sql_argument(call)
        literal = _resolve_string(argument, ctx) if argument is not None else None
        if literal is not None:
            text = string_value(literal)
            if text is not None and looks_like_sql(text):
                return text, literal
    return None


def classify_call(call: cst.Call, ctx: Context) -> QueryCall | None:
    """A QueryCall when ``call`` runs a query, else None. Memoised per node."""
    return ctx.memoised(("query", id(call)), lambda: _classify(call, ctx))


def _classify(call: cst.Call, ctx: Context) -> QueryCall | None:
    method = call_method_name(call)
    if method is None:
        return None
    func = call.func
    sql = sql_of_call(call, ctx)
    if sql is not None and not (isinstance(func, cst.Name) or method in ("text",)):
        text, literal = sql
        return QueryCall("sql", is_write(text), method in kb.BATCH_METHODS, text, literal,
                         is_ddl=is_ddl(text))
    if not isinstance(func, cst.Attribute):
        return None
    trusted = ctx.knowledge.sql_sink_methods.get(method)
    if trusted is not None and method not in ("raw", "extra"):
        if trusted or _is_db_receiver(receiver_last_name(call), ctx.knowledge.db_receiver_names):
            argument = sql_argument(call)
            # A sink fed text that is plainly not SQL (a URL, a literal word, ``PRAGMA ...``,
            # ``SET ...``) is not a query.
            if argument is not None and _plainly_not_sql(argument):
                return None
            return QueryCall("sql", _builds_write(argument, ctx), method in kb.BATCH_METHODS,
                             opaque_sql=argument)
    orm = _classify_orm(call, method, ctx)
    if orm is not None and http_request(call, ctx) is not None:
        return None  # ``session.get(url)`` on an aiohttp / requests session: HTTP, not the ORM
    return orm


def _plainly_not_sql(argument: cst.BaseExpression) -> bool:
    """Text we can read that does not start like a statement. Text that starts with a
    hole (``f"{BASE} WHERE id = %s"``, ``"%s" % sql``) is unknown, not plainly not SQL."""
    text = string_value(argument)
    if text is None:
        return False
    head = text.lstrip()
    return not head.startswith((HOLE_PREFIX, "%")) and head != ""


def _builds_write(argument: cst.BaseExpression | None, ctx: Context) -> bool:
    """An opaque statement that is visibly an INSERT/UPDATE/DELETE: built by a write
    constructor (``t.insert()``, ``update(T)``, ``delete(T).where(...)``), or a local name
    whose assignments in this function build one or name one (``delete_stmt``)."""
    if argument is None:
        return False
    if _mentions_write(argument):
        return True
    if isinstance(argument, cst.Name):
        function = ctx.function
        if function is None:
            return False
        name = argument.value
        return ctx.memoised(("builds_write", id(function.node), name), lambda: any(
            _mentions_write(sub.value) for sub in iter_subtree(function.node)
            if isinstance(sub, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in sub.targets)
        ))
    return False


def _mentions_write(node: cst.BaseExpression) -> bool:
    for sub in iter_every_node(node):
        word: str | None = None
        if isinstance(sub, cst.Call):
            if call_method_name(sub) in kb.WRITE_STATEMENT_WORDS:
                return True
            continue
        if isinstance(sub, cst.Name):
            word = sub.value
        elif isinstance(sub, cst.Attribute):
            word = sub.attr.value
        elif isinstance(sub, cst.SimpleString) and len(sub.value) <= 40:
            value = sub.evaluated_value
            word = value if isinstance(value, str) else None
        if word and any(part in kb.WRITE_STATEMENT_WORDS for part in word.lower().split("_")):
            return True
    return False


def _django_manager_chain(node: cst.BaseExpression | None, extra: frozenset[str] = frozenset()) -> bool:
    """True when ``node`` is ``Model.objects`` or a queryset method chain built on it
    (``extra``: the configured query methods, custom queryset methods among them)."""
    while node is not None:
        if isinstance(node, cst.Attribute):
            if node.attr.value in kb.DJANGO_MANAGER_ATTRS:
                return True
            node = node.value
        elif isinstance(node, cst.Call):
            method = call_method_name(node)
            if method not in kb.DJANGO_QUERYSET_BUILDERS and method not in extra:
                return False
            node = node.func
        else:
            return False
    return False


def manager_root(call: cst.Call) -> cst.BaseExpression | None:
    """``model`` for ``model.objects.filter(...).count()``: what the manager hangs off."""
    node = receiver(call)
    while node is not None:
        if isinstance(node, cst.Attribute):
            if node.attr.value in kb.DJANGO_MANAGER_ATTRS:
                return node.value
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return None
    return None


def chain_calls(call: cst.Call) -> list[cst.Call]:
    """The call and every call it is chained on: ``a.filter(x).exclude(y).get(z)``."""
    calls = [call]
    node = receiver(call)
    while node is not None:
        if isinstance(node, cst.Call):
            calls.append(node)
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            break
    return calls


def _classify_orm(call: cst.Call, method: str, ctx: Context) -> QueryCall | None:
    base = receiver(call)
    custom = ctx.knowledge.query_methods  # ``query-methods`` from the configuration
    # Django: Model.objects.<builders>.<terminal>()
    if (method in kb.DJANGO_QUERY_TERMINALS or method in custom) and _django_manager_chain(base, custom):
        return QueryCall("orm", method in kb.DJANGO_WRITE_TERMINALS, method.startswith("bulk_"))
    # SQLAlchemy: session.query(...).<...>.<terminal>()
    if (method in kb.SQLALCHEMY_QUERY_TERMINALS or method in custom) and _sqlalchemy_query_chain(base):
        return QueryCall("orm", False, False)
    if method in kb.SQLALCHEMY_SESSION_QUERY_METHODS and \
            _is_db_receiver(receiver_last_name(call), kb.SESSION_RECEIVER_NAMES) and method != "execute" \
            and (method != "get" or _names_entity(call)):
        statement = sql_argument(call) if method != "get" else None
        if _builds_write(statement, ctx):
            # ``session.scalars(insert(T).returning(T.id), rows)``: a write statement, as
            # ``session.execute(insert(T), rows)`` is (classified as a SQL sink above)
            return QueryCall("sql", True, False, opaque_sql=statement)
        return QueryCall("orm", False, False)
    # ``obj.refresh_from_db()`` (Django), ``await obj.fetch_related("tags")`` (Tortoise)
    if method in kb.ORM_INSTANCE_QUERY_METHODS:
        return QueryCall("orm", False, False)
    return None


def _names_entity(call: cst.Call) -> bool:
    """``session.get(User, pk)``: SQLAlchemy's ``Session.get`` takes the mapped class first.
    A receiver that is only named like a session (``s`` over a list of dicts,
    ``trace_to_session``, pip's ``PipSession``) whose ``get`` takes a key or a URL
    (``s.get("type")``, ``session.get(url)``) is a dict or an HTTP client, not a query."""
    if len(call.args) < 2 or call.args[0].keyword is not None or call.args[0].star:
        return False
    first = call.args[0].value
    name = first.attr.value if isinstance(first, cst.Attribute) else \
        first.value if isinstance(first, cst.Name) else ""
    return name[:1].isupper()


def _sqlalchemy_query_chain(node: cst.BaseExpression | None) -> bool:
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "query" and _is_db_receiver(
                receiver_last_name(node), kb.SESSION_RECEIVER_NAMES):
            return True
        node = node.func.value
    return False


def iterates_queryset(iterable: cst.BaseExpression) -> bool:
    """``for p in Post.objects.filter(...)``: iterating a lazy Django queryset runs a query."""
    if isinstance(iterable, cst.Call):
        method = call_method_name(iterable)
        if method in kb.DJANGO_QUERYSET_BUILDERS and _django_manager_chain(receiver(iterable)):
            return True
        if method in ("all",) and _sqlalchemy_query_chain(receiver(iterable)):
            return True
    return False
