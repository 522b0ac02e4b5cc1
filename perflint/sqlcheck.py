"""Run the SQL rules over one piece of SQL text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from perflint.rulebase import SqlContext, SqlRule
from perflint.schema import SchemaCheck
from perflint.sqltext import HOLE_PREFIX, SqlParseError, normalise, parse_statements

if TYPE_CHECKING:  # pragma: no cover
    from sqlglot import exp

PARSE_FAILURE_CODE = "PFL902"


@dataclass(frozen=True)
class SqlProblem:
    """A rule's finding in one SQL text. ``offset``/``end_offset`` index the text as
    given (before placeholder normalisation); None when the problem has no position
    of its own (then the finding points at the start of the SQL)."""

    code: str
    message: str
    offset: int | None = None
    end_offset: int | None = None
    schema_check: SchemaCheck | None = None
    confidence: str | None = None


def check_sql(text: str, sql: SqlContext, rules: list[SqlRule],
              enabled: frozenset[str], fallbacks: tuple[str, ...] = ()) -> Iterator[SqlProblem]:
    """Every problem in ``text``; unparseable SQL yields PFL902 (if enabled), nothing else.
    ``fallbacks``: dialects to try, in order, when ``sql.dialect`` was only a default and
    the text does not parse in it (``DATABASE()`` is MySQL's, ``[name]`` SQLite's)."""
    normalised = normalise(text, sql.dialect)
    try:
        statements = parse_statements(normalised.text, sql.dialect)
    except SqlParseError as error:
        for dialect in fallbacks:
            normalised = normalise(text, dialect)
            try:
                statements = parse_statements(normalised.text, dialect)
            except SqlParseError:
                continue
            sql = replace(sql, dialect=dialect)
            break
        else:
            if PARSE_FAILURE_CODE in enabled and not _hole_is_a_clause(normalised.text, sql.dialect):
                yield SqlProblem(PARSE_FAILURE_CODE, f"SQL did not parse ({sql.dialect}): {error}")
            return
    for statement in statements:
        if _hole_as_alias(statement):
            continue  # ``"SELECT a FROM t " + where``: the hole is a clause, not an alias
        for rule in rules:
            try:
                hits = list(rule.check(statement, sql))
            except RecursionError:
                continue  # a statement nested beyond what a rule can walk: no verdict, no crash
            for hit in hits:
                span = node_span(hit.node, normalised.text) if hit.node is not None else None
                offset = end = None
                if span is not None:
                    offset = normalised.original_offset(span[0])
                    end = normalised.original_offset(span[1] - 1) + 1
                yield SqlProblem(rule.code, hit.message, offset, end, hit.schema_check,
                                 hit.confidence)


_HOLE = re.compile(HOLE_PREFIX + r"\d+__")


def _hole_is_a_clause(text: str, dialect: str) -> bool:
    """The text parses once its formatted-in holes are left out: they stand for whole
    clauses or fragments (``" WHERE " + " AND ".join(conds) if conds else ""``), which
    the code supplies at run time; the SQL is not known to be broken."""
    if HOLE_PREFIX not in text:
        return False
    try:
        parse_statements(_HOLE.sub(" ", text), dialect)
    except SqlParseError:
        return False
    return True


def _hole_as_alias(statement: exp.Expression) -> bool:
    """A formatted-in hole read as a table alias (``FROM t __pfl_hole_1__``): it is most
    likely a clause the code appends (``WHERE ...``), so what the statement filters on
    is unknown."""
    from sqlglot import exp

    return any(alias.name.startswith(HOLE_PREFIX) for alias in statement.find_all(exp.TableAlias))


def node_span(node: exp.Expression, text: str) -> tuple[int, int] | None:
    """[start, end) of a parsed node in the normalised ``text``, from the token positions
    sqlglot keeps on identifiers, literals and functions inside it. Placeholders carry
    none; a named one (every placeholder is named after normalisation, but PostgreSQL's
    ``?``) is found by its name in the text."""
    from sqlglot import exp  # loaded only once SQL is actually checked

    starts: list[int] = []
    ends: list[int] = []
    for sub in node.walk():
        meta = sub.meta if sub._meta else None  # ``meta`` would create an empty dict
        if meta and "start" in meta:
            starts.append(meta["start"])
            ends.append(meta["end"] + 1)
        elif isinstance(sub, exp.Placeholder) and sub.name:
            found = re.search(rf":{re.escape(sub.name)}(?!\w)", text)
            if found is not None:
                starts.append(found.start())
                ends.append(found.end())
    if not starts:
        return None
    return min(starts), max(ends)
