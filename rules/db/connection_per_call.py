"""PFL205 connection-per-call."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, Frame
from perflint.cstutil import (
    MUTATING_METHODS,
    call_method_name,
    dotted_name,
    iter_every_node,
    iter_subtree,
    names_read,
)
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.db import evidence as ev
from perflint.rules.loops import describe_loop, loop_bound_names, multiplying_loop

# kind of CONNECTION_FACTORIES -> what one call opens, and what to do instead when a
# plain function opens one per call.
_OPENS = {
    "db": "database connection",
    "db_pool": "connection pool",
    "file_db": "database connection",
    "redis": "redis client (and its connection pool)",
    "http": "HTTP session (its own connection pool and TLS handshakes)",
    "custom": "connection",
}
_PER_CALL_ADVICE = {
    "db": "create a pool once (module level or app startup: `asyncpg.create_pool`, a SQLAlchemy "
          "engine, `databases.Database`) and borrow a connection from it per call",
    "db_pool": "create it once at module level or app startup and reuse it",
    "redis": "create one client at module level or app startup (it pools connections) and reuse it",
    "custom": "create it once (module level or app startup) and reuse it",
}
# Nodes between the factory call and its statement that pass the object along as it is.
_PASS_THROUGH = (cst.Await, cst.Arg, cst.Element, cst.Tuple, cst.List, cst.Set, cst.Dict,
                 cst.DictElement, cst.StarredElement, cst.IfExp, cst.BooleanOperation)


class ConnectionPerCall(PythonRule):
    """
    ## What it does
    Flags a database connection, engine or pool, a redis client or an HTTP session
    (`requests.Session`, `httpx.Client`/`AsyncClient`, `aiohttp.ClientSession`)
    created inside a request handler, inside a loop, or inside a function that opens
    and drops a connection to a fixed server on every call.

    ## Why is this bad?
    Opening a connection costs a TCP handshake, TLS, authentication and server-side
    process setup: often more than the query it serves. Per request or per item, that
    cost multiplies, the database's connection limit is reached under load, and an HTTP
    session created per call loses keep-alive and its connection pool.

    ## Example
    ```python
    async def get_user(user_id):
        db = await asyncpg.connect('postgresql://...')
        user = await db.fetchrow("SELECT id, name FROM users WHERE id = $1", user_id)
        await db.close()
        return user
    ```

    ## Use instead
    ```python
    database = Database(DATABASE_URL, min_size=10, max_size=50)

    @app.on_event("startup")
    async def startup():
        await database.connect()

    async def get_user(user_id):
        return await database.fetch_one(
            "SELECT id, name FROM users WHERE id = :user_id", values={"user_id": user_id})
    ```

    Not reported: module level and class bodies, startup and lifespan hooks, app
    factories, CLI `main()` functions and scripts, `__init__`, tests and fixtures,
    objects cached on an attribute (`g.db`, `app.state.pool`, `self.client`), in an item
    (`cache[key]`) or a `global`, `lru_cache`d factories, functions that return or
    yield what they open (the caller decides how long it lives), `pool.acquire()` and
    `engine.connect()` (they borrow from a pool), clients built on a shared pool
    (`redis.Redis(connection_pool=POOL)`), `sqlite3.connect(":memory:")`, a loop that
    opens one connection per server it lists, and a helper that connects to whatever
    its caller passes in. SQLite files and HTTP sessions are reported only per request
    or per iteration (opening them costs no server round trip).
    """

    code = "PFL205"
    name = "connection-per-call"
    summary = "a connection, engine or client is created per request, per call or per iteration"
    message = "connection created per call"
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Create the pool/client once (module level or app startup) and reuse it; borrow connections with pool.acquire()."
    candidate = None  # the factories can be extended from configuration

    VALID = (
        # --- RULES.md hard negatives ---
        # module level
        Valid("import asyncpg\nimport redis\nfrom sqlalchemy import create_engine\n\nengine = create_engine('postgresql://db/app')\ncache = redis.Redis(host='cache')\n"),
        # lifespan / startup hooks
        Valid("import asyncpg\nfrom fastapi import FastAPI\napp = FastAPI()\n\n@app.on_event('startup')\nasync def startup():\n    app.state.pool = await asyncpg.create_pool('postgresql://db/app')\n"),
        Valid("import httpx\nfrom contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def lifespan(app):\n    client = httpx.AsyncClient()\n    yield {'client': client}\n    await client.aclose()\n"),
        Valid("import redis\nfrom flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n    app.redis = redis.Redis(host='cache')\n    return app\n"),
        # a CLI main() and a script
        Valid("import psycopg2\n\ndef main():\n    conn = psycopg2.connect('dbname=app')\n    conn.cursor().execute('SELECT 1')\n"),
        Valid("import psycopg2\n\ndef export():\n    conn = psycopg2.connect('dbname=app')\n    conn.close()\n\nif __name__ == '__main__':\n    export()\n"),
        # cached on g / app state / lru_cache / a module global assigned once
        Valid("import sqlite3\nfrom flask import g\n\ndef get_db():\n    if 'db' not in g:\n        g.db = sqlite3.connect('app.db')\n    return g.db\n"),
        Valid("import functools\nfrom sqlalchemy import create_engine\n\n@functools.lru_cache\ndef get_engine():\n    return create_engine('postgresql://db/app')\n"),
        Valid("import redis\n_client = None\n\ndef client():\n    global _client\n    if _client is None:\n        _client = redis.Redis(host='cache')\n    return _client\n"),
        # pool.acquire() / engine.connect() borrow from a pool
        Valid("async def get_user(pool, user_id):\n    async with pool.acquire() as conn:\n        return await conn.fetchrow('SELECT id FROM users WHERE id = $1', user_id)\n"),
        Valid("from fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/users')\ndef users():\n    with engine.connect() as conn:\n        return conn.execute(text('SELECT id FROM users WHERE active')).all()\n"),
        # --- discovered ---
        # a factory: the caller decides how long the connection lives
        Valid("import psycopg2\n\ndef get_connection():\n    return psycopg2.connect('dbname=app')\n"),
        Valid("import psycopg2\nfrom contextlib import contextmanager\n\n@contextmanager\ndef connection():\n    conn = psycopg2.connect('dbname=app')\n    try:\n        yield conn\n    finally:\n        conn.close()\n"),
        # __init__ keeps the client on the object
        Valid("import redis\n\nclass Cache:\n    def __init__(self, url='redis://localhost'):\n        self.client = redis.from_url(url)\n"),
        # a helper connecting to whatever its caller passes
        Valid("import psycopg2\n\ndef table_count(dsn, table):\n    conn = psycopg2.connect(dsn)\n    try:\n        return conn.cursor().execute('SELECT count(*) FROM ' + table)\n    finally:\n        conn.close()\n"),
        # one connection per server listed
        Valid("import psycopg2\n\ndef check_all(dsns):\n    for dsn in dsns:\n        conn = psycopg2.connect(dsn)\n        conn.close()\n"),
        # a client built on a shared pool
        Valid("import redis\nPOOL = redis.ConnectionPool(host='cache')\n\nfrom fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/hits')\ndef hits():\n    r = redis.Redis(connection_pool=POOL)\n    return r.incr('hits')\n"),
        # an in-memory database is private on purpose; sqlite / HTTP sessions in plain helpers
        Valid("import sqlite3\n\ndef scratch():\n    conn = sqlite3.connect(':memory:')\n    conn.execute('CREATE TABLE t (a)')\n"),
        Valid("import sqlite3\n\ndef read_settings():\n    conn = sqlite3.connect('settings.db')\n    rows = conn.execute('SELECT k, v FROM settings WHERE scope = 1').fetchall()\n    conn.close()\n    return rows\n"),
        Valid("import aiohttp\n\nasync def fetch_all(urls):\n    async with aiohttp.ClientSession() as session:\n        return [await (await session.get(u)).text() for u in urls]\n"),
        # tests and fixtures
        Valid("import psycopg2\n\ndef test_roundtrip():\n    conn = psycopg2.connect('dbname=test')\n    conn.close()\n"),
        Valid("import psycopg2\nimport pytest\n\n@pytest.fixture\ndef conn():\n    connection = psycopg2.connect('dbname=test')\n    yield connection\n    connection.close()\n"),
        # a retry loop (small literal) and a loop that returns on the first connection
        Valid("import psycopg2\n\ndef connect_with_retry():\n    for attempt in range(5):\n        try:\n            return psycopg2.connect('dbname=app')\n        except psycopg2.OperationalError:\n            pass\n"),
        # a readiness poll: connect until the server answers (asyncpg's test cluster)
        Valid("import asyncpg\n\ndef wait_ready(self, timeout=60):\n    for i in range(timeout):\n        try:\n            con = self.loop.run_until_complete(asyncpg.connect(database='postgres'))\n        except OSError:\n            continue\n        else:\n            self.loop.run_until_complete(con.close())\n            break\n"),
        # a worker that opens its connection once and keeps it for a loop of work
        Valid("import psycopg2\n\ndef worker(queue):\n    conn = psycopg2.connect('dbname=app')\n    while True:\n        item = queue.get()\n        conn.cursor().execute('INSERT INTO jobs (p) VALUES (%s)', (item,))\n        conn.commit()\n"),
        # Django management command
        Valid("import redis\nfrom django.core.management.base import BaseCommand\n\nclass Command(BaseCommand):\n    def handle(self, *args, **options):\n        r = redis.Redis(host='cache')\n        r.flushdb()\n"),
        # not a factory: a name that only looks like one
        Valid("def f(items):\n    for i in items:\n        conn = connect(i)\n        session = Session()\n"),
    )
    INVALID = (
        # the guide's BAD example: a new connection for one query, on every call
        Invalid("import asyncpg\n\nasync def get_user(user_id):\n    db = await asyncpg.connect('postgresql://...')\n    user = await db.fetchrow('SELECT id FROM users WHERE id = $1', user_id)\n    await db.close()\n    return user\n", (4,)),
        # per request: FastAPI, Flask, Django view, a FastAPI dependency
        Invalid("import httpx\nfrom fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/rates')\nasync def rates():\n    async with httpx.AsyncClient() as client:\n        return (await client.get('https://fx/rates')).json()\n", (7,)),
        Invalid("import psycopg2\nfrom flask import Flask\napp = Flask(__name__)\n\n@app.route('/orders')\ndef orders():\n    conn = psycopg2.connect(DSN)\n    return conn.cursor().execute('SELECT id FROM orders WHERE open').fetchall()\n", (7,)),
        Invalid("import requests\nfrom django.views import View\n\nclass Status(View):\n    def get(self, request):\n        session = requests.Session()\n        return session.get('https://status/api').json()\n", (6,)),
        Invalid("import asyncpg\nfrom fastapi import Depends, FastAPI\napp = FastAPI()\n\nasync def get_conn():\n    conn = await asyncpg.connect(DSN)\n    try:\n        yield conn\n    finally:\n        await conn.close()\n\n@app.get('/u')\nasync def u(conn=Depends(get_conn)):\n    return await conn.fetch('SELECT id FROM users WHERE active')\n", (6,)),
        Invalid("import sqlite3\nfrom flask import Flask\napp = Flask(__name__)\n\n@app.route('/n')\ndef n():\n    with sqlite3.connect('app.db') as conn:\n        return str(conn.execute('SELECT count(*) FROM t WHERE a = 1').fetchone())\n", (7,)),
        # per iteration
        Invalid("import redis\n\ndef warm(keys):\n    for k in keys:\n        r = redis.Redis(host='cache')\n        r.set(k, 1)\n", (5,)),
        Invalid("import psycopg2\n\ndef main(jobs):\n    for job in jobs:\n        conn = psycopg2.connect('dbname=app')\n        conn.close()\n", (5,)),
        Invalid("import aiohttp\n\nasync def fetch(urls):\n    for u in urls:\n        async with aiohttp.ClientSession() as s:\n            await s.get(u)\n", (5,)),
        # an engine / client per call of a plain function (fixed server)
        Invalid("from sqlalchemy import create_engine\n\ndef report(day):\n    engine = create_engine('postgresql://db/app')\n    with engine.connect() as conn:\n        return conn.execute(text('SELECT 1 FROM t WHERE d = :d'), {'d': day}).all()\n", (4,)),
        Invalid("from redis import asyncio as aioredis\n\nasync def bump(key):\n    r = aioredis.from_url(settings.REDIS_URL)\n    await r.incr(key)\n", (4,)),
        Invalid("import pymysql\n\nclass Repo:\n    def find(self, pk):\n        conn = pymysql.connect(host=self.host, db='app')\n        return conn.cursor().execute('SELECT a FROM t WHERE id = %s', (pk,))\n", (5,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        function = ctx.function
        if function is None or ctx.frame is not function or not isinstance(function.node, cst.FunctionDef):
            return  # module level, class bodies and lambdas
        kind = _factory_kind(node, ctx)
        if kind is None or _shares_a_pool(node, kind):
            return
        statement, names = _holder(ctx)
        if _stored(node, statement, names, ctx):
            return
        opened = f"`{ev.call_display(node, ctx)}` opens a new {_OPENS.get(kind, 'connection')}"
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False)
        if loop is not None and not names_read(node) & loop_bound_names(ctx):
            ctx.report(self, node, f"{opened} on every iteration of `{describe_loop(loop, ctx)}`; "
                                   "create it once before the loop (or use a pool) and reuse it")
            return
        if _runs_once(function, ctx):
            return
        if _per_request(function, ctx):
            ctx.report(self, node, f"{opened} on every request to `{function.qualname}`; create it once "
                                   "at startup (module level, or the app's lifespan/startup hook, "
                                   "e.g. `app.state`) and reuse it")
            return
        if kind not in kb.PER_CALL_COSTLY_KINDS or ctx.loops or _escapes(statement, names, ctx) \
                or _target_from_caller(node, ctx) or _serves_a_loop(names, ctx) or _once_per_process_file(ctx):
            return  # (in a loop that does not multiply: a retry or a readiness poll)
        ctx.report(self, node, f"{opened} on every call of `{function.qualname}`; "
                               f"{_PER_CALL_ADVICE.get(kind, _PER_CALL_ADVICE['custom'])}",
                   confidence="medium")


def _factory_kind(call: cst.Call, ctx: Context) -> str | None:
    factories = ctx.knowledge.connection_factories
    last = call_method_name(call)
    if last is None or last not in _last_names(factories, ctx):
        return None  # cheap gate before resolving imports
    return factories.get(ctx.qualified_name(call.func) or "")


def _last_names(factories: dict[str, str], ctx: Context) -> frozenset[str]:
    return ctx.memoised(("pfl205_last_names", id(factories)),
                        lambda: frozenset(name.rpartition(".")[2] for name in factories))


def _shares_a_pool(call: cst.Call, kind: str) -> bool:
    """``redis.Redis(connection_pool=POOL)`` / ``ClientSession(connector=shared)``: cheap;
    ``sqlite3.connect(":memory:")``: a private database on purpose."""
    if any(arg.keyword is not None and arg.keyword.value in kb.SHARED_POOL_KEYWORDS for arg in call.args):
        return True
    if kind == "file_db" and call.args and isinstance(call.args[0].value, cst.SimpleString):
        return call.args[0].value.evaluated_value in kb.PRIVATE_DATABASES
    return False


def _holder(ctx: Context) -> tuple[cst.CSTNode | None, set[str]]:
    """The statement (or ``with`` item) the factory call's value goes to, and the names it
    binds the value to (``conn = ...`` / ``with ... as conn``)."""
    parents = ctx.parents
    for index in range(len(parents) - 1, -1, -1):
        parent = parents[index]
        if isinstance(parent, _PASS_THROUGH):
            continue
        if isinstance(parent, cst.Call):
            continue  # an argument of another call: follow where that call's value goes
        if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.WithItem, cst.Return,
                               cst.Expr, cst.Yield)):
            return parent, ev.names_bound_by(parent)
        return parent, set()
    return None, set()


def _stored(call: cst.Call, statement: cst.CSTNode | None, names: set[str], ctx: Context) -> bool:
    """Kept beyond the call: on an attribute or an item, in a collection, or in a global."""
    if statement is not None and ev.stores_outside(statement):
        return True
    for parent in reversed(ctx.parents):
        if parent is statement:
            break
        if isinstance(parent, cst.Call) and call_method_name(parent) in MUTATING_METHODS:
            return True  # ``clients.append(httpx.Client())``
    if not names:
        return False
    for sub in _function_statements(ctx):
        if isinstance(sub, (cst.Global, cst.Nonlocal)) and any(n.name.value in names for n in sub.names):
            return True
        if isinstance(sub, cst.Assign) and ev.stores_outside(sub) and _hands_out(sub.value, names):
            return True  # ``g.db = conn``
        if isinstance(sub, cst.Call) and call_method_name(sub) in MUTATING_METHODS \
                and any(_hands_out(arg.value, names) for arg in sub.args):
            return True
    return False


def _escapes(statement: cst.CSTNode | None, names: set[str], ctx: Context) -> bool:
    """Returned or yielded to the caller, directly or through the names bound to it."""
    if isinstance(statement, (cst.Return, cst.Yield)):
        return True
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Yield):
        return True
    if not names:
        return False
    for sub in _function_statements(ctx):
        if isinstance(sub, (cst.Return, cst.Yield)) and sub.value is not None \
                and not isinstance(sub.value, cst.From) and _hands_out(sub.value, names):
            return True
    return False


def _hands_out(value: cst.BaseExpression, names: set[str]) -> bool:
    """``conn``, ``(conn, cur)``, ``Repo(conn)``: the object itself goes out; not the result
    of a method called on it (``conn.fetchrow(...)``) nor an attribute of it."""
    value = ev.unwrap_await(value)
    if isinstance(value, cst.Name):
        return value.value in names
    if isinstance(value, (cst.Tuple, cst.List, cst.Set)):
        return any(_hands_out(e.value, names) for e in value.elements)
    if isinstance(value, cst.Dict):
        return any(isinstance(e, cst.DictElement) and _hands_out(e.value, names) for e in value.elements)
    if isinstance(value, cst.Call):
        if isinstance(value.func, cst.Attribute) and names_read(value.func.value) & names:
            return False
        return any(_hands_out(arg.value, names) for arg in value.args)
    return False


def _function_statements(ctx: Context) -> list[cst.CSTNode]:
    function = ctx.function
    assert function is not None
    return ctx.memoised(("pfl205_function_nodes", id(function.node)), lambda: [
        sub for sub in iter_subtree(function.node.body)  # type: ignore[attr-defined]
        if isinstance(sub, (cst.Global, cst.Nonlocal, cst.Assign, cst.Call, cst.Return, cst.Yield))])


def _serves_a_loop(names: set[str], ctx: Context) -> bool:
    """The connection is used inside a loop of the function (a worker's ``while True``, a
    batch): opened once for many operations, not once per query."""
    if not names:
        return False
    return any(isinstance(sub, (cst.For, cst.While)) and names_read(sub.body) & names
               for sub in _function_loops(ctx))


def _function_loops(ctx: Context) -> list[cst.CSTNode]:
    function = ctx.function
    assert function is not None
    return ctx.memoised(("pfl205_function_loops", id(function.node)), lambda: [
        sub for sub in iter_subtree(function.node.body)  # type: ignore[attr-defined]
        if isinstance(sub, (cst.For, cst.While))])


def _runs_once(function: Frame, ctx: Context) -> bool:
    """Startup hooks, cached factories, app factories, CLI mains, test setup."""
    name = function.name
    if name in kb.ONCE_FUNCTION_NAMES or name.startswith(kb.ONCE_FUNCTION_PREFIXES):
        return True
    if any(d.rpartition(".")[2] in kb.ONCE_DECORATORS for d in function.decorators):
        return True
    return _entry(function, ctx) == "cli"


def _entry(function: Frame, ctx: Context) -> str | None:
    for summary in reversed(ctx.summary.summary.functions):
        if summary.qualname == function.qualname:
            return summary.entry
    return None


def _per_request(function: Frame, ctx: Context) -> bool:
    """A request handler (route decorator, view class method), or a function FastAPI runs
    per request because ``Depends(...)`` names it."""
    return _entry(function, ctx) == "handler" or function.name in _dependencies(ctx)


def _dependencies(ctx: Context) -> frozenset[str]:
    return ctx.memoised(("pfl205_dependencies", 0), lambda: frozenset(
        sub.args[0].value.value for sub in iter_every_node(ctx.module)
        if isinstance(sub, cst.Call) and sub.args and isinstance(sub.args[0].value, cst.Name)
        and ctx.qualified_name(sub.func) in kb.PER_REQUEST_DEPENDENCIES))


def _target_from_caller(call: cst.Call, ctx: Context) -> bool:
    """``psycopg2.connect(dsn)`` with ``dsn`` a parameter or a loop item: a helper for
    whatever database its caller (or the list it walks) names. ``self`` / ``cls`` do not
    count: the same server on every call."""
    chosen = (ev.parameter_names(ctx) - {"self", "cls"}) | loop_bound_names(ctx)
    return any(names_read(arg.value) & chosen for arg in call.args)


def _once_per_process_file(ctx: Context) -> bool:
    """A script (``if __name__ == "__main__":``) or a test module: its functions run once."""
    return ctx.memoised(("pfl205_once_file", 0), lambda: ev.in_test_file(ctx) or any(
        _is_main_guard(statement) for statement in ctx.module.body))


def _is_main_guard(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.If):
        return False
    test = statement.test
    return isinstance(test, cst.Comparison) and dotted_name(test.left) == "__name__"
