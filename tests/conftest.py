from __future__ import annotations

from pathlib import Path

import pytest

from perflint.analyze import analyze_bytes
from perflint.config import Config
from perflint.findings import Finding
from perflint.rulepack import RulePack

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def lint_source(source: str, filename: str = "example.py", codes: set[str] | None = None,
                config: Config | None = None) -> list[Finding]:
    """Analyse one in-memory file the way a worker does."""
    config = config or Config()
    enabled = frozenset(codes) if codes is not None else config.enabled_codes()
    pack = RulePack.for_codes(enabled)
    return analyze_bytes(filename, source.encode("utf-8") if isinstance(source, str) else source,
                         config, pack).findings


@pytest.fixture
def lint():
    return lint_source
