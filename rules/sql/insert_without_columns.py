"""PFL112 insert-without-columns."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import is_dynamic_table, table_label


class InsertWithoutColumns(SqlRule):
    """
    ## What it does
    Flags `INSERT INTO t VALUES (...)` and `INSERT INTO t SELECT ...` that do not name
    the target columns.

    ## Why is this bad?
    The values are matched to the table's columns by position, so the statement
    depends on the physical column order. A migration that adds, drops or reorders a
    column either breaks it or, worse, silently writes values into the wrong columns;
    rolling deployments (old code, new schema) hit that first. Every column must be
    supplied, so defaults and generated columns cannot be left to the database, and
    an `INSERT ... SELECT *` copies whatever columns the source has today.

    ## Example
    ```python
    cur.execute("INSERT INTO orders VALUES (%s, %s, %s)", (order_id, user_id, total))
    ```

    ## Use instead
    ```python
    cur.execute(
        "INSERT INTO orders (id, user_id, total) VALUES (%s, %s, %s)",
        (order_id, user_id, total),
    )
    ```

    Not reported: an explicit column list; `INSERT INTO t DEFAULT VALUES`; MySQL
    `INSERT INTO t SET a = 1` (the columns are named); DuckDB `INSERT ... BY NAME`; a
    target table formatted in at run time (generic code that copies whatever table it is
    given). `REPLACE INTO` is not parsed by sqlglot and so is never a finding.
    """

    code = "PFL112"
    name = "insert-without-columns"
    summary = "INSERT without a column list depends on the table's column order"
    message = ("`INSERT` without a column list matches values to columns by position; "
               "name the columns explicitly")
    severity = "warning"
    base_cost = 1.0
    fix_hint = "Name the target columns: INSERT INTO t (a, b) VALUES (...)."

    VALID = (
        Valid('cur.execute("INSERT INTO orders (id, user_id, total) VALUES (%s, %s, %s)", row)\n'),
        Valid('cur.execute("INSERT INTO audit (at, what) SELECT now(), name FROM jobs WHERE id = %s", (j,))\n'),
        Valid('cur.execute("INSERT INTO counters DEFAULT VALUES")\n'),
        Valid('import pymysql\n\ndef f(c):\n    c.execute("INSERT INTO orders SET user_id = %s, total = %s", (u, t))\n'),
        Valid("INSERT INTO orders (id, total) VALUES (1, 2) ON CONFLICT (id) DO NOTHING;\n", "q.sql"),
        Valid('def copy(c, table, row):\n    c.execute(f"INSERT INTO {table} VALUES ({\', \'.join([\'%s\'] * len(row))})", row)\n'),
        Valid('cur.execute("UPDATE orders SET total = %s WHERE id = %s", (t, i))\n'),
    )
    INVALID = (
        Invalid('cur.execute("INSERT INTO orders VALUES (%s, %s, %s)", (i, u, t))\n', (1,)),
        Invalid('cur.execute("INSERT INTO orders VALUES (%(id)s, %(user)s)", row)\n', (1,)),
        Invalid('async def f(conn):\n    await conn.execute("INSERT INTO orders VALUES ($1, $2)", i, u)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(c):\n    c.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (k, v))\n', (4,)),
        Invalid('async def f(db):\n    await db.execute("INSERT INTO orders VALUES (:id, :user)", {"id": i, "user": u})\n', (2,)),
        Invalid('from sqlalchemy import text\n\nARCHIVE = text("INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < :cutoff")\n', (3,)),
        # at the table's line in the triple-quoted constant and in the .sql file
        Invalid('ADD = """\n    -- new order\n    INSERT INTO\n        orders\n    VALUES (%s, %s)\n"""\n\ndef f(c):\n    c.execute(ADD, (i, u))\n', (4,)),
        Invalid("-- seed\nINSERT INTO\n  countries\nVALUES ('fr', 'France');\n", (3,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for insert in statement.find_all(exp.Insert):
            target = insert.this
            # a column list makes the target an exp.Schema; DEFAULT VALUES has no source
            if not isinstance(target, exp.Table) or is_dynamic_table(target):
                continue
            if insert.args.get("by_name") or insert.args.get("default"):
                continue
            if not isinstance(insert.args.get("expression"), exp.Expression):
                continue
            label = table_label(target)
            yield SqlHit(f"`INSERT INTO {label}` has no column list: values go to columns by "
                         f"position; name them (`INSERT INTO {label} (col, ...) ...`)", target)
