"""The command line contract (DESIGN.md), driven through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perflint
from perflint.registry import all_codes, rule_class
from tests.cli_support import (
    CLEAN, N_PLUS_ONE, N_PLUS_ONE_COLUMN, N_PLUS_ONE_LINE, assert_no_traceback, codes_by_path,
    finding_lines, run_json, run_perflint, write,
)

PUBLIC_FINDING_KEYS = {"code", "name", "message", "severity", "confidence", "path", "line", "column",
                       "end_line", "end_column", "score", "trace", "fix_hint", "reasons"}

# A whole-table SELECT * first (low score), then an N+1 (high score): score order and
# location order differ.
MIXED = '''\
def everything(cursor):
    cursor.execute("SELECT * FROM users")
    return cursor.fetchall()


''' + N_PLUS_ONE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "app.py", N_PLUS_ONE)
    write(tmp_path, "clean.py", CLEAN)
    return tmp_path


def test_check_with_a_finding_exits_1_and_prints_flake8_style_lines(project: Path) -> None:
    proc = run_perflint("check", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert finding_lines(proc.stdout) == [("app.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201")]
    assert f"app.py:{N_PLUS_ONE_LINE}:{N_PLUS_ONE_COLUMN}: PFL201 " in proc.stdout


def test_clean_project_exits_0(tmp_path: Path) -> None:
    write(tmp_path, "clean.py", CLEAN)
    write(tmp_path, "pkg/other.py", "def f(x):\n    return [y * 2 for y in x]\n")
    proc = run_perflint("check", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert finding_lines(proc.stdout) == []


def test_clean_file_in_project_with_findings_exits_0(project: Path) -> None:
    proc = run_perflint("check", "clean.py", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert finding_lines(proc.stdout) == []


def test_exit_zero_reports_but_exits_0(project: Path) -> None:
    proc = run_perflint("check", "--exit-zero", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 0
    assert [code for *_, code in finding_lines(proc.stdout)] == ["PFL201"]


def test_nonexistent_path_exits_2_with_a_clear_message(project: Path) -> None:
    proc = run_perflint("check", "does_not_exist.py", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "does_not_exist.py" in proc.stderr
    assert "no such file" in proc.stderr.lower()


def test_nonexistent_path_next_to_a_real_one_still_exits_2(project: Path) -> None:
    proc = run_perflint("check", "app.py", "missing_dir", "--exit-zero", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "missing_dir" in proc.stderr
    # The path that exists is still checked.
    assert [code for *_, code in finding_lines(proc.stdout)] == ["PFL201"]


def test_json_format_contract(project: Path) -> None:
    write(project, "q.sql", "SELECT * FROM orders WHERE id = 1;\n")
    code, report, _ = run_json(cwd=project)
    assert code == 1
    assert set(report) == {"version", "findings", "errors", "stats"}
    assert report["version"] == perflint.__version__
    assert report["errors"] == []
    assert isinstance(report["stats"], dict) and report["stats"]["files"] == 3
    assert {(f["path"], f["line"], f["column"], f["code"]) for f in report["findings"]} == {
        ("app.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201"),
        ("q.sql", 1, 8, "PFL101"),  # the `*`: 1-based line and column
    }
    source_lines = (project / "app.py").read_text().splitlines()
    for finding in report["findings"]:
        assert set(finding) == PUBLIC_FINDING_KEYS, sorted(set(finding) ^ PUBLIC_FINDING_KEYS)
        assert finding["name"] == rule_class(finding["code"]).name
        assert finding["severity"] in {"error", "warning", "info"}
        assert finding["confidence"] in {"low", "medium", "high"}
        assert isinstance(finding["score"], (int, float)) and finding["score"] > 0
        assert isinstance(finding["reasons"], list) and finding["reasons"]
        assert isinstance(finding["fix_hint"], str) and finding["fix_hint"]
        assert isinstance(finding["trace"], list)
        for step in finding["trace"]:
            assert set(step) == {"path", "line", "function"}
        assert (finding["end_line"], finding["end_column"]) >= (finding["line"], finding["column"])
        if finding["path"] == "app.py":
            # 1-based column: the character at column-1 starts the reported call.
            text = source_lines[finding["line"] - 1]
            assert text[finding["column"] - 1:].startswith("cursor.execute(")


def test_json_paths_are_relative_to_the_working_directory(project: Path) -> None:
    # Given as an absolute path, reported relative to the cwd.
    _, report, _ = run_json(str(project / "app.py"), cwd=project)
    assert [f["path"] for f in report["findings"]] == ["app.py"]
    # From the parent directory, the path includes the project directory.
    _, report, _ = run_json(project.name, "--no-cache", cwd=project.parent)
    assert [f["path"] for f in report["findings"]] == [f"{project.name}/app.py"]


def test_output_file(project: Path) -> None:
    target = project / "report.json"
    proc = run_perflint("check", "--format", "json", "--output", "report.json", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "PFL201" not in proc.stdout
    report = json.loads(target.read_text(encoding="utf-8"))
    assert [f["code"] for f in report["findings"]] == ["PFL201"]

    proc = run_perflint("check", "--output", "report.txt", cwd=project)
    assert proc.returncode == 1
    assert finding_lines((project / "report.txt").read_text()) == [
        ("app.py", N_PLUS_ONE_LINE, N_PLUS_ONE_COLUMN, "PFL201")]
    assert finding_lines(proc.stdout) == []


def test_output_file_that_cannot_be_written_exits_2(project: Path) -> None:
    proc = run_perflint("check", "--output", "no_such_dir/report.txt", cwd=project)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "no_such_dir/report.txt" in proc.stderr


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    write(tmp_path, "mixed.py", MIXED)
    # Looks like SQL, does not parse: PFL902 (off by default).
    write(tmp_path, "broken_sql.py", 'def f(cur):\n    cur.execute("SELECT FROM WHERE ((( x")\n')
    return tmp_path


def _codes(report: dict) -> list[str]:
    return sorted(f["code"] for f in report["findings"])


def test_default_selection(mixed: Path) -> None:
    _, report, _ = run_json(cwd=mixed)
    assert _codes(report) == ["PFL101", "PFL110", "PFL201"]


def test_select_prefix(mixed: Path) -> None:
    _, report, _ = run_json("--select", "PFL2", cwd=mixed)
    assert _codes(report) == ["PFL201"]
    _, report, _ = run_json("--select", "PFL101,PFL110", cwd=mixed)
    assert _codes(report) == ["PFL101", "PFL110"]


def test_ignore(mixed: Path) -> None:
    _, report, _ = run_json("--ignore", "PFL101", cwd=mixed)
    assert _codes(report) == ["PFL110", "PFL201"]


def test_extend_select_turns_on_an_off_by_default_rule(mixed: Path) -> None:
    _, report, _ = run_json("--extend-select", "PFL902", cwd=mixed)
    assert _codes(report) == ["PFL101", "PFL110", "PFL201", "PFL902"]
    assert [f["path"] for f in report["findings"] if f["code"] == "PFL902"] == ["broken_sql.py"]


def test_unknown_code_in_select_exits_2_naming_it(mixed: Path) -> None:
    proc = run_perflint("check", "--select", "PFL201,PFL999", cwd=mixed)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "PFL999" in proc.stderr
    assert finding_lines(proc.stdout) == []


def test_unknown_code_on_command_line_is_not_blamed_on_pyproject(mixed: Path) -> None:
    write(mixed, "pyproject.toml", '[tool.perflint]\nselect = ["PFL2"]\n')
    proc = run_perflint("check", "--ignore", "NOPE1", cwd=mixed)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "NOPE1" in proc.stderr
    assert "pyproject.toml" not in proc.stderr


def test_noqa(tmp_path: Path) -> None:
    line = N_PLUS_ONE.splitlines()[N_PLUS_ONE_LINE - 1]

    def variant(comment: str) -> str:
        return N_PLUS_ONE.replace(line, f"{line}  {comment}")

    write(tmp_path, "bare.py", variant("# noqa"))
    write(tmp_path, "same_code.py", variant("# noqa: PFL201"))
    write(tmp_path, "prefix.py", variant("# noqa: PFL2"))
    write(tmp_path, "other_code.py", variant("# noqa: PFL101"))
    write(tmp_path, "none.py", N_PLUS_ONE)
    _, report, _ = run_json(cwd=tmp_path)
    assert codes_by_path(report) == {
        "other_code.py": {(N_PLUS_ONE_LINE, "PFL201")},
        "none.py": {(N_PLUS_ONE_LINE, "PFL201")},
    }


def test_rules_lists_every_code() -> None:
    proc = run_perflint("rules", cwd=Path.cwd())
    assert_no_traceback(proc)
    assert proc.returncode == 0
    listed = {}
    for text in proc.stdout.splitlines():
        fields = text.split()
        if fields and fields[0].startswith("PFL"):
            listed[fields[0]] = fields[1]
    codes = all_codes()
    assert len(codes) >= 8
    assert listed == {code: rule_class(code).name for code in codes}


@pytest.mark.parametrize("code", all_codes())
def test_explain_prints_the_rule_documentation(code: str, tmp_path: Path) -> None:
    proc = run_perflint("explain", code, cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0
    out = proc.stdout
    assert code in out and rule_class(code).name in out
    sections = ["## What it does", "## Why is this bad?", "## Example", "## Use instead"]
    positions = [out.find(section) for section in sections]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions), "sections out of order"


def test_explain_by_name_and_case_insensitively(tmp_path: Path) -> None:
    by_code = run_perflint("explain", "PFL201", cwd=tmp_path)
    by_name = run_perflint("explain", "n-plus-one", cwd=tmp_path)
    lower = run_perflint("explain", "pfl201", cwd=tmp_path)
    assert by_code.returncode == by_name.returncode == lower.returncode == 0
    assert rule_class("PFL201").documentation().strip() in by_code.stdout
    assert by_name.stdout == by_code.stdout == lower.stdout


@pytest.mark.parametrize("code", ["PFL999", "no-such-rule"])
def test_explain_unknown_rule_exits_2(code: str, tmp_path: Path) -> None:
    proc = run_perflint("explain", code, cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert code in proc.stderr


def test_sort_by_score_then_by_location(mixed: Path) -> None:
    _, by_score, _ = run_json("mixed.py", cwd=mixed)
    scores = [f["score"] for f in by_score["findings"]]
    assert scores == sorted(scores, reverse=True)
    assert by_score["findings"][0]["code"] == "PFL201"  # the N+1 in a loop outranks the rest

    proc = run_perflint("check", "--sort", "location", cwd=mixed)
    located = finding_lines(proc.stdout)
    assert len(located) == 3
    assert located == sorted(located)
    assert located[-1][3] == "PFL201"
    # Same findings either way.
    assert sorted(located) == sorted((f["path"], f["line"], f["column"], f["code"])
                                     for f in by_score["findings"])


# -- [tool.perflint] in pyproject.toml --------------------------------------------------------
@pytest.fixture
def configured(tmp_path: Path) -> Path:
    write(tmp_path, "app.py", MIXED)
    write(tmp_path, "legacy/old.py", N_PLUS_ONE)
    write(tmp_path, "generated/models.py", N_PLUS_ONE)
    return tmp_path


def _pyproject(root: Path, body: str) -> None:
    write(root, "pyproject.toml", "[project]\nname = 'demo'\n\n[tool.perflint]\n" + body)


def test_config_select(configured: Path) -> None:
    _pyproject(configured, 'select = ["PFL2"]\n')
    _, report, _ = run_json(cwd=configured)
    assert {f["code"] for f in report["findings"]} == {"PFL201"}
    assert len(report["findings"]) == 3


def test_config_ignore(configured: Path) -> None:
    _pyproject(configured, 'ignore = ["PFL101", "PFL110"]\n')
    _, report, _ = run_json(cwd=configured)
    assert {f["code"] for f in report["findings"]} == {"PFL201"}


def test_cli_ignore_adds_to_config_ignore(configured: Path) -> None:
    _pyproject(configured, 'ignore = ["PFL101"]\n')
    _, report, _ = run_json("--ignore", "PFL110", cwd=configured)
    assert {f["code"] for f in report["findings"]} == {"PFL201"}


def test_cli_select_replaces_config_select(configured: Path) -> None:
    _pyproject(configured, 'select = ["PFL2"]\n')
    _, report, _ = run_json("--select", "PFL101", cwd=configured)
    assert {f["code"] for f in report["findings"]} == {"PFL101"}


def test_config_per_file_ignores(configured: Path) -> None:
    _pyproject(configured, '[tool.perflint.per-file-ignores]\n"legacy/*.py" = ["PFL201"]\n')
    _, report, _ = run_json(cwd=configured)
    found = codes_by_path(report)
    assert "legacy/old.py" not in found
    assert (N_PLUS_ONE_LINE, "PFL201") in found["generated/models.py"]
    assert {code for _, code in found["app.py"]} == {"PFL101", "PFL110", "PFL201"}


def test_config_exclude(configured: Path) -> None:
    _pyproject(configured, 'exclude = ["generated", "legacy/old.py"]\n')
    _, report, _ = run_json(cwd=configured)
    assert set(codes_by_path(report)) == {"app.py"}
    assert report["stats"]["files"] == 1


def test_config_is_found_from_a_subdirectory(configured: Path) -> None:
    _pyproject(configured, 'select = ["PFL1"]\n')
    _, report, _ = run_json("--no-cache", cwd=configured / "legacy")
    assert report["findings"] == []  # old.py has only a PFL201, which is not selected


def test_command_line_overrides_config(configured: Path) -> None:
    _pyproject(configured, 'select = ["PFL2"]\n')
    _, report, _ = run_json("--select", "PFL101", "app.py", cwd=configured)
    assert _codes(report) == ["PFL101"]


def test_explicit_config_option(configured: Path) -> None:
    write(configured, "conf/custom.toml", '[tool.perflint]\nselect = ["PFL110"]\n')
    _, report, _ = run_json("--config", "conf/custom.toml", cwd=configured)
    assert _codes(report) == ["PFL110"]


@pytest.mark.parametrize(("body", "expected"), [
    ('selekt = ["PFL2"]\n', "selekt"),
    ('select = ["PFL2"]\nnot-a-setting = 1\n', "not-a-setting"),
])
def test_config_unknown_key_exits_2_naming_it(configured: Path, body: str, expected: str) -> None:
    _pyproject(configured, body)
    proc = run_perflint("check", cwd=configured)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert finding_lines(proc.stdout) == []


@pytest.mark.parametrize(("body", "expected"), [
    ('select = "PFL2"\n', "select"),
    ('small-literal-max = "ten"\n', "small-literal-max"),
    ('small-literal-max = true\n', "small-literal-max"),
    ('respect-gitignore = "yes"\n', "respect-gitignore"),
    ('exclude = [1, 2]\n', "exclude"),
    ('per-file-ignores = ["legacy"]\n', "per-file-ignores"),
    ('[tool.perflint.per-file-ignores]\n"legacy/*" = 3\n', "legacy/*"),
    ('min-confidence = "certain"\n', "min-confidence"),
    ('select = ["PFL7"]\n', "PFL7"),
])
def test_config_wrong_type_or_value_exits_2(configured: Path, body: str, expected: str) -> None:
    _pyproject(configured, body)
    proc = run_perflint("check", cwd=configured)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "pyproject.toml" in proc.stderr


@pytest.mark.parametrize("text", [
    "[tool.perflint\nselect = ['PFL2']\n",
    "[tool.perflint]\nselect = ['PFL2'\n",
    "[tool.perflint]\nselect = ['PFL2']\nselect = ['PFL1']\n",
])
def test_invalid_toml_exits_2_with_a_clear_message(configured: Path, text: str) -> None:
    write(configured, "pyproject.toml", text)
    proc = run_perflint("check", cwd=configured)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "pyproject.toml" in proc.stderr
    assert "not valid TOML" in proc.stderr


def test_undecodable_pyproject_exits_2(configured: Path) -> None:
    write(configured, "pyproject.toml", b"\xff\xfe[tool.perflint]\n")
    proc = run_perflint("check", cwd=configured)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "pyproject.toml" in proc.stderr


def test_pyproject_whose_tool_is_not_a_table_is_not_perflints_business(configured: Path) -> None:
    write(configured, "pyproject.toml", "tool = 5\n")
    proc = run_perflint("check", cwd=configured)
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "PFL201" in proc.stdout
