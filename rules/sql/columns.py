"""The simple predicates a clause is made of: a bare column against a value.

Shared by the schema-aware rules (PFL109 implicit-cast, PFL113 missing-index); which
table a column belongs to is shape.column_table's answer (never a guess).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rules.sql.shape import is_real_column
from perflint.sqltext import HOLE_PREFIX

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def queries(statement: exp.Expression) -> Iterator[exp.Expression]:
    """Every SELECT, UPDATE and DELETE in a statement, subqueries and CTE bodies included."""
    yield from statement.find_all(exp.Select, exp.Update, exp.Delete)


def operands(node: exp.Expression | None, connector: type[exp.Connector] = exp.And) -> list[exp.Expression]:
    """``a AND (b AND c)`` -> [a, b, c] (or the branches of an OR chain); parentheses
    unwrapped. Iterative: generated clauses can chain thousands of ANDs or ORs."""
    found: list[exp.Expression] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        while isinstance(current, exp.Paren):
            current = current.this
        if isinstance(current, connector):
            stack.append(current.expression)
            stack.append(current.this)
        elif isinstance(current, exp.Expression):
            found.append(current)
    return found


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed conditions of a clause; an OR stays one conjunct."""
    return operands(condition, exp.And)


def is_value(node: exp.Expression | None) -> bool:
    """Known before the query reads a row: a literal, a placeholder, a formatted-in hole,
    or an expression of those (``now() - interval '1 day'``); no column, no subquery."""
    if node is None or isinstance(node, exp.Query | exp.Subquery):
        return False
    return not any(isinstance(sub, exp.Query) or isinstance(sub, exp.Column) and not _is_hole(sub)
                   for sub in node.walk())


def _is_hole(column: exp.Column) -> bool:
    return column.name.startswith(HOLE_PREFIX) and not column.table


def bare_column(node: exp.Expression | None) -> exp.Column | None:
    """The column itself when ``node`` is a plain column reference (not a hole)."""
    while isinstance(node, exp.Paren):
        node = node.this
    return node if node is not None and is_real_column(node) else None  # type: ignore[return-value]


def where_condition(query: exp.Expression) -> exp.Expression | None:
    where = query.args.get("where")
    return where.this if isinstance(where, exp.Where) else None
