"""Where a character of a string's value sits in the source: SQL findings point at the
offending fragment inside a plain, triple-quoted or implicitly concatenated literal.
Strings assembled at run time (f-strings, ``+``, ``.format()``) have no such mapping;
their findings stay at the literal's start."""

from __future__ import annotations

import re

import libcst as cst

from perflint.positions import Span

_ESCAPE = re.compile(r"\\(?:\r\n|\n|[0-7]{1,3}|x[0-9a-fA-F]{2}|N\{[^}]*\}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)",
                     re.DOTALL)


def literal_parts(node: cst.CSTNode) -> list[cst.SimpleString] | None:
    """The plain literals a string expression is made of, in order; None if any part is built."""
    if isinstance(node, cst.SimpleString):
        return [node]
    if isinstance(node, cst.ConcatenatedString):
        left, right = literal_parts(node.left), literal_parts(node.right)
        return None if left is None or right is None else left + right
    return None


def _value_length(part: cst.SimpleString) -> int:
    value = part.evaluated_value
    return len(value)


def _raw_index(part: cst.SimpleString, index: int) -> int:
    """Index in ``part.value`` (prefix and quotes included) of value character ``index``."""
    prefix = part.prefix
    start = len(prefix) + len(part.quote)
    body = part.value[start:len(part.value) - len(part.quote)]
    if "r" in prefix.lower() or "\\" not in body:
        return start + index
    produced = 0
    position = 0
    for match in _ESCAPE.finditer(body):
        plain = match.start() - position
        if produced + plain > index:
            return start + position + (index - produced)
        produced += plain
        escape = match.group(0)
        width = 0 if escape[1] in "\r\n" else (2 if escape[1] not in _KNOWN_ESCAPE_STARTS else 1)
        if produced + width > index:
            return start + match.start()
        produced += width
        position = match.end()
    return start + position + (index - produced)


_KNOWN_ESCAPE_STARTS = frozenset("\\'\"abfnrtv01234567xNuU")


def locate(parts: list[cst.SimpleString], spans: dict[int, Span], offset: int) -> tuple[int, int] | None:
    """(line, 0-based column) of value character ``offset`` across ``parts``; None if unknown."""
    for part in parts:
        length = _value_length(part)
        if offset < length or part is parts[-1]:
            span = spans.get(id(part))
            if span is None:
                return None
            raw = _raw_index(part, min(offset, max(length - 1, 0)))
            token = part.value
            lines_down = token.count("\n", 0, raw)
            if lines_down == 0:
                return span.line, span.column + raw
            return span.line + lines_down, raw - (token.rfind("\n", 0, raw) + 1)
        offset -= length
    return None
