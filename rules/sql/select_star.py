"""PFL101 select-star."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import (
    cte_names,
    is_dynamic_table,
    reads_only_catalog,
    top_level_selects,
)


class SelectStar(SqlRule):
    """
    ## What it does
    Flags `SELECT *` and `t.*` in a query whose columns reach the application.

    ## Why is this bad?
    Every column travels over the wire and is decoded, including wide text/JSON
    columns nobody reads; covering indexes cannot serve the query; and a column
    added to the table later silently changes what the code receives.

    ## Example
    ```python
    cur.execute("SELECT * FROM users WHERE email = %s", (email,))
    ```

    ## Use instead
    ```python
    cur.execute("SELECT id, name, email FROM users WHERE email = %s", (email,))
    ```

    `COUNT(*)`, `EXISTS (SELECT * ...)`, a star inside a CTE or subquery whose
    outer query names its columns, a star over a table whose name is formatted in
    (`"SELECT * FROM %s" % table`: generic code that cannot know the columns), a star
    over a set-returning function (`SELECT * FROM register_worker()`), and
    queries that read only system catalogs (`sqlite_master`, `pg_catalog`,
    `information_schema`: narrow rows whose width follows the engine, not the data) are
    not reported.
    """

    code = "PFL101"
    name = "select-star"
    summary = "SELECT * sends every column to the application"
    message = "`SELECT *` returns every column; name the columns the code uses"
    severity = "warning"
    base_cost = 2.0
    fix_hint = "List the needed columns explicitly."

    VALID = (
        Valid('cur.execute("SELECT COUNT(*) FROM users WHERE active")\n'),
        Valid('cur.execute("SELECT id FROM users u WHERE EXISTS (SELECT * FROM orders o WHERE o.user_id = u.id)")\n'),
        Valid('cur.execute("WITH recent AS (SELECT * FROM orders) SELECT id, total FROM recent WHERE id = %s", (1,))\n'),
        Valid('cur.execute("SELECT id, total FROM (SELECT * FROM orders) AS o WHERE o.id = %s", (1,))\n'),
        Valid("SELECT id, name FROM users WHERE id = 1;\n", "query.sql"),
        Valid('label = "SELECT * FROM users"  # never executed: not SQL perflint checks\n'),
        # code that works on whatever table it is given cannot name the columns (introspection)
        Valid('cur.execute("SELECT * FROM %s LIMIT 1" % quote_name(table))\n'),
        Valid('cur.execute("SELECT * FROM {} WHERE ROWNUM < 2".format(quote_name(table)))\n'),
        # the columns of a set-returning function are what it was written to return
        # (procrastinate's queries.sql, register_worker)
        Valid("SELECT * FROM register_worker_v1();\n", "q.sql"),
        # introspection of a system catalog (datasette, utils/internal_db.py)
        Valid('import sqlite3\n\ndef f(conn):\n    return conn.execute("select * from sqlite_master WHERE type = \'table\'").fetchall()\n'),
    )
    INVALID = (
        # every placeholder style
        Invalid('async def f(conn, uid):\n    return await conn.fetchrow("SELECT * FROM users WHERE id = $1", uid)\n', (2,)),
        Invalid('cur.execute("SELECT * FROM users WHERE email = %(email)s", {"email": e})\n', (1,)),
        Invalid('cur.execute("SELECT * FROM users WHERE id = %s", (1,))\n', (1,)),
        Invalid('def f(db):\n    return db.fetch_all(\n        "SELECT u.* FROM users u WHERE u.id = :id"\n    )\n', (3,)),
        # at the star inside the triple-quoted constant
        Invalid('QUERY = """\n    SELECT *\n    FROM users WHERE id = ?\n"""\n\ndef f(c):\n    c.execute(QUERY, (1,))\n', (2,)),
        Invalid("-- users\nSELECT *\nFROM users WHERE id = 1;\n", (2,), "query.sql"),
        Invalid('cur.execute("SELECT id FROM a WHERE id = 1 UNION SELECT * FROM b WHERE id = 2")\n', (1,)),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        if reads_only_catalog(statement, cte_names(statement)):
            return
        for select in top_level_selects(statement):
            if _generic_over_any_table(select) or _reads_a_function(select):
                continue
            for projection in select.expressions:
                if isinstance(projection, exp.Star) or (
                        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                    yield SqlHit(self.message, projection)
                    return


def _reads_a_function(select: exp.Select) -> bool:
    """``SELECT * FROM register_worker()``: PostgreSQL's way to call a set-returning
    function; the star is the row type the function declares, not a table's columns."""
    source = select.args.get("from_") or select.args.get("from")
    return source is not None and isinstance(source.this, exp.Table) \
        and isinstance(source.this.this, exp.Func) and not select.args.get("joins")


def _generic_over_any_table(select: exp.Select) -> bool:
    """``"SELECT * FROM %s LIMIT 1" % table``: code that works on whatever table it is
    given (introspection, copying, export) cannot name the columns."""
    source = select.args.get("from_") or select.args.get("from")
    return source is not None and isinstance(source.this, exp.Table) \
        and is_dynamic_table(source.this) and not select.args.get("joins")
