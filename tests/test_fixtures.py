"""The guide's BAD/GOOD examples and the demo shop: every marked finding at its exact
line, and nothing unmarked (the guide's GOOD examples are clean of what they teach)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflint.config import Config
from perflint.runner import RunOptions, run
from tests.conftest import FIXTURES
from tests.markers import expected_findings

PROJECTS = ("guide", "shop", "schema", "callgraph", "orm_django", "orm_sqlalchemy")


def _files(project: str) -> list[Path]:
    root = FIXTURES / project
    return sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql"))


@pytest.fixture(scope="module")
def results() -> dict[str, list]:
    by_file: dict[str, list] = {}
    for project in PROJECTS:
        result = run(Config(), RunOptions(paths=(FIXTURES / project,), jobs=1, use_cache=False,
                                          cwd=FIXTURES))
        assert not result.errors, result.errors
        for finding in result.findings:
            by_file.setdefault(finding.path, []).append(finding)
    return by_file


@pytest.mark.parametrize("path", [p for project in PROJECTS for p in _files(project)],
                         ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_file(path: Path, results: dict[str, list]) -> None:
    expected = expected_findings(path)
    found = results.get(path.relative_to(FIXTURES).as_posix(), [])
    actual = {(f.line, f.code) for f in found}
    if expected == {(-1, "PFL901")}:
        assert {code for _, code in actual} == {"PFL901"}, found
        return
    missing = sorted(expected - actual)
    unexpected = sorted((line, code, next(f.message for f in found if (f.line, f.code) == (line, code)))
                        for line, code in actual - expected)
    assert not missing and not unexpected, f"missing={missing}\nunexpected={unexpected}"


def test_guide_covers_every_bad_example() -> None:
    """Each rule of this release has at least one BAD example in the guide fixtures that fires."""
    codes = set()
    for path in _files("guide"):
        codes |= {code for _, code in expected_findings(path)}
    assert {"PFL101", "PFL102", "PFL103", "PFL105", "PFL110", "PFL201", "PFL203", "PFL204", "PFL205", "PFL206",
            "PFL301", "PFL401"} <= codes


def test_orm_projects_exercise_the_orm_rules() -> None:
    """Both ORM fixture projects show each ORM rule firing (their hard negatives are the
    unmarked lines)."""
    for project in ("orm_django", "orm_sqlalchemy"):
        codes = set()
        for path in _files(project):
            codes |= {code for _, code in expected_findings(path)}
        assert {"PFL201", "PFL202", "PFL204"} <= codes, project


def test_shop_exercises_every_rule() -> None:
    codes = set()
    for path in _files("shop"):
        codes |= {code for _, code in expected_findings(path)}
    assert {"PFL101", "PFL102", "PFL110", "PFL201", "PFL301", "PFL401", "PFL402", "PFL403", "PFL404",
            "PFL405", "PFL406", "PFL407", "PFL901"} <= codes
