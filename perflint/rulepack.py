"""The rules enabled for a run, instantiated per file, split by kind.

SQL rules (and with them sqlglot) are loaded only when a file actually hands SQL to a
sink, so re-checking one edited file without SQL does not pay for the SQL parser."""

from __future__ import annotations

from dataclasses import dataclass, field

from perflint.registry import rule_class
from perflint.rulebase import PythonRule, SqlRule
from perflint.rules import CATALOG

_SQL_FAMILY = ".rules.sql."


def _is_sql_rule(code: str) -> bool:
    return _SQL_FAMILY in CATALOG[code]


@dataclass
class RulePack:
    python: tuple[type[PythonRule], ...]
    codes: frozenset[str]
    _sql: tuple[type[SqlRule], ...] | None = field(default=None, repr=False)

    @classmethod
    def for_codes(cls, codes: frozenset[str]) -> RulePack:
        python = tuple(
            c for c in (rule_class(code) for code in sorted(codes) if not _is_sql_rule(code))
            if issubclass(c, PythonRule)
        )
        return cls(python, frozenset(codes))

    def python_rules_for(self, text: str) -> list[PythonRule]:
        """Fresh instances of the Python rules whose cheap candidate check passes on ``text``."""
        return [cls() for cls in self.python if cls.candidate is None or cls.candidate.search(text)]

    def sql_rules(self) -> list[SqlRule]:
        if self._sql is None:
            loaded = (rule_class(code) for code in sorted(self.codes) if _is_sql_rule(code))
            self._sql = tuple(c for c in loaded if issubclass(c, SqlRule))
        return [cls() for cls in self._sql]
