"""PFL302 sequential-awaits."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perflint import knowledge as kb
from perflint.clients import client_of, http_request
from perflint.context import Context
from perflint.cstutil import call_method_name, names_read, receiver, target_names
from perflint.queries import classify_call
from perflint.rulebase import Invalid, PythonRule, Valid, Words

_KIND_LABELS = {"db": "database", "http": "HTTP", "redis": "redis"}


@dataclass(frozen=True)
class _Resource:
    """What an awaited call talks to: ``kind`` and the client object's code (``identity``)."""

    kind: str  # "db" | "http" | "redis"
    identity: str
    reads_only: bool


@dataclass(frozen=True)
class _AwaitStatement:
    node: cst.Await
    call: cst.Call
    bound: frozenset[str]  # names the statement assigns


class SequentialAwaits(PythonRule):
    """
    ## What it does
    Flags two consecutive `await`s in one block that talk to different resources (the
    database and an HTTP service, two different HTTP clients, redis and the database)
    when the second does not use the first's result: they could run at the same time.

    ## Why is this bad?
    The handler's latency is the sum of both round trips where it could be the longer
    of the two. Two 80 ms calls cost 160 ms one after the other and about 80 ms together.

    ## Example
    ```python
    async def product_page(product_id: int):
        product = await db.fetch_one("SELECT id, name FROM products WHERE id = :id", {"id": product_id})
        reviews = await reviews_client.get(f"/products/{product_id}/reviews")
        return product, reviews.json()
    ```

    ## Use instead
    ```python
    async def product_page(product_id: int):
        product, reviews = await asyncio.gather(
            db.fetch_one("SELECT id, name FROM products WHERE id = :id", {"id": product_id}),
            reviews_client.get(f"/products/{product_id}/reviews"),
        )
        return product, reviews.json()
    ```
    (or `async with asyncio.TaskGroup() as tg:` and two `tg.create_task(...)`).

    Low confidence by default: the order can matter for reasons the code does not
    show. Only calls whose resource the code shows count: a query (PFL201's
    classification), an HTTP request on a client it can see, a `redis.asyncio`
    command. Not reported when both use the same connection, session or client, inside
    a transaction (`async with conn.transaction()`, `session.begin()`), when the
    second reads a name the first assigns (also through an attribute: `user.id`),
    when either one writes (an INSERT/UPDATE/DELETE, a POST/PUT/PATCH/DELETE request,
    a redis write: their order may matter), and for `await asyncio.sleep(...)`. A run
    of three or more is reported once, on its second await.
    """

    code = "PFL302"
    name = "sequential-awaits"
    summary = "independent awaits on different resources run one after the other"
    message = "independent awaits on different resources run one after the other"
    severity = "info"
    confidence = "low"
    base_cost = 2.0
    fix_hint = "Await them together: asyncio.gather(...) or an asyncio.TaskGroup."
    candidate = Words(("await",))

    VALID = (
        # the same connection / client: one after the other anyway
        Valid("async def f(db, pid):\n    product = await db.fetch_one('SELECT a FROM products WHERE id = :id', {'id': pid})\n    total = await db.fetch_val('SELECT COUNT(*) FROM products WHERE b = 1')\n"),
        Valid("import httpx\n\nasync def f(client: httpx.AsyncClient):\n    a = await client.get('/a')\n    b = await client.get('/b')\n"),
        # inside one transaction
        Valid("import httpx\n\nasync def f(conn, client: httpx.AsyncClient, uid):\n    async with conn.transaction():\n        user = await conn.fetchrow('SELECT a FROM users WHERE id = $1', uid)\n        resp = await client.get('/flags')\n"),
        Valid("import httpx\n\nasync def f(session, client: httpx.AsyncClient, uid):\n    async with session.begin():\n        rows = await session.execute(text('SELECT a FROM t WHERE id = :i'), {'i': uid})\n        resp = await client.get('/flags')\n"),
        # the second uses the first's result (also through an attribute)
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, uid):\n    user = await db.fetch_one('SELECT a FROM users WHERE id = :id', {'id': uid})\n    resp = await client.get(f'/scores/{user}')\n"),
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, uid):\n    user = await db.fetch_one('SELECT a FROM users WHERE id = :id', {'id': uid})\n    resp = await client.get('/scores', params={'email': user.email})\n"),
        # a write whose order may matter
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, oid):\n    await db.execute('UPDATE orders SET paid = true WHERE id = :id', {'id': oid})\n    await client.get(f'/orders/{oid}/receipt')\n"),
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, oid):\n    row = await db.fetch_one('SELECT a FROM orders WHERE id = :id', {'id': oid})\n    await client.post('/audit', json={'order': oid})\n"),
        Valid("import redis.asyncio as redis\n\ncache = redis.Redis()\n\nasync def f(db, key):\n    await cache.set(key, 1)\n    return await db.fetch_one('SELECT a FROM t WHERE k = :k', {'k': key})\n"),
        # a sleep, and awaits of unknown helpers (their resources are not visible)
        Valid("import asyncio\nimport httpx\n\nasync def f(client: httpx.AsyncClient):\n    await asyncio.sleep(1)\n    await client.get('/ping')\n"),
        Valid("async def f(pid):\n    product = await fetch_product(pid)\n    pricing = await fetch_pricing(pid)\n"),
        Valid("async def f(self, pid):\n    a = await self.repo.get(pid)\n    b = await self.api.get(pid)\n"),
        # not consecutive: another statement sits between them
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, uid):\n    user = await db.fetch_one('SELECT a FROM users WHERE id = :id', {'id': uid})\n    log.info('loaded')\n    resp = await client.get('/flags')\n"),
        # each in its own block (tracing spans)
        Valid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, pid):\n    with span('db'):\n        product = await db.fetch_one('SELECT a FROM p WHERE id = :id', {'id': pid})\n    with span('api'):\n        pricing = await client.get(f'/prices/{pid}')\n"),
        # two queries on different handles may share one pool: not known to be independent
        Valid("async def f(db, conn, uid):\n    a = await db.fetch_one('SELECT a FROM users WHERE id = :id', {'id': uid})\n    b = await conn.fetchrow('SELECT b FROM orders WHERE user_id = $1', uid)\n"),
        # sync code has nothing to gather
        Valid("import requests\n\ndef f(db, uid):\n    a = db.fetch_one('SELECT a FROM users WHERE id = :id', {'id': uid})\n    b = requests.get('https://flags')\n"),
    )
    INVALID = (
        # database + HTTP
        Invalid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, pid):\n    product = await db.fetch_one('SELECT a FROM products WHERE id = :id', {'id': pid})\n    reviews = await client.get(f'/products/{pid}/reviews')\n    return product, reviews\n", (5,)),
        # two different HTTP clients (two services)
        Invalid("import httpx\n\nusers = httpx.AsyncClient(base_url='https://users')\nbilling = httpx.AsyncClient(base_url='https://billing')\n\nasync def f(uid):\n    profile = await users.get(f'/users/{uid}')\n    invoices = await billing.get(f'/invoices?user={uid}')\n", (8,)),
        # aiohttp session + asyncpg connection, in a nested block
        Invalid("import aiohttp\n\nasync def f(conn, uid):\n    async with aiohttp.ClientSession() as http:\n        if uid:\n            row = await conn.fetchrow('SELECT a FROM users WHERE id = $1', uid)\n            flags = await http.get('https://flags/all')\n", (7,)),
        # redis.asyncio + database; a run of three is reported once
        Invalid("import httpx\nimport redis.asyncio as redis\n\ncache = redis.from_url('redis://')\n\nasync def f(db, client: httpx.AsyncClient, pid):\n    cached = await cache.get(f'p:{pid}')\n    row = await db.fetch_one('SELECT a FROM p WHERE id = :id', {'id': pid})\n    price = await client.get(f'/prices/{pid}')\n", (8,)),
        # a bare await statement and a return
        Invalid("import httpx\n\nasync def f(db, client: httpx.AsyncClient, pid):\n    await client.head('/warmup')\n    return await db.fetch_one('SELECT a FROM p WHERE id = :id', {'id': pid})\n", (5,)),
    )

    def __init__(self) -> None:
        self.previous: dict[int, cst.BaseStatement] = {}
        self.reported: set[int] = set()

    def visit_IndentedBlock(self, node: cst.IndentedBlock, ctx: Context) -> None:
        if not ctx.in_async_function:
            return
        for before, statement in zip(node.body, node.body[1:]):
            self.previous[id(statement)] = before

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine, ctx: Context) -> None:
        before = self.previous.get(id(node))
        if before is None or not ctx.in_async_function or id(before) in self.reported:
            return
        second = _await_statement(node, allow_return=True)
        first = _await_statement(before, allow_return=False) if second is not None else None
        if first is None or second is None:
            return
        if first.bound & (names_read(node) | second.bound):
            return  # the second needs the first's result (or overwrites it)
        a, b = _resource(first.call, ctx), _resource(second.call, ctx)
        if a is None or b is None or not (a.reads_only and b.reads_only):
            return
        if a.identity == b.identity or a.kind == b.kind and a.kind != "http":
            return  # one connection / client; or two handles that may share one pool
        if _in_transaction(ctx):
            return
        self.reported.add(id(node))
        ctx.report(self, second.node,
                   f"`await {_callee(first.call, ctx)}(...)` ({_KIND_LABELS[a.kind]}) and "
                   f"`await {_callee(second.call, ctx)}(...)` ({_KIND_LABELS[b.kind]}) run one "
                   "after the other though the second does not use the first's result: await "
                   "them together with asyncio.gather(...) or a TaskGroup")


def _await_statement(statement: cst.BaseStatement, *, allow_return: bool) -> _AwaitStatement | None:
    """``x = await c(...)``, ``x: T = await c(...)``, ``await c(...)`` (and, as the second
    of a pair, ``return await c(...)``) alone on their line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    bound: set[str] = set()
    if isinstance(small, cst.Assign):
        value = small.value
        for target in small.targets:
            bound |= target_names(target.target)
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        value = small.value
        bound |= target_names(small.target)
    elif isinstance(small, cst.Expr) or (
            isinstance(small, cst.Return) and allow_return and small.value is not None):
        value = small.value
    else:
        return None
    if not isinstance(value, cst.Await) or not isinstance(value.expression, cst.Call):
        return None
    return _AwaitStatement(value, value.expression, frozenset(bound))


def _resource(call: cst.Call, ctx: Context) -> _Resource | None:
    """The resource an awaited call uses, when the code shows it."""
    owner = receiver(call)
    if owner is None:
        return None
    identity = " ".join(ctx.module.code_for_node(owner).split())
    request = http_request(call, ctx)
    if request is not None:
        if request.is_async is False or request.receiver is None:
            return None
        return _Resource("http", identity, request.method in kb.HTTP_READ_METHODS)
    query = classify_call(call, ctx)
    if query is not None:
        return _Resource("db", identity, not (query.is_write or query.is_ddl))
    client = client_of(owner, ctx)
    if client is not None and client.kind == "redis" and client.is_async:
        return _Resource("redis", identity, call_method_name(call) in kb.REDIS_READ_METHODS)
    return None


def _in_transaction(ctx: Context) -> bool:
    """An enclosing ``(async) with x.transaction()`` / ``session.begin()`` / ``atomic()``."""
    for parent in reversed(ctx.parents):
        if isinstance(parent, (cst.FunctionDef, cst.Lambda)):
            return False
        if isinstance(parent, cst.With):
            for item in parent.items:
                if isinstance(item.item, cst.Call) and call_method_name(item.item) in kb.TRANSACTION_METHODS:
                    return True
    return False


def _callee(call: cst.Call, ctx: Context) -> str:
    return " ".join(ctx.module.code_for_node(call.func).split())
