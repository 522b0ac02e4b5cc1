"""File discovery: .py and .sql files, default and configured excludes, .gitignore."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from perflint.discovery import Discoverer
from tests.cli_support import N_PLUS_ONE, N_PLUS_ONE_LINE, clean_env, codes_by_path, run_json, write

# Patterns of every kind git knows; the tree below has a file on each side of each.
GITIGNORE = """\
# a comment, then a blank line

*.generated.py
!keep.generated.py
out.py/
/rootonly.py
docs/**/tmp_*.py
ignored_dir/
!ignored_dir/keep.py
**/cache_*.py
a/**/b.py
secret?.py
[xy]z.py
logs
\\#hash.py
trailing.py   \n"""

FILES = [
    "main.py", "a.generated.py", "keep.generated.py", "sub/x.generated.py", "out.py/inner.py",
    "sub/out.py/inner2.py", "rootonly.py", "sub/rootonly.py", "docs/x/y/tmp_1.py", "docs/tmp_2.py",
    "tmp_3.py", "ignored_dir/keep.py", "ignored_dir/other.py", "sub/cache_a.py", "cache_b.py",
    "a/b.py", "a/m/n/b.py", "a/m/c.py", "secret1.py", "secret12.py", "xz.py", "zz.py", "logs/l.py",
    "sub/logs/l2.py", "#hash.py", "trailing.py", "q.sql", "sub/local.py", "local.py",
    "notes.txt", "module.pyc", "stub.pyi",
]
EXPECTED = {"main.py", "keep.generated.py", "sub/rootonly.py", "tmp_3.py", "a/m/c.py",
            "secret12.py", "zz.py", "q.sql", "local.py"}


def _discover(root: Path, paths: list[str] | None = None, excludes: tuple[str, ...] = (),
              gitignore: bool = True) -> tuple[list[str], list[str]]:
    files, missing = Discoverer(excludes, gitignore, root).discover([Path(p) for p in paths or ["."]])
    return [f.display for f in files], missing


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # a git work tree as far as discovery is concerned
    write(tmp_path, ".gitignore", GITIGNORE)
    write(tmp_path, "sub/.gitignore", "local.py\n")
    for name in FILES:
        write(tmp_path, name, "x = 1\n")
    return tmp_path


def test_gitignore_patterns(repo: Path) -> None:
    found, missing = _discover(repo)
    assert missing == []
    assert set(found) == EXPECTED
    assert found == sorted(found)  # a stable order


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_agrees_with_git(repo: Path) -> None:
    shutil.rmtree(repo / ".git")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=clean_env(HOME=str(repo)))
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=repo,
                            check=True, capture_output=True, text=True, env=clean_env(HOME=str(repo)))
    by_git = {name for name in listed.stdout.splitlines() if name.endswith((".py", ".sql"))}
    found, _ = _discover(repo)
    assert set(found) == by_git


def test_gitignore_of_parent_directories_applies_to_a_subdirectory(repo: Path) -> None:
    found, _ = _discover(repo, ["sub"])
    assert found == ["sub/rootonly.py"]  # *.generated.py, out.py/, cache_*, logs: from the root


def test_respect_gitignore_off(repo: Path) -> None:
    found, _ = _discover(repo, gitignore=False)
    assert set(found) == {name for name in FILES if name.endswith((".py", ".sql"))}


def test_gitignore_without_a_git_repo_still_applies_in_the_checked_directory(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "skip_me.py\n")
    write(tmp_path, "skip_me.py", "x = 1\n")
    write(tmp_path, "keep.py", "x = 1\n")
    assert _discover(tmp_path)[0] == ["keep.py"]


DEFAULT_EXCLUDED = [".git/hooks/x.py", ".hg/x.py", ".svn/x.py", ".tox/py311/x.py", ".nox/x.py",
                    ".venv/lib/x.py", "venv/lib/x.py", ".eggs/x.py", "pkg.egg-info/x.py",
                    "__pycache__/x.py", "pkg/__pycache__/x.py", "node_modules/x/y.py",
                    ".mypy_cache/x.py", ".pytest_cache/x.py", ".ruff_cache/x.py",
                    ".perflint_cache/x.py", "lib/site-packages/x.py", "__pypackages__/x.py",
                    "build/lib/x.py", "dist/x.py"]


def test_default_excludes(tmp_path: Path) -> None:
    for name in DEFAULT_EXCLUDED:
        write(tmp_path, name, "x = 1\n")
    write(tmp_path, "src/app.py", "x = 1\n")
    write(tmp_path, "src/venvironment.py", "x = 1\n")  # a name that only starts like one
    assert _discover(tmp_path)[0] == ["src/app.py", "src/venvironment.py"]


def test_configured_excludes(tmp_path: Path) -> None:
    for name in ["app.py", "generated/models.py", "pkg/generated/x.py", "pkg/migrations/0001.py",
                 "pkg/views.py", "legacy/old.py", "legacy/new.py", "schema.sql"]:
        write(tmp_path, name, "x = 1\n")
    found, _ = _discover(tmp_path, excludes=("generated", "*/migrations", "legacy/old.py", "*.sql"))
    assert found == ["app.py", "legacy/new.py", "pkg/views.py"]


def test_trailing_slash_in_an_exclude(tmp_path: Path) -> None:
    write(tmp_path, "vendor/x.py", "x = 1\n")
    write(tmp_path, "app.py", "x = 1\n")
    assert _discover(tmp_path, excludes=("vendor/",))[0] == ["app.py"]


def test_explicit_file_inside_an_excluded_directory_is_checked(tmp_path: Path) -> None:
    write(tmp_path, ".venv/tool.py", N_PLUS_ONE)
    write(tmp_path, "generated/models.py", N_PLUS_ONE)
    write(tmp_path, ".gitignore", "ignored.py\n")
    write(tmp_path, "ignored.py", N_PLUS_ONE)
    assert _discover(tmp_path, excludes=("generated",))[0] == []
    found, _ = _discover(tmp_path, [".venv/tool.py", "generated/models.py", "ignored.py"],
                         excludes=("generated",))
    assert found == [".venv/tool.py", "generated/models.py", "ignored.py"]
    # And through the CLI, with the exclude in pyproject.toml.
    write(tmp_path, "pyproject.toml", '[tool.perflint]\nexclude = ["generated"]\n')
    code, report, _ = run_json("--no-cache", ".venv/tool.py", "generated/models.py", cwd=tmp_path)
    assert code == 1
    assert codes_by_path(report) == {".venv/tool.py": {(N_PLUS_ONE_LINE, "PFL201")},
                                     "generated/models.py": {(N_PLUS_ONE_LINE, "PFL201")}}
    code, report, _ = run_json("--no-cache", cwd=tmp_path)
    assert code == 0 and report["findings"] == []


def test_sql_files_are_discovered(tmp_path: Path) -> None:
    write(tmp_path, "db/schema.sql", "CREATE TABLE t (id int PRIMARY KEY);\n")
    write(tmp_path, "db/report.sql", "SELECT * FROM t WHERE id = 1;\n")
    write(tmp_path, "db/readme.md", "SELECT * FROM t;\n")
    write(tmp_path, "db/dump.sql.gz", "x")
    assert _discover(tmp_path)[0] == ["db/report.sql", "db/schema.sql"]
    code, report, _ = run_json("--no-cache", cwd=tmp_path)
    assert codes_by_path(report) == {"db/report.sql": {(1, "PFL101")}}


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "app.py", "x = 1\n")
    found, missing = _discover(tmp_path, ["app.py", "nope.py", "nodir"])
    assert found == ["app.py"]
    assert len(missing) == 2 and "nope.py" in missing[0] and "nodir" in missing[1]


def test_duplicate_and_overlapping_paths_give_each_file_once(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py", "x = 1\n")
    write(tmp_path, "pkg/b.py", "x = 1\n")
    found, _ = _discover(tmp_path, ["pkg", "pkg/a.py", ".", str(tmp_path / "pkg" / "b.py")])
    assert found == ["pkg/a.py", "pkg/b.py"]


def test_paths_outside_the_working_directory_stay_absolute(tmp_path: Path) -> None:
    write(tmp_path, "outside/app.py", "x = 1\n")
    (tmp_path / "cwd").mkdir()
    files, _ = Discoverer((), True, tmp_path / "cwd").discover([tmp_path / "outside"])
    assert [f.display for f in files] == [(tmp_path / "outside" / "app.py").as_posix()]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinked_directories_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py", "x = 1\n")
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "alias").symlink_to(tmp_path / "pkg", target_is_directory=True)
    assert _discover(tmp_path)[0] == ["pkg/a.py"]
