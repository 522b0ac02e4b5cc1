"""PFL108 unfiltered-count."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import is_dynamic_table, reads_only_catalog, table_label

# CTEs that name CTEs: deeper than this is not followed (and a recursive CTE stops here).
_MAX_DEPTH = 8


class UnfilteredCount(SqlRule):
    """
    ## What it does
    Flags a row count, `COUNT(*)` or `COUNT(1)` (any constant), over a whole table: one
    table, no `WHERE`, no `GROUP BY`, no join. A derived table or CTE that just passes
    a whole table through (`FROM (SELECT id FROM orders) o`) counts as the table.

    ## Why is this bad?
    Most engines (PostgreSQL and InnoDB among them, because of MVCC) keep no exact row
    count: `COUNT(*)` reads the whole table, or a whole index, on every call. It is
    fine on a small table and takes seconds on a large one, typically in the "total"
    of a paginated endpoint or a dashboard that runs it on every request.

    ## Example
    ```python
    total = await db.fetch_val("SELECT COUNT(*) FROM orders")
    ```

    ## Use instead
    ```python
    # the planner's estimate is enough for "about 1.2M orders" (PostgreSQL) ...
    total = await db.fetch_val(
        "SELECT reltuples::bigint FROM pg_class WHERE relname = 'orders'"
    )
    # ... or keep a counter table up to date (trigger / same transaction), or cache
    # the exact count for a few minutes.
    ```

    Not reported: any `WHERE` (a filtered count can use an index), `GROUP BY` (a
    per-group report), a join, a derived table or CTE that filters, groups or limits,
    `TABLESAMPLE`, system catalogs (`information_schema`, `pg_catalog`, `sqlite_master`,
    ...), a table name formatted in at run time (generic code), window counts
    (`COUNT(*) OVER ()`), filtered aggregates (`COUNT(*) FILTER (WHERE ...)`), and
    `COUNT(col)` / `COUNT(DISTINCT col)`: those ask how many values (or distinct values)
    there are, which neither an estimate of the row count nor a row counter answers.
    """

    code = "PFL108"
    name = "unfiltered-count"
    summary = "COUNT(*) over a whole table scans it on every call"
    message = ("`COUNT(*)` over a whole table reads every row on every call; keep a counter, "
               "use the planner's estimate (`pg_class.reltuples`), or cache the count")
    severity = "warning"
    base_cost = 2.0
    fix_hint = "Maintain a counter, read the planner's estimate (pg_class.reltuples), or cache the count."

    VALID = (
        Valid('cur.execute("SELECT COUNT(*) FROM orders WHERE status = %s", (s,))\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM orders WHERE deleted_at IS NULL")\n'),
        Valid('cur.execute("SELECT status, COUNT(*) FROM orders GROUP BY status")\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM orders o JOIN users u ON u.id = o.user_id")\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM (SELECT id FROM orders WHERE total > %s) o", (100,))\n'),
        Valid('cur.execute("WITH recent AS (SELECT id FROM orders WHERE created_at > %s) SELECT COUNT(*) FROM recent", (d,))\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM (SELECT DISTINCT user_id FROM orders) u")\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM (SELECT id FROM orders LIMIT 1000) o")\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM information_schema.tables")\n'),
        Valid('import sqlite3\n\ndef f(c):\n    c.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = ?", ("table",))\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM pg_class")\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM %s" % quote_name(table))\n'),
        Valid('cur.execute("SELECT COUNT(*) FROM orders TABLESAMPLE SYSTEM (1)")\n'),
        Valid('cur.execute("SELECT id, COUNT(*) OVER () FROM orders WHERE user_id = %s", (u,))\n'),
        Valid('cur.execute("SELECT COUNT(*) FILTER (WHERE paid) FROM orders")\n'),
        Valid('cur.execute("SELECT COUNT(DISTINCT user_id) FROM orders")\n'),
        Valid('cur.execute("SELECT COUNT(email) FROM users")\n'),
        Valid('cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = \'orders\'")\n'),
        Valid("SELECT COUNT(*) FROM generate_series(1, 10);\n", "q.sql"),
    )
    INVALID = (
        Invalid('cur.execute("SELECT COUNT(*) FROM orders")\n', (1,)),
        Invalid('cur.execute("SELECT (SELECT COUNT(*) FROM orders) AS total, name FROM users WHERE id = %s", (u,))\n', (1,)),
        Invalid('cur.execute("SELECT (SELECT COUNT(1) FROM orders) AS total FROM users WHERE id = %(id)s", {"id": u})\n', (1,)),
        Invalid('async def f(conn):\n    return await conn.fetchval("SELECT (SELECT count(*) FROM orders), name FROM users WHERE id = $1", u)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(c):\n    c.execute("SELECT name, (SELECT COUNT(*) FROM orders) FROM users WHERE id = ?", (u,))\n', (4,)),
        Invalid('async def f(db):\n    return await db.fetch_all("SELECT name, (SELECT COUNT(*) FROM orders) AS n FROM users WHERE id = :id", {"id": u})\n', (2,)),
        Invalid('from sqlalchemy import text\n\nTOTAL = text("SELECT COUNT(*) AS n FROM public.orders")\n', (3,)),
        # a derived table or CTE that passes the whole table through
        Invalid('cur.execute("SELECT COUNT(*) FROM (SELECT id FROM orders) o")\n', (1,)),
        Invalid('cur.execute("WITH o AS (SELECT id FROM orders) SELECT COUNT(*) FROM o")\n', (1,)),
        # at the COUNT line of the triple-quoted constant and of the .sql statement
        Invalid('TOTAL = """\n    SELECT\n        COUNT(*) AS total\n    FROM orders\n"""\n\ndef f(c):\n    c.execute(TOTAL)\n', (3,)),
        Invalid("-- dashboard\nSELECT\n    COUNT(1)\nFROM orders;\n", (3,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        ctes = {cte.alias_or_name.lower(): cte.this for cte in statement.find_all(exp.CTE)}
        for select in statement.find_all(exp.Select):
            count = _row_count(select)
            if count is None or select.args.get("where") or select.args.get("group"):
                continue
            table = _whole_table(select, ctes, 0)
            if table is None or reads_only_catalog(table, set()):
                continue
            argument = "*" if isinstance(count.this, exp.Star) else count.this.sql()
            yield SqlHit(f"`COUNT({argument})` over all of `{table_label(table)}` reads every row on "
                         "every call; keep a counter, use the planner's estimate "
                         "(`pg_class.reltuples`), or cache the count", count)


def _row_count(select: exp.Select) -> exp.Count | None:
    """A ``COUNT(*)`` / ``COUNT(<constant>)`` of this SELECT's own projections (not a
    window, not a filtered aggregate, not one inside a subquery)."""
    for projection in select.expressions:
        for count in projection.find_all(exp.Count):
            owner = count.find_ancestor(exp.Select, exp.Window, exp.Filter)
            if owner is not select:
                continue
            argument = count.this
            if isinstance(argument, exp.Star) or (
                    isinstance(argument, exp.Literal) and argument.this not in (None, "")):
                return count
    return None


def _whole_table(select: exp.Select, ctes: dict[str, exp.Expression], depth: int) -> exp.Table | None:
    """The table whose every row ``select`` reads, if it reads exactly one table whole."""
    source = select.args.get("from_") or select.args.get("from")
    if not isinstance(source, exp.From) or select.args.get("joins") or select.args.get("laterals"):
        return None
    inner = source.this
    if isinstance(inner, exp.Subquery):
        return _passes_through(inner.this, ctes, depth + 1)
    if not isinstance(inner, exp.Table) or not isinstance(inner.this, exp.Identifier):
        return None
    if is_dynamic_table(inner) or inner.args.get("sample"):
        return None
    if not inner.db and inner.name.lower() in ctes:
        return _passes_through(ctes[inner.name.lower()], ctes, depth + 1)
    return inner


def _passes_through(query: exp.Expression | None, ctes: dict[str, exp.Expression],
                    depth: int) -> exp.Table | None:
    """A derived table / CTE body that returns every row of one table, unfiltered."""
    if depth > _MAX_DEPTH or not isinstance(query, exp.Select):
        return None
    for key in ("where", "group", "having", "distinct", "limit", "fetch", "top", "qualify", "offset"):
        if query.args.get(key):
            return None
    if any(node.find(exp.AggFunc) for node in query.expressions):
        return None
    return _whole_table(query, ctes, depth)
