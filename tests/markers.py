"""Read the ``# expect: CODE`` markers of fixture files (see fixtures/guide/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

_EXPECT = re.compile(r"(?:#|--)\s*expect:\s*(?P<codes>PFL\d{3}(?:\s*,\s*PFL\d{3})*)")
_EXPECT_NEXT = re.compile(r"^\s*#\s*expect-next-line:\s*(?P<codes>PFL\d{3}(?:\s*,\s*PFL\d{3})*)")


def expected_findings(path: Path) -> set[tuple[int, str]]:
    """(line, code) pairs a fixture file declares."""
    if path.name.endswith("_syntax_error.py"):
        return {(-1, "PFL901")}  # any line: the parser decides where it stops
    expected: set[tuple[int, str]] = set()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, text in enumerate(lines, start=1):
        next_match = _EXPECT_NEXT.match(text)
        if next_match:
            for code in next_match.group("codes").split(","):
                expected.add((number + 1, code.strip()))
            continue
        for match in _EXPECT.finditer(text):
            for code in match.group("codes").split(","):
                expected.add((number, code.strip()))
    return expected
