"""Which table a column belongs to, and the simple predicates a clause is made of.

Shared by the schema-aware rules (PFL109 implicit-cast, PFL113 missing-index). A column
is attributed to a table only when the statement says so: through its qualifier (an
alias or a table name) or, unqualified, when the query reads exactly one table.
Anything else stays unattributed, and the rules say nothing about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from perflint.rules.sql.shape import is_dynamic_table
from perflint.sqltext import HOLE_PREFIX

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass(frozen=True)
class Scope:
    """The tables one SELECT / UPDATE / DELETE reads, by the names its columns use."""

    by_name: dict[str, str]  # alias or table name (lowercase) -> table name
    tables: tuple[str, ...]  # every table read, in order (joined ones included)

    def table_of(self, column: exp.Column) -> str | None:
        qualifier = column.table
        if qualifier:
            return self.by_name.get(qualifier.lower())
        return self.tables[0] if len(self.tables) == 1 else None


def _own_tables(query: exp.Expression) -> list[exp.Table]:
    """Tables in this query's FROM / JOIN / UPDATE / DELETE target, not in its subqueries."""
    found: list[exp.Table] = []
    if isinstance(query, exp.Update | exp.Delete) and isinstance(query.this, exp.Table):
        found.append(query.this)
    source = query.args.get("from_") or query.args.get("from")
    if source is not None and isinstance(source.this, exp.Table):
        found.append(source.this)
    for join in query.args.get("joins") or []:
        if isinstance(join.this, exp.Table):
            found.append(join.this)
    return found


def scope_of(query: exp.Expression) -> Scope | None:
    """The scope of a query; None when a table name is formatted in or a source is a subquery
    (its columns could come from anywhere)."""
    source = query.args.get("from_") or query.args.get("from")
    if source is not None and not isinstance(source.this, exp.Table):
        return None
    if any(not isinstance(join.this, exp.Table) for join in query.args.get("joins") or []):
        return None
    tables = _own_tables(query)
    if not tables or any(is_dynamic_table(table) for table in tables):
        return None
    by_name: dict[str, str] = {}
    for table in tables:
        by_name[table.name.lower()] = table.name
        if table.alias:
            by_name[table.alias.lower()] = table.name
    return Scope(by_name, tuple(table.name for table in tables))


def queries(statement: exp.Expression) -> Iterator[exp.Expression]:
    """Every SELECT, UPDATE and DELETE in a statement, subqueries and CTE bodies included."""
    yield from statement.find_all(exp.Select, exp.Update, exp.Delete)


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """``a AND (b AND c)`` -> [a, b, c]; parentheses unwrapped. An OR stays one conjunct.
    Iterative: generated WHERE clauses can chain thousands of ANDs."""
    found: list[exp.Expression] = []
    stack = [condition] if condition is not None else []
    while stack:
        node = stack.pop()
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And):
            stack.append(node.expression)
            stack.append(node.this)
        else:
            found.append(node)
    return found


def is_value(node: exp.Expression | None) -> bool:
    """Known before the query reads a row: a literal, a placeholder, a formatted-in hole,
    or an expression of those (``now() - interval '1 day'``); no column, no subquery."""
    if node is None or isinstance(node, exp.Query | exp.Subquery):
        return False
    if isinstance(node, exp.Column):
        return _is_hole(node)
    return not any(isinstance(sub, exp.Query) or isinstance(sub, exp.Column) and not _is_hole(sub)
                   for sub in node.walk())


def _is_hole(column: exp.Column) -> bool:
    return column.name.startswith(HOLE_PREFIX) and not column.table


def bare_column(node: exp.Expression | None) -> exp.Column | None:
    """The column itself when ``node`` is a plain column reference (not a hole)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star) and not is_value(node):
        return node
    return None


def where_condition(query: exp.Expression) -> exp.Expression | None:
    where = query.args.get("where")
    return where.this if isinstance(where, exp.Where) else None
