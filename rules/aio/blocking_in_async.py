"""PFL303 blocking-in-async."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.clients import blocking_call, is_offloaded
from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid, Words


class BlockingInAsync(PythonRule):
    """
    ## What it does
    Flags a blocking call made directly in an `async def`: `time.sleep`, `requests` /
    `urllib.request.urlopen` / `http.client`, sync database drivers (`sqlite3`,
    `psycopg2`, `pymysql`, `MySQLdb`: the connect and the connection's or cursor's
    `execute`/`fetch*`/`commit`), a sync `redis.Redis` client, `open()` and
    `Path.read_text`/`write_text`/`read_bytes`/`write_bytes`, `subprocess.run` /
    `call` / `check_output` / `check_call` and `os.system`.

    ## Why is this bad?
    An event loop runs one thing at a time. While a blocking call waits for the
    network, the disk or a child process, every other request and task served by that
    loop waits with it: one slow call adds its latency to all of them.

    ## Example
    ```python
    async def avatar(user_id: int) -> bytes:
        resp = requests.get(f"{AVATARS}/{user_id}", timeout=5)
        time.sleep(0.1)
        return resp.content
    ```

    ## Use instead
    ```python
    async def avatar(user_id: int) -> bytes:
        resp = await http_client.get(f"{AVATARS}/{user_id}")  # one httpx.AsyncClient
        await asyncio.sleep(0.1)
        return resp.content
    ```
    or move the sync code to a worker thread with `await asyncio.to_thread(fn, ...)`.

    Names are resolved through the file's imports and assignments: `asyncio.sleep`,
    `self.cache.get(...)` and `client.get(...)` on an `httpx.AsyncClient` are not
    blocking, and a cursor counts as sync only when the code shows where it came from
    (`conn = sqlite3.connect(...)`, `cur = conn.cursor()`, a `sqlite3.Connection`
    annotation). Not reported inside `asyncio.to_thread(...)`,
    `loop.run_in_executor(...)` or `anyio.to_thread.run_sync(...)` arguments, or in a
    sync `def` / `lambda` nested in the coroutine. Extend the table with
    `blocking-calls = ["myapp.legacy.fetch_report"]` in `[tool.perflint]`.
    """

    code = "PFL303"
    name = "blocking-in-async"
    summary = "a blocking call inside async def stalls the event loop"
    message = "blocking call inside async def"
    severity = "warning"
    confidence = "high"
    base_cost = 4.0
    fix_hint = ("Use the async counterpart (asyncio.sleep, httpx.AsyncClient, asyncpg/aiosqlite, "
                "redis.asyncio, asyncio.create_subprocess_exec, aiofiles) or asyncio.to_thread.")
    candidate = Words(("async",))

    VALID = (
        # the async counterparts, resolved through the imports
        Valid("import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"),
        Valid("from asyncio import sleep\n\nasync def f():\n    await sleep(1)\n"),
        Valid("import httpx\n\nasync def f(url):\n    async with httpx.AsyncClient() as client:\n        return await client.get(url)\n"),
        Valid("import httpx\n\nasync def f(client: httpx.AsyncClient, url):\n    return await client.get(url)\n"),
        Valid("import redis.asyncio as redis\n\ncache = redis.Redis()\n\nasync def f(key):\n    return await cache.get(key)\n"),
        Valid("from redis import asyncio as aioredis\n\nasync def f(key):\n    r = aioredis.from_url('redis://')\n    return await r.get(key)\n"),
        Valid("import aiosqlite\n\nasync def f(path):\n    async with aiosqlite.connect(path) as db:\n        cur = await db.execute('SELECT a FROM t WHERE id = 1')\n        return await cur.fetchall()\n"),
        Valid("import aiofiles\n\nasync def f(path):\n    async with aiofiles.open(path) as fh:\n        return await fh.read()\n"),
        Valid("from aiofiles import open\n\nasync def f(path):\n    async with open(path) as fh:\n        return await fh.read()\n"),
        Valid("import asyncio\n\nasync def f():\n    proc = await asyncio.create_subprocess_exec('ls')\n    await proc.wait()\n"),
        # a name alone proves nothing: attributes, parameters, locals of unknown origin
        Valid("async def f(self, key):\n    return self.cache.get(key)\n"),
        Valid("async def f(client, url):\n    return client.get(url)\n"),
        Valid("async def f(cursor):\n    cursor.execute('SELECT a FROM t WHERE id = 1')\n"),
        Valid("async def f(factory):\n    conn = factory()\n    conn.execute('SELECT a FROM t WHERE id = 1')\n"),
        Valid("import time\n\nasync def f(requests):\n    requests.get('https://example.com')\n"),
        # offloaded to a worker thread
        Valid("import asyncio\nimport time\n\nasync def f():\n    await asyncio.to_thread(time.sleep, 1)\n"),
        Valid("import asyncio\nimport requests\n\nasync def f(url):\n    return await asyncio.to_thread(lambda: requests.get(url))\n"),
        Valid("import asyncio\nimport requests\n\nasync def f(url):\n    loop = asyncio.get_running_loop()\n    return await loop.run_in_executor(None, requests.get, url)\n"),
        Valid("import anyio\nimport subprocess\n\nasync def f():\n    await anyio.to_thread.run_sync(subprocess.run, ['ls'])\n"),
        Valid("import asyncio\n\nasync def f(path):\n    return await asyncio.to_thread(open(path).read)\n"),
        # a nested sync def runs wherever it is called (often in a thread)
        Valid("import asyncio\nimport sqlite3\n\nasync def f(path):\n    def load():\n        conn = sqlite3.connect(path)\n        return conn.execute('SELECT a FROM t WHERE id = 1').fetchall()\n    return await asyncio.to_thread(load)\n"),
        # sync code is not this rule's business
        Valid("import time\nimport requests\n\ndef f(url):\n    time.sleep(1)\n    return requests.get(url)\n"),
        # building a sync client does no I/O yet; a local file path's pure operations neither
        Valid("import redis\n\nasync def f():\n    return redis.Redis(host='localhost')\n"),
        Valid("import redis\n\ncache = redis.Redis()\n\nasync def shutdown():\n    cache.close()\n"),
        Valid("from pathlib import Path\n\nasync def f(name):\n    return Path('/data') / name\n"),
        # ``open`` rebound by the module
        Valid("import aiofiles\n\nopen = aiofiles.open\n\nasync def f(path):\n    async with open(path) as fh:\n        return await fh.read()\n"),
    )
    INVALID = (
        Invalid("import time\n\nasync def f():\n    time.sleep(1)\n", (4,)),
        Invalid("from time import sleep\n\nasync def f():\n    sleep(1)\n", (4,)),
        Invalid("import requests\n\nasync def f(url):\n    return requests.get(url, timeout=5)\n", (4,)),
        Invalid("import requests as r\n\nasync def f(url):\n    return r.post(url, json={})\n", (4,)),
        Invalid("import urllib.request\n\nasync def f(url):\n    return urllib.request.urlopen(url).read()\n", (4,)),
        Invalid("import http.client\n\nasync def f(host):\n    conn = http.client.HTTPSConnection(host)\n    conn.request('GET', '/')\n    return conn.getresponse()\n", (5,)),
        Invalid("import requests\n\nasync def f(urls):\n    with requests.Session() as s:\n        return s.get(urls[0])\n", (5,)),
        # sync DB drivers: the connect, then the connection's and the cursor's calls
        Invalid("import sqlite3\n\nasync def f(path):\n    conn = sqlite3.connect(path)\n    cur = conn.cursor()\n    cur.execute('SELECT a FROM t WHERE id = 1')\n    return cur.fetchall()\n", (4, 6, 7)),
        Invalid("import psycopg2\n\nasync def f(dsn):\n    with psycopg2.connect(dsn) as conn:\n        with conn.cursor() as cur:\n            cur.execute('SELECT a FROM t WHERE id = 1')\n", (4, 6)),
        Invalid("import pymysql\n\nconn = pymysql.connect(host='db')\n\nasync def f():\n    conn.commit()\n", (6,)),
        Invalid("import MySQLdb\n\nasync def f():\n    db = MySQLdb.connect(host='db')\n    db.cursor().execute('SELECT 1 FROM t WHERE id = 1')\n", (4, 5)),
        Invalid("import sqlite3\n\nasync def f(conn: sqlite3.Connection):\n    return conn.execute('SELECT a FROM t WHERE id = 1').fetchall()\n", (4,)),
        # a sync redis client (not redis.asyncio)
        Invalid("import redis\n\nredis_client = redis.Redis(host='localhost')\n\nasync def f(key):\n    return redis_client.get(key)\n", (6,)),
        Invalid("import redis\n\nasync def f(url, key, value):\n    r = redis.from_url(url)\n    pipe = r.pipeline()\n    pipe.set(key, value)\n    pipe.execute()\n", (7,)),
        # files
        Invalid("async def f(path):\n    with open(path) as fh:\n        return fh.read()\n", (2,)),
        Invalid("from pathlib import Path\n\nasync def f(name):\n    return (Path('/data') / name).read_text()\n", (4,)),
        Invalid("from pathlib import Path\n\nasync def f(path: Path, body: bytes):\n    path.with_suffix('.bin').write_bytes(body)\n", (4,)),
        # processes
        Invalid("import subprocess\n\nasync def f():\n    subprocess.run(['ls'], check=True)\n", (4,)),
        Invalid("import os\n\nasync def f():\n    os.system('make')\n", (4,)),
        Invalid("from subprocess import check_output\n\nasync def f():\n    return check_output(['git', 'rev-parse', 'HEAD'])\n", (4,)),
        # in a nested async def, and in an async method
        Invalid("import time\n\ndef outer():\n    async def inner():\n        time.sleep(1)\n    return inner\n", (5,)),
        Invalid("import requests\n\nclass Api:\n    async def get(self, url):\n        return requests.get(url)\n", (5,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.in_async_function:
            return
        blocking = blocking_call(node, ctx)
        if blocking is None or is_offloaded(ctx):
            return
        function = ctx.function
        what = " ".join(ctx.module.code_for_node(node.func).split())
        if blocking.on_client:
            what = f"`{what}(...)` (`{blocking.origin}` is sync)"
        elif blocking.origin != what:
            what = f"`{what}(...)` (`{blocking.origin}`)"
        else:
            what = f"`{what}(...)`"
        instead = kb.BLOCKING_REPLACEMENTS.get(blocking.kind, kb.BLOCKING_REPLACEMENTS["custom"])
        extra = {"confidence": "medium"} if blocking.kind in kb.SHORT_BLOCKING_KINDS else {}
        name = function.name if function is not None else "?"
        ctx.report(self, node, f"{what} blocks the event loop in `async def {name}`: every other "
                               f"task waits for it; use {instead}", **extra)
