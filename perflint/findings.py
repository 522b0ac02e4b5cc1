"""Plain data that crosses process and module boundaries: findings and their traces."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SEVERITIES = ("error", "warning", "info")
CONFIDENCES = ("low", "medium", "high")


@dataclass(frozen=True)
class TraceStep:
    """One hop on the path from a reported call site to the costly operation."""

    path: str
    line: int
    function: str


@dataclass
class Finding:
    code: str
    name: str
    message: str
    severity: str
    confidence: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    score: float = 0.0
    trace: list[TraceStep] = field(default_factory=list)
    fix_hint: str = ""
    reasons: list[str] = field(default_factory=list)
    # Qualified name of the enclosing function ("" at module level); used by ranking.
    function: str = ""
    loop_depth: int = 0
    base_cost: float = 1.0
    # The condition on the project's schema under which this finding stands (a
    # perflint.schema.SchemaCheck as JSON); decided and cleared in the project phase.
    schema_check: dict[str, Any] | None = None
    # The SQL statement a SQL finding is about (matched against pg_stat_statements).
    sql: str = ""

    def sort_key_location(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_json(self) -> dict[str, Any]:
        # Hand-written: dataclasses.asdict deep-copies every value generically, a tenth
        # of a warm run's time for a hundred findings.
        data = {name: getattr(self, name) for name in _FINDING_FIELDS}
        data["score"] = round(self.score, 3)
        data["trace"] = [{"path": step.path, "line": step.line, "function": step.function}
                         for step in self.trace]
        data["reasons"] = list(self.reasons)
        if self.schema_check is not None:
            data["schema_check"] = copy.deepcopy(self.schema_check)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        values = dict(data)
        values["trace"] = [TraceStep(**step) for step in values.get("trace", [])]
        return cls(**values)


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


@dataclass
class FileError:
    """A file perflint could not read at all (not a parse error: those are PFL901 findings)."""

    path: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
