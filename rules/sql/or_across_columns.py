"""PFL105 or-across-columns."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.columns import operands
from perflint.rules.sql.shape import column_table, is_real_column, reads_catalog

# Nodes whose columns belong to another query (a subquery tests its own rows).
_OWN_QUERY = (exp.Select, exp.Subquery, exp.Exists)


class OrAcrossColumns(SqlRule):
    """
    ## What it does
    Flags `OR` in a `WHERE` clause joining predicates on different columns, such as
    `WHERE email = ? OR phone = ?`: no single column is tested by every branch.

    ## Why is this bad?
    An index on `email` cannot find the rows that match on `phone`. The planner either
    reads the whole table, or (PostgreSQL's bitmap OR, MySQL's index merge) probes one
    index per branch and merges the results, which it often misjudges; MySQL and SQLite
    frequently fall back to a full scan. The query slows down as the table grows even
    though each column is indexed.

    ## Example
    ```sql
    SELECT id FROM users WHERE email = :login OR phone = :login;
    ```

    ## Use instead
    ```sql
    SELECT id FROM users WHERE email = :login
    UNION ALL
    SELECT id FROM users WHERE phone = :login AND email IS DISTINCT FROM :login;
    -- one column with alternatives is an IN list: WHERE status IN ('a', 'b')
    ```

    Not reported: `OR` on one column (`status = 'a' OR status = 'b'`, `x IS NULL OR
    x > ?`), or whenever every branch tests a common column; the optional-filter idiom
    (`:q IS NULL OR name = :q`, a branch without any column; a NULL test of a LEFT JOINed
    source, `sw.id IS NOT NULL`, is whether the join matched and counts as none); `OR` outside `WHERE`
    (the SELECT list, `CASE`, `JOIN ON`). Often the intent is right and the table is
    small, hence low confidence. Queries over system catalogs only are not reported.
    """

    code = "PFL105"
    name = "or-across-columns"
    summary = "OR across different columns in WHERE often defeats their indexes"
    message = "`OR` across different columns in WHERE: one index cannot serve every branch; use `UNION ALL` of indexed lookups, or an IN list on one column"
    severity = "warning"
    confidence = "low"
    base_cost = 2.0
    fix_hint = "Split the branches into a UNION ALL of indexed lookups (or use IN for one column)."

    VALID = (
        Valid('cur.execute("SELECT relname FROM pg_catalog.pg_class WHERE relkind = %s OR relnamespace = %s", (k, n))\n'),
        Valid('cur.execute("SELECT id FROM orders WHERE status = \'a\' OR status = \'b\'")\n'),
        Valid('cur.execute("SELECT id FROM orders WHERE shipped_at IS NULL OR shipped_at > %s", (t,))\n'),
        Valid('cur.execute("SELECT id FROM t o WHERE (o.a = 1 OR a = 2) AND b = 3 AND o.id = 1")\n'),
        # every branch tests a common column
        Valid('cur.execute("SELECT id FROM t WHERE a = 1 OR (a = 2 AND b = 3)")\n'),
        # the optional-filter idiom: one branch has no column
        Valid('db.fetch_all("SELECT id FROM users WHERE (:q IS NULL OR name = :q) AND (:e IS NULL OR email = :e)")\n'),
        Valid('cur.execute("SELECT id FROM users WHERE %(q)s IS NULL OR name = %(q)s", {"q": q})\n'),
        # OR outside WHERE
        Valid('cur.execute("SELECT id, (a = 1 OR b = 2) AS hit FROM t WHERE id = %s", (1,))\n'),
        Valid('cur.execute("SELECT CASE WHEN a = 1 OR b = 2 THEN 1 END FROM t WHERE id = %s", (1,))\n'),
        Valid("SELECT u.id FROM users u JOIN teams t ON t.owner_id = u.id OR t.admin_id = u.id WHERE u.id = 1;\n", "q.sql"),
        Valid("SELECT id FROM products WHERE category = 'a'\nUNION ALL\nSELECT id FROM products WHERE price < 100;\n", "q.sql"),
        # an OR on one column only, inside a subquery's WHERE
        Valid('cur.execute("SELECT id FROM t WHERE id IN (SELECT t_id FROM u WHERE k = 1 OR k = 2)")\n'),
        # a NULL test of a LEFT JOINed row is whether the join matched, not a column filter
        # (procrastinate's queries.sql, select_stalled_jobs_by_heartbeat)
        Valid("SELECT j.id FROM jobs j LEFT JOIN stalled sw ON sw.id = j.worker_id\n"
              "WHERE j.status = 'doing' AND (j.worker_id IS NULL OR sw.id IS NOT NULL);\n", "q.sql"),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id FROM users WHERE email = %s OR phone = %s", (v, v))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM users WHERE email = %(v)s OR phone = %(v)s", {"v": v})\n', (1,)),
        Invalid('async def f(conn, v):\n    return await conn.fetch("SELECT id FROM users WHERE email = $1 OR phone = $1", v)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(cur, v):\n    cur.execute("SELECT id FROM users WHERE email = ? OR phone = ?", (v, v))\n', (4,)),
        Invalid('async def f(db, v):\n    return await db.fetch_all("SELECT id FROM users WHERE email = :v OR phone = :v", {"v": v})\n', (2,)),
        Invalid('stmt = text("SELECT id FROM t WHERE deleted = false AND (a = :x OR b = :x)")\n', (1,)),
        # one finding per WHERE
        Invalid('cur.execute("SELECT id FROM t WHERE (a = 1 OR b = 1) AND (c = 1 OR d = 1)")\n', (1,)),
        # at the fragment, on the statement's fourth line
        Invalid('QUERY = """\n    SELECT id\n    FROM users\n    WHERE active\n      AND (email = %s OR phone = %s)\n"""\n\n'
                'def f(cur, v):\n    cur.execute(QUERY, (v, v))\n', (5,)),
        Invalid("SELECT id\nFROM products\nWHERE category = 'electronics' OR price < 100;\n", (3,), "q.sql"),
        Invalid("UPDATE users SET flagged = true WHERE email = 'x' OR phone = 'y';\n", (1,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for where in statement.find_all(exp.Where):
            scope = where.parent if isinstance(where.parent, exp.Select | exp.Update | exp.Delete) else None
            if reads_catalog(scope):
                continue
            found = _first_or_across_columns(where.this, scope, _outer_joined(scope))
            if found is not None:
                or_node, columns = found
                names = ", ".join(f"`{name}`" for name in columns[:4]) + (", ..." if len(columns) > 4 else "")
                message = (f"`OR` across columns {names} in WHERE: one index cannot serve every "
                           "branch; use `UNION ALL` of indexed lookups, or an IN list on one column")
                yield SqlHit(message, node=or_node, confidence=self.confidence)


def _outer_joined(scope: exp.Expression | None) -> frozenset[str]:
    """The names (aliases) of the sources a LEFT / RIGHT / FULL JOIN brings into ``scope``."""
    if scope is None:
        return frozenset()
    return frozenset(join.this.alias_or_name.lower() for join in scope.args.get("joins") or []
                     if isinstance(join, exp.Join) and join.side and join.this is not None)


def _first_or_across_columns(condition: exp.Expression | None, scope: exp.Expression | None,
                             outer: frozenset[str] = frozenset()) -> tuple[exp.Or, list[str]] | None:
    """The outermost OR among the clause's conditions (reached through AND and
    parentheses) whose branches share no column, with the columns it tests."""
    stack: list[exp.Expression | None] = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
        elif isinstance(node, exp.And):
            stack.append(node.expression)
            stack.append(node.this)
        elif isinstance(node, exp.Or):
            columns = _across_columns(node, scope, outer)
            if columns is not None:
                return node, columns
            # an OR with a column common to every branch: look no deeper
    return None


def _branches(node: exp.Expression) -> list[exp.Expression]:
    """``a OR (b OR c)`` -> [a, b, c], parentheses unwrapped."""
    return operands(node, exp.Or)


def _columns(branch: exp.Expression, scope: exp.Expression | None,
             outer: frozenset[str] = frozenset()) -> dict[tuple[str, str], str]:
    """The columns a branch tests (not those of its subqueries), keyed by (table, name);
    not a NULL test of an outer-joined source's column (whether the join matched)."""

    found: dict[tuple[str, str], str] = {}
    stack: list[exp.Expression] = [branch]
    while stack:
        node = stack.pop()
        if isinstance(node, _OWN_QUERY):
            continue
        if isinstance(node, exp.Column):
            if node.table.lower() in outer and isinstance(node.parent, exp.Is):
                continue
            if is_real_column(node):
                table = column_table(node, scope) or node.table
                found[(table.lower(), node.name.lower())] = node.sql()
            continue
        stack.extend(reversed(list(node.iter_expressions())))  # keep source order
    return found


def _across_columns(or_node: exp.Or, scope: exp.Expression | None,
                    outer: frozenset[str] = frozenset()) -> list[str] | None:
    """The columns when the branches test different columns and none common to all;
    None when some branch tests no column (an optional filter) or a column is common."""
    common: set[tuple[str, str]] | None = None
    names: dict[tuple[str, str], str] = {}
    for branch in _branches(or_node):
        columns = _columns(branch, scope, outer)
        if not columns:
            return None
        names.update(columns)
        common = set(columns) if common is None else common & set(columns)
    if common or len(names) < 2:
        return None
    return list(dict.fromkeys(names.values()))
