"""SQL text: built from Python string expressions, normalised, and parsed with sqlglot.

Holes in f-strings, ``.format()`` and ``%``/``+`` building become the identifier
``__pfl_hole_N__`` (valid both where a value and where a name is expected), and
driver placeholders (``%s``, ``%(name)s``, ``$1``, ``?``, ``:name``) become
``?``/``:name`` before parsing. sqlglot is imported only when SQL is parsed.
"""

from __future__ import annotations

import bisect
import re
import string
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from sqlglot import exp

HOLE = "__pfl_hole_{}__"
HOLE_PREFIX = "__pfl_hole_"

_SQL_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*|\(\s*)*"
    r"(select|insert|update|delete|with|merge|replace|upsert|values|explain|create|alter|drop|truncate)\b",
    re.IGNORECASE | re.DOTALL,
)
_WRITE_KEYWORD = re.compile(r"\b(insert|update|delete|merge|upsert|replace\s+into)\b", re.IGNORECASE)
_FIRST_KEYWORD = re.compile(r"[a-z]+", re.IGNORECASE)


def looks_like_sql(text: str) -> bool:
    """Cheap prefilter: only text that starts like a statement goes to sqlglot."""
    return _SQL_START.match(text) is not None


def is_write(text: str) -> bool:
    """INSERT/UPDATE/DELETE/MERGE (also behind a leading WITH), without parsing."""
    match = _SQL_START.match(text)
    if match is None:
        return False
    first = match.group(1).lower()
    if first in ("insert", "update", "delete", "merge", "upsert", "replace"):
        return True
    if first == "with":
        return _WRITE_KEYWORD.search(text) is not None
    return False


class _Holes:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return HOLE.format(self.count)


def string_value(node: cst.BaseExpression, holes: _Holes | None = None) -> str | None:
    """The text a string expression builds, with unknown parts as holes; None if not a string."""
    holes = holes or _Holes()
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(node, cst.ConcatenatedString):
        left = string_value(node.left, holes)
        right = string_value(node.right, holes)
        return None if left is None or right is None else left + right
    if isinstance(node, cst.FormattedString):
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                parts.append(holes.next())
        text = "".join(parts)
        if "r" not in node.prefix.lower():
            try:
                text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
            except (UnicodeDecodeError, UnicodeEncodeError):
                pass
        return text
    if isinstance(node, cst.BinaryOperation):
        left = string_value(node.left, holes)
        if left is None:
            return None
        if isinstance(node.operator, cst.Add):
            right = string_value(node.right, holes)
            return left + (right if right is not None else holes.next())
        if isinstance(node.operator, cst.Modulo):
            return _percent_with_holes(left, holes)  # ``"... %s" % value``: Python fills them in
        return None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "format":
        template = string_value(node.func.value, holes)
        if template is None:
            return None
        return _format_with_holes(template, holes)
    return None


_PERCENT_SPEC = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")


def _percent_with_holes(template: str, holes: _Holes) -> str:
    """``%``-formatting done by Python: each conversion spec is a hole, ``%%`` a percent sign."""
    return _PERCENT_SPEC.sub(lambda m: "%" if m.group(0) == "%%" else holes.next(), template)


def _format_with_holes(template: str, holes: _Holes) -> str:
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError:
        return template
    out: list[str] = []
    for literal, field_name, _spec, _conv in pieces:
        out.append(literal)
        if field_name is not None:
            out.append(holes.next())
    return "".join(out)


_PLACEHOLDER = re.compile(
    r"""('(?:[^']|'')*')            # single-quoted literal: left alone
      |("(?:[^"]|"")*")             # quoted identifier: left alone
      |(`[^`]*`)                    # MySQL quoted identifier: left alone
      |(%%)                         # escaped percent
      |%\((\w+)\)s                  # pyformat
      |(%s)                         # format
      |\$(\d+)                      # numeric (asyncpg / postgres)
      |((?<![\w?:])\?(?![|&?\w]))     # qmark (not the jsonb ``?|`` / ``?&`` operators)
      |(?<![:\w]):([A-Za-z_]\w*)     # named (not a ``::type`` cast): renamed if a keyword
    """,
    re.VERBOSE,
)
POSITIONAL = "pfl_pos_{}"
KEYWORD_PLACEHOLDER = "pfl_kw_{}"


@lru_cache(maxsize=1024)
def placeholder_name(name: str) -> str:
    """The name a named placeholder (``:name``, ``%(name)s``) has once normalised:
    itself, or ``pfl_kw_<name>`` when it is a SQL keyword, which sqlglot does not read
    after ``:`` (``VALUES (:version, :when)``, ``WHERE x = :from``)."""
    from sqlglot.tokens import Tokenizer

    return KEYWORD_PLACEHOLDER.format(name) if name.upper() in Tokenizer.KEYWORDS else name


@dataclass(frozen=True)
class NormalisedSql:
    """SQL text with every driver placeholder rewritten to a named one sqlglot reads in
    any dialect: positional ones (``%s``, ``?``, ``$1``) become ``:pfl_pos_<i>`` with
    ``i`` their 0-based parameter index, ``%(name)s`` becomes ``:name``, ``%%`` becomes
    ``%``. ``breaks`` maps offsets back to the original text."""

    text: str
    breaks: tuple[tuple[int, int], ...] = ()  # (normalised offset, original offset) where they diverge

    def original_offset(self, offset: int) -> int:
        """The offset in the original text of the character at ``offset`` here."""
        index = bisect.bisect_right(self.breaks, (offset, sys.maxsize)) - 1
        if index < 0:
            return offset
        normalised, original = self.breaks[index]
        return original + (offset - normalised)


def normalise(text: str, dialect: str = "postgres") -> NormalisedSql:
    """Rewrite placeholders (see NormalisedSql). In PostgreSQL ``?`` is also the jsonb
    key-exists operator, which sqlglot reads in context, so it is left to sqlglot there."""
    qmark = dialect != "postgres"
    out: list[str] = []
    breaks: list[tuple[int, int]] = []
    length = 0  # of the normalised text so far
    last = 0
    positional = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = match.group(1) or match.group(2) or match.group(3)
        if literal and "%%" not in literal or match.group(8) and not qmark:
            continue
        if match.group(9) and placeholder_name(match.group(9)) == match.group(9):
            continue  # ``:name`` that sqlglot reads as it is
        out.append(text[last:match.start()])
        length += match.start() - last
        if literal:
            # keep the literal's characters aligned: each ``%%`` is one ``%`` plus a break
            pieces = literal.split("%%")
            for number, piece in enumerate(pieces):
                out.append(piece)
                length += len(piece)
                if number < len(pieces) - 1:
                    out.append("%")
                    length += 1
                    consumed = match.start() + sum(len(p) + 2 for p in pieces[:number + 1])
                    breaks.append((length, consumed))
            last = match.end()
            continue
        if match.group(4):
            replacement = "%"
        elif match.group(5) or match.group(9):
            replacement = f":{placeholder_name(match.group(5) or match.group(9))}"
        elif match.group(7):
            replacement = ":" + POSITIONAL.format(int(match.group(7)) - 1)
        else:
            replacement = ":" + POSITIONAL.format(positional)
            positional += 1
        breaks.append((length, match.start()))
        out.append(replacement)
        length += len(replacement)
        breaks.append((length, match.end()))
        last = match.end()
    out.append(text[last:])
    return NormalisedSql("".join(out), tuple(breaks))


class SqlParseError(Exception):
    """The text looked like SQL but sqlglot could not parse it."""


@lru_cache(maxsize=4096)
def parse_statements(text: str, dialect: str) -> tuple[exp.Expression, ...]:
    """Parse normalised SQL (see ``normalise``) into statements; raises SqlParseError, never anything else."""
    import logging

    import sqlglot
    from sqlglot.errors import SqlglotError

    # sqlglot logs "unsupported syntax, falling back to Command" for DDL it does not model.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    try:
        parsed = sqlglot.parse(text, read=dialect)
    except SqlglotError as error:
        raise SqlParseError(str(error).splitlines()[0]) from None
    except (RecursionError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise SqlParseError(f"{type(error).__name__}: {error}") from None
    return tuple(statement for statement in parsed if statement is not None)
