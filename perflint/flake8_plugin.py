"""flake8 plugin (entry point ``PFL`` in ``flake8.extension``).

flake8 hands over the file's lines; perflint parses them once with LibCST and runs
the same per-file rules as ``perflint check``. flake8 does the selecting, ignoring
and ``# noqa`` handling of its own on top."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from perflint import __version__


@lru_cache(maxsize=1)
def _setup() -> tuple[Any, Any]:
    from perflint.config import Config, ConfigError, load_config
    from perflint.rulepack import RulePack

    try:
        config = load_config(start=Path.cwd())
    except ConfigError:
        config = Config()  # flake8 reports its own config problems; ours show in `perflint check`
    return config, RulePack.for_codes(config.enabled_codes())


def _encode(lines: list[str]) -> bytes:
    """Bytes for the text flake8 decoded: in the encoding the file's coding cookie
    declares, since the parser honours the cookie (UTF-8 bytes under a latin-1 cookie
    would be read back as mojibake, or fail to parse)."""
    text = "".join(lines)
    head = "".join(lines[:2]).encode("utf-8", errors="replace")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head).readline)
        if encoding == "utf-8-sig":
            encoding = "utf-8"  # a BOM still in the text is encoded once, not twice
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeError):
        return text.encode("utf-8", errors="surrogatepass")


class PerflintChecker:
    name = "perflint"
    version = __version__

    def __init__(self, tree: Any, filename: str, lines: list[str]) -> None:
        # ``tree`` is requested only because flake8 requires plugins to take it or
        # ``logical_line``/``physical_line``; perflint reads the lines with LibCST.
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from perflint.analyze import analyze_bytes, one_file_without_collection

        config, pack = _setup()
        source = _encode(self.lines)
        try:
            with one_file_without_collection():
                result = analyze_bytes(self.filename, source, config, pack)
        except Exception as error:  # noqa: BLE001 - never take flake8 down with us
            yield 1, 0, f"PFL901 perflint internal error: {type(error).__name__}: {error}", type(self)
            return
        # flake8 sees one file: schema-dependent findings are decided against that file's
        # own DDL only (PFL109/PFL113 stay quiet on tables it does not declare).
        from perflint.schema import build_schema, decide_schema_checks

        for finding in decide_schema_checks(result.findings, build_schema([result], [])):
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
