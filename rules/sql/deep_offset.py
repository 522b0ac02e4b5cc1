"""PFL107 deep-offset."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import is_run_time_value, literal_number


class DeepOffset(SqlRule):
    """
    ## What it does
    Flags `OFFSET n` (also MySQL's `LIMIT n, m` and `OFFSET n ROWS FETCH ...`) when `n`
    is a literal at least as large as the `deep-offset` setting (default 1000) or is
    only known at run time: a bound parameter (`OFFSET %s`, `OFFSET :offset`,
    `LIMIT ?, 20`), an f-string / `.format()` hole (`OFFSET {page * size}`), or an
    expression over them (`OFFSET (:page - 1) * :size`).

    ## Why is this bad?
    The database cannot jump to row `n`: it produces and throws away every row
    before it. Page 1 is fast, page 5,000 reads 100,000 rows to return 20; a
    parameterised offset is exactly that pagination, with no bound on how deep a
    client (or a crawler) goes.

    ## Example
    ```python
    cur.execute(
        "SELECT id, title FROM posts ORDER BY id LIMIT %s OFFSET %s",
        (size, (page - 1) * size),
    )
    ```

    ## Use instead
    ```python
    # keyset (seek) pagination: the client passes the last id it saw
    cur.execute(
        "SELECT id, title FROM posts WHERE id > %s ORDER BY id LIMIT %s",
        (last_id, size),
    )
    ```

    Small literal offsets (`OFFSET 20`), and MySQL's `LIMIT 10, ?` (there the
    parameter is the row count; the offset is the literal 10), are not reported.
    Set `deep-offset` in `[tool.perflint]` to move the literal threshold.
    """

    code = "PFL107"
    name = "deep-offset"
    summary = "OFFSET pagination reads and discards every skipped row"
    message = ("`OFFSET` reads and discards every skipped row, so deep pages get slower; "
               "use keyset pagination (`WHERE id > :last_id ORDER BY id LIMIT n`)")
    severity = "warning"
    base_cost = 2.0
    fix_hint = "Paginate by key: WHERE id > :last_id ORDER BY id LIMIT :size."

    VALID = (
        Valid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT 20 OFFSET 40")\n'),
        Valid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT 20 OFFSET 999")\n'),
        Valid('cur.execute("SELECT id FROM posts WHERE id > %s ORDER BY id LIMIT %s", (last, 20))\n'),
        Valid("SELECT id FROM posts ORDER BY id OFFSET 10 ROWS FETCH NEXT 10 ROWS ONLY;\n", "q.sql"),
        # MySQL LIMIT offset, count: the parameter is the count
        Valid('import pymysql\n\ndef f(c):\n    c.execute("SELECT id FROM posts ORDER BY id LIMIT 10, %s", (n,))\n'),
        Valid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT %s", (20,))\n'),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT %s OFFSET %s", (size, offset))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT %(size)s OFFSET %(offset)s", params)\n', (1,)),
        Invalid('async def f(conn):\n    return await conn.fetch("SELECT id FROM posts ORDER BY id LIMIT $1 OFFSET $2", size, offset)\n', (2,)),
        # MySQL/SQLite LIMIT offset, count
        Invalid('import sqlite3\n\ndef f(c):\n    c.execute("SELECT id FROM posts ORDER BY id LIMIT ?, 20", (offset,))\n', (4,)),
        Invalid('async def f(db):\n    return await db.fetch_all("SELECT id FROM posts ORDER BY id LIMIT :size OFFSET :offset", v)\n', (2,)),
        Invalid('from sqlalchemy import text\n\nQ = text("SELECT id FROM posts ORDER BY id LIMIT 20 OFFSET (:page - 1) * 20")\n', (3,)),
        Invalid('def f(c, page, size):\n    c.execute(f"SELECT id FROM posts ORDER BY id LIMIT {size} OFFSET {page * size}")\n', (2,)),
        Invalid('cur.execute("SELECT id FROM posts ORDER BY id LIMIT 20 OFFSET 100000")\n', (1,)),
        Invalid("SELECT id FROM posts ORDER BY id OFFSET 5000 ROWS FETCH NEXT 10 ROWS ONLY;\n", (1,), "q.sql"),
        # at the OFFSET line of the triple-quoted constant and of the .sql statement (an
        # OFFSET that is a bound parameter, which sqlglot keeps no position for, or an
        # f-string hole, which is not mapped back, is reported at the statement's start)
        Invalid('QUERY = """\n    SELECT id, title\n    FROM posts\n    ORDER BY id\n    LIMIT 20 OFFSET 2000\n"""\n\ndef f(c):\n    c.execute(QUERY)\n', (5,)),
        Invalid("-- archive\nSELECT id, title\nFROM posts\nORDER BY id\nOFFSET 1000;\n", (5,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for node in statement.find_all(exp.Offset, exp.Limit):
            # the skipped rows: OFFSET's operand, or a LIMIT's own ``offset`` (some dialects)
            value = node.args.get("expression") if isinstance(node, exp.Offset) else node.args.get("offset")
            if isinstance(value, exp.Expression) and _is_deep(value, sql.deep_offset):
                yield SqlHit(self.message, node if isinstance(node, exp.Offset) else value)


def _is_deep(value: exp.Expression, threshold: int) -> bool:
    number = literal_number(value)
    if number is not None:
        return number >= threshold
    return is_run_time_value(value)
