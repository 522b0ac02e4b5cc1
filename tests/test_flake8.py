"""The flake8 plugin (entry point ``PFL`` in ``flake8.extension``), run through real flake8."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import perflint
from tests.cli_support import CLEAN, N_PLUS_ONE, N_PLUS_ONE_COLUMN, N_PLUS_ONE_LINE, clean_env, run_json, write
from tests.conftest import FIXTURES
from tests.markers import expected_findings

FLAKE8_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) ")


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "flake8", "--isolated", *args], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode >= 0, f"flake8 killed by signal {-proc.returncode}"
    return proc


def parse(stdout: str) -> list[tuple[str, int, int, str]]:
    rows = []
    for text in stdout.splitlines():
        match = FLAKE8_LINE.match(text)
        assert match, f"not a flake8 line: {text!r}"
        rows.append((match["path"], int(match["line"]), int(match["col"]), match["code"]))
    return rows


def test_plugin_is_registered(tmp_path: Path) -> None:
    proc = flake8("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert f"perflint: {perflint.__version__}" in proc.stdout


def test_guide_fixture_findings_at_their_lines(tmp_path: Path) -> None:
    source = FIXTURES / "guide" / "n_plus_one_bad.py"
    shutil.copy(source, tmp_path / "n_plus_one_bad.py")
    proc = flake8("--select", "PFL", "n_plus_one_bad.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = parse(proc.stdout)
    expected = expected_findings(source)
    assert ("PFL201" in {code for _, code in expected})
    assert {(line, code) for _, line, _, code in rows} == expected
    assert {path for path, *_ in rows} == {"n_plus_one_bad.py"}

    # The same positions as `perflint check` (flake8 columns are 1-based in its output too).
    _, report, _ = run_json("--no-cache", "n_plus_one_bad.py", cwd=tmp_path)
    assert sorted((f["line"], f["column"], f["code"]) for f in report["findings"]) == \
        sorted((line, column, code) for _, line, column, code in rows)


def test_clean_file_prints_nothing(tmp_path: Path) -> None:
    write(tmp_path, "clean.py", CLEAN)
    proc = flake8("--select", "PFL", "clean.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == ""


def test_simple_n_plus_one_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "app.py", N_PLUS_ONE)
    proc = flake8("--select", "PFL", "app.py", cwd=tmp_path)
    assert parse(proc.stdout) == [("app.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201")]


def test_noqa_is_honoured(tmp_path: Path) -> None:
    line = N_PLUS_ONE.splitlines()[N_PLUS_ONE_LINE - 1]
    write(tmp_path, "same.py", N_PLUS_ONE.replace(line, line + "  # noqa: PFL201"))
    write(tmp_path, "other.py", N_PLUS_ONE.replace(line, line + "  # noqa: PFL101"))
    proc = flake8("--select", "PFL", "same.py", "other.py", cwd=tmp_path)
    assert [(path, code) for path, _, _, code in parse(proc.stdout)] == [("other.py", "PFL201")]


def test_other_plugins_codes_are_not_ours(tmp_path: Path) -> None:
    write(tmp_path, "app.py", N_PLUS_ONE + "import os\n")
    proc = flake8("--select", "PFL,F401", "app.py", cwd=tmp_path)
    codes = sorted(code for *_, code in parse(proc.stdout))
    assert codes == ["F401", "PFL201"]


def test_latin1_file_keeps_its_positions(tmp_path: Path) -> None:
    text = ("# -*- coding: latin-1 -*-\n"
            "def f(cursor, ids):\n"
            "    for i in ids:\n"
            "        é = cursor.execute('SELECT a FROM t WHERE id = %s', (i,))\n")
    write(tmp_path, "latin.py", text.encode("latin-1"))
    proc = flake8("--select", "PFL", "latin.py", cwd=tmp_path)
    assert parse(proc.stdout) == [("latin.py", 4, len("        é = ") + 1, "PFL201")]


def test_deeply_nested_file_does_not_take_flake8_down(tmp_path: Path) -> None:
    # CPython parses this (flake8 gets its AST), LibCST would overflow its stack.
    write(tmp_path, "deep.py", "x = a" + " and a" * 20_000 + "\n")
    write(tmp_path, "app.py", N_PLUS_ONE)
    proc = flake8("--select", "PFL", "deep.py", "app.py", cwd=tmp_path)
    rows = parse(proc.stdout)
    assert ("app.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201") in rows
    assert [code for path, *_, code in rows if path == "deep.py"] == ["PFL901"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_many_files_with_flake8_jobs(tmp_path: Path, jobs: str) -> None:
    for index in range(6):
        write(tmp_path, f"pkg/m{index}.py", N_PLUS_ONE if index % 2 else CLEAN)
    proc = flake8("--select", "PFL", "--jobs", jobs, "pkg", cwd=tmp_path)
    assert sorted(parse(proc.stdout)) == [
        (f"pkg/m{index}.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201") for index in (1, 3, 5)]
