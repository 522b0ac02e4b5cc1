"""PFL201 n-plus-one."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context, LoopFrame
from perflint.cstutil import names_read
from perflint.queries import classify_call, iterates_queryset
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.loops import describe_loop, loop_bound_names, multiplying_loop


class NPlusOne(PythonRule):
    """
    ## What it does
    Flags a database query that runs once per iteration of a `for` loop or a
    comprehension: one query for the list, then N more, one per row.

    ## Why is this bad?
    Each query pays a network round trip, parsing and planning. With 500 rows that
    is 501 round trips where 1 or 2 would do; latency grows with the data, and the
    database spends its time on overhead.

    ## Example
    ```python
    users = await db.fetch_all("SELECT id, name FROM users WHERE team_id = :t", {"t": team})
    for user in users:
        user["posts"] = await db.fetch_all(
            "SELECT id, title FROM posts WHERE user_id = :u", {"u": user["id"]}
        )
    ```

    ## Use instead
    ```python
    rows = await db.fetch_all(
        "SELECT u.id, u.name, p.id AS post_id, p.title FROM users u "
        "LEFT JOIN posts p ON p.user_id = u.id WHERE u.team_id = :t", {"t": team}
    )
    ```
    or fetch the children with one `WHERE user_id = ANY(:ids)` query, or eager-load
    (`select_related` / `prefetch_related` / `selectinload`).

    Not reported: loops that return or break on the first hit, loops over a small
    literal, writes (PFL203), `while` loops (pagination and polling).
    """

    code = "PFL201"
    name = "n-plus-one"
    summary = "a query runs once per loop iteration"
    message = "query runs once per iteration"
    severity = "error"
    base_cost = 5.0
    fix_hint = "Fetch all rows in one query (JOIN, WHERE id = ANY(...)/IN) or eager-load the relation."
    candidate = None

    VALID = (
        # first-hit lookup: the loop ends at the first row found
        Valid("def find(cur, ids):\n    for i in ids:\n        cur.execute('SELECT id FROM t WHERE id = %s', (i,))\n        if cur.fetchone():\n            return i\n"),
        # a small literal loop is bounded
        Valid("def warm(cur):\n    for table in ('users', 'orders'):\n        cur.execute('SELECT id FROM stats WHERE name = %s', (table,))\n"),
        # writes are PFL203's
        Valid("def save(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t (a) VALUES (%s)', (r,))\n"),
        Valid("def save(cur, rows):\n    cur.executemany('INSERT INTO t (a) VALUES (%s)', rows)\n"),
        # one query, then a loop over its rows
        Valid("async def f(db):\n    rows = await db.fetch_all('SELECT id FROM t WHERE a = :a', {'a': 1})\n    for r in rows:\n        print(r['id'])\n"),
        # pagination with while
        Valid("async def pages(conn):\n    cursor = 0\n    while cursor is not None:\n        rows = await conn.fetch('SELECT id FROM t WHERE id > $1 LIMIT 100', cursor)\n        cursor = rows[-1]['id'] if rows else None\n"),
        # HTTP, not a query
        Valid("def f(client, urls):\n    for u in urls:\n        client.fetch(u)\n"),
        Valid("def f(items):\n    for i in items:\n        i.update(x=1)\n        d = {}.get(i)\n"),
        # Django write and a small retry loop
        Valid("def f(users):\n    for u in users:\n        Profile.objects.create(user=u)\n"),
        Valid("def f(cur):\n    for attempt in range(3):\n        cur.execute('SELECT 1 FROM t WHERE id = 1')\n"),
        # a list of different statements run in order (a script), not one query per row
        Valid("def f(cursor, statements):\n    for sql in statements:\n        cursor.execute(sql)\n"),
        Valid("def f(cursor, plan):\n    for sql, params in plan:\n        stmt = sql.strip()\n        cursor.execute(stmt, params)\n"),
    )
    INVALID = (
        Invalid("async def f(db, users):\n    for user in users:\n        user['posts'] = await db.fetch_all(\n            'SELECT id FROM posts WHERE user_id = :u', {'u': user['id']})\n", (3,)),
        Invalid("def f(cur, ids):\n    return [cur.execute('SELECT name FROM t WHERE id = %s', (i,)) for i in ids]\n", (2,)),
        Invalid("def f(orders):\n    for o in orders:\n        customer = Customer.objects.get(pk=o.customer_id)\n", (3,)),
        Invalid("def f(session, ids):\n    for i in ids:\n        session.query(User).filter(User.id == i).first()\n", (3,)),
        Invalid("def f(authors):\n    for a in authors:\n        for book in Book.objects.filter(author=a):\n            print(book)\n", (3,)),
        Invalid("SQL = 'SELECT id FROM t WHERE x = %s'\n\ndef f(conn, xs):\n    for x in xs:\n        conn.execute(SQL, (x,))\n", (5,)),
        Invalid("async def f(conn, ids):\n    async for i in ids:\n        await conn.fetchrow('SELECT a FROM t WHERE id = $1', i)\n", (3,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False)
        if loop is None:
            return
        query = classify_call(node, ctx)
        if query is None or query.is_write or query.is_batch:
            return
        if query.opaque_sql is not None and names_read(query.opaque_sql) & loop_bound_names(ctx):
            # ``for sql in statements: cursor.execute(sql)``: a different statement each
            # time (a migration, a script), not the same query repeated per row.
            return
        self._report(node, loop, ctx, "query")

    def visit_For(self, node: cst.For, ctx: Context) -> None:
        self._check_iterable(node.iter, ctx)

    def visit_CompFor(self, node: cst.CompFor, ctx: Context) -> None:
        self._check_iterable(node.iter, ctx)

    def _check_iterable(self, iterable: cst.BaseExpression, ctx: Context) -> None:
        # ``for b in Book.objects.filter(author=a)`` inside a loop over authors.
        if not iterates_queryset(iterable):
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False)
        if loop is not None:
            self._report(iterable, loop, ctx, "queryset evaluation")

    def _report(self, node: cst.CSTNode, loop: LoopFrame, ctx: Context, what: str) -> None:
        ctx.report(self, node, f"{what} runs once per iteration of `{describe_loop(loop, ctx)}` "
                               "(N+1); fetch all rows in one query or eager-load")

