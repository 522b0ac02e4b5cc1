"""Output formats. Each reporter turns a RunResult into text for one channel."""

from __future__ import annotations

from collections.abc import Callable

from perflint.reporters.json_format import render_json
from perflint.reporters.text import render_text
from perflint.runner import RunResult

REPORTERS: dict[str, Callable[[RunResult, bool], str]] = {
    "text": render_text,
    "json": render_json,
}
