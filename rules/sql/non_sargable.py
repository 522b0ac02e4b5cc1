"""PFL103 non-sargable-predicate."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import (
    clause_predicates,
    column_table,
    fragment_sql,
    is_real_column,
    reads_catalog,
)
from perflint.schema import SchemaCheck
from perflint.schema_ddl import expression_key

# Predicates with two sides: either side may hold the wrapped column.
_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
# Predicates whose left side is the tested expression (the right is a list, range or pattern).
_TESTS = (exp.In, exp.Between, exp.Like, exp.ILike)

# Arithmetic and operators that turn a column into a computed value.
_OPERATORS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Pow, exp.DPipe,
              exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseLeftShift,
              exp.BitwiseRightShift, exp.BitwiseNot, exp.Neg, exp.AtTimeZone)
# JSON path extraction (``data->>'k'``) is indexed its own way (GIN, generated columns).
_JSON_PATHS = (exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract, exp.JSONBExtractScalar,
               exp.JSONExtractArray, exp.JSONValue)
# Never an index key: aggregates (HAVING's business), windows, quantifiers, subqueries.
_NOT_INDEXABLE = (exp.AggFunc, exp.Window, exp.Any, exp.All, exp.Select, exp.Subquery,
                  exp.Exists, *_JSON_PATHS)


class NonSargable(SqlRule):
    """
    ## What it does
    Flags a column wrapped in a function, a cast or arithmetic in a `WHERE` or
    `JOIN ON` condition that compares it with a value: `LOWER(email) = ?`,
    `DATE(created_at) = ?`, `price * 1.2 > ?`, `created_at::date = ?`, also on the
    left of `IN`, `BETWEEN` and `LIKE`.

    ## Why is this bad?
    An index on `email` stores `email`, not `LOWER(email)`: the database cannot look
    the value up in it, so it computes the expression for every row of the table (a
    sequential scan) and the query slows down linearly as the table grows. Such a
    predicate is not "sargable" (usable as a Search ARGument).

    ## Example
    ```python
    cur.execute("SELECT id FROM users WHERE LOWER(email) = %s", (email,))
    cur.execute("SELECT id FROM orders WHERE DATE(created_at) = %s", (day,))
    ```

    ## Use instead
    ```python
    # store the value normalised and compare the bare column ...
    cur.execute("SELECT id FROM users WHERE email = %s", (email.lower(),))
    # ... move the computation to the value side ...
    cur.execute("SELECT id FROM orders WHERE created_at >= %s AND created_at < %s",
                (day, day + timedelta(days=1)))
    # ... or index the expression itself:
    # CREATE INDEX users_email_lower ON users (LOWER(email));
    ```

    Not reported: a function on the value side only (`created_at > NOW() - INTERVAL
    '1 day'`, `email = LOWER(?)`), aggregates in `HAVING`, JSON path extraction
    (`data->>'k' = ?`), expressions without a column, a comparison of a computed value
    with another column (a join key served by that column's index), and an expression
    for which the known schema has a matching expression index
    (`CREATE INDEX ... ON users (lower(email))`); queries over system catalogs only
    (introspection: `information_schema`, `pg_catalog`, `sqlite_master`).
    """

    code = "PFL103"
    name = "non-sargable-predicate"
    summary = "a function, cast or arithmetic on a column in WHERE / JOIN ON defeats its index"
    message = "a column wrapped in a function, cast or arithmetic cannot use its index; compare the bare column or add an expression index"
    severity = "warning"
    base_cost = 3.0
    fix_hint = ("Compare the bare column (store the value normalised, move the computation to "
                "the value side), or create an index on the expression.")

    VALID = (
        # introspection of the system catalogs (Django's MySQL backend)
        Valid('cur.execute("SELECT c.constraint_name FROM information_schema.check_constraints c '
              'WHERE LOWER(c.check_clause) = %s", (clause,))\n'),
        # the function is on the value side only
        Valid('cur.execute("SELECT id FROM orders WHERE created_at > NOW() - INTERVAL \'1 day\'")\n'),
        Valid('cur.execute("SELECT id FROM users WHERE email = LOWER(%s)", (email,))\n'),
        Valid('cur.execute("SELECT id FROM users WHERE LOWER(%s) = email", (email,))\n'),
        Valid('cur.execute("SELECT id FROM orders WHERE total > %s * 1.2", (x,))\n'),
        Valid('cur.execute("SELECT id FROM events WHERE day = CAST(%s AS date)", (d,))\n'),
        # aggregates in HAVING
        Valid('cur.execute("SELECT user_id FROM orders GROUP BY user_id HAVING SUM(total) > %s", (10,))\n'),
        Valid("SELECT status, COUNT(*) FROM orders GROUP BY status HAVING COUNT(*) * 2 > 10;\n", "q.sql"),
        # JSON path extraction
        Valid('cur.execute("SELECT id FROM docs WHERE data->>\'k\' = %s", (v,))\n'),
        Valid('cur.execute("SELECT id FROM docs WHERE (data->>\'age\')::int > %s", (v,))\n'),
        # no column at all
        Valid('cur.execute("SELECT id FROM t WHERE 1 + 1 = 2 AND id = %s", (1,))\n'),
        # outside WHERE / JOIN ON
        Valid('cur.execute("SELECT LOWER(email) FROM users WHERE id = %s", (1,))\n'),
        Valid('cur.execute("SELECT CASE WHEN price * 2 > 10 THEN 1 END FROM p WHERE id = %s", (1,))\n'),
        # a computed value against another column: that column's index serves the join
        Valid("SELECT o.id FROM orders o JOIN days d ON d.day = DATE(o.created_at) WHERE d.id = 1;\n", "q.sql"),
        # quantifiers and subqueries are no wrapped column
        Valid('cur.execute("SELECT id FROM posts WHERE %s = ANY(tags)", (tag,))\n'),
        Valid('cur.execute("SELECT id FROM t WHERE id = (SELECT MAX(id) FROM t)")\n'),
        # a formatted-in value is no column
        Valid('cur.execute(f"SELECT id FROM users WHERE email = LOWER({q!r})")\n'),
        # a matching expression index exists in the known schema
        Valid('cur.execute("SELECT id FROM users u WHERE LOWER(u.email) = %s", (email,))\n',
              schema="CREATE TABLE users (id int primary key, email text);\n"
                     "CREATE INDEX users_email_lower ON users (lower(email));\n"),
        Valid("SELECT id FROM orders WHERE created_at::date = '2024-01-01';\n", "q.sql",
              schema="CREATE TABLE orders (id int primary key, created_at timestamp);\n"
                     "CREATE INDEX orders_day ON orders (CAST(created_at AS date));\n"),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id FROM users WHERE LOWER(email) = %s", (email,))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM users WHERE LOWER(email) = %(email)s", {"email": e})\n', (1,)),
        Invalid('async def f(conn):\n    return await conn.fetch("SELECT id FROM orders WHERE DATE(created_at) = $1", d)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(cur):\n    cur.execute("SELECT id FROM p WHERE price * 1.2 > ?", (10,))\n', (4,)),
        Invalid('async def f(db):\n    return await db.fetch_all("SELECT id FROM t WHERE col::date = :d", {"d": d})\n', (2,)),
        Invalid('stmt = text("SELECT id FROM t WHERE CAST(col AS TEXT) = :v")\n', (1,)),
        Invalid('cur.execute("SELECT id FROM users WHERE UPPER(name) LIKE %s", (p,))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM users WHERE LOWER(email) IN (%s, %s)", (a, b))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM o WHERE DATE(created_at) BETWEEN %s AND %s", (a, b))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM o WHERE %s = EXTRACT(YEAR FROM created_at)", (y,))\n', (1,)),
        # at the fragment, on the statement's fourth line
        Invalid('QUERY = """\n    SELECT o.id\n    FROM orders o JOIN users u ON u.id = o.user_id\n'
                '    WHERE u.active AND DATE(o.created_at) = %s\n"""\n\ndef f(cur, d):\n'
                '    cur.execute(QUERY, (d,))\n', (4,)),
        Invalid("SELECT o.id\nFROM orders o\nJOIN users u ON u.id = o.user_id AND LOWER(u.email) = 'a@b.c';\n", (3,), "q.sql"),
        Invalid("-- by day\nSELECT id FROM orders\nWHERE created_at + INTERVAL '1 day' > NOW();\n", (3,), "q.sql"),
        Invalid("UPDATE users SET active = false WHERE LOWER(email) = 'a@b.c';\n", (1,), "q.sql"),
        # the schema's expression index is on another expression
        Invalid('cur.execute("SELECT id FROM users WHERE UPPER(email) = %s", (email,))\n', (1,),
                schema="CREATE TABLE users (id int primary key, email text);\n"
                       "CREATE INDEX users_email_lower ON users (lower(email));\n"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for found in clause_predicates(statement):
            if not isinstance(found.predicate, (*_COMPARISONS, *_TESTS)) or reads_catalog(found.scope):
                continue
            for wrapped in _wrapped_sides(found.predicate):
                yield self._hit(wrapped, found.clause, found.scope, sql)

    def _hit(self, wrapped: exp.Expression, clause: str, scope: exp.Expression | None,
             sql: SqlContext) -> SqlHit:
        columns = [c for c in wrapped.find_all(exp.Column) if is_real_column(c)]
        fragment = fragment_sql(wrapped, sql.dialect, limit=80)
        names = ", ".join(dict.fromkeys(f"`{c.name}`" for c in columns[:4]))
        message = (f"`{fragment}` in {clause} cannot use an index on {names}; compare the bare "
                   f"column (store it normalised) or add an expression index on `{fragment}`")
        table = column_table(columns[0], scope)
        return SqlHit(message, node=wrapped,
                      schema_check=SchemaCheck("no_expression_index", table, (), expression_key(wrapped)))


def _wrapped_sides(predicate: exp.Expression) -> list[exp.Expression]:
    """The sides of ``predicate`` that are a computed column compared with a value. When
    both sides are computed columns only the left one is reported (one finding per test)."""
    if isinstance(predicate, _TESTS):
        side = _wrapped(predicate.this)
        return [side] if side is not None else []
    left, right = predicate.this, predicate.expression
    wrapped_left, wrapped_right = _wrapped(left), _wrapped(right)
    if wrapped_left is not None:
        return [] if _is_bare_column(right) else [wrapped_left]
    if wrapped_right is not None and not _is_bare_column(left):
        return [wrapped_right]
    return []


def _strip(node: exp.Expression | None) -> exp.Expression | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_bare_column(node: exp.Expression | None) -> bool:
    return is_real_column(_strip(node))


def _wrapped(node: exp.Expression | None) -> exp.Expression | None:
    """``node`` (parentheses stripped) when it computes a value from a column: a function,
    cast or operator over at least one column, with nothing in it that an index could
    never store (aggregates, subqueries, JSON paths)."""
    node = _strip(node)
    if not isinstance(node, exp.Expression) or isinstance(node, exp.Column):
        return None
    if not isinstance(node, (exp.Func, *_OPERATORS)) or isinstance(node, _NOT_INDEXABLE):
        return None
    if node.find(*_NOT_INDEXABLE) is not None:
        return None
    if not any(is_real_column(column) for column in node.find_all(exp.Column)):
        return None
    return node
