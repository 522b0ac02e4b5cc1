"""Per-file result cache (issue 3, acceptance 7): hits, misses and invalidation, corrupt
entries, concurrent runs, serial == parallel, and a warm run that never imports a parser."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import perflint.cache
import perflint.runner
from perflint.config import Config
from perflint.runner import RunOptions, RunResult, run
from tests.cli_support import N_PLUS_ONE, assert_no_traceback, clean_env, perflint_executable, run_json
from tests.conftest import FIXTURES

CACHEDIR_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", target)
    return target


def _run(project: Path, cache: Path, config: Config | None = None, jobs: int = 1) -> RunResult:
    config = replace(config or Config(), cache_dir=str(cache))
    return run(config, RunOptions(paths=(project,), jobs=jobs, use_cache=True, cwd=project))


def _dump(result: RunResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [f.to_json() for f in result.findings], [e.to_json() for e in result.errors]


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "v1").rglob("*") if p.is_file())


def test_cold_then_warm(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    files = cold.stats["files"]
    assert files >= 15
    assert (cold.stats["analysed"], cold.stats["cached"]) == (files, 0)
    assert cold.findings
    warm = _run(shop, cache)
    assert (warm.stats["analysed"], warm.stats["cached"]) == (0, files)
    assert _dump(warm) == _dump(cold)


def test_content_change_reanalyses_only_that_file(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    files = cold.stats["files"]
    target = shop / "config.py"
    original = target.read_bytes()
    lines_before = original.count(b"\n")
    target.write_bytes(original + b"\n\n" + N_PLUS_ONE.encode())

    changed = _run(shop, cache)
    assert (changed.stats["analysed"], changed.stats["cached"]) == (1, files - 1)
    new = [(f.path, f.line, f.code) for f in changed.findings if f.path == "config.py"]
    assert new == [("config.py", lines_before + 2 + 4, "PFL201")]
    assert len(changed.findings) == len(cold.findings) + 1

    target.write_bytes(original)  # back to the cached content: all hits again
    again = _run(shop, cache)
    assert again.stats["analysed"] == 0
    assert _dump(again) == _dump(cold)


def test_a_moved_file_is_reported_at_its_new_path(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    (shop / "scripts").rename(shop / "tools")
    moved = _run(shop, cache)
    assert not any(f.path.startswith("scripts/") for f in moved.findings)
    assert sorted(f.path.replace("scripts/", "tools/") for f in cold.findings) == \
        sorted(f.path for f in moved.findings)


def test_version_change_invalidates(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    files = cold.stats["files"]
    # another release, or other code in an editable install: code_version() differs
    monkeypatch.setattr(perflint.cache, "code_version", lambda: "999.0.0+0")
    monkeypatch.setattr(perflint.runner, "code_version", lambda: "999.0.0+0")
    other_version = _run(shop, cache)
    assert (other_version.stats["analysed"], other_version.stats["cached"]) == (files, 0)
    assert _dump(other_version) == _dump(cold)
    monkeypatch.undo()
    back = _run(shop, cache)
    assert back.stats["analysed"] == 0


def test_code_version_covers_release_and_installed_files() -> None:
    version = perflint.cache.code_version()
    assert version.startswith(perflint.__version__ + "+")
    perflint.cache.code_version.cache_clear()
    assert perflint.cache.code_version() == version  # stable while nothing changes


@pytest.mark.parametrize("change", [
    {"select": ("PFL2",)},
    {"ignore": ("PFL101",)},
    {"extend_select": ("PFL902",)},
    {"dialect": "mysql"},
    {"extra_sinks": ("myapp.db.run_query",)},
    {"small_literal_max": 3},
])
def test_config_change_invalidates(shop: Path, tmp_path: Path, change: dict[str, Any]) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    changed = _run(shop, cache, Config(**change))
    assert changed.stats["analysed"] == cold.stats["files"]
    if "select" in change:
        assert {f.code for f in changed.findings} == {"PFL201"}
    if "ignore" in change:
        assert "PFL101" not in {f.code for f in changed.findings}
    assert _run(shop, cache, Config(**change)).stats["analysed"] == 0


def test_filters_outside_the_analysis_apply_to_cached_results(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    assert any(f.path.startswith("repositories/") for f in cold.findings)
    filtered = _run(shop, cache, Config(per_file_ignores={"repositories/*": ("PFL",)}))
    assert not any(f.path.startswith("repositories/") for f in filtered.findings)
    assert [f for f in _dump(cold)[0] if not f["path"].startswith("repositories/")] == _dump(filtered)[0]
    high = _run(shop, cache, Config(min_confidence="high"))
    assert all(f.confidence == "high" for f in high.findings)


def _corrupt(entry: Path, how: int) -> None:
    key = entry.stem
    if how == 0:
        entry.write_text("{not json", encoding="utf-8")
    elif how == 1:
        entry.write_bytes(b"")
    elif how == 2:
        entry.write_text(json.dumps({"key": "0" * 64, "value": {}}), encoding="utf-8")
    elif how == 3:
        entry.write_text(json.dumps({"key": key, "value": {"findings": "nope", "errors": 3}}),
                         encoding="utf-8")
    elif how == 4:
        entry.write_text(json.dumps({"key": key, "value": [1, 2, 3]}), encoding="utf-8")
    else:
        entry.write_text(json.dumps({"key": key, "value": {"findings": [{"code": 1}], "errors": []}}),
                         encoding="utf-8")


@pytest.mark.parametrize("how", range(6))
def test_corrupt_entries_are_ignored_and_rewritten(shop: Path, tmp_path: Path, how: int) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    entries = _entries(cache)
    kinds = {entry.parent.parent.name for entry in entries}
    assert {"file", "project"} <= kinds
    for entry in entries:
        _corrupt(entry, how)

    recovered = _run(shop, cache)
    assert _dump(recovered) == _dump(cold)
    assert recovered.stats["analysed"] == cold.stats["files"]
    for entry in entries:  # every corrupt entry was replaced by a good one
        data = json.loads(entry.read_text(encoding="utf-8"))
        assert data["key"] == entry.stem
    assert _run(shop, cache).stats["analysed"] == 0


def test_file_entry_with_a_summary_that_does_not_decode(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _run(shop, cache)
    for entry in _entries(cache):
        kind = entry.parent.parent.name
        if kind == "file":
            data = json.loads(entry.read_text(encoding="utf-8"))
            data["value"]["summary"] = {"bogus": 1}
            data["value"]["summary_hash"] = "tampered"
            entry.write_text(json.dumps(data), encoding="utf-8")
        else:
            entry.unlink()  # so the run has to rank from the file entries
    tampered = _run(shop, cache)
    assert sorted((f.path, f.line, f.code) for f in tampered.findings) == \
        sorted((f.path, f.line, f.code) for f in cold.findings)


def test_unusable_cache_dir_does_not_fail_the_run(shop: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache directory should be")
    result = _run(shop, blocker)
    assert result.findings and result.stats["analysed"] == result.stats["files"]
    assert blocker.read_text() == "a file where the cache directory should be"


def test_cache_dir_markers_and_json_only(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(shop, cache)
    _run(shop, cache, jobs=2)
    assert (cache / "CACHEDIR.TAG").read_text().startswith(CACHEDIR_SIGNATURE)
    assert "*" in (cache / ".gitignore").read_text().splitlines()
    files = [p for p in cache.rglob("*") if p.is_file()]
    payload = [p for p in files if p.name not in {"CACHEDIR.TAG", ".gitignore"}]
    assert payload
    for path in payload:
        assert path.suffix == ".json", path
        assert not path.name.startswith(".tmp-"), f"left-over temp file {path}"
        raw = path.read_bytes()
        assert not raw.startswith(b"\x80"), f"{path} looks like a pickle"
        json.loads(raw)


def test_no_cache_writes_nothing(shop: Path) -> None:
    code, report, _ = run_json("--no-cache", cwd=shop)
    assert code == 1 and report["findings"]
    assert not (shop / ".perflint_cache").exists()
    code, _, _ = run_json(cwd=shop)
    assert (shop / ".perflint_cache" / "CACHEDIR.TAG").is_file()


def test_cli_cache_dir_option(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "elsewhere"
    _, cold, _ = run_json("--cache-dir", str(cache), cwd=shop)
    _, warm, _ = run_json("--cache-dir", str(cache), cwd=shop)
    assert not (shop / ".perflint_cache").exists()
    assert cold["stats"]["analysed"] == cold["stats"]["files"]
    assert (warm["stats"]["analysed"], warm["stats"]["cached"]) == (0, cold["stats"]["files"])
    assert warm["findings"] == cold["findings"]


def test_concurrent_runs_share_a_cache(shop: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    command = [perflint_executable(), "check", "--format", "json", "--jobs", "2",
               "--cache-dir", str(cache)]
    procs = [subprocess.Popen(command, cwd=shop, env=clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr
        assert "Traceback" not in stderr
        outputs.append(json.loads(stdout))
    first, second = outputs
    assert first["findings"] and first["findings"] == second["findings"]
    assert first["errors"] == second["errors"]
    _, warm, _ = run_json("--cache-dir", str(cache), cwd=shop)
    assert warm["stats"]["analysed"] == 0
    assert warm["findings"] == first["findings"]
    assert not [p for p in cache.rglob(".tmp-*")]


def test_serial_and_parallel_output_identical(shop: Path) -> None:
    outputs = {}
    for jobs in ("1", "2"):
        _, report, _ = run_json("--no-cache", "--jobs", jobs, cwd=shop)
        text = subprocess.run([perflint_executable(), "check", "--no-cache", "--jobs", jobs], cwd=shop,
                              env=clean_env(), capture_output=True, text=True, timeout=300)
        outputs[jobs] = (report["findings"], report["errors"], text.stdout.splitlines()[:-1])
    assert len(outputs["1"][0]) >= 10
    assert outputs["1"] == outputs["2"]


def test_serial_and_parallel_identical_in_process(shop: Path) -> None:
    for sort in ("score", "location"):
        results = [run(Config(), RunOptions(paths=(shop,), jobs=jobs, use_cache=False, cwd=shop, sort=sort))
                   for jobs in (1, 2)]
        assert _dump(results[0]) == _dump(results[1])


_IMPORT_PROBE = """
import json, sys
# --jobs 1: any file analysed is analysed in this process, where the imports show.
sys.argv = ["perflint", "check", "--jobs", "1", "--format", "json", "--output", "report.json"]
from perflint.cli import main
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(m for m in ("libcst", "sqlglot", "networkx")
                                                   if m in sys.modules)}))
"""


def _probe(cwd: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert_no_traceback(proc)
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    return probe, json.loads((cwd / "report.json").read_text())


def test_warm_run_imports_no_parser(shop: Path) -> None:
    cold, cold_report = _probe(shop)
    assert cold["code"] == 1
    assert {"libcst", "sqlglot"} <= set(cold["modules"])  # the probe can see them
    # the call graph is built without networkx, which only `perflint graph` imports
    # (perflint.graph.CallGraph says why)
    assert "networkx" not in cold["modules"]
    warm, warm_report = _probe(shop)
    assert warm["code"] == 1
    assert warm["modules"] == []
    assert warm_report["stats"]["cached"] == warm_report["stats"]["files"]
    assert warm_report["findings"] == cold_report["findings"]
