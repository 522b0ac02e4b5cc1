"""``--format json``: the machine-readable contract (see DESIGN.md)."""

from __future__ import annotations

import json
from typing import Any

from perflint import __version__
from perflint.findings import Finding
from perflint.runner import RunResult

PUBLIC_KEYS = ("code", "name", "message", "severity", "confidence", "path", "line", "column",
               "end_line", "end_column", "score", "trace", "fix_hint", "reasons")


def finding_json(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    return {key: data[key] for key in PUBLIC_KEYS}


def render_json(result: RunResult, color: bool = False) -> str:
    document = {
        "version": __version__,
        "findings": [finding_json(f) for f in result.findings],
        "errors": [e.to_json() for e in result.errors],
        "stats": result.stats,
    }
    return json.dumps(document, indent=2) + "\n"
