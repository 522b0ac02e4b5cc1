"""One file in, findings and a FileSummary out. Runs in worker processes; pure function
of (path, bytes, config): never imports or executes the analysed code."""

from __future__ import annotations

import hashlib
import io
import json
import tokenize
from dataclasses import dataclass, field
from typing import Any

from perflint.config import Config
from perflint.findings import Finding
from perflint.registry import rule_class
from perflint.rulepack import RulePack
from perflint.sqlfile import split_statements
from perflint.summary import FileSummary
from perflint.suppression import suppressed


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    summary_data: dict[str, Any] | None = None  # FileSummary as JSON; built only when needed
    summary_hash: str = ""  # identifies the summary: equal hashes, equal call graph

    @property
    def summary(self) -> FileSummary | None:
        return FileSummary.from_json(self.summary_data) if self.summary_data else None

    def set_summary(self, summary: FileSummary) -> None:
        self.summary_data = summary.to_json()
        canonical = json.dumps(self.summary_data, sort_keys=True, separators=(",", ":"))
        self.summary_hash = hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary_data,
            "summary_hash": self.summary_hash,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileResult:
        return cls(data["path"], [Finding.from_json(f) for f in data["findings"]],
                   data.get("summary"), data.get("summary_hash", ""))


def decode_source(data: bytes) -> str:
    """Text of a Python file honouring its coding cookie / BOM; undecodable bytes replaced."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except (SyntaxError, LookupError):
        encoding = "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def make_finding(code: str, message: str, path: str, line: int, column: int,
                 end_line: int | None = None, end_column: int | None = None, **extra: Any) -> Finding:
    """A Finding with the rule's metadata; ``column`` is 1-based."""
    cls = rule_class(code)
    return Finding(
        code=code, name=cls.name, message=message, severity=cls.severity,
        confidence=extra.pop("confidence", cls.confidence), path=path, line=line, column=column,
        base_cost=cls.base_cost,
        end_line=end_line if end_line is not None else line,
        end_column=end_column if end_column is not None else column,
        fix_hint=cls.fix_hint, **extra,
    )


def analyze_bytes(path: str, data: bytes, config: Config, pack: RulePack) -> FileResult:
    if path.endswith(".sql"):
        return _analyze_sql_file(path, data, config, pack)
    from perflint.pyfile import analyze_python  # imports LibCST only when Python is analysed

    return analyze_python(path, data, config, pack)


def finish(path: str, text: str, findings: list[Finding]) -> list[Finding]:
    """Drop suppressed and duplicate findings; sort by location."""
    lines = text.splitlines()
    seen: set[tuple[str, int, int]] = set()
    kept: list[Finding] = []
    for finding in sorted(findings, key=Finding.sort_key_location):
        key = (finding.code, finding.line, finding.column)
        if key in seen:
            continue
        seen.add(key)
        if 0 < finding.line <= len(lines) and suppressed(lines[finding.line - 1], finding.code):
            continue
        kept.append(finding)
    return kept


def _analyze_sql_file(path: str, data: bytes, config: Config, pack: RulePack) -> FileResult:
    from perflint.sqlcheck import check_sql

    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    findings: list[Finding] = []
    dialect = config.dialect or "postgres"
    sql_rules = pack.sql_rules()
    for statement in split_statements(text):
        for code, message in check_sql(statement.text, dialect, sql_rules, pack.codes):
            findings.append(make_finding(code, message, path, statement.line, statement.column + 1))
    return FileResult(path, finish(path, text, findings), None)
