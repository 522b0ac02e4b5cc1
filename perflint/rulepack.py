"""The rules enabled for a run, instantiated per file, split by kind."""

from __future__ import annotations

from dataclasses import dataclass

from perflint.registry import rule_class
from perflint.rulebase import PythonRule, Rule, SqlRule


@dataclass(frozen=True)
class RulePack:
    python: tuple[type[PythonRule], ...]
    sql: tuple[type[SqlRule], ...]
    codes: frozenset[str]

    @classmethod
    def for_codes(cls, codes: frozenset[str]) -> RulePack:
        classes: list[type[Rule]] = [rule_class(code) for code in sorted(codes)]
        return cls(
            tuple(c for c in classes if issubclass(c, PythonRule)),
            tuple(c for c in classes if issubclass(c, SqlRule)),
            codes,
        )

    def python_rules_for(self, text: str) -> list[PythonRule]:
        """Fresh instances of the Python rules whose cheap candidate check passes on ``text``."""
        return [cls() for cls in self.python if cls.candidate is None or cls.candidate.search(text)]

    def sql_rules(self) -> list[SqlRule]:
        return [cls() for cls in self.sql]
