"""PFL301 await-in-loop."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.clients import http_request
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    call_method_name,
    dotted_name,
    names_read,
    receiver_last_name,
)
from perflint.queries import classify_call
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.aio.loop_order import depends_on_previous_iteration, paces_itself
from perflint.rules.db.evidence import is_transaction_handle
from perflint.rules.loops import describe_loop, loop_bound_names, multiplying_loop


class AwaitInLoop(PythonRule):
    """
    ## What it does
    Flags an `await` inside a `for` loop (or comprehension) whose iterations do not
    depend on each other, so they run one after another for no reason.

    ## Why is this bad?
    Each iteration waits for the previous one's I/O. Ten calls of 100 ms take a
    second in a loop and about 100 ms when run concurrently.

    ## Example
    ```python
    results = []
    for order_id in order_ids:
        results.append(await process_order(order_id))
    ```

    ## Use instead
    ```python
    semaphore = asyncio.Semaphore(10)

    async def limited(order_id):
        async with semaphore:
            return await process_order(order_id)

    results = await asyncio.gather(*(limited(o) for o in order_ids))
    ```

    Not reported when an iteration depends on the previous one (pagination cursors,
    accumulators), on retries and first-hit lookups that return or break, in
    `async for` and `while` loops (streams, receive loops), when the loop paces
    itself (`asyncio.sleep`, a limiter), for ordered stream/queue/lock/file operations,
    for the methods of one database connection or cursor (it runs one operation at a
    time) and for calls that hand every pass the same connection or database session,
    when the awaited callable is the loop item or hangs off it (hooks, signals,
    middleware, `site.start()`: dispatch in order), when the call reads state the loop
    changes in place, when the awaited call reads nothing that changes between passes
    (the same step repeated: a poll, a checkpoint between per-item work), when the
    awaited call runs SQL (PFL201 / PFL203), and when it
    sends an HTTP request on a client the code shows (PFL304 reports it).
    """

    code = "PFL301"
    name = "await-in-loop"
    summary = "independent awaits run one after another in a loop"
    message = "await in a loop runs the iterations one at a time"
    severity = "warning"
    confidence = "medium"
    base_cost = 3.0
    fix_hint = "Run the iterations concurrently: asyncio.gather / TaskGroup, bounded with a Semaphore."
    candidate = None

    VALID = (
        # cursor pagination: the next call needs this one's result
        Valid("async def f(api):\n    cursor = None\n    for _ in range(1000):\n        page = await api.list(cursor=cursor)\n        cursor = page.next\n"),
        Valid("async def f(api, ids):\n    token = None\n    for i in ids:\n        token = await api.step(i, token)\n"),
        # retry that returns on success
        Valid("async def f(client, url):\n    for attempt in range(5):\n        try:\n            return await client.get(url)\n        except OSError:\n            await asyncio.sleep(2 ** attempt)\n"),
        # first-hit lookup
        Valid("async def f(mirrors, name):\n    for m in mirrors:\n        hit = await m.lookup(name)\n        if hit:\n            return hit\n"),
        # receive loop and async for
        Valid("async def f(ws):\n    while True:\n        msg = await ws.receive_text()\n        handle(msg)\n"),
        Valid("async def f(stream):\n    async for chunk in stream:\n        await handle(chunk)\n"),
        # rate limiter
        Valid("async def f(api, items):\n    for it in items:\n        await api.push(it)\n        await asyncio.sleep(0.1)\n"),
        Valid("async def f(api, items, limiter):\n    for it in items:\n        async with limiter:\n            await api.push(it)\n"),
        # ordered stream writes
        Valid("async def f(ws, chunks):\n    for c in chunks:\n        await ws.send_bytes(c)\n"),
        # a query: PFL201 reports it
        Valid("async def f(db, ids):\n    for i in ids:\n        await db.fetch_one('SELECT a FROM t WHERE id = :i', {'i': i})\n"),
        # an HTTP request on a known client: PFL304 (http-in-loop) reports it
        Valid("import httpx\n\nasync def f(urls):\n    async with httpx.AsyncClient() as client:\n        for u in urls:\n            await client.get(u)\n"),
        # gather already
        Valid("async def f(ids):\n    return await asyncio.gather(*[process(i) for i in ids])\n"),
        # waiting for tasks that already run concurrently
        Valid("async def f(tasks):\n    for task in tasks:\n        await task\n"),
        # nested def: not run in the loop
        Valid("async def f(ids):\n    for i in ids:\n        async def g():\n            await process(i)\n        tasks.append(g)\n"),
        # --- from real code (aiohttp, Starlette, Tortoise, Django, databases) ---
        # dispatch to each hook / signal / callback / plugin in turn: order is the contract
        Valid("async def f(traces, url):\n    for trace in traces:\n        await trace.send_request_end(url)\n"),
        Valid("async def f(self):\n    for task in self.tasks:\n        await task()\n"),
        Valid("async def f(backends, user):\n    perms = set()\n    for backend in backends:\n        perms.update(await getattr(backend, 'aget_perms')(user))\n"),
        Valid("async def f(self, sites):\n    for site in sites:\n        await site.start()\n"),
        # the item, a hook, handed to a runner (prefect's transactions and hook runner)
        Valid("async def f(self):\n    for hook in reversed(self.on_rollback_hooks):\n        await self.run_hook(hook, 'rollback')\n"),
        Valid("async def f(hooks, state):\n    for hook in hooks:\n        await call_in_thread(partial(hook, state=state))\n"),
        # statements on one connection (PFL201 / PFL203 territory)
        Valid("async def f(self, queries):\n    for q in queries:\n        await self.execute(q)\n"),
        Valid("async def f(self, sqls):\n    for sql in sqls:\n        await self.editor._run_sql(sql)\n"),
        Valid("async def f(self, rows):\n    for sql, values in rows:\n        await self._db.execute_query(sql, values)\n"),
        # one connection runs one operation at a time (peewee's pwasyncio, asyncpg)
        Valid("async def f(conn, extensions):\n    for extension in extensions:\n        await conn.load_extension(extension)\n"),
        Valid("async def f(self, to_close):\n    for stmt in to_close:\n        await self._protocol.close_statement(stmt, 0)\n"),
        Valid("async def f(self, names):\n    for name in names:\n        await self.db_conn.set_type_codec(name)\n"),
        # every pass hands a helper the same session or connection: one operation at a time
        Valid("from sqlalchemy.ext.asyncio import AsyncSession\n\nasync def f(session: AsyncSession, automations):\n    for a in automations:\n        await notify(session, a, 'deleted')\n"),
        Valid("from sqlalchemy.ext.asyncio import AsyncSession\n\nasync def f(session: AsyncSession, schemas):\n    async with session.begin():\n        for s in schemas:\n            await register_schema(session=session, schema=s)\n"),
        Valid("async def f(conn, ids):\n    for i in ids:\n        await load_one(conn, i)\n"),
        # a ``session`` the function runs SQL on is a database session (prefect's services)
        Valid("async def f(db):\n    async with db.session_context() as session:\n        result = await session.execute(select(Pool))\n        for pool in result.scalars().all():\n            await update_pool(session=session, pool_id=pool.id)\n"),
        Valid("from sqlalchemy.ext.asyncio import async_sessionmaker\n\nSessionLocal = async_sessionmaker()\n\nasync def f(ids):\n    session = SessionLocal()\n    for i in ids:\n        await archive(session, i)\n"),
        # one file: seek / read / write in order
        Valid("async def f(file, ranges):\n    for start, end in ranges:\n        await file.seek(start)\n        await file.read(end - start)\n"),
        # the next call sees state the previous iterations changed in place
        Valid("async def f(self, plan):\n    applied = set()\n    for step in plan:\n        state = await self.project_state(applied)\n        applied.add(step)\n"),
        # the same call repeated, nothing from the loop in it (Home Assistant's alexa channel steps)
        Valid("async def f(hass, channel, data):\n    for _ in range(abs(channel)):\n        await hass.services.async_call('media_player', 'media_next_track', data)\n"),
        # a scheduling point between per-item work the body does itself (anyio, trio tests)
        Valid("async def f(saved):\n    for element in saved:\n        await checkpoint()\n        yield element\n"),
        Valid("async def f(q):\n    for i in range(20):\n        q.put_nowait(i)\n        await wait_all_tasks_blocked()\n"),
    )
    INVALID = (
        Invalid("async def f(order_ids):\n    results = []\n    for order_id in order_ids:\n        result = await process_order(order_id)\n        results.append(result)\n    return results\n", (4,)),
        Invalid("async def f(client, urls):\n    return [await client.get(u) for u in urls]\n", (2,)),
        Invalid("async def f(svc, users):\n    for u in users:\n        profile = await svc.profile(u.id)\n        await svc.score(u.id)\n", (3,)),
        Invalid("async def f(session, keys):\n    out = {}\n    for k in keys:\n        out[k] = await session.get_value(k)\n    return out\n", (4,)),
        Invalid("async def f(self, hosts):\n    for host in hosts:\n        addr = await self.resolver.lookup(host)\n        print(addr)\n", (3,)),
        # a pool hands out a connection per call: concurrency is there to take
        Invalid("async def f(pool, names):\n    for name in names:\n        await pool.reload_schema_state(name)\n", (3,)),
        Invalid("async def f(self, hosts):\n    for host in hosts:\n        await self.connector.probe(host)\n", (3,)),
        # an HTTP client's session is made to be shared by concurrent requests
        Invalid("import aiohttp\n\nasync def f(urls):\n    async with aiohttp.ClientSession() as session:\n        for u in urls:\n            await fetch(session, u)\n", (6,)),
        Invalid("async def f(session, urls):\n    for u in urls:\n        await fetch(session, u)\n", (3,)),
        Invalid("async def f(session, urls):\n    await session.get('/login')\n    for u in urls:\n        await fetch(session, u)\n", (4,)),
        # a connection of its own per pass: the passes can run concurrently
        Invalid("async def f(conns):\n    for conn in conns:\n        await ping(conn)\n", (3,)),
        # an item that is data, not a callable run in turn
        Invalid("async def f(self, orders):\n    for order in orders:\n        await self.run_checks(order)\n", (3,)),
        # a protocol factory is no connection (uvicorn's server start-up)
        Invalid("async def f(loop, create_protocol, sockets):\n    for sock in sockets:\n        await loop.create_server(create_protocol, sock=sock)\n", (3,)),
    )

    def __init__(self) -> None:
        self.reported_loops: set[int] = set()

    def visit_Await(self, node: cst.Await, ctx: Context) -> None:
        if not ctx.in_async_function:
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False, allow_async_for=False)
        if loop is None or loop is not ctx.loops[-1] or id(loop.node) in self.reported_loops:
            return
        if loop.kind not in ("for", "comp"):
            return
        awaited = node.expression
        # ``await task`` / ``await future`` waits for work already started concurrently.
        if not isinstance(awaited, cst.Call) or _is_exempt_call(awaited, ctx):
            return
        if _dispatches_to_item(awaited, loop) or _shares_one_connection(awaited, ctx):
            return
        if _repeats_one_step(awaited, loop, ctx):
            return
        if paces_itself(loop) or depends_on_previous_iteration(node, loop, ctx):
            return
        self.reported_loops.add(id(loop.node))
        what = " ".join(ctx.module.code_for_node(awaited.func).split())
        ctx.report(self, node, f"`await {what}(...)` runs one iteration at a time in "
                               f"`{describe_loop(loop, ctx)}`; the iterations are independent: "
                               "run them concurrently (asyncio.gather / TaskGroup with a Semaphore)")


def _repeats_one_step(call: cst.Call, loop: LoopFrame, ctx: Context) -> bool:
    """``for _ in range(abs(channel)): await next_track()``, ``for element in saved:
    await checkpoint(); yield element``: the awaited call reads nothing that changes from
    one pass to the next (no loop item, nothing the body assigns), so each pass repeats
    one step on shared state (key presses, polls, scheduling points between the per-item
    work the body does itself), not a separate work item to run concurrently."""
    return isinstance(loop.node, cst.For) and not names_read(call) & loop_bound_names(ctx)


def _is_exempt_call(call: cst.Call, ctx: Context) -> bool:
    if classify_call(call, ctx) is not None:
        return True  # a query: PFL201 / PFL203 territory
    if http_request(call, ctx) is not None:
        return True  # an HTTP request: PFL304 (http-in-loop) is the more specific rule
    method = call_method_name(call) or ""
    if method in kb.ORDERED_AWAIT_METHODS or dotted_name(call.func) in kb.RATE_LIMIT_CALLS:
        return True
    if _looks_like_database_call(method):
        return True  # ``self.execute(q)``, ``client.execute_query(sql)``, ``_run_sql(sql)``
    owner = (receiver_last_name(call) or "").lower()
    if owner.lstrip("_") in kb.SINGLE_CONNECTION_RECEIVERS \
            or owner.rpartition("_")[2] in kb.SINGLE_CONNECTION_RECEIVERS:
        return True  # one connection: its operations run one at a time whatever the code does
    return any(word in owner for word in kb.ORDERED_RECEIVER_WORDS)


def _shares_one_connection(call: cst.Call, ctx: Context) -> bool:
    """``await notify(session, item)`` with ``session: AsyncSession``, ``await load(conn,
    i)``: every pass hands the same connection or database session to the helper, and
    one connection runs one operation at a time. Gathered, the calls would fail (asyncpg:
    "another operation is in progress"; SQLAlchemy's AsyncSession is not safe to share
    between concurrent tasks). The code must show it is one: named like a connection
    (whole names only: ``create_protocol`` is a factory), or a session or connection by
    what ``evidence.is_transaction_handle`` finds without going by the name alone; a
    plain ``session`` may be an HTTP client's, which is made to be shared. A name bound
    anew in the loop (a connection per pass) is no such handle."""
    names = [arg.value for arg in call.args if isinstance(arg.value, cst.Name)]
    if not names:
        return False
    changing = loop_bound_names(ctx)
    return any(name.value not in changing and (
        name.value.lower().lstrip("_") in kb.SINGLE_CONNECTION_RECEIVERS
        or is_transaction_handle(name, ctx, by_name=False)) for name in names)


def _looks_like_database_call(method: str) -> bool:
    """A statement runner by its name: on one connection the statements run one at a
    time anyway, and queries per iteration are PFL201's (writes PFL203's)."""
    lowered = method.lower().lstrip("_")
    if lowered.startswith(kb.DATABASE_AWAIT_PREFIXES):
        return True
    return any(part in kb.DATABASE_AWAIT_WORDS for part in lowered.split("_"))


def _dispatches_to_item(call: cst.Call, loop: LoopFrame) -> bool:
    """The awaited callable is the loop item or hangs off it (``await hook()``,
    ``await trace.send_x()``, ``await site.stop()``, ``await getattr(backend, name)()``),
    or the item, named as a hook, callback, handler..., is handed to a runner
    (``await self.run_hook(hook)``): a dispatch to each handler, hook, plugin or resource
    in turn. Their order is
    usually part of the contract (signals, middleware, start-up and shutdown) and the
    list is configuration-sized."""
    node: cst.BaseExpression = call.func
    while True:
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            if dotted_name(node.func) == "getattr" and node.args:
                node = node.args[0].value
            else:
                node = node.func
        else:
            break
    if isinstance(node, cst.Name) and node.value in loop.targets:
        return True
    # ``for hook in hooks: await self.run_hook(hook)``: the item is handed to a runner
    hooks = {name for name in loop.targets
             if name.lower().rpartition("_")[2] in kb.DISPATCHED_ITEM_WORDS}
    return bool(hooks) and bool(hooks & names_read(call))
