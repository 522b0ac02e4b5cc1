"""One file in, findings and a FileSummary out. Runs in worker processes; pure function
of (path, bytes, config): never imports or executes the analysed code."""

from __future__ import annotations

import bisect
import gc
import hashlib
import io
import json
import re
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from perflint.config import Config
from perflint.findings import Finding
from perflint.registry import rule_class
from perflint.rulepack import RulePack
from perflint.sqlfile import guess_dialect, split_queries
from perflint.summary import FileSummary
from perflint.suppression import suppressed


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    summary_data: dict[str, Any] | None = None  # FileSummary as JSON; built only when needed
    summary_hash: str = ""  # identifies the summary: equal hashes, equal call graph
    # Schema facts for the project phase (perflint.schema): DDL records of .sql files,
    # ORM model records of Python files. Applied in path order, like migrations.
    schema_records: list[dict[str, Any]] = field(default_factory=list)
    _decoded: FileSummary | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def summary(self) -> FileSummary | None:
        """The summary, decoded on first use (and then shared: callers do not change it)."""
        if self._decoded is None and self.summary_data:
            self._decoded = FileSummary.from_json(self.summary_data)
        return self._decoded

    def set_summary(self, summary: FileSummary) -> None:
        self._decoded = None
        self.summary_data = summary.to_json()
        canonical = json.dumps(self.summary_data, sort_keys=True, separators=(",", ":"))
        self.summary_hash = hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary_data,
            "summary_hash": self.summary_hash,
            "schema_records": self.schema_records,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileResult:
        return cls(data["path"], [Finding.from_json(f) for f in data["findings"]],
                   data.get("summary"), data.get("summary_hash", ""), list(data.get("schema_records", [])))


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


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic cyclic collection until exit; then the collector is as it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def one_file_without_collection() -> Iterator[None]:
    """No cyclic collection while a file is analysed, its own cycles collected after it.

    A file's analysis allocates a tree of a few hundred thousand objects that refcounting
    frees (a CST has no cycles); the cyclic collector would traverse it again and again
    while it is built. Afterwards the young generations are collected, which frees what
    the file left in cycles (sqlglot's trees link parents and children) without walking
    everything older, as a full collection would. The collector's state is restored."""
    with collection_paused():
        try:
            yield
        finally:
            gc.collect(1)


def analyze_bytes(path: str, data: bytes, config: Config, pack: RulePack) -> FileResult:
    if path.endswith(".sql"):
        return _analyze_sql_file(path, data, config, pack)
    too_deep, line_starts = scan_nesting(data)
    if too_deep is not None:
        message, line, column = too_deep
        findings = [make_finding("PFL901", f"cannot parse Python: {message}", path, line, column)]
        return FileResult(path, findings if "PFL901" in pack.codes else [])
    # imported here: LibCST is imported only when Python is analysed
    from perflint.pyfile import analyze_python

    return analyze_python(path, data, config, pack, line_starts)


# LibCST's native parser recurses on the machine stack and dies with SIGSEGV on deeply
# nested input (Instagram/LibCST#619, #1000): no ``except`` catches that, it takes the
# whole run (or flake8) down. So such files are refused after a cheap lexical scan.
# CPython itself refuses more than 200 nested brackets ("too many nested parentheses").
# Operator chains (``a+a+...``, ``-~-~...``, ``a[0][0]...``, ``lambda: lambda: ...``) make
# CPython give up near 3000 levels, and LibCST crashes from about 2500 subscripts or 3300
# lambdas on an 8 MB stack; a weighted chain depth over 2000 is refused.
MAX_BRACKET_DEPTH = 200
MAX_CHAIN_DEPTH = 2000
_NESTING_TOKEN = re.compile(
    rb"""\#[^\r\n]*"""
    rb"""|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*(?:'''|\Z)"""
    rb'''|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:"""|\Z)'''
    rb"""|'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'?"""
    rb'''|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"?'''
    rb"""|\\\r?\n|\r\n?|\n"""
    rb"""|[-+*/%@&|^~<>!=]+|\.|[()\[\]{},;]"""
    rb"""|\b(?:and|or|not|lambda|if|else|await|is|in)\b""",
    re.DOTALL,
)
_SKIPPED = frozenset(b"#'\"\\")
_OPENING, _CLOSING = frozenset(b"([{"), frozenset(b")]}")
_SEPARATORS, _NEWLINES = frozenset(b",;"), frozenset(b"\r\n")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class LineStarts:
    """The byte offsets of the lines that begin outside any bracket, string or backslash
    continuation: the only lines a statement can start on (perflint.positions reads the
    statements' first lines from them instead of parsing the file again with ``ast``)."""

    data: bytes
    offsets: list[int]


def nesting_problem(data: bytes) -> tuple[str, int, int] | None:
    """(message, line, column) when ``data`` nests too deeply to hand to the parser."""
    return scan_nesting(data)[0]


def scan_nesting(data: bytes) -> tuple[tuple[str, int, int] | None, LineStarts | None]:
    """What ``nesting_problem`` tells, and the file's ``LineStarts`` when it is fine (None
    for a tiny file, or one with lone ``\r`` line ends, whose lines are not counted here).

    Works on bytes (the encodings Python source may declare keep ASCII bytes for ASCII
    characters); strings and comments are skipped. An expression's chain depth grows by
    one per operator character or keyword and two per bracket; commas, semicolons and
    the end of a statement start a new chain, and a closed bracket adds its deepest
    element to the outer chain."""
    if len(data) <= MAX_BRACKET_DEPTH:
        return None, None
    depth = chain = base = deepest = 0
    saved: list[tuple[int, int, int]] = []
    starts = [3 if data.startswith(b"\xef\xbb\xbf") else 0]
    for match in _NESTING_TOKEN.finditer(data):
        first = data[match.start()]
        if first in _SKIPPED:
            continue
        if first in _OPENING:
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                return ("too many nested parentheses", *_position(data, match.start())), None
            saved.append((chain, base, deepest))
            chain += 2
            base = deepest = chain
        elif first in _CLOSING:
            if saved:
                inner = max(chain, deepest) - base
                chain, base, deepest = saved.pop()
                chain += 2 + inner
                depth -= 1
        elif first in _SEPARATORS:
            deepest = max(deepest, chain)
            chain = base
        elif first in _NEWLINES:
            if depth == 0:
                chain = 0
                starts.append(match.end())
            continue
        else:
            # ``-~-x`` is one token here but three levels; ``not``, ``lambda``... are one.
            chain += 1 if first in _LETTERS else match.end() - match.start()
        if chain > MAX_CHAIN_DEPTH:
            return ("expression nested too deeply", *_position(data, match.start())), None
    lone_cr = b"\r" in data and data.count(b"\r") != data.count(b"\r\n")
    return None, (None if lone_cr else LineStarts(data, starts))


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


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
    from perflint.rulebase import SqlContext
    from perflint.sqlcheck import check_sql

    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = LineIndex(text)
    findings: list[Finding] = []
    sql_context = SqlContext(config.dialect or guess_dialect(text), config.deep_offset)
    sql_rules = pack.sql_rules()
    ddl: list[dict[str, Any]] = []
    for statement in split_queries(text, sql_context.dialect):
        if _DDL_HEAD.match(statement.text):
            ddl.extend(_ddl_records(statement.text, sql_context.dialect))
        for problem in check_sql(statement.text, sql_context, sql_rules, pack.codes):
            if problem.offset is None:
                line, column = statement.line, statement.column
                end_line, end_column = line, column
            else:
                line, column = lines.position(statement.offset + problem.offset)
                end_line, end_column = lines.position(
                    statement.offset + (problem.end_offset or problem.offset + 1))
            extra: dict[str, Any] = {"sql": statement.text}
            if problem.schema_check is not None:
                extra["schema_check"] = problem.schema_check.to_json()
            if problem.confidence:
                extra["confidence"] = problem.confidence
            findings.append(make_finding(problem.code, problem.message, path, line, column + 1,
                                         end_line, end_column + 1, **extra))
    return FileResult(path, finish(path, text, findings), None, schema_records=ddl)


# Statements that can change the schema; only these are read for schema facts.
_DDL_HEAD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(?:create|alter|drop)\b",
                       re.IGNORECASE | re.DOTALL)


def _ddl_records(text: str, dialect: str) -> list[dict[str, Any]]:
    from perflint.schema_ddl import ddl_records
    from perflint.sqltext import SqlParseError, normalise, parse_statements

    try:
        statements = parse_statements(normalise(text, dialect).text, dialect)
    except SqlParseError:
        return []
    return [record for statement in statements for record in ddl_records(statement)]


class LineIndex:
    """(line, 0-based column) of character offsets in a text."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts.extend(match.end() for match in re.finditer("\n", text))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1]
