"""Shared questions about the shape of a parsed statement (used by several SQL rules)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp


def top_level_selects(statement: exp.Expression) -> Iterator[exp.Select]:
    """The SELECTs whose rows reach the caller: the statement itself, or each branch of
    a UNION/INTERSECT/EXCEPT at the top. CTE bodies and subqueries are not included."""
    stack: list[exp.Expression] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Select):
            yield node
        elif isinstance(node, exp.SetOperation):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, exp.Subquery) and node is statement:
            stack.append(node.this)


AGGREGATES = (exp.AggFunc,)


def is_aggregate_only(select: exp.Select) -> bool:
    """Every projection is an aggregate (or a literal) and there is no GROUP BY: one row."""
    if select.args.get("group"):
        return False
    if not select.expressions:
        return False
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Literal):
            continue
        if not inner.find(*AGGREGATES):
            return False
        # An aggregate inside a window function still yields one row per input row.
        if inner.find(exp.Window):
            return False
    return True


HOLE_PREFIX = "__pfl_hole_"


def is_dynamic_table(table: exp.Table) -> bool:
    """``FROM %s`` / ``FROM {table}``: the table name is formatted in at run time."""
    name = table.this
    if isinstance(name, exp.Placeholder):
        return True
    text = table.name
    return text in ("?", "%s") or text.startswith(HOLE_PREFIX)


def cte_names(statement: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def reads_only_catalog(select: exp.Expression, ctes: set[str]) -> bool:
    """Every table the query reads (CTE references aside) is a system catalog."""
    from perflint.knowledge import is_catalog_table

    tables = [t for t in select.find_all(exp.Table) if t.name.lower() not in ctes]
    return bool(tables) and all(is_catalog_table(t.name, t.db) for t in tables)
