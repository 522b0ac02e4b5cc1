"""PFL110 unbounded-select."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import (
    HOLE_PREFIX,
    cte_names,
    is_aggregate_only,
    is_dynamic_table,
    reads_only_catalog,
    scope_sources,
    table_label,
    top_level_selects,
)

# Predicates that bound the rows a query returns (an equality, a range, a set or a pattern).
_BOUNDING_PREDICATES = (exp.EQ, exp.NullSafeEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between,
                        exp.In, exp.Like, exp.ILike, exp.Exists)


class UnboundedSelect(SqlRule):
    """
    ## What it does
    Flags a row-returning `SELECT ... FROM` with no `LIMIT`/`FETCH FIRST`/`TOP` and no
    comparison at all in its `WHERE` clause: it returns the whole table (or join).

    ## Why is this bad?
    The result grows with the table. What takes 5 ms in development takes seconds,
    and gigabytes of memory in the application, once the table has a few million
    rows; it is the usual cause of endpoints that slowly get slower.

    ## Example
    ```python
    products = await db.fetch_all("SELECT id, name FROM products")
    ```

    ## Use instead
    ```python
    products = await db.fetch_all(
        "SELECT id, name FROM products WHERE id > :after ORDER BY id LIMIT :size",
        {"after": after, "size": 50},
    )
    ```

    Aggregates without `GROUP BY` (one row), subqueries, an outer query over a
    filtered derived table or CTE, queries that read only system catalogs (`information_schema`,
    `pg_catalog`/`pg_*`, `sys.*`, `sqlite_master`, Oracle `USER_*`/`ALL_*` views, `DUAL`),
    a set-returning function (`FROM fetch_job(%s)`), a table formatted in at run time
    (`FROM {table}`: generic code over whatever table it is given), a `WHERE` whose
    condition is formatted in (`WHERE {cond}`), and any query with an equality, range,
    `IN`, `LIKE` or `EXISTS` test in `WHERE` are not reported.
    """

    code = "PFL110"
    name = "unbounded-select"
    summary = "SELECT with neither LIMIT nor a WHERE filter returns the whole table"
    message = "query returns every row it reads: no LIMIT, and nothing in WHERE bounds the rows; paginate (keyset LIMIT) or filter it"
    severity = "warning"
    base_cost = 2.0
    fix_hint = "Add LIMIT with keyset pagination, or a WHERE filter that bounds the rows."

    VALID = (
        Valid('cur.execute("SELECT COUNT(*) FROM orders")\n'),
        Valid('cur.execute("SELECT id, name FROM products ORDER BY id LIMIT %s OFFSET %s", (20, 0))\n'),
        Valid('cur.execute("SELECT id FROM users WHERE email = %s", (email,))\n'),
        Valid('cur.execute("SELECT id FROM orders WHERE created_at > NOW() - INTERVAL \'7 days\'")\n'),
        Valid('cur.execute("SELECT id FROM t WHERE id IN (SELECT id FROM u) ")\n'),
        Valid('cur.execute("SELECT 1")\n'),
        Valid("SELECT id FROM products FETCH FIRST 10 ROWS ONLY;\n", "q.sql"),
        Valid('cur.execute("UPDATE orders SET status = %s WHERE id = %s", ("x", 1))\n'),
        # system catalogs follow the schema, not the data (Django, SQLAlchemy introspection)
        Valid('cur.execute("SELECT table_name FROM information_schema.tables")\n'),
        Valid('conn.exec_driver_sql("SELECT name FROM sys.fulltext_catalogs")\n'),
        Valid('conn.exec_driver_sql("select sys_context(\'userenv\', \'current_schema\') from dual")\n'),
        Valid('cur.execute("SELECT table_name, \'t\' FROM user_tables UNION ALL SELECT view_name, \'v\' FROM user_views")\n'),
        Valid('cur.execute("SELECT c.relname, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid")\n'),
        # the outer query reads a filtered derived table
        Valid('cur.execute("SELECT name, COUNT(*) FROM (SELECT name FROM idx WHERE rel = %s) s GROUP BY name", (t,))\n'),
        # ... or a filtered CTE (procrastinate's queries.sql, list_queues)
        Valid("WITH j AS (SELECT id, queue FROM jobs WHERE (%(q)s IS NULL OR queue = %(q)s))\n"
              "SELECT queue, COUNT(id) FROM j GROUP BY queue ORDER BY queue;\n", "q.sql"),
        # a set-returning function's rows are what it returns, not a table (procrastinate, fetch_job)
        Valid("SELECT id, status FROM fetch_job(%(queues)s::varchar[], %(worker_id)s);\n", "q.sql"),
        # the WHERE condition itself is formatted in (datasette, views/table.py)
        Valid('def f(db, col, where):\n    return db.execute(f"select {col} from items where {where}")\n'),
        # a table formatted in: generic code over whatever table it is given (yoyo's lock
        # table, pgspecial's sequence relation, sqlite-utils' rows_where)
        Valid('def f(c, table):\n    return c.execute(f"SELECT pid FROM {table}").fetchone()\n'),
    )
    INVALID = (
        # every placeholder style (none bounds the rows here)
        Invalid('cur.execute("SELECT id, COALESCE(nick, %s) FROM users", (d,))\n', (1,)),
        Invalid('cur.execute("SELECT id, COALESCE(nick, %(d)s) FROM users", {"d": d})\n', (1,)),
        Invalid('async def f(conn, d):\n    return await conn.fetch("SELECT id, COALESCE(nick, $1) FROM users", d)\n', (2,)),
        Invalid('import sqlite3\nc.execute("SELECT id, COALESCE(nick, ?) FROM users", (d,))\n', (2,)),
        Invalid('db.fetch_all("SELECT id, COALESCE(nick, :d) FROM users", values={"d": d})\n', (1,)),
        Invalid('cur.execute("SELECT id, name FROM products")\n', (1,)),
        Invalid('cur.execute("SELECT id FROM users WHERE deleted_at IS NULL")\n', (1,)),
        Invalid("SELECT category, COUNT(*)\nFROM products GROUP BY category;\n", (1,), "q.sql"),
        Invalid('def f(db):\n    sql = (\n        "SELECT u.id, p.title "\n        "FROM users u JOIN posts p ON p.user_id = u.id"\n    )\n    return db.fetch_all(sql)\n', (3,)),
        Invalid('cur.execute("SELECT name FROM (SELECT name FROM products) s")\n', (1,)),
        Invalid('cur.execute("SELECT id FROM user_accounts")\n', (1,)),
        Invalid("WITH j AS (SELECT id, queue FROM jobs)\nSELECT queue, COUNT(id) FROM j GROUP BY queue;\n", (1,), "q.sql"),
        # only the schema is formatted in: the table is known
        Invalid('def f(db, schema):\n    return db.execute(f"SELECT id FROM {schema}.items")\n', (2,)),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        ctes = cte_names(statement)
        for select in top_level_selects(statement):
            if _is_unbounded(select) and not reads_only_catalog(statement, ctes):
                # a UNION branch is pointed at; the whole statement at its start
                yield SqlHit(_message(select), None if select is statement else select)
                return


def _message(select: exp.Select) -> str:
    names = [table_label(source) for source in scope_sources(select) if isinstance(source, exp.Table)]
    if names and all(name == "{}" for name in names):
        rows = "of the tables formatted into it"  # ``FROM `%s``` only: no name to show
    else:
        rows = f"of `{', '.join(names[:3])}` it reads" if names else "of its source it reads"
    return (f"query returns every row {rows}: no LIMIT, and nothing in WHERE bounds "
            "the rows; paginate (keyset: `WHERE id > :last ORDER BY id LIMIT n`) or filter it")


def _is_unbounded(select: exp.Select, seen: frozenset[int] = frozenset()) -> bool:
    # sqlglot >= 28 keys the FROM clause as "from_", older releases as "from".
    source = select.args.get("from_") or select.args.get("from")
    if not source:
        return False
    if select.args.get("limit") or select.args.get("fetch") or select.args.get("top"):
        return False
    if is_aggregate_only(select):
        return False
    if _from_bounded_subquery(source, seen):
        return False
    if not select.args.get("joins") and _not_a_known_table(source.this):
        return False
    where = select.args.get("where")
    return where is None or (where.find(*_BOUNDING_PREDICATES) is None and not _formatted_in_condition(where))


def _from_bounded_subquery(source: exp.Expression, seen: frozenset[int]) -> bool:
    """``FROM (SELECT ... WHERE x = ?) s`` or ``WITH s AS (SELECT ... WHERE x = ?) ... FROM s``:
    the outer rows are the filtered inner rows."""
    inner = source.this
    if isinstance(inner, exp.Table) and not inner.db and isinstance(inner.this, exp.Identifier):
        body = _cte_body(inner.name, inner)
        if body is None or id(body) in seen:  # a recursive CTE: its own rows bound nothing
            return False
        seen |= {id(body)}
        inner = body
    elif isinstance(inner, exp.Subquery):
        inner = inner.this
    else:
        return False
    selects = list(top_level_selects(inner))
    return bool(selects) and not any(_is_unbounded(s, seen) for s in selects)


def _cte_body(name: str, node: exp.Expression) -> exp.Expression | None:
    """The query a WITH around ``node`` defines ``name`` as (the nearest one)."""
    lowered = name.lower()
    current: exp.Expression | None = node.parent
    while current is not None:
        with_ = current.args.get("with_") or current.args.get("with")
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                if cte.alias_or_name.lower() == lowered and cte.this is not node:
                    return cte.this
        current = current.parent
    return None


def _not_a_known_table(source: exp.Expression) -> bool:
    """A set-returning function (``FROM fetch_job(%s)``: its rows are what it returns), or
    a table formatted in at run time (``FROM {table}``: generic code over whatever table it
    is given, which cannot know how to bound it)."""
    return isinstance(source, exp.Table) and (isinstance(source.this, exp.Func) or is_dynamic_table(source))


def _formatted_in_condition(where: exp.Expression) -> bool:
    """``WHERE {condition}`` / ``WHERE x IS NULL AND {extra}``: a condition the Python code
    supplies whole, which may well bound the rows."""
    for column in where.find_all(exp.Column):
        if not column.table and column.name.startswith(HOLE_PREFIX) and \
                isinstance(column.parent, exp.Where | exp.And | exp.Or | exp.Not | exp.Paren):
            return True
    return False
