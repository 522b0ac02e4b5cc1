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


SQL_SOURCE = b'''
def report(cur, ids):
    cur.execute("SELECT * FROM orders WHERE id NOT IN (SELECT order_id FROM refunds)")
    return cur.fetchall()
'''


def test_a_files_cycles_are_collected_after_it_even_with_the_collector_off() -> None:
    runner._init_worker(Config())
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # as in a run (and in the pool workers, which inherit it)
    try:
        output = runner._analyze_job(("report.py", SQL_SOURCE))
        codes = {finding["code"] for finding in output["result"]["findings"]}
        assert {"PFL101", "PFL102"} <= codes, codes  # sqlglot parsed it: its trees are cyclic
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_a_run_pauses_automatic_collection_and_restores_it(tmp_path: Path) -> None:
    (tmp_path / "report.py").write_bytes(SQL_SOURCE)
    seen: list[bool] = []
    original = runner._analyze_project

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    runner._analyze_project = spy  # type: ignore[assignment]
    try:
        result = runner.run(Config(), runner.RunOptions(paths=(tmp_path,), jobs=1, use_cache=False,
                                                        cwd=tmp_path))
    finally:
        runner._analyze_project = original  # type: ignore[assignment]
    assert result.findings
    assert seen == [False]
    assert gc.isenabled()


def test_flake8_plugin_analyses_without_collection_and_restores_it() -> None:
    from perflint.flake8_plugin import PerflintChecker

    gc.collect()
    checker = PerflintChecker(None, "report.py", SQL_SOURCE.decode().splitlines(keepends=True))
    messages = [message for _line, _column, message, _type in checker.run()]
    assert any(message.startswith("PFL102") for message in messages), messages
    assert gc.isenabled()
    assert gc.collect() == 0  # sqlglot's cycles went with the file
