"""PFL304 http-in-loop."""

from __future__ import annotations

import libcst as cst

from perflint.clients import HttpRequest, http_request
from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.aio.loop_order import (
    depends_on_previous_iteration,
    iterates_batches,
    paces_itself,
    times_itself,
)
from perflint.rules.loops import describe_loop, multiplying_loop


class HttpInLoop(PythonRule):
    """
    ## What it does
    Flags an HTTP request sent once per iteration of a loop over input-sized data, one
    after another: a sync request (`requests.get(...)`, `httpx.get(...)`,
    `urllib.request.urlopen(...)`, `get/post/...` on a `requests.Session()` or
    `httpx.Client()`), or a request awaited on one shared async client
    (`await client.get(...)` on an `httpx.AsyncClient` / `aiohttp.ClientSession`).

    ## Why is this bad?
    Each request pays a full network round trip (often a TLS handshake too) and the
    loop waits for it before sending the next. 200 items at 50 ms each take 10 s; the
    same work as one batch call, or 10 requests in flight at a time, takes well under
    a second.

    ## Example
    ```python
    async def prices(client: httpx.AsyncClient, skus: list[str]) -> list[dict]:
        out = []
        for sku in skus:
            resp = await client.get(f"/prices/{sku}")
            out.append(resp.json())
        return out
    ```

    ## Use instead
    A batch endpoint (`GET /prices?sku=a,b,c`), or bounded concurrency:
    ```python
    async def prices(client: httpx.AsyncClient, skus: list[str]) -> list[dict]:
        limit = asyncio.Semaphore(10)

        async def one(sku: str) -> dict:
            async with limit:
                return (await client.get(f"/prices/{sku}")).json()

        return await asyncio.gather(*(one(sku) for sku in skus))
    ```
    In sync code: `concurrent.futures.ThreadPoolExecutor().map(...)` over one `Session`.

    The client must be visible in the code (an import, an assignment, `with ... as`,
    an annotation); extend the table with `http-clients = ["myapp.api.ApiClient"]`.
    Not reported: one request outside a loop, loops over small literals, loops that
    stop at the first answer (retries, first-hit lookups), loops over chunks or
    batches (each pass already sends a batch), `while` loops (pagination
    that follows the previous response's cursor), `async for` streams, a request that
    reads what the previous pass produced (cursor, token), a crawl that paces itself
    (a sleep or a limiter in the loop), a loop that times each request (a latency
    probe), and coroutines collected for `asyncio.gather` rather than awaited.
    """

    code = "PFL304"
    name = "http-in-loop"
    summary = "an HTTP request per loop iteration, one after another"
    message = "HTTP request per loop iteration"
    severity = "warning"
    confidence = "high"
    base_cost = 4.0
    fix_hint = ("Use a batch endpoint, or send the requests concurrently: asyncio.gather with a "
                "Semaphore (async) or a thread pool (sync).")
    candidate = None  # configured client classes can come from any module

    VALID = (
        # one batch request, outside any loop
        Valid("import requests\n\ndef f(ids):\n    return requests.post('https://api/prices:batch', json={'ids': ids}).json()\n"),
        # concurrency already: coroutines gathered, a thread pool mapping the function
        Valid("import asyncio\nimport httpx\n\nasync def f(urls):\n    async with httpx.AsyncClient() as client:\n        return await asyncio.gather(*[client.get(u) for u in urls])\n"),
        Valid("import requests\nfrom concurrent.futures import ThreadPoolExecutor\n\ndef f(urls):\n    with ThreadPoolExecutor(8) as pool:\n        return list(pool.map(requests.get, urls))\n"),
        Valid("import requests\n\ndef f(urls, pool):\n    return [pool.submit(lambda u=u: requests.get(u)) for u in urls]\n"),
        # a rate-limited crawl marked as such
        Valid("import time\nimport requests\n\ndef f(urls):\n    for u in urls:\n        requests.get(u)\n        time.sleep(1)\n"),
        Valid("import asyncio\nimport httpx\n\nasync def f(client: httpx.AsyncClient, urls):\n    for u in urls:\n        await client.get(u)\n        await asyncio.sleep(0.5)\n"),
        Valid("import aiohttp\n\nasync def f(urls, limiter):\n    async with aiohttp.ClientSession() as session:\n        for u in urls:\n            async with limiter:\n                await session.get(u)\n"),
        # pagination: the next request needs the previous response
        Valid("import requests\n\ndef f(url):\n    page = requests.get(url).json()\n    while page['next']:\n        page = requests.get(page['next']).json()\n"),
        Valid("import httpx\n\nasync def f(client: httpx.AsyncClient, pages):\n    cursor = None\n    for _ in range(pages):\n        resp = await client.get('/items', params={'cursor': cursor})\n        cursor = resp.json()['next']\n"),
        # retries and first-hit lookups stop at the first good answer
        Valid("import requests\n\ndef f(mirrors, path):\n    for m in mirrors:\n        resp = requests.get(m + path)\n        if resp.ok:\n            return resp\n"),
        # one batch request per chunk: already the batched form
        Valid("import requests\n\ndef f(ids, chunked):\n    for chunk in chunked(ids, 100):\n        requests.post('https://api/items:batch', json=chunk)\n"),
        # a small literal loop
        Valid("import requests\n\ndef f():\n    for env in ('staging', 'prod'):\n        requests.get(f'https://{env}.example.com/health')\n"),
        # a latency probe times each request: sequential on purpose
        Valid("import time\nimport requests\n\ndef f(url, n):\n    times = []\n    for _ in range(n):\n        start = time.perf_counter()\n        requests.get(url)\n        times.append(time.perf_counter() - start)\n    return times\n"),
        # an async stream, and a receive loop
        Valid("import httpx\n\nasync def f(client: httpx.AsyncClient, rows):\n    async for row in rows:\n        await client.post('/events', json=row)\n"),
        # unknown objects are not guessed from their names
        Valid("def f(client, urls):\n    for u in urls:\n        client.get(u)\n"),
        Valid("def f(self, keys):\n    for k in keys:\n        self.session.get(k)\n"),
        Valid("def f(cache, keys):\n    return [cache.get(k) for k in keys]\n"),
        # a dict's get is not a request
        Valid("import requests\n\ndef f(rows):\n    session = {}\n    for r in rows:\n        session.get(r)\n"),
        # the request runs in a function defined in the loop, not in the loop
        Valid("import requests\n\ndef f(urls):\n    jobs = []\n    for u in urls:\n        def job(u=u):\n            return requests.get(u)\n        jobs.append(job)\n"),
    )
    INVALID = (
        # sync: requests / httpx / urllib functions and session objects
        Invalid("import requests\n\ndef f(urls):\n    out = []\n    for u in urls:\n        out.append(requests.get(u, timeout=5).json())\n    return out\n", (6,)),
        Invalid("import httpx\n\ndef f(ids):\n    return [httpx.get(f'https://api/items/{i}') for i in ids]\n", (4,)),
        Invalid("from urllib.request import urlopen\n\ndef f(urls):\n    for u in urls:\n        urlopen(u).read()\n", (5,)),
        Invalid("import requests\n\ndef f(users):\n    session = requests.Session()\n    for user in users:\n        session.post('https://hooks/notify', json={'id': user.id})\n", (6,)),
        Invalid("import httpx\n\ndef f(ids):\n    with httpx.Client(base_url='https://api') as client:\n        for i in ids:\n            client.get(f'/items/{i}')\n", (6,)),
        # awaited on one shared async client
        Invalid("import httpx\n\nasync def f(client: httpx.AsyncClient, skus):\n    out = []\n    for sku in skus:\n        resp = await client.get(f'/prices/{sku}')\n        out.append(resp.json())\n    return out\n", (6,)),
        Invalid("import aiohttp\n\nasync def f(urls):\n    async with aiohttp.ClientSession() as session:\n        for u in urls:\n            async with session.get(u) as resp:\n                print(await resp.text())\n", (6,)),
        Invalid("import httpx\n\nclient = httpx.AsyncClient()\n\nasync def f(ids):\n    return [await client.get(f'/items/{i}') for i in ids]\n", (6,)),
        # two requests per pass: both reported
        Invalid("import requests\n\ndef f(users):\n    for u in users:\n        profile = requests.get(f'https://a/{u}')\n        orders = requests.get(f'https://b/{u}')\n", (5, 6)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.loops:
            return
        request = http_request(node, ctx)
        if request is None or not _sends_now(request, node, ctx):
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False, allow_async_for=False)
        if loop is None or loop.kind not in ("for", "comp"):
            return
        if paces_itself(loop) or times_itself(loop, ctx) or iterates_batches(loop, ctx):
            return
        if depends_on_previous_iteration(node, loop, ctx):
            return
        awaited = isinstance(ctx.parents[-1], cst.Await) if ctx.parents else False
        what = " ".join(ctx.module.code_for_node(node.func).split())
        instead = ("asyncio.gather / a TaskGroup, bounded by a Semaphore" if request.is_async or awaited
                   else "a thread pool (concurrent.futures) over one session, or an async client")
        target = ctx.parents[-1] if awaited else node
        ctx.report(self, target,
                   f"HTTP request `{'await ' if awaited else ''}{what}(...)` is sent once per "
                   f"iteration of `{describe_loop(loop, ctx)}`, each waiting for the previous one: "
                   f"use a batch endpoint, or send them concurrently: {instead}")


def _sends_now(request: HttpRequest, node: cst.Call, ctx: Context) -> bool:
    """A sync request always sends when called. An async client's call only builds a
    coroutine (or a request context): it runs here when awaited or entered with
    ``async with``; otherwise it is collected for ``asyncio.gather``. A configured client
    of unknown async-ness counts when awaited, or when called in sync code."""
    parent = ctx.parents[-1] if ctx.parents else None
    if isinstance(parent, cst.Await):
        return True
    if isinstance(parent, cst.WithItem) and len(ctx.parents) > 1:
        with_node = ctx.parents[-2]
        if isinstance(with_node, cst.With) and with_node.asynchronous is not None:
            return True
    if request.is_async is False:
        return True
    return request.is_async is None and not ctx.in_async_function
