"""PFL111 unqualified-write."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import is_dynamic_table, table_label

# Join kinds that keep target rows without a match: they do not restrict the write.
_NON_RESTRICTING_SIDES = frozenset({"LEFT", "RIGHT", "FULL"})


class UnqualifiedWrite(SqlRule):
    """
    ## What it does
    Flags `UPDATE` and `DELETE` statements without a `WHERE` clause (also inside a CTE).

    ## Why is this bad?
    The statement writes every row of the table: each row is locked, rewritten (or
    deleted one by one) and logged, indexes are updated, and replicas replay it all.
    On a large table that is a long transaction holding locks, and it is the classic
    accident of a `WHERE` lost while building the query.

    ## Example
    ```python
    cur.execute("UPDATE users SET newsletter = %s", (False,))
    cur.execute("DELETE FROM sessions")
    ```

    ## Use instead
    ```python
    cur.execute("UPDATE users SET newsletter = %s WHERE id = %s", (False, user_id))
    cur.execute("TRUNCATE sessions")  # when emptying the table is the intent
    ```

    Not reported: `TRUNCATE` (explicit intent); any `WHERE` (`WHERE CURRENT OF cursor`
    does not parse in sqlglot, so it is never a finding either); `DELETE ... USING ...
    WHERE`; MySQL `UPDATE t JOIN s ON ...` / `DELETE t FROM t JOIN s ON ...`, where the
    inner join restricts the rows; MySQL `DELETE ... LIMIT n` batches; a table whose name
    is formatted in at run time (`"DELETE FROM %s" % table`: generic maintenance code,
    such as a cache's `clear()` or a schema editor filling a new column).
    """

    code = "PFL111"
    name = "unqualified-write"
    summary = "UPDATE or DELETE without WHERE writes every row"
    message = ("`UPDATE`/`DELETE` without `WHERE` writes every row of the table; add a WHERE, "
               "or use TRUNCATE if emptying the table is intended")
    severity = "error"
    base_cost = 4.0
    fix_hint = "Add a WHERE clause; use TRUNCATE when emptying the table is intended."

    VALID = (
        Valid('cur.execute("TRUNCATE sessions")\n'),
        # generic maintenance code over a table chosen at run time (a cache's clear(), a
        # schema editor filling a new column): emptying or rewriting it is the point
        Valid('def clear(self, cursor):\n    cursor.execute("DELETE FROM %s" % quote_name(self._table))\n'),
        Valid('cur.execute("UPDATE {} SET {} = %s".format(qn(model._meta.db_table), qn(field.column)), [default])\n'),
        Valid("TRUNCATE TABLE sessions;\n", "q.sql"),
        Valid('cur.execute("UPDATE users SET newsletter = %s WHERE id = %s", (False, 1))\n'),
        Valid('cur.execute("DELETE FROM sessions WHERE expires_at < now()")\n'),
        Valid('cur.execute("UPDATE jobs SET state = \'done\' WHERE CURRENT OF job_cursor")\n'),
        Valid('cur.execute("DELETE FROM orders USING users WHERE orders.user_id = users.id AND users.banned")\n'),
        Valid('cur.execute("UPDATE orders SET total = s.total FROM staging s WHERE s.id = orders.id")\n'),
        Valid('import pymysql\n\ndef f(c):\n    c.execute("UPDATE orders o JOIN staging s ON s.id = o.id SET o.total = s.total")\n'),
        Valid('import pymysql\n\ndef f(c):\n    c.execute("DELETE o FROM orders o JOIN banned b ON b.user_id = o.user_id")\n'),
        Valid('import pymysql\n\ndef f(c):\n    c.execute("DELETE FROM audit_log ORDER BY id LIMIT 1000")\n'),
        Valid('cur.execute("SELECT id FROM users WHERE id = %s", (1,))\n'),
    )
    INVALID = (
        Invalid('cur.execute("UPDATE users SET newsletter = %s", (False,))\n', (1,)),
        Invalid('cur.execute("UPDATE users SET plan = %(plan)s", {"plan": p})\n', (1,)),
        Invalid('async def f(conn):\n    await conn.execute("UPDATE products SET price = price * $1", factor)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(c):\n    c.execute("UPDATE settings SET value = ?", (v,))\n', (4,)),
        Invalid('async def f(db):\n    await db.execute("UPDATE products SET stock = :stock", {"stock": 0})\n', (2,)),
        Invalid('from sqlalchemy import text\n\nCLEAR = text("DELETE FROM sessions")\n', (3,)),
        Invalid('cur.execute("DELETE FROM sessions")\n', (1,)),
        Invalid('cur.execute("UPDATE orders SET total = s.total FROM staging s")\n', (1,)),
        Invalid('cur.execute("WITH gone AS (DELETE FROM carts RETURNING id) SELECT COUNT(*) FROM gone")\n', (1,)),
        # at the table's line in the triple-quoted constant and in the .sql file
        Invalid('RESET = """\n    -- nightly reset\n    UPDATE\n        counters\n    SET hits = 0\n"""\n\ndef f(c):\n    c.execute(RESET)\n', (4,)),
        Invalid("-- cleanup\nBEGIN;\nDELETE\nFROM carts;\nCOMMIT;\n", (4,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for write in statement.find_all(exp.Update, exp.Delete):
            if write.args.get("where") or write.args.get("limit") or _restricted_by_join(write):
                continue
            target = _target(write)
            if isinstance(target, exp.Table) and is_dynamic_table(target):
                continue  # ``DELETE FROM {}`` / ``UPDATE %s SET ...``: maintenance code over any table
            label = table_label(target)
            if isinstance(write, exp.Delete):
                message = (f"`DELETE FROM {label}` has no WHERE: it deletes every row; add a WHERE, "
                           f"or use `TRUNCATE {label}` if emptying the table is intended")
            else:
                message = (f"`UPDATE {label}` has no WHERE: it rewrites every row; add a WHERE "
                           "(or update in key-range batches if every row must change)")
            yield SqlHit(message, target if isinstance(target, exp.Table) else None)


def _target(write: exp.Expression) -> exp.Expression | None:
    """The table written to: MySQL's ``DELETE t FROM t JOIN ...`` names it first."""
    tables = write.args.get("tables")
    if isinstance(tables, list) and tables:
        return tables[0]
    return write.this


def _restricted_by_join(write: exp.Expression) -> bool:
    """MySQL ``UPDATE t JOIN s ON ...`` / ``DELETE t FROM t JOIN s ON ...``: an inner join
    with a condition writes only the matching rows."""
    target = write.this
    joins = (target.args.get("joins") if isinstance(target, exp.Expression) else None) or []
    joins = [*joins, *(write.args.get("joins") or [])]
    return any(isinstance(join, exp.Join) and (join.args.get("on") or join.args.get("using"))
               and (join.side or "").upper() not in _NON_RESTRICTING_SIDES
               for join in joins)
