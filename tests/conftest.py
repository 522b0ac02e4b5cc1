from __future__ import annotations

from pathlib import Path

import pytest

from perflint.analyze import analyze_bytes
from perflint.config import Config
from perflint.findings import Finding
from perflint.rulepack import RulePack
from perflint.schema import build_schema, decide_schema_checks

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def lint_source(source: str | bytes, filename: str = "example.py", codes: set[str] | None = None,
                config: Config | None = None, schema: str = "") -> list[Finding]:
    """Analyse one in-memory file the way a worker does, then decide its schema-dependent
    findings the way the project phase does, against ``schema`` (DDL) and the file's own DDL."""
    config = config or Config()
    enabled = frozenset(codes) if codes is not None else config.enabled_codes()
    pack = RulePack.for_codes(enabled)
    result = analyze_bytes(filename, source.encode("utf-8") if isinstance(source, str) else source,
                           config, pack)
    results = [result]
    if schema:
        results.append(analyze_bytes("schema.sql", schema.encode("utf-8"), config, pack))
    return decide_schema_checks(result.findings, build_schema(results, ["schema.sql"]))


@pytest.fixture
def lint():
    return lint_source
