"""PFL102 not-in-subquery."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import fragment_sql


class NotInSubquery(SqlRule):
    """
    ## What it does
    Flags `x NOT IN (SELECT ...)`.

    ## Why is this bad?
    Many planners cannot turn `NOT IN (subquery)` into an anti-join, so the subquery
    is materialised and probed per row (PostgreSQL even falls back to a plain scan
    per row once the subquery outgrows `work_mem`). It is also a NULL trap: one NULL
    in the subquery makes the whole predicate unknown and the query returns nothing.

    ## Example
    ```sql
    SELECT * FROM products WHERE id NOT IN (SELECT product_id FROM out_of_stock);
    ```

    ## Use instead
    ```sql
    SELECT p.id FROM products p
    WHERE NOT EXISTS (SELECT 1 FROM out_of_stock o WHERE o.product_id = p.id);
    -- or: LEFT JOIN out_of_stock o ON p.id = o.product_id WHERE o.product_id IS NULL
    ```
    """

    code = "PFL102"
    name = "not-in-subquery"
    summary = "NOT IN (subquery): slow anti-join and NULL trap"
    # the finding's message quotes the fragment and its NOT EXISTS rewrite (built with sqlglot)
    message = "`NOT IN (SELECT ...)` is a slow anti-join and returns no rows if the subquery yields a NULL; use `NOT EXISTS` or `LEFT JOIN ... IS NULL`"
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Rewrite as NOT EXISTS (correlated) or LEFT JOIN ... WHERE right.key IS NULL."

    VALID = (
        Valid("SELECT id FROM products WHERE status NOT IN ('gone', 'hidden') LIMIT 10;\n", "q.sql"),
        Valid("SELECT id FROM products p WHERE NOT EXISTS (SELECT 1 FROM out_of_stock o WHERE o.product_id = p.id) LIMIT 5;\n", "q.sql"),
        Valid("SELECT id FROM products WHERE id IN (SELECT product_id FROM featured) LIMIT 5;\n", "q.sql"),
    )
    INVALID = (
        # every placeholder style
        Invalid('cur.execute("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE kind = %s) LIMIT 5", (k,))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE kind = %(k)s) LIMIT 5", {"k": k})\n', (1,)),
        Invalid('async def f(conn, k):\n    await conn.fetch("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE kind = $1) LIMIT 5", k)\n', (2,)),
        Invalid('import sqlite3\nc.execute("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE kind = ?) LIMIT 5", (k,))\n', (2,)),
        Invalid('session.execute(text("SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE kind = :k) LIMIT 5"), {"k": k})\n', (1,)),
        Invalid("SELECT id FROM products\nWHERE id NOT IN (SELECT product_id FROM out_of_stock) LIMIT 10;\n", (2,), "q.sql"),
        Invalid('cur.execute(\n    "SELECT id FROM a WHERE NOT a.id IN (SELECT a_id FROM b) LIMIT 5"\n)\n', (2,)),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for not_node in statement.find_all(exp.Not):
            inner = not_node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.In) and _has_subquery(inner):
                yield SqlHit(_message(not_node, inner, sql.dialect), not_node)
                return


def _message(not_node: exp.Not, in_node: exp.In, dialect: str) -> str:
    fragment = f"{fragment_sql(in_node.this, dialect, limit=40)} NOT IN (SELECT ...)"
    rewrite = _not_exists(in_node)
    fix = (f"`{fragment_sql(rewrite, dialect, limit=160)}`" if rewrite is not None
           else "`NOT EXISTS (SELECT 1 ... WHERE inner.key = outer.key)`")
    return (f"`{fragment}` is a slow anti-join and matches nothing if the subquery yields a NULL; "
            f"use {fix} (or `LEFT JOIN ... WHERE key IS NULL`)")


def _not_exists(in_node: exp.In) -> exp.Expression | None:
    """``x NOT IN (SELECT y FROM t WHERE c)`` as ``NOT EXISTS (SELECT 1 FROM t WHERE c AND t.y = o.x)``,
    when the subquery is one plain SELECT of one column from one table (no GROUP BY, LIMIT,
    DISTINCT, UNION) and both sides can be qualified: an unqualified outer column inside
    the subquery could silently bind to the inner table."""
    query = in_node.args.get("query")
    select = query.this if isinstance(query, exp.Subquery) else query
    outer_select = in_node.find_ancestor(exp.Select)
    if not isinstance(select, exp.Select) or len(select.expressions) != 1 or outer_select is None:
        return None
    if any(select.args.get(key) for key in ("group", "limit", "distinct", "having", "order", "joins")):
        return None
    inner_name, outer_name = _only_source_name(select), _only_source_name(outer_select)
    if not inner_name or not outer_name or inner_name == outer_name:
        return None
    projected = select.expressions[0]
    projected = projected.this if isinstance(projected, exp.Alias) else projected
    try:
        rewritten = select.copy()
        rewritten.set("expressions", [exp.Literal.number(1)])
        key = exp.EQ(this=_qualified(projected, inner_name), expression=_qualified(in_node.this, outer_name))
        return exp.Not(this=exp.Exists(this=rewritten.where(key, copy=False)))
    except (AttributeError, TypeError, ValueError):
        return None


def _only_source_name(select: exp.Select) -> str:
    """The alias (else name) of a SELECT's one table; "" when it reads several or a subquery."""
    source = select.args.get("from_") or select.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or select.args.get("joins"):
        return ""
    return source.this.alias_or_name


def _qualified(node: exp.Expression, table: str) -> exp.Expression:
    if isinstance(node, exp.Column) and not node.table:
        return exp.column(node.name, table=table)
    return node.copy()


def _has_subquery(node: exp.In) -> bool:
    if node.args.get("query") is not None:
        return True
    return any(isinstance(e, (exp.Select, exp.Subquery)) for e in node.expressions)
