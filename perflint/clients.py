"""Which objects are clients (HTTP, database, redis) or paths, which calls send an HTTP
request, and which calls block the event loop.

An object's kind is learned from the code, never from its name: a constructor or
factory of the knowledge tables reached through the file's imports, a name every
assignment (or ``with ... as name``) of which builds one, a parameter annotated with
one of those classes, or an object derived from one (``conn.cursor()``, ``path.parent``).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context
from perflint.cstutil import call_method_name, dotted_name

# How many hops (name -> assignment -> receiver -> ...) a resolution follows; real code
# needs two or three (``cur = conn.cursor()`` after ``conn = sqlite3.connect(...)``).
_MAX_DEPTH = 6


@dataclass(frozen=True)
class Client:
    """What an object is: ``kind`` is "http", "db", "redis", "redis-pipeline" or "path"."""

    kind: str
    is_async: bool | None  # None: a configured class whose calls may or may not be awaited
    origin: str  # the qualified class or factory it came from, for messages


@dataclass(frozen=True)
class HttpRequest:
    """A call that sends one HTTP request."""

    is_async: bool | None
    method: str  # "get", "post", ... or the function's name ("urlopen")
    receiver: cst.BaseExpression | None  # the client object; None for module functions
    origin: str


@dataclass(frozen=True)
class BlockingCall:
    """A call that blocks the thread it runs on (the event loop, in ``async def``)."""

    kind: str  # key of knowledge.BLOCKING_REPLACEMENTS
    origin: str  # ``time.sleep``, or the client class for a method call
    on_client: bool = False  # a method of a sync client object


def client_of(expr: cst.BaseExpression, ctx: Context, depth: int = 0) -> Client | None:
    """The client ``expr`` evaluates to, when the code shows it; else None."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Call):
        qualified = ctx.qualified_name(expr.func)
        if qualified is not None:
            return _client_class(qualified, ctx)
        if isinstance(expr.func, cst.Attribute):
            return _derived(expr.func.value, expr.func.attr.value, ctx, depth)
        return None
    if isinstance(expr, cst.Attribute):
        return _derived(expr.value, expr.attr.value, ctx, depth)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
        left = client_of(expr.left, ctx, depth + 1)  # ``base / "data.json"``
        return left if left is not None and left.kind == "path" else None
    if isinstance(expr, cst.Name):
        return _name_client(expr.value, ctx, depth)
    return None


def _client_class(qualified: str, ctx: Context) -> Client | None:
    if qualified in ctx.knowledge.http_clients:
        return Client("http", ctx.knowledge.http_clients[qualified], qualified)
    known = kb.CLIENT_CLASSES.get(qualified)
    if known is not None:
        return Client(known[0], known[1], qualified)
    return None


def _derived(base: cst.BaseExpression, attr: str, ctx: Context, depth: int) -> Client | None:
    """``conn.cursor()``, ``r.pipeline()``, ``path.parent``: objects a client hands out."""
    owner = client_of(base, ctx, depth + 1)
    if owner is None:
        return None
    kind = kb.CLIENT_DERIVED.get((owner.kind, attr))
    return Client(kind, owner.is_async, owner.origin) if kind is not None else None


def _name_client(name: str, ctx: Context, depth: int) -> Client | None:
    values = [v for v in ctx.assigned_values(name) if not _is_none(v)]
    if values:
        # Every binding must agree: a name that may hold something else is not known.
        found = {client_of(value, ctx, depth + 1) for value in values}
        if len(found) == 1:
            return found.pop()
        return None
    if ctx.qualified_name(cst.Name(name)) is not None:
        return None  # an imported name: a module or a function, not an instance
    return _parameter_client(name, ctx)


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _parameter_client(name: str, ctx: Context) -> Client | None:
    """A parameter annotated with a client class: ``client: httpx.AsyncClient``,
    ``conn: sqlite3.Connection | None``, ``Optional[redis.Redis]``."""
    function = ctx.function
    if function is None or not isinstance(function.node, cst.FunctionDef):
        return None
    params = function.node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            if param.annotation is None:
                return None
            return _annotation_client(param.annotation.annotation, ctx)
    return None


def _annotation_client(node: cst.BaseExpression, ctx: Context) -> Client | None:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        sides = [side for side in (node.left, node.right) if not _is_none(side)]
        return _annotation_client(sides[0], ctx) if len(sides) == 1 else None
    if isinstance(node, cst.Subscript) and dotted_name(node.value) in ("Optional", "typing.Optional") \
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return _annotation_client(node.slice[0].slice.value, ctx)
    if isinstance(node, cst.SimpleString):
        text = node.evaluated_value
        if not isinstance(text, str):
            return None
        try:
            node = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return None
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
    qualified = ctx.qualified_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    return _client_class(qualified, ctx) if qualified is not None else None


def http_request(call: cst.Call, ctx: Context) -> HttpRequest | None:
    """An HttpRequest when ``call`` sends an HTTP request (``requests.get(url)``,
    ``session.get(url)`` on a ``requests.Session()``, ``client.post(...)`` on an
    ``httpx.AsyncClient``), else None. Memoised per node: PFL301, PFL302, PFL304 and the
    query classifier all ask."""
    return ctx.memoised(("http", id(call)), lambda: _http_request(call, ctx))


def _http_request(call: cst.Call, ctx: Context) -> HttpRequest | None:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in kb.HTTP_REQUEST_METHODS:
        qualified = ctx.qualified_name(func)
        if qualified is None:
            client = client_of(func.value, ctx)
            if client is not None and client.kind == "http":
                return HttpRequest(client.is_async, func.attr.value, func.value, client.origin)
            return None
    else:
        qualified = ctx.qualified_name(func)
    if qualified is not None and qualified in kb.HTTP_REQUEST_FUNCTIONS:
        return HttpRequest(False, qualified.rpartition(".")[2], None, qualified)
    return None


def blocking_call(call: cst.Call, ctx: Context, *, follow_clients: bool = True) -> BlockingCall | None:
    """A BlockingCall when ``call`` blocks its thread: a function of the blocking table
    (``time.sleep``, ``requests.get``, ``subprocess.run``, ...), the ``open`` builtin, or an
    I/O method of a sync client (a sqlite3 cursor's ``execute``, a ``redis.Redis`` command,
    ``Path.read_text``). ``follow_clients=False`` asks only the cheap half (the tables),
    for the call graph, which asks it of every call of every sync function."""
    func = call.func
    qualified = ctx.qualified_name(func)
    if qualified is not None:
        kind = ctx.knowledge.blocking_calls.get(qualified)
        if kind is not None:
            return BlockingCall(kind, qualified)
    func_type = type(func)  # exact types: asked of every call of every sync function
    if func_type is cst.Name:
        kind = kb.BLOCKING_BUILTINS.get(func.value)
        if kind is not None and _is_builtin(func.value, ctx):
            return BlockingCall(kind, func.value)
        return None
    if func_type is not cst.Attribute or qualified is not None or not follow_clients:
        return None  # ``os.path.join``: a module's function, in the table or not blocking
    client = client_of(func.value, ctx)
    if client is None or client.is_async is not False:
        return None
    if _does_io(client.kind, func.attr.value):
        return BlockingCall(client.kind, client.origin, on_client=True)
    return None


def _does_io(kind: str, method: str) -> bool:
    methods = kb.CLIENT_IO_METHODS.get(kind, frozenset())
    if method in methods:
        return True
    if "*" in methods:
        return not method.startswith("_") and (kind, method) not in kb.CLIENT_DERIVED \
            and method not in kb.CLIENT_LOCAL_METHODS
    return False


def _is_builtin(name: str, ctx: Context) -> bool:
    """``open`` still means the builtin: not imported (``from aiofiles import open``), not
    assigned here or at module level, not a parameter of the enclosing function."""
    if ctx.qualified_name(cst.Name(name)) is not None or ctx.assigned_values(name):
        return False
    function = ctx.function
    if function is not None and isinstance(function.node, cst.FunctionDef):
        params = function.node.params
        if any(p.name.value == name for p in (*params.posonly_params, *params.params,
                                              *params.kwonly_params)):
            return False
    return True


def is_offloaded(ctx: Context) -> bool:
    """The node being visited sits inside the arguments of a call that runs them in a
    worker thread (``asyncio.to_thread(...)``, ``loop.run_in_executor(...)``,
    ``anyio.to_thread.run_sync(...)``), within the current function."""
    for parent in reversed(ctx.parents):
        if isinstance(parent, (cst.FunctionDef, cst.Lambda)):
            return False
        if isinstance(parent, cst.Call):
            if call_method_name(parent) in kb.OFFLOAD_METHODS:
                return True
            if ctx.qualified_name(parent.func) in kb.OFFLOAD_CALLS:
                return True
    return False
