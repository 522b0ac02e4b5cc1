"""Measured weights for SQL findings from a ``pg_stat_statements`` export.

PostgreSQL already knows which statements cost the most: ``pg_stat_statements``
keeps, per normalised statement, how often it ran and for how long. An export
(``\\copy (SELECT * FROM pg_stat_statements) TO 'pgss.csv' CSV HEADER``) tells
the ranking how much of the database's time a query in the code accounts for.

The export shows ``WHERE id = $1`` where the code says ``WHERE id = %s`` (or
``?``, ``:id``, or a literal), with other whitespace and case. ``fingerprint``
maps both to one canonical text: placeholders normalised as perflint.sqltext
does, parsed with sqlglot, every literal and placeholder replaced by one
placeholder (lists of them in ``IN`` by a single one: PostgreSQL records a list
of N values as N parameters), identifiers folded the way PostgreSQL folds them,
comments dropped, rendered by sqlglot.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from perflint.profiles import ProfileError
from perflint.sqltext import HOLE_PREFIX, SqlParseError, normalise, parse_statements

TIME_COLUMNS = ("total_exec_time", "total_time")  # PostgreSQL 13+, then older releases
DELIMITERS = (",", "\t", ";", "|")
EXPECTED = ("a CSV export of pg_stat_statements with a header row and the columns query, calls "
            "and total_exec_time (PostgreSQL 13+) or total_time")
FIELD_LIMIT = 64 * 1024 * 1024  # query texts are stored whole: long IN lists exceed csv's 128 KiB default


@dataclass(frozen=True)
class QueryStat:
    """One row of the export."""

    query: str
    calls: int
    total_time: float  # milliseconds, as pg_stat_statements reports it
    mean_time: float | None
    rows: int | None
    toplevel: bool  # False for statements run inside functions (pg_stat_statements.track = all)
    fingerprint: str | None  # None when sqlglot cannot read the text


@dataclass(frozen=True)
class QueryMatch:
    """What the export says about one of the project's queries (all rows with its fingerprint)."""

    fingerprint: str
    share: float  # of the export's total execution time, in [0, 1]
    calls: int
    total_time: float  # milliseconds
    rows: int  # matched rows of the export (one statement can appear per user and database)


@dataclass(frozen=True)
class QueryHeat:
    """Execution time per query fingerprint, looked up by the project's SQL text
    (PostgreSQL's, since the export comes from PostgreSQL)."""

    source: str
    queries: tuple[QueryStat, ...]
    total_time: float  # milliseconds: top-level statements only, so nested ones are not counted twice

    def share_of(self, sql_text: str) -> float:
        """Share in [0, 1] of the export's total execution time spent in statements with
        the fingerprint of ``sql_text``; 0.0 when none match or the text does not parse."""
        match = self.match(sql_text)
        return match.share if match else 0.0

    def match(self, sql_text: str) -> QueryMatch | None:
        """The export's statements with the fingerprint of ``sql_text``, summed; None if none."""
        key = fingerprint(sql_text)
        if key is None:
            return None
        stats = self._by_fingerprint.get(key)
        if not stats:
            return None
        total = sum(stat.total_time for stat in stats)
        share = min(1.0, total / self.total_time) if self.total_time > 0 else 0.0
        return QueryMatch(key, share, sum(stat.calls for stat in stats), total, len(stats))

    @property
    def unparsed(self) -> tuple[QueryStat, ...]:
        """Rows whose text sqlglot could not read: they count in the total, never match."""
        return tuple(stat for stat in self.queries if stat.fingerprint is None)

    @cached_property
    def _by_fingerprint(self) -> dict[str, list[QueryStat]]:
        grouped: dict[str, list[QueryStat]] = {}
        for stat in self.queries:
            if stat.fingerprint is not None:
                grouped.setdefault(stat.fingerprint, []).append(stat)
        return grouped


# -- fingerprints --------------------------------------------------------------------

# pg_stat_statements writes a typed constant (``DATE '2024-01-01'``) as ``DATE $1``,
# which sqlglot cannot read; the placeholder alone fingerprints the same.
_TYPED_PARAMETER = re.compile(r"\b(?:date|time|timestamp|timestamptz|interval)\s+(?=\$\d+\b)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def fingerprint(sql_text: str, dialect: str = "postgres") -> str | None:
    """Canonical text of ``sql_text`` with literals and placeholders as one placeholder,
    so that statements differing only in values, whitespace, keyword or unquoted
    identifier case, and comments are equal; None if sqlglot cannot parse it."""
    try:
        statements = parse_statements(normalise(_TYPED_PARAMETER.sub("", sql_text), dialect).text, dialect)
    except SqlParseError:
        return None
    if not statements:
        return None
    from sqlglot.errors import SqlglotError

    if not all(_is_statement(statement) for statement in statements):
        return None
    try:
        return "; ".join(_canonical(statement, dialect) for statement in statements)
    except (SqlglotError, RecursionError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _is_statement(node: object) -> bool:
    """Not sqlglot's fallback (``exp.Command``: the text unparsed, literals and all) nor
    a bare expression, which is how sqlglot reads some non-SQL (``SELEC x`` is an alias)."""
    from sqlglot import exp

    if isinstance(node, exp.Query):
        return True
    return not isinstance(node, (exp.Command, exp.Condition, exp.Alias))


def _canonical(statement: object, dialect: str) -> str:
    """Render a copy of a parsed statement (parse_statements caches the originals)."""
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    assert isinstance(statement, exp.Expression)
    tree = statement.copy()
    # Descendants before ancestors, so ``-1`` and ``'{1,2}'::int[]`` see their
    # literal already replaced and fold into one placeholder, as PostgreSQL does.
    for node in reversed(list(tree.walk(bfs=False))):
        if _is_value(node):
            node.replace(exp.Placeholder())
        elif isinstance(node, exp.In):
            _collapse_in_list(node)
    tree = normalize_identifiers(tree, dialect=dialect)
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("quoted", False)  # after folding, ``"users"`` and ``users`` are one name
    return tree.sql(dialect=dialect, comments=False)


def _is_value(node: object) -> bool:
    """What PostgreSQL records as a constant: literals and placeholders, a sign, cast or
    ``INTERVAL`` around one, ``NULL``/``TRUE`` as values (not in ``IS NULL``/``IS TRUE``,
    which it keeps as written). Also perflint's holes (``__pfl_hole_N__`` from an
    f-string) where a column would stand: their runtime value arrives as a constant."""
    from sqlglot import exp

    if isinstance(node, (exp.Literal, exp.Placeholder, exp.Parameter)):
        return True
    if isinstance(node, (exp.Null, exp.Boolean)):
        return not isinstance(node.parent, exp.Is)
    if isinstance(node, (exp.Neg, exp.Cast, exp.Interval)):
        return isinstance(node.this, exp.Placeholder)
    if isinstance(node, exp.Column):
        return not node.table and node.name.startswith(HOLE_PREFIX)
    return False


def _collapse_in_list(node: object) -> None:
    """``x IN ($1, $2, $3)`` and ``x IN %s`` (psycopg2 spells out a tuple) -> ``x IN (?)``."""
    from sqlglot import exp

    assert isinstance(node, exp.In)
    values = node.args.get("expressions") or []
    field = node.args.get("field")
    if isinstance(field, exp.Placeholder) or (values and all(isinstance(v, exp.Placeholder) for v in values)):
        node.set("field", None)
        node.set("expressions", [exp.Placeholder()])


# -- the export ----------------------------------------------------------------------

def load_pg_stat_statements(path: str | Path) -> QueryHeat:
    """Read a CSV export of pg_stat_statements; raises ProfileError, never anything else.
    Extra columns are ignored; quoted multi-line query texts are read whole."""
    source = Path(path)
    try:
        with source.open(encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ProfileError(f"{source}: cannot read pg_stat_statements export: {reason}") from None
    header_line = text.split("\n", 1)[0]
    delimiter = next((d for d in DELIMITERS if "query" in _names(header_line.split(d))), None)
    if delimiter is None:
        raise ProfileError(f"{source}: no header row naming a 'query' column; expected {EXPECTED}")
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(min(FIELD_LIMIT, sys.maxsize))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _names(next(reader))
        columns = _columns(source, header)
        stats = tuple(_row(source, reader.line_num, row, header, columns) for row in reader if any(row))
    except csv.Error as error:
        raise ProfileError(f"{source}: line {reader.line_num}: malformed CSV ({error}); expected {EXPECTED}") from None
    toplevel = [stat for stat in stats if stat.toplevel]
    return QueryHeat(str(source), stats, sum(stat.total_time for stat in toplevel))


def _names(cells: list[str]) -> list[str]:
    return [cell.strip().strip('"').strip().lower() for cell in cells]


def _columns(source: Path, header: list[str]) -> dict[str, int]:
    """Column name -> index for the columns read; the time column under the name ``time``."""
    missing = [name for name in ("query", "calls") if name not in header]
    time_column = next((name for name in TIME_COLUMNS if name in header), None)
    if time_column is None:
        missing.append(" or ".join(TIME_COLUMNS))
    if missing:
        raise ProfileError(f"{source}: header has no {', '.join(missing)} column; expected {EXPECTED}")
    columns = {name: header.index(name) for name in ("query", "calls", "rows", "toplevel") if name in header}
    columns["time"] = header.index(time_column)  # type: ignore[arg-type]
    for name in ("mean_exec_time", "mean_time"):
        if name in header:
            columns.setdefault("mean", header.index(name))
    return columns


def _row(source: Path, line: int, row: list[str], header: list[str], columns: dict[str, int]) -> QueryStat:
    if len(row) < len(header):
        raise ProfileError(f"{source}: line {line}: {len(row)} fields, the header has {len(header)}")
    query = row[columns["query"]]
    return QueryStat(
        query=query,
        calls=int(_number(source, line, "calls", row[columns["calls"]])),
        total_time=_number(source, line, "total time", row[columns["time"]]),
        mean_time=_optional(source, line, "mean time", row, columns.get("mean")),
        rows=_optional_int(source, line, row, columns.get("rows")),
        toplevel=row[columns["toplevel"]].strip().lower() not in ("f", "false", "0")
        if "toplevel" in columns else True,
        fingerprint=fingerprint(query),
    )


def _number(source: Path, line: int, what: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ProfileError(f"{source}: line {line}: {what} {cell!r} is not a non-negative number")
    return value


def _optional(source: Path, line: int, what: str, row: list[str], index: int | None) -> float | None:
    if index is None or not row[index].strip():
        return None
    return _number(source, line, what, row[index])


def _optional_int(source: Path, line: int, row: list[str], index: int | None) -> int | None:
    value = _optional(source, line, "rows", row, index)
    return None if value is None else int(value)
