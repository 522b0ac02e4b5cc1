"""``--format text``: one line per finding, flake8-style, then a summary."""

from __future__ import annotations

from perflint.runner import RunResult

_SEVERITY_COLOURS = {"error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[36m"}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"


def _clean(text: str) -> str:
    """Messages quote analysed code: keep control characters out of the terminal."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def render_text(result: RunResult, color: bool = False) -> str:
    lines: list[str] = []
    for f in result.findings:
        code = f.code
        if color:
            code = f"{_SEVERITY_COLOURS.get(f.severity, '')}{code}{_RESET}"
        location = f"{_BOLD}{f.path}{_RESET}" if color else f.path
        lines.append(f"{location}:{f.line}:{f.column}: {code} {_clean(f.message)} "
                     f"[{f.name}, score {f.score:g}]")
    stats = result.stats
    count = len(result.findings)
    by_code = ", ".join(f"{code}: {n}" for code, n in stats.get("by_code", {}).items())
    files = stats.get("files", 0)
    summary = (f"Found {count} finding{'s' if count != 1 else ''}"
               + (f" ({by_code})" if by_code else "")
               + f" in {files} file{'s' if files != 1 else ''} ({stats.get('analysed', 0)} analysed, "
               f"{stats.get('cached', 0)} cached) in {stats.get('seconds', 0):.2f}s.")
    lines.append(summary if count else "No findings" + summary[len(f"Found {count} findings"):])
    return "\n".join(lines) + "\n"
