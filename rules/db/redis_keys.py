"""PFL206 redis-keys."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context
from perflint.cstutil import call_method_name, receiver
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.db import evidence as ev


class RedisKeys(PythonRule):
    """
    ## What it does
    Flags the redis `KEYS pattern` command (`r.keys("user:*")`, `await r.keys(...)`,
    `r.execute_command("KEYS", ...)`) on a client the code shows to be redis: built
    with `redis.Redis(...)`, `redis.from_url(...)`, `redis.asyncio`, django-redis's
    `get_redis_connection()`, or annotated with a redis type.

    ## Why is this bad?
    `KEYS` walks the whole keyspace in one command. Redis runs commands one at a
    time, so while it scans millions of keys every other client waits: a cache
    invalidation becomes a latency spike for the whole application.

    ## Example
    ```python
    def invalidate_pattern(self, pattern: str):
        keys = self.redis_client.keys(pattern)
        if keys:
            self.redis_client.delete(*keys)
    ```

    ## Use instead
    ```python
    def invalidate_pattern(self, pattern: str):
        batch = []
        for key in self.redis_client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) == 500:
                self.redis_client.unlink(*batch)
                batch.clear()
        if batch:
            self.redis_client.unlink(*batch)
    ```
    With `redis.asyncio`: `async for key in r.scan_iter(match=pattern)`. Better still,
    keep the keys of a group in a set (or a key prefix versioned by a counter) so
    invalidation needs no scan at all.

    Not reported: `.keys()` on anything the code does not show to be a redis client
    (dicts, mappings, model fields, an unannotated parameter named `redis`).
    """

    code = "PFL206"
    name = "redis-keys"
    summary = "redis KEYS scans the whole keyspace and blocks the server"
    message = "redis KEYS blocks the server; use SCAN"
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Iterate with scan_iter(match=pattern) (SCAN cursors) instead of KEYS."
    candidate = Words((".keys(", "execute_command"))

    VALID = (
        # --- task hard negatives: dict.keys() and any receiver not visibly redis ---
        Valid("def f(d):\n    return list(d.keys())\n"),
        Valid("counts = {}\n\ndef f():\n    return counts.keys()\n"),
        Valid("def f(redis):\n    return redis.keys('user:*')\n"),
        Valid("def f(self):\n    return self.cache.keys('user:*')\n"),
        Valid("import redis\n\ndef f(mapping):\n    r = redis.Redis()\n    return mapping.keys()\n"),
        Valid("from django.core.cache import cache\n\ndef f():\n    return cache.keys('user:*')\n"),
        # --- the fix: SCAN ---
        Valid("import redis\nr = redis.Redis()\n\ndef f():\n    return list(r.scan_iter(match='user:*'))\n"),
        Valid("import redis\nr = redis.Redis()\n\ndef f():\n    return r.execute_command('SCAN', 0, 'MATCH', 'user:*')\n"),
        # --- discovered ---
        # a name rebound to a dict after the client
        Valid("import redis\n\ndef f():\n    r = redis.Redis()\n    r.set('a', 1)\n    r = {'a': 1}\n    return r.keys()\n"),
        # hash fields (HKEYS) are bounded by one hash
        Valid("import redis\nr = redis.Redis()\n\ndef f():\n    return r.hkeys('user:1')\n"),
    )
    INVALID = (
        Invalid("import redis\nr = redis.Redis(host='cache')\n\ndef f():\n    return r.keys('user:*')\n", (5,)),
        Invalid("import redis\n\ndef f(url):\n    client = redis.from_url(url)\n    for key in client.keys('session:*'):\n        client.delete(key)\n", (5,)),
        Invalid("import redis.asyncio as aioredis\n\nasync def f():\n    r = aioredis.from_url('redis://cache')\n    return await r.keys('user:*')\n", (5,)),
        Invalid("from redis import asyncio as aioredis\nr = aioredis.Redis()\n\nasync def f():\n    return await r.keys()\n", (5,)),
        Invalid("from redis import StrictRedis\n\ndef f():\n    r = StrictRedis()\n    return r.execute_command('KEYS', 'user:*')\n", (5,)),
        Invalid("import redis\n\nclass CacheManager:\n    def __init__(self, redis_url='redis://localhost:6379'):\n        self.redis_client = redis.from_url(redis_url, decode_responses=True)\n\n    def invalidate_pattern(self, pattern: str):\n        keys = self.redis_client.keys(pattern)\n        if keys:\n            self.redis_client.delete(*keys)\n", (8,)),
        Invalid("from redis import Redis\n\ndef f(r: Redis):\n    return r.keys('a*')\n", (4,)),
        Invalid("from typing import Optional\nimport redis\n\nclass Repo:\n    client: Optional[redis.Redis]\n\n    def purge(self):\n        return self.client.keys('x:*')\n", (8,)),
        Invalid("import redis\n\nclass Repo:\n    def __init__(self, client: redis.Redis):\n        self.client = client\n\n    def purge(self):\n        return self.client.keys('x:*')\n", (8,)),
        Invalid("from django_redis import get_redis_connection\n\ndef f():\n    con = get_redis_connection('default')\n    return con.keys('x:*')\n", (5,)),
        Invalid("import redis\n\ndef f():\n    with redis.Redis() as r:\n        return r.keys('x:*')\n", (5,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        method = call_method_name(node)
        if method in kb.REDIS_KEYSPACE_METHODS:
            pattern = _pattern_of(node.args[0].value if node.args else None, ctx)
        elif method in kb.REDIS_RAW_COMMAND_METHODS and node.args \
                and _command_name(node.args[0].value) in kb.REDIS_KEYSPACE_COMMANDS:
            pattern = _pattern_of(node.args[1].value if len(node.args) > 1 else None, ctx)
        else:
            return
        if not isinstance(node.func, cst.Attribute) or not ev.is_redis_client(receiver(node), ctx):
            return
        ctx.report(self, node, f"redis `KEYS {pattern}` walks the whole keyspace and blocks every "
                               f"other client while it runs; iterate with "
                               f"`scan_iter(match={pattern if pattern != '*' else repr('*')})` instead")


def _command_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value.upper() if isinstance(value, str) else None
    return None


def _pattern_of(node: cst.BaseExpression | None, ctx: Context) -> str:
    """The pattern as written (a literal, or the expression), ``*`` when none is given."""
    if node is None:
        return "*"
    return ev.short_code(node, ctx, 30) or "pattern"
