"""Split a .sql file into statements, each with where it starts.

Understands quotes (``'``, ``"``, MySQL backticks), ``--`` and ``/* */`` comments,
``$tag$`` bodies, psql meta-commands (a line starting with ``\\``, skipped), and
aiosql-style named query files, where a ``-- name: ...`` comment starts a new query
whether or not the previous one ended with ``;``."""

from __future__ import annotations

import re
from dataclasses import dataclass

# aiosql / yesql ``-- name: get_user``, HugSQL / PugSQL ``-- :name get_user :one``
_AIOSQL_NAME = re.compile(r"--\s*(?:name\s*:|:name\b)")
# A comment line after a blank line: where a query file that does not end its queries
# with ``;`` starts the next one (``-- list_jobs --``).
_HEADER_COMMENT = re.compile(r"\n[ \t]*\n(?=--)")


@dataclass(frozen=True)
class SqlStatementText:
    text: str
    line: int  # 1-based line of the statement's first non-comment character
    column: int  # 0-based
    offset: int = 0  # of ``text`` in the file


_DIALECT_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mysql", re.compile(r"`\w+`|\bENGINE\s*=|\bAUTO_INCREMENT\b|\bUNSIGNED\b", re.IGNORECASE)),
    ("sqlite", re.compile(r"\bAUTOINCREMENT\b|\bPRAGMA\b|\bWITHOUT\s+ROWID\b", re.IGNORECASE)),
)


def guess_dialect(source: str) -> str:
    """The dialect a .sql file is written in, from tell-tale syntax; PostgreSQL otherwise."""
    for dialect, marker in _DIALECT_MARKERS:
        if marker.search(source):
            return dialect
    return "postgres"


def split_statements(source: str) -> list[SqlStatementText]:
    """Split on top-level ``;`` outside quotes, comments and ``$tag$`` bodies."""
    statements: list[SqlStatementText] = []
    i, n = 0, len(source)
    line = 1
    start = 0
    first: tuple[int, int] | None = None  # (line, column) of the first real character
    line_start = 0
    while i < n:
        ch = source[i]
        if ch == "\n":
            line += 1
            line_start = i + 1
            i += 1
            continue
        if ch == "-" and source.startswith("--", i):
            end = source.find("\n", i)
            if first is not None and _AIOSQL_NAME.match(source, i):
                statements.append(SqlStatementText(source[start:i], first[0], first[1], start))
                first = None
                start = i
            i = n if end == -1 else end
            continue
        if ch == "\\" and first is None:  # psql meta-command: runs to the end of its line
            end = source.find("\n", i)
            i = n if end == -1 else end
            start = i
            continue
        if ch == "/" and source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end == -1 else end + 2
            line += source.count("\n", i, end)
            if "\n" in source[i:end]:
                line_start = source.rindex("\n", i, end) + 1
            i = end
            continue
        if first is None and not ch.isspace() and ch != ";":
            first = (line, i - line_start)
        if ch in ("'", '"', "`"):
            end = i + 1
            while end < n:
                if source[end] == ch:
                    if end + 1 < n and source[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            line += source.count("\n", i, end)
            if "\n" in source[i:end]:
                line_start = source.rindex("\n", i, end) + 1
            i = end + 1
            continue
        if ch == "$":
            close = source.find("$", i + 1)
            tag = source[i:close + 1] if close != -1 else ""
            if tag and (tag == "$$" or tag[1:-1].replace("_", "").isalnum()) and not tag[1:-1].isdigit():
                end = source.find(tag, close + 1)
                end = n if end == -1 else end + len(tag)
                line += source.count("\n", i, end)
                if "\n" in source[i:end]:
                    line_start = source.rindex("\n", i, end) + 1
                i = end
                continue
        if ch == ";":
            if first is not None:
                statements.append(SqlStatementText(source[start:i], first[0], first[1], start))
            start = i + 1
            first = None
        i += 1
    if first is not None and source[start:].strip():
        statements.append(SqlStatementText(source[start:], first[0], first[1], start))
    return statements


def split_queries(source: str, dialect: str) -> list[SqlStatementText]:
    """``split_statements``, then a statement that does not parse is split again where a
    comment line follows a blank line, when every piece parses: query files whose queries
    are separated by a header comment rather than ``;``. A statement that parses is never
    split (a blank line and a comment inside one query stay inside it)."""
    from perflint.sqltext import SqlParseError, normalise, parse_statements

    def parses(text: str) -> bool:
        try:
            return bool(parse_statements(normalise(text, dialect).text, dialect))
        except SqlParseError:
            return False

    result: list[SqlStatementText] = []
    for statement in split_statements(source):
        cuts = [match.end() for match in _HEADER_COMMENT.finditer(statement.text)]
        if not cuts or parses(statement.text):
            result.append(statement)
            continue
        pieces: list[SqlStatementText] = []
        for begin, end in zip([0, *cuts], [*cuts, len(statement.text)]):
            offset = statement.offset + begin
            line = source.count("\n", 0, offset) + 1
            pieces.extend(
                SqlStatementText(piece.text, line + piece.line - 1,
                                 piece.column if piece.line > 1 else piece.column + offset - (source.rfind("\n", 0, offset) + 1),
                                 offset + piece.offset)
                for piece in split_statements(statement.text[begin:end]))
        if len(pieces) > 1 and all(parses(piece.text) for piece in pieces):
            result.extend(pieces)
        else:
            result.append(statement)
    return result
