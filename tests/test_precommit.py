"""The pre-commit hook (.pre-commit-hooks.yaml), run by real pre-commit in a temp git repo.

The hook repository is a snapshot of the current working tree (tracked and untracked,
not ignored files) committed to a temp git repo, so uncommitted changes are what is
tested, as in CI where the repo is a fresh clone. pre-commit builds the hook's virtualenv
(pip-installing perflint and its dependencies) once per session: PRE_COMMIT_HOME is shared
by the module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import CLEAN, N_PLUS_ONE, N_PLUS_ONE_LINE, clean_env, write
from tests.conftest import ROOT

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "perflint tests", "GIT_AUTHOR_EMAIL": "tests@perflint.invalid",
                "GIT_COMMITTER_NAME": "perflint tests", "GIT_COMMITTER_EMAIL": "tests@perflint.invalid"}


def _pre_commit() -> list[str]:
    beside = Path(sys.executable).parent / "pre-commit"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("pre-commit")
    if found:
        return [found]
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed")
    return [sys.executable, "-m", "pre_commit"]


def _git(*args: str, cwd: Path) -> str:
    env = clean_env(**GIT_IDENTITY, GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repo holding the working tree as it is now; (path, commit)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    copied = 0
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file() or name.startswith(("benchmarks/", "tests/")):
            continue  # deleted in the working tree, or not part of the package
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    assert (snapshot / ".pre-commit-hooks.yaml").is_file() and copied > 10
    _git("init", "-q", cwd=snapshot)
    _git("add", "-A", cwd=snapshot)
    _git("commit", "-q", "--no-verify", "-m", "snapshot of the working tree", cwd=snapshot)
    return snapshot, _git("rev-parse", "HEAD", cwd=snapshot).strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    repo, rev = hook_repo
    _git("init", "-q", cwd=tmp_path)
    write(tmp_path, ".pre-commit-config.yaml",
          f"repos:\n- repo: {repo}\n  rev: {rev}\n  hooks:\n  - id: perflint\n")
    write(tmp_path, "bad.py", N_PLUS_ONE)
    write(tmp_path, "good.py", CLEAN)
    write(tmp_path, "queries/report.sql", "SELECT id FROM t WHERE id NOT IN (SELECT x FROM u);\n")
    write(tmp_path, "queries/ok.sql", "SELECT id, total FROM orders WHERE id = 1;\n")
    write(tmp_path, "notes.txt", "SELECT * FROM t\n")
    _git("add", "-A", cwd=tmp_path)
    return tmp_path


def run_hook(project: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(PRE_COMMIT_HOME=str(home), **GIT_IDENTITY)
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([*_pre_commit(), "run", "--color", "never", "--files", *files], cwd=project,
                          env=env, capture_output=True, text=True, timeout=900)


def test_hook_fails_on_a_finding(project: Path, pre_commit_home: Path) -> None:
    proc = run_hook(project, pre_commit_home, "bad.py", "good.py")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "perflint" in output and "Failed" in output
    assert f"bad.py:{N_PLUS_ONE_LINE}:" in output and "PFL201" in output
    assert "good.py:" not in output
    assert "Traceback" not in output


def test_hook_passes_on_a_clean_file(project: Path, pre_commit_home: Path) -> None:
    proc = run_hook(project, pre_commit_home, "good.py", "queries/ok.sql")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Passed" in output


def test_hook_checks_sql_files(project: Path, pre_commit_home: Path) -> None:
    proc = run_hook(project, pre_commit_home, "queries/report.sql")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "queries/report.sql:1:24: PFL102" in output


def test_hook_skips_other_file_types(project: Path, pre_commit_home: Path) -> None:
    proc = run_hook(project, pre_commit_home, "notes.txt")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "no files to check" in output.lower() or "Skipped" in output
