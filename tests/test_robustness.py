"""Acceptance: bad input degrades to a PFL901 finding (or nothing), never a crash, and the
other files of the same run are still reported (DESIGN.md: "Never crash on input")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perflint.analyze import MAX_BRACKET_DEPTH, MAX_CHAIN_DEPTH, nesting_problem
from tests.cli_support import (
    N_PLUS_ONE, N_PLUS_ONE_LINE, codes_by_path, run_json, write,
)
from tests.conftest import ROOT

LATIN1 = (
    "# -*- coding: latin-1 -*-\n"
    '"""Données: café, crème brûlée."""\n'
    "\n"
    "\n"
    "def prix(cursor, ids):\n"
    "    résultats = []\n"
    "    for i in ids:\n"
    '        résultats.append(cursor.execute("SELECT prix FROM menu WHERE id = %s", (i,)))  # é\n'
    "    return résultats\n"
).encode("latin-1")
LATIN1_LINE = 8
LATIN1_COLUMN = len("        résultats.append(") + 1  # characters, not bytes

HUGE_FUNCTIONS = 20_000


def _huge() -> str:
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(HUGE_FUNCTIONS))
    return body + "\n\n" + N_PLUS_ONE


HUGE_LINE = 2 * HUGE_FUNCTIONS + 2 + N_PLUS_ONE_LINE

# Shapes of pathological nesting. Handed to LibCST's native parser unguarded, each one
# crashes it (SIGSEGV) or, for the longest chains, keeps it busy for minutes (its time
# grows quadratically) before crashing.
DEEP = {
    "deep_parens.py": "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "deep_lists.py": "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "deep_calls.py": "x = " + "f(" * 5000 + ")" * 5000 + "\n",
    "deep_dicts.py": "x = " + "{1: " * 3000 + "1" + "}" * 3000 + "\n",
    "long_sum.py": "x = 1" + " + 1" * 50_000 + "\n",
    "long_unary.py": "x = " + "-" * 50_000 + "1\n",
    "long_invert.py": "x = " + "~" * 50_000 + "1\n",
    "long_not.py": "x = " + "not " * 20_000 + "1\n",
    "long_lambda.py": "f = " + "lambda: " * 5000 + "1\n",
    "long_subscript.py": "x = a" + "[0]" * 5000 + "\n",
    "long_attribute.py": "x = a" + ".b" * 50_000 + "\n",
    "long_and.py": "x = a" + " and a" * 50_000 + "\n",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("robustness")
    write(root, "good.py", N_PLUS_ONE)
    write(root, "syntax_error.py", "def broken(:\n    pass\n\n" + N_PLUS_ONE)
    write(root, "python2.py", 'print "hello"\n')
    write(root, "latin1.py", LATIN1)
    write(root, "empty.py", "")
    write(root, "only_comment.py", "# nothing here\n")
    write(root, "nul_byte.py", b"x = 1\x00\n" + N_PLUS_ONE.encode())
    write(root, "bad_utf8.py", b"x = '\xff\xfe'\n" + N_PLUS_ONE.encode())
    write(root, "unknown_cookie.py", b"# -*- coding: no-such-codec -*-\n" + N_PLUS_ONE.encode())
    write(root, "crlf.py", N_PLUS_ONE.replace("\n", "\r\n"))
    write(root, "bom.py", b"\xef\xbb\xbf" + N_PLUS_ONE.encode())
    for name, text in DEEP.items():
        write(root, name, text)
    write(root, "huge.py", _huge())
    write(root, "bad_sql.py", (
        "def f(cursor):\n"
        '    cursor.execute("SELECT FROM WHERE ((( bogus")\n'
        '    cursor.execute("DELETE FROM")\n'
        '    cursor.execute("SELECT \'unterminated FROM t")\n'
        '    cursor.execute("\\x00SELECT * FROM \\x01")\n'
    ))
    write(root, "bad.sql", "SELECT FROM WHERE (((;\nSELECT id FROM t WHERE id NOT IN (SELECT x FROM y);\n")
    write(root, "binary.sql", b"\x00\x01\x02\xff" * 100)
    unreadable = write(root, "unreadable.py", N_PLUS_ONE)
    unreadable.chmod(0)
    (root / "dangling.py").symlink_to(root / "no_such_target.py")
    (root / "loop_a.py").symlink_to(root / "loop_b.py")
    (root / "loop_b.py").symlink_to(root / "loop_a.py")
    # A directory whose name ends in .py: walked as a directory, its files are checked.
    write(root, "x.py/inner.py", N_PLUS_ONE)
    yield root
    unreadable.chmod(0o644)


def _unreadable_for_us(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True  # root reads a chmod 000 file anyway


@pytest.fixture(scope="module")
def reports(tree: Path) -> dict[str, dict[str, Any]]:
    """One run in the main process, one through the process pool."""
    results = {}
    for mode, jobs in (("serial", "1"), ("parallel", "2")):
        code, result, stderr = run_json("--no-cache", "--jobs", jobs, "--extend-select", "PFL902",
                                        cwd=tree, timeout=300)
        assert code == 1, stderr
        result["_stderr"] = stderr
        results[mode] = result
    return results


@pytest.fixture(params=["serial", "parallel"])
def report(request: pytest.FixtureRequest, reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return reports[request.param]


def _only_pfl901(found: dict[str, set[tuple[int, str]]], path: str) -> None:
    assert path in found, f"{path}: no PFL901"
    assert {code for _, code in found[path]} == {"PFL901"}, found[path]


def test_other_files_are_still_reported(report: dict[str, Any]) -> None:
    found = codes_by_path(report)
    assert found["good.py"] == {(N_PLUS_ONE_LINE, "PFL201")}
    assert found["x.py/inner.py"] == {(N_PLUS_ONE_LINE, "PFL201")}
    assert found["crlf.py"] == {(N_PLUS_ONE_LINE, "PFL201")}
    assert found["bom.py"] == {(N_PLUS_ONE_LINE, "PFL201")}


@pytest.mark.parametrize("path", ["syntax_error.py", "python2.py", "nul_byte.py"])
def test_unparseable_python_is_one_pfl901(report: dict[str, Any], path: str) -> None:
    found = codes_by_path(report)
    _only_pfl901(found, path)
    assert len(found[path]) == 1


def test_syntax_error_position(report: dict[str, Any]) -> None:
    (finding,) = [f for f in report["findings"] if f["path"] == "syntax_error.py"]
    assert (finding["line"], finding["code"]) == (1, "PFL901")
    assert "syntax" in finding["message"].lower()


def test_latin1_file_is_analysed(report: dict[str, Any]) -> None:
    found = [f for f in report["findings"] if f["path"] == "latin1.py"]
    assert [(f["code"], f["line"], f["column"]) for f in found] == [
        ("PFL201", LATIN1_LINE, LATIN1_COLUMN)]


@pytest.mark.parametrize("path", ["bad_utf8.py", "unknown_cookie.py"])
def test_undecodable_python_gives_pfl901_or_its_findings(report: dict[str, Any], path: str) -> None:
    found = codes_by_path(report).get(path, set())
    assert found, f"{path}: neither PFL901 nor the N+1"
    assert {code for _, code in found} <= {"PFL901", "PFL201"}


@pytest.mark.parametrize("path", ["empty.py", "only_comment.py"])
def test_empty_files_have_no_findings(report: dict[str, Any], path: str) -> None:
    assert path not in codes_by_path(report)


@pytest.mark.parametrize("path", sorted(DEEP))
def test_deep_nesting_is_a_pfl901_not_a_crash(report: dict[str, Any], path: str) -> None:
    _only_pfl901(codes_by_path(report), path)
    (finding,) = [f for f in report["findings"] if f["path"] == path]
    assert "nest" in finding["message"]


def test_huge_file_is_analysed(report: dict[str, Any]) -> None:
    assert codes_by_path(report)["huge.py"] == {(HUGE_LINE, "PFL201")}


def test_invalid_sql_is_at_most_pfl902(report: dict[str, Any]) -> None:
    found = codes_by_path(report)
    assert {code for _, code in found.get("bad_sql.py", set())} <= {"PFL902"}
    assert (2, "PFL902") in found["bad_sql.py"]
    # In a .sql file the bad statement costs itself, not the next statement.
    assert (2, "PFL102") in found["bad.sql"]
    assert {code for _, code in found["bad.sql"]} <= {"PFL102", "PFL901", "PFL902"}
    assert {code for _, code in found.get("binary.sql", set())} <= {"PFL901", "PFL902"}


def test_unreadable_and_dangling_files_are_pfl901_not_crashes(report: dict[str, Any], tree: Path) -> None:
    found = codes_by_path(report)
    messages = {f["path"]: f["message"] for f in report["findings"] if f["code"] == "PFL901"}
    assert found["dangling.py"] == {(1, "PFL901")}
    assert "cannot read" in messages["dangling.py"]
    if _unreadable_for_us(tree / "unreadable.py"):
        assert found["unreadable.py"] == {(1, "PFL901")}
        assert "cannot read" in messages["unreadable.py"]
    else:  # running as root: the file can be read, so it is analysed
        assert found["unreadable.py"] == {(N_PLUS_ONE_LINE, "PFL201")}
    # Symlink loops are skipped, not followed forever.
    assert not any(path.startswith("loop_") for path in found)


def test_serial_and_parallel_agree(reports: dict[str, dict[str, Any]]) -> None:
    serial, parallel = reports["serial"], reports["parallel"]
    assert serial["findings"] == parallel["findings"]
    assert serial["errors"] == parallel["errors"]


# -- the nesting guard itself -----------------------------------------------------------------
def test_nesting_guard_flags_every_crashing_shape() -> None:
    for name, text in DEEP.items():
        problem = nesting_problem(text.encode())
        assert problem is not None, name
        message, line, column = problem
        assert line == 1 and column > 1, (name, problem)


def test_nesting_guard_ignores_strings_and_comments() -> None:
    assert nesting_problem(b"x = 1\n" * 10 + b"s = '" + b"(" * 5000 + b"'\n") is None
    assert nesting_problem(b's = """\n' + b"[" * 5000 + b'\n"""\n') is None
    assert nesting_problem(b"# " + b"{" * 5000 + b"\nx = 1\n") is None
    assert nesting_problem(b"s = '\\'" + b"(" * 5000 + b"'\n") is None
    assert nesting_problem(b"x = 1 + 1\n" * 5000) is None  # many short statements
    items = b", ".join(b"a.b + c[d] - e(f)" for _ in range(5000))
    assert nesting_problem(b"x = [" + items + b"]\n") is None  # wide, not deep


def test_nesting_guard_position() -> None:
    text = b"a = 1\nb = 2\nx = " + b"(" * (MAX_BRACKET_DEPTH + 1) + b"1" + b")" * (MAX_BRACKET_DEPTH + 1)
    assert nesting_problem(text) == ("too many nested parentheses", 3, 5 + MAX_BRACKET_DEPTH)
    assert nesting_problem(b"x = " + b"(" * MAX_BRACKET_DEPTH + b"1" + b")" * MAX_BRACKET_DEPTH) is None


def _python_files(*roots: Path) -> list[Path]:
    return [path for root in roots for path in sorted(root.rglob("*.py"))]


def test_nesting_guard_accepts_real_code() -> None:
    stdlib = Path(os.__file__).parent
    files = _python_files(ROOT / "perflint", ROOT / "rules", ROOT / "tests", ROOT / "fixtures",
                          stdlib / "json", stdlib / "email", stdlib / "asyncio")
    files += [stdlib / "pydoc_data" / "topics.py", stdlib / "_pydecimal.py", stdlib / "typing.py",
              stdlib / "test" / "test_grammar.py"]
    assert len(files) > 100
    flagged = [(path, problem) for path in files if path.is_file()
               if (problem := nesting_problem(path.read_bytes())) is not None]
    assert flagged == []


_BELOW_LIMIT = f"""
import sys
from perflint.analyze import nesting_problem
from perflint.pyfile import analyze_python
from perflint.config import Config
from perflint.rulepack import RulePack

chain = {MAX_CHAIN_DEPTH}
shapes = {{
    "parens": "x = " + "(" * {MAX_BRACKET_DEPTH} + "1" + ")" * {MAX_BRACKET_DEPTH},
    "lambda": "f = " + "lambda: " * (chain - 5),
    "subscript": "x = a" + "[0]" * (chain // 2 - 5),
    "unary": "x = " + "-" * (chain - 10) + "1",
    "sum": "x = 1" + " + 1" * (chain - 10),
    "parens+lambda": "x = " + "(" * 150 + "lambda: " * (chain - 320) + "1" + ")" * 150,
}}
config = Config()
pack = RulePack.for_codes(config.enabled_codes())
for name, text in shapes.items():
    if name == "lambda":
        text += "1"
    data = (text + "\\n").encode()
    assert nesting_problem(data) is None, name
    analyze_python(name + ".py", data, config, pack)  # must return, whatever it finds
    print(name, "ok", flush=True)
"""


def test_input_just_below_the_guard_does_not_crash_the_parser(tmp_path: Path) -> None:
    """The guard's limits are safe for the installed LibCST: input just under them is
    handed to the parser, which must come back (a SIGSEGV here means the limits are too high)."""
    proc = subprocess.run([sys.executable, "-c", _BELOW_LIMIT], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-2000:]}"
    assert proc.stdout.count(" ok") == 6
