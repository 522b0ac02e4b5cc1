"""Helpers for tests that drive the installed ``perflint`` console script (and other
tools) in subprocesses, the way users and CI do."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# ``path:line:col: CODE message [name, score N]``
FINDING_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>PFL\d{3}) ")


def perflint_executable() -> str:
    """The console script installed next to this interpreter (the venv under test), else
    the one on PATH. A missing script is a failed install, not a reason to skip."""
    bindir = Path(sys.executable).parent
    for name in ("perflint", "perflint.exe"):
        candidate = bindir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("perflint")
    assert found, f"the perflint console script is not installed (looked in {bindir} and PATH)"
    return found


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PERFLINT", "PYTEST", "COV_"))}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_perflint(*args: str | os.PathLike[str], cwd: Path, timeout: float = 120,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([perflint_executable(), *map(str, args)], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_json(*args: str | os.PathLike[str], cwd: Path, **kwargs: Any) -> tuple[int, dict[str, Any], str]:
    """Run ``perflint check --format json ARGS``: (exit code, parsed report, stderr)."""
    proc = run_perflint("check", "--format", "json", *args, cwd=cwd, **kwargs)
    assert_no_traceback(proc)
    try:
        report = json.loads(proc.stdout)
    except ValueError as error:
        raise AssertionError(f"stdout is not JSON ({error}):\n{proc.stdout}\n{proc.stderr}") from None
    return proc.returncode, report, proc.stderr


def finding_lines(stdout: str) -> list[tuple[str, int, int, str]]:
    """(path, line, column, code) of every finding line of the text report, in order."""
    found = []
    for text in stdout.splitlines():
        match = FINDING_LINE.match(text)
        if match:
            found.append((match["path"], int(match["line"]), int(match["col"]), match["code"]))
    return found


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, f"traceback in output:\n{proc.stdout}\n{proc.stderr}"
        assert "internal error" not in stream, f"internal error:\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}:\n{proc.stderr}"


def codes_by_path(report: dict[str, Any]) -> dict[str, set[tuple[int, str]]]:
    by_path: dict[str, set[tuple[int, str]]] = {}
    for finding in report["findings"]:
        by_path.setdefault(finding["path"], set()).add((finding["line"], finding["code"]))
    return by_path


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# A per-row query in a loop (PFL201 at line 4, column 9) and nothing else.
N_PLUS_ONE = '''\
def load(cursor, ids):
    rows = []
    for i in ids:
        cursor.execute("SELECT name FROM users WHERE id = %s", (i,))
        rows.append(cursor.fetchone())
    return rows
'''
N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN = 4, 9

CLEAN = '''\
def load(cursor, ids):
    cursor.execute("SELECT id, name FROM users WHERE id = ANY(%s)", (list(ids),))
    return cursor.fetchall()
'''
