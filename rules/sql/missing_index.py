"""PFL113 missing-index."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.columns import (
    COMPARISONS,
    bare_column,
    conjuncts,
    is_value,
    queries,
    where_condition,
)
from perflint.rules.sql.shape import column_table, scope_sources
from perflint.schema import SchemaCheck

_SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email varchar(255) UNIQUE, org_id int, name text,
                    created_at timestamp);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int REFERENCES users (id), status text,
                     total numeric, placed_at timestamp);
CREATE INDEX orders_status_placed ON orders (status, placed_at);
"""


class MissingIndex(SqlRule):
    """
    ## What it does
    Flags a column a query filters, joins or sorts on when the project's schema (its
    `CREATE TABLE` / `CREATE INDEX` / `ALTER TABLE` statements in `.sql` files and the
    configured `schema` paths) has no index that starts with it.

    ## Why is this bad?
    Without an index the database reads the whole table for every execution: the query
    gets slower as the table grows and holds more locks and buffer cache than it needs.
    A foreign key column without an index is the classic case: every lookup of a user's
    orders scans all orders.

    ## Example
    ```sql
    CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int REFERENCES users (id));
    SELECT id, total FROM orders WHERE user_id = $1;
    ```

    ## Use instead
    ```sql
    CREATE INDEX orders_user_id ON orders (user_id);
    ```

    Primary keys, UNIQUE columns, MySQL `KEY`s, any index whose leading column it is and
    a partial index whose `WHERE` predicate names it count as indexed; when a query finds a table's rows by several columns (WHERE filters
    and JOIN keys), one of them having an index is enough. Boolean columns alone are not
    reported (an index on two values is not used). Tables the schema does not declare, columns it does not
    list, and columns whose table the query does not name unambiguously are never
    reported.
    """

    code = "PFL113"
    name = "missing-index"
    summary = "a filtered, joined or sorted column that no index of its table can serve"
    # the project phase appends the index to add (it knows which columns are worth one)
    message = "no index of `{table}` starts with {columns}: each run reads the whole table"
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Add an index whose leading column is the filtered column (CREATE INDEX ...)."

    VALID = (
        # primary key, unique column, leading column of a composite index
        Valid('cur.execute("SELECT email FROM users WHERE id = %s", (1,))\n', schema=_SCHEMA),
        Valid('cur.execute("SELECT id FROM users WHERE email = %(e)s", {"e": e})\n', schema=_SCHEMA),
        Valid("SELECT id FROM orders WHERE status = 'paid' AND placed_at > now() - interval '1 day';\n",
              "q.sql", schema=_SCHEMA),
        # one indexed filter is enough for the planner to start from
        Valid('cur.execute("SELECT id FROM orders WHERE status = %s AND total > %s", (s, t))\n', schema=_SCHEMA),
        # a table the schema does not know is never guessed about
        Valid('cur.execute("SELECT id FROM invoices WHERE customer = %s", (c,))\n', schema=_SCHEMA),
        # a column the DDL does not list (the schema is incomplete): quiet
        Valid('cur.execute("SELECT id FROM users WHERE nickname = %s", (n,))\n', schema=_SCHEMA),
        # unqualified column in a join: whose is it? never guessed
        Valid('cur.execute("SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id '
              'WHERE o.status = %s AND name = %s", (s, n))\n',
              schema=_SCHEMA + "CREATE INDEX orders_user ON orders (user_id);\n"),
        # joined on a non-leading key, but found by the leading one in WHERE
        Valid('cur.execute("SELECT t.name FROM tags t JOIN order_tags ot ON ot.tag_id = t.id '
              'WHERE ot.order_id = %s", (o,))\n',
              schema="CREATE TABLE tags (id int PRIMARY KEY, name text);\n"
                     "CREATE TABLE order_tags (order_id int, tag_id int, PRIMARY KEY (order_id, tag_id));\n"),
        # a boolean flag: an index on it would not be used
        Valid('cur.execute("SELECT id FROM users WHERE active = true LIMIT 10")\n',
              schema="CREATE TABLE users (id int PRIMARY KEY, active boolean);\n"),
        # joined on the primary key
        Valid('cur.execute("SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status = %s", (s,))\n',
              schema=_SCHEMA),
        # no schema at all
        Valid('cur.execute("SELECT id FROM users WHERE org_id = %s", (o,))\n'),
        # MySQL KEY in the table definition
        Valid("CREATE TABLE `events` (`id` int NOT NULL, `kind` varchar(20), PRIMARY KEY (`id`), KEY `k` (`kind`));\n"
              "SELECT `id` FROM `events` WHERE `kind` = 'x';\n", "q.sql"),
        # a partial index whose predicate the filter implies: the query reads only its rows
        # (procrastinate: ``... (id, lock) WHERE status = ANY (ARRAY['todo', 'doing'])``)
        Valid("CREATE TABLE jobs (id bigint PRIMARY KEY, lock text, status text);\n"
              "CREATE INDEX jobs_id_lock ON jobs (id, lock) WHERE status = ANY (ARRAY['todo', 'doing']);\n"
              "SELECT id FROM jobs WHERE status = 'doing' LIMIT 10;\n", "q.sql"),
        # index added by a later migration (applied in path order)
        Valid("ALTER TABLE users ADD CONSTRAINT users_org UNIQUE (org_id);\nSELECT id FROM users WHERE org_id = 1;\n",
              "q.sql", schema=_SCHEMA),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id FROM users WHERE org_id = %(o)s", {"o": o})\n', (1,), schema=_SCHEMA),
        Invalid('cur.execute("SELECT id FROM users WHERE org_id = %s", (o,))\n', (1,), schema=_SCHEMA),
        Invalid('rows = await conn.fetch(\n    """\n    SELECT id, total\n    FROM orders\n    WHERE user_id = $1\n    """,\n    uid,\n)\n',
                (5,), schema=_SCHEMA),
        Invalid('db.fetch_all("SELECT u.id FROM users u WHERE u.name = :name", values={"name": n})\n', (1,),
                schema=_SCHEMA),
        # FK join without an index on the joined side
        Invalid("SELECT u.id, o.total\nFROM users u\nJOIN orders o ON o.user_id = u.id\nWHERE u.id = 1;\n", (3,),
                "q.sql", schema=_SCHEMA),
        Invalid('import sqlite3\nc.execute("UPDATE orders SET status = ? WHERE user_id = ?", (s, u))\n', (2,),
                schema=_SCHEMA),
        Invalid('session.execute(text("DELETE FROM users WHERE created_at < :cutoff"), {"cutoff": c})\n', (1,),
                schema=_SCHEMA),
        # sorted and limited over the whole table
        Invalid("SELECT id FROM users\nORDER BY created_at DESC\nLIMIT 20;\n", (2,), "q.sql", schema=_SCHEMA),
        # the schema in the same file, then the dropped index
        Invalid("CREATE TABLE t (id int PRIMARY KEY, k text);\nCREATE INDEX t_k ON t (k);\nDROP INDEX t_k;\n"
                "SELECT id FROM t WHERE k = 'x';\n", (4,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for query in queries(statement):
            # Per table, every column the query finds its rows by (WHERE filters and JOIN
            # keys): one of them leading an index is enough for the planner.
            access = _filtered_columns(query)
            for join in query.args.get("joins") or []:
                for table, column in _join_columns(join, query):
                    access.setdefault(table, []).append(column)
            for table, columns in access.items():
                yield self._hit(table, columns)
            if not access and where_condition(query) is None and query.args.get("limit"):
                yield from self._sorted(query)

    def _hit(self, table: str, columns: list[exp.Column]) -> SqlHit:
        names = tuple(dict.fromkeys(column.name.lower() for column in columns))
        listed = " or ".join(f"`{name}`" for name in names)
        return SqlHit(self.message.format(table=table, columns=listed), columns[0],
                      SchemaCheck("unindexed", table, names))

    def _sorted(self, query: exp.Expression) -> Iterator[SqlHit]:
        order = query.args.get("order")
        if not isinstance(order, exp.Order) or not order.expressions or len(scope_sources(query)) != 1:
            return
        first = order.expressions[0]
        column = bare_column(first.this if isinstance(first, exp.Ordered) else first)
        table = column_table(column, query) if column is not None else ""
        if column is not None and table:
            yield self._hit(table, [column])


def _join_columns(join: exp.Join, query: exp.Expression) -> Iterator[tuple[str, exp.Column]]:
    """(joined table, its column) for each ``a.x = b.y`` key of a JOIN ... ON."""
    joined = join.this.name if isinstance(join.this, exp.Table) else ""
    for condition in conjuncts(join.args.get("on")):
        if not isinstance(condition, exp.EQ):
            continue
        for side in (condition.this, condition.expression):
            column = bare_column(side)
            if joined and column is not None and column.table and column_table(column, query) == joined:
                yield joined, column


def _filtered_columns(query: exp.Expression) -> dict[str, list[exp.Column]]:
    """Table -> the columns its rows are picked by in WHERE (a column against a value:
    ``=``, ranges, IN, BETWEEN, a prefix LIKE); conjuncts under OR are not counted."""
    found: dict[str, list[exp.Column]] = {}
    where = query.args.get("where")
    for condition in conjuncts(where.this if isinstance(where, exp.Where) else None):
        column = _filter_column(condition)
        table = column_table(column, query) if column is not None else ""
        if column is not None and table:
            found.setdefault(table, []).append(column)
    return found


def _filter_column(condition: exp.Expression) -> exp.Column | None:
    if isinstance(condition, COMPARISONS) and not isinstance(condition, exp.NEQ):
        left, right = condition.this, condition.expression
        if bare_column(left) is not None and is_value(right):
            return bare_column(left)
        if bare_column(right) is not None and is_value(left):
            return bare_column(right)
        return None
    if isinstance(condition, exp.In | exp.Between):
        return bare_column(condition.this)
    if isinstance(condition, exp.Like):
        pattern = condition.expression
        prefix = not (isinstance(pattern, exp.Literal) and pattern.this.startswith(("%", "_")))
        return bare_column(condition.this) if prefix and is_value(pattern) else None
    return None
