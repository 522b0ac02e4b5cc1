"""Shared questions about the shape of a parsed statement (used by several SQL rules)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

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


def is_run_time_value(node: exp.Expression) -> bool:
    """The value is only known when the query runs: it is, or is computed from, a bound
    parameter (``%s``, ``:name``, ``$1``, ``?``, ``@p``) or a formatted-in hole."""
    for sub in node.walk():
        if isinstance(sub, (exp.Placeholder, exp.Parameter)):
            return True
        if isinstance(sub, (exp.Column, exp.Identifier)) and sub.name.startswith(HOLE_PREFIX):
            return True
    return False


def literal_number(node: exp.Expression) -> float | None:
    """The value of a constant numeric expression (``1000``, ``(10 - 1) * 100``), else None."""
    if isinstance(node, exp.Literal):
        if node.is_string:
            return None
        try:
            return float(node.this)
        except (TypeError, ValueError):
            return None
    if isinstance(node, exp.Paren):
        return literal_number(node.this)
    if isinstance(node, exp.Neg):
        value = literal_number(node.this)
        return None if value is None else -value
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        left, right = literal_number(node.this), literal_number(node.expression)
        if left is None or right is None:
            return None
        if isinstance(node, exp.Add):
            return left + right
        return left - right if isinstance(node, exp.Sub) else left * right
    return None


def table_label(table: exp.Expression) -> str:
    """A table as a message names it: ``schema.name`` as written, ``{}`` for a name that
    is formatted in at run time."""
    if not isinstance(table, exp.Table):
        return "?"
    if is_dynamic_table(table):
        return "{}"
    parts = [part for part in (table.catalog, table.db, table.name) if part]
    return ".".join(parts) or "?"


def cte_names(statement: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def reads_only_catalog(select: exp.Expression, ctes: set[str]) -> bool:
    """Every table the query reads (CTE references aside) is a system catalog."""
    from perflint.knowledge import is_catalog_table

    tables = [t for t in select.find_all(exp.Table) if t.name.lower() not in ctes]
    return bool(tables) and all(is_catalog_table(t.name, t.db) for t in tables)


def is_real_column(node: exp.Expression) -> bool:
    """A column reference written in the SQL: not ``*`` and not a formatted-in hole
    (``__pfl_hole_N__`` stands for a value or a name the Python code supplies)."""
    return isinstance(node, exp.Column) and not isinstance(node.this, exp.Star) \
        and not node.name.startswith(HOLE_PREFIX)


@dataclass(frozen=True)
class ClausePredicate:
    """One condition of a WHERE / JOIN ON / HAVING clause."""

    clause: str  # "WHERE", "JOIN ON" or "HAVING"
    predicate: exp.Expression  # the condition itself: a comparison, LIKE, IN, a bare column ...
    scope: exp.Expression | None  # the SELECT / UPDATE / DELETE the clause belongs to


def clause_predicates(statement: exp.Expression,
                      clauses: tuple[str, ...] = ("WHERE", "JOIN ON")) -> Iterator[ClausePredicate]:
    """The conditions of every WHERE / JOIN ON (and, when asked, HAVING) clause of the
    statement, subqueries included: what the clause reaches through AND / OR / NOT /
    parentheses (and a LIKE's ESCAPE). A condition inside a function argument, a CASE or
    the SELECT list is not one. Linear in the size of the statement."""
    for holder in statement.find_all(exp.Where, exp.Having, exp.Join):
        if isinstance(holder, exp.Join):
            clause, condition = "JOIN ON", holder.args.get("on")
        else:
            clause, condition = ("WHERE" if isinstance(holder, exp.Where) else "HAVING"), holder.this
        if clause not in clauses or not isinstance(condition, exp.Expression):
            continue
        scope = holder.parent if isinstance(holder.parent, _SCOPES) else query_scope(holder)
        stack: list[exp.Expression] = [condition]
        while stack:
            node = stack.pop()
            if isinstance(node, exp.Paren | exp.Not | exp.Escape):  # LIKE ... ESCAPE: the LIKE
                stack.append(node.this)
            elif isinstance(node, exp.Connector):  # AND / OR
                stack.append(node.expression)
                stack.append(node.this)
            elif isinstance(node, exp.Expression):
                yield ClausePredicate(clause, node, scope)


_SCOPES = (exp.Select, exp.Update, exp.Delete)


def query_scope(node: exp.Expression) -> exp.Select | exp.Update | exp.Delete | None:
    """The nearest SELECT / UPDATE / DELETE that ``node`` belongs to (itself included)."""
    found = node if isinstance(node, _SCOPES) else node.find_ancestor(*_SCOPES)
    return found if isinstance(found, _SCOPES) else None


def scope_sources(scope: exp.Expression) -> list[exp.Expression]:
    """What a SELECT / UPDATE / DELETE reads rows from, as written: ``exp.Table`` nodes,
    and derived tables (``exp.Subquery`` and the like) that have no table name."""
    sources: list[exp.Expression] = []
    if isinstance(scope, exp.Update | exp.Delete) and scope.this is not None:
        sources.append(scope.this)
    # sqlglot >= 28 keys the FROM clause as "from_", older releases as "from".
    origin = scope.args.get("from_") or scope.args.get("from")
    if isinstance(origin, exp.From) and origin.this is not None:
        sources.append(origin.this)
    for join in scope.args.get("joins") or []:
        if isinstance(join, exp.Join) and join.this is not None:
            sources.append(join.this)
    if isinstance(scope, exp.Delete):
        sources.extend(used for used in scope.args.get("using") or [] if isinstance(used, exp.Expression))
    return sources


def reads_catalog(scope: exp.Expression | None) -> bool:
    """A SELECT / UPDATE / DELETE whose every source is a system catalog
    (``information_schema``, ``pg_catalog``, ``sqlite_master``, ...): introspection, whose
    tables grow with the schema, not the data; indexes are not the user's to add there."""
    from perflint.knowledge import is_catalog_table

    if scope is None:
        return False
    sources = scope_sources(scope)
    return bool(sources) and all(isinstance(s, exp.Table) and is_catalog_table(s.name, s.db) for s in sources)


def _cte_defined(name: str, node: exp.Expression) -> bool:
    """A WITH around ``node`` defines ``name``."""
    lowered = name.lower()
    current: exp.Expression | None = node
    while current is not None:
        with_ = current.args.get("with_") or current.args.get("with")
        if isinstance(with_, exp.With) and any(cte.alias_or_name.lower() == lowered
                                               for cte in with_.expressions):
            return True
        current = current.parent
    return False


def column_table(column: exp.Column, scope: exp.Expression | None = None) -> str:
    """The name (unqualified, as written) of the table a column belongs to, or ``""``
    when that cannot be known without guessing.

    A qualified column (``u.email``) is resolved through the aliases and table names of
    its query's FROM / JOINs (UPDATE and DELETE targets, DELETE ... USING included), then
    of the enclosing queries (a correlated subquery); an unqualified one belongs to the
    query's only source when it has exactly one. ``""`` for: a derived table or CTE, a
    formatted-in table name, an unqualified column over several sources, a qualifier no
    source declares. ``scope`` defaults to the column's own query (``query_scope``)."""
    current = scope if scope is not None else query_scope(column)
    qualifier = column.table.lower() if column.table else ""
    while current is not None:
        sources = scope_sources(current)
        if not qualifier:
            if len(sources) != 1:
                return ""
            return _real_table_name(sources[0])
        for source in sources:
            if source.alias_or_name.lower() == qualifier:
                return _real_table_name(source)
        current = query_scope(current.parent) if current.parent is not None else None
    return ""


def _real_table_name(source: exp.Expression) -> str:
    if not isinstance(source, exp.Table) or is_dynamic_table(source) or not source.name:
        return ""
    if not source.db and _cte_defined(source.name, source):
        return ""
    return source.name


_HOLE_TEXT = re.compile(HOLE_PREFIX + r"\d+__")  # also inside string literals: ``'%{q}%'``


def _shown(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.name:
        # positional placeholders (``%s``, ``?``, ``$1``) were numbered by normalisation
        # and keyword-named ones (``:when``) renamed ``pfl_kw_when``
        return exp.var("?" if node.name.startswith("pfl_pos_") else f":{node.name.removeprefix('pfl_kw_')}")
    return node


def fragment_sql(node: exp.Expression, dialect: str, limit: int = 0) -> str:
    """A fragment as a message quotes it: sqlglot's rendering in the query's dialect, with
    positional placeholders shown as ``?``, named ones as ``:name`` (whatever the dialect's
    own placeholder style) and formatted-in holes as ``{}``; cut to ``limit`` characters
    (ending in ``...``) when ``limit`` is set."""
    try:
        shown = node.copy().transform(_shown)
        text = _HOLE_TEXT.sub("{}", shown.sql(dialect=dialect))
    except Exception:  # noqa: BLE001 - a node this sqlglot release cannot render in that dialect
        try:
            text = node.sql()
        except Exception:  # noqa: BLE001 - nested too deeply to render at all
            text = type(node).__name__
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[:max(limit - 3, 1)].rstrip() + "..."
    return text
