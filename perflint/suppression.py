"""``# noqa`` / ``# noqa: PFL201`` (and ``-- noqa`` in SQL files), as flake8 reads them."""

from __future__ import annotations

import re

_NOQA = re.compile(
    r"(?:#|--)\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)


def suppressed(line_text: str, code: str, bare: bool = True) -> bool:
    """True when ``line_text`` carries a noqa comment that covers ``code``; a bare
    ``# noqa`` counts unless ``bare`` is False (it then has to name the code)."""
    if "noqa" not in line_text.lower():
        return False
    for match in _NOQA.finditer(line_text):
        codes = match.group("codes")
        if codes is None:
            if bare:
                return True
            continue
        if any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c):
            return True
    return False
