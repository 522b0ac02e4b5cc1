"""Ranking: findings reached from entry points score higher, across modules."""

from __future__ import annotations

from pathlib import Path

from perflint.config import Config
from perflint.runner import RunOptions, run

HELPER = """\
def load_names(cur, ids):
    names = []
    for i in ids:
        cur.execute("SELECT name FROM users WHERE id = %s", (i,))
        names.append(cur.fetchone())
    return names
"""

HANDLER = """\
from app.helpers import load_names


@{decorator}
def users(request):
    return load_names(request.cursor, request.ids)
"""

SCRIPT = """\
def main(cur, ids):
    for i in ids:
        cur.execute("SELECT name FROM users WHERE id = %s", (i,))
"""


def _project(tmp_path: Path, decorator: str) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "helpers.py").write_text(HELPER)
    (tmp_path / "app" / "views.py").write_text(HANDLER.format(decorator=decorator))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "once.py").write_text(SCRIPT)
    return tmp_path


def _scores(root: Path, config: Config) -> dict[str, float]:
    result = run(config, RunOptions(paths=(root,), jobs=1, use_cache=False, cwd=root))
    return {f.path: f.score for f in result.findings if f.code == "PFL201"}


def test_handler_reached_finding_outranks_the_same_pattern_in_a_script(tmp_path: Path) -> None:
    scores = _scores(_project(tmp_path, "app.get('/users')"), Config())
    assert scores["app/helpers.py"] > scores["scripts/once.py"]


def test_configured_entry_point_decorators_mark_handlers(tmp_path: Path) -> None:
    root = _project(tmp_path, "my_route")
    plain = _scores(root, Config())
    configured = _scores(root, Config(entry_point_decorators=("my_route",)))
    assert plain["app/helpers.py"] == plain["scripts/once.py"]
    assert configured["app/helpers.py"] > configured["scripts/once.py"]
