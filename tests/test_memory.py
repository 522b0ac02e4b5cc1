"""A file's analysis leaves no reference cycles behind (sqlglot's trees aside): the
runner pauses the cyclic collector while a file is analysed, so a cycle through the
walker would keep the whole tree alive until the next collection."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from perflint import runner
from perflint.analyze import analyze_bytes
from perflint.config import Config
from perflint.rulepack import RulePack

ROOT = Path(__file__).resolve().parent.parent

SOURCE = b'''
import requests

class Report:
    def rows(self, ids):
        out = []
        for i in ids:
            if i in out:
                continue
            out.append(requests.get(f"http://x/{i}").json())
        return [r for r in out if r]

async def handler(session, ids):
    for i in ids:
        await session.get(i)
'''


def test_python_analysis_is_freed_by_reference_counting() -> None:
    config = Config()
    pack = RulePack.for_codes(frozenset(config.enabled_codes()))
    analyze_bytes("warm.py", SOURCE, config, pack)  # imports and caches settle first
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = analyze_bytes("mod.py", SOURCE, config, pack)
        assert result.findings, "the sample must exercise the rules"
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("data", [SOURCE, b"def (:\n"])
def test_collector_running_again_after_each_file(data: bytes) -> None:
    runner._init_worker(Config())
    assert gc.isenabled()
    output = runner._analyze_job(("mod.py", data))
    assert "result" in output
    assert gc.isenabled()
