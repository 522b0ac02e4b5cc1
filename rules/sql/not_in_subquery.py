"""PFL102 not-in-subquery."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid


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
        Invalid("SELECT id FROM products\nWHERE id NOT IN (SELECT product_id FROM out_of_stock) LIMIT 10;\n", (2,), "q.sql"),
        Invalid('cur.execute(\n    "SELECT id FROM a WHERE NOT a.id IN (SELECT a_id FROM b) LIMIT 5"\n)\n', (2,)),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for not_node in statement.find_all(exp.Not):
            inner = not_node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.In) and _has_subquery(inner):
                yield SqlHit(self.message, not_node)
                return


def _has_subquery(node: exp.In) -> bool:
    if node.args.get("query") is not None:
        return True
    return any(isinstance(e, (exp.Select, exp.Subquery)) for e in node.expressions)
