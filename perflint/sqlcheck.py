"""Run the SQL rules over one piece of SQL text."""

from __future__ import annotations

from collections.abc import Iterator

from perflint.rulebase import SqlRule
from perflint.sqltext import SqlParseError, parse_statements

PARSE_FAILURE_CODE = "PFL902"


def check_sql(text: str, dialect: str, rules: list[SqlRule],
              enabled: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(code, message) for every problem in ``text``; unparseable SQL yields PFL902 (if enabled)."""
    try:
        statements = parse_statements(text, dialect)
    except SqlParseError as error:
        if PARSE_FAILURE_CODE in enabled:
            yield PARSE_FAILURE_CODE, f"SQL did not parse ({dialect}): {error}"
        return
    for statement in statements:
        for rule in rules:
            for hit in rule.check(statement):
                yield rule.code, hit.message
