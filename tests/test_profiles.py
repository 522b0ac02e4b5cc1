"""Measured weights: cProfile/pstats, py-spy speedscope and collapsed stacks
(perflint.profiles), and pg_stat_statements exports (perflint.pgstat).

Real tool output where the tool runs here: cProfile live on fixtures/profiles/workload,
py-spy recordings stored in fixtures/profiles (and live when ``py-spy`` is on PATH or
named by $PYSPY), a PostgreSQL 15 export stored in fixtures/profiles. Inputs marked
HAND-WRITTEN follow the documented formats where no tool here writes them.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perflint.pgstat import QueryHeat, fingerprint, load_pg_stat_statements
from perflint.profiles import FunctionHeat, ProfileError, ProfiledFunction, load_profile
from tests.conftest import FIXTURES

PROFILES = FIXTURES / "profiles"
REPO = "shop/repo.py"


def _workload(tmp_path: Path) -> Path:
    """A copy of the workload somewhere else: its paths are not the project's."""
    root = tmp_path / "srv" / "app"
    shutil.copytree(PROFILES / "workload", root)
    return root


def _assert_workload_shares(heat: FunctionHeat, *, qualified_names: bool) -> None:
    """What any correct profile of fixtures/profiles/workload shows."""
    handler = heat.share_of(REPO, "handler")
    get_user = heat.share_of(REPO, "Repo.get_user")
    depth = heat.share_of(REPO, "depth")
    assert all(0.0 <= f.share <= 1.0 for f in heat.functions)
    assert handler > 0.8  # the loop runs handler; everything else is start-up
    assert 0.1 < get_user <= handler
    # ~31 frames of depth() per sample inside it: still counted once per sample
    assert 0.05 < depth <= handler
    assert heat.share_of(REPO, "cold") < 0.05
    assert heat.share_of(REPO, "no_such_function") == 0.0
    assert heat.share_of("elsewhere/repo.py", "handler") == 0.0  # file name alone is not enough
    assert heat.share_of("src/shop/repo.py", "handler") == handler  # longer project path
    assert heat.share_of("shop\\repo.py", "handler") == handler
    if qualified_names:  # py-spy on 3.11+ reports co_qualname: Cache.get_user is told apart
        assert heat.share_of(REPO, "Cache.get_user") < get_user
    else:  # pstats only has co_name: both get_user methods match, the larger wins
        assert heat.share_of(REPO, "Cache.get_user") == get_user


# -- cProfile / pstats (real, live) ----------------------------------------------------

def test_cprofile_dump_of_a_real_run(tmp_path: Path) -> None:
    root = _workload(tmp_path)
    dump = tmp_path / "out.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(dump), "main.py", "0.4"],
                   cwd=root, check=True, timeout=120)
    heat = load_profile(dump)
    assert heat.format == "pstats"
    assert heat.total > 0.3
    _assert_workload_shares(heat, qualified_names=False)
    # pstats records first lines, and absolute paths from the profiled machine
    handler = next(f for f in heat.functions if f.name == "handler")
    source = (root / "shop" / "repo.py").read_text().splitlines()
    assert handler.line == source.index("def handler(ids):") + 1
    assert handler.path == (root / "shop" / "repo.py").as_posix()
    assert heat.share_of("main.py", "") > 0.9  # module-level code: the <module> frame


# -- py-spy (real recordings in fixtures/profiles, and live when available) -----------

def test_pyspy_speedscope_recording() -> None:
    heat = load_profile(PROFILES / "pyspy_speedscope.json")
    assert heat.format == "speedscope"
    assert heat.total == pytest.approx(1.58)  # seconds: 158 samples of 0.01 s
    _assert_workload_shares(heat, qualified_names=True)
    assert {f.line for f in heat.functions} == {None}  # py-spy's lines are sample lines


def test_pyspy_raw_recording() -> None:
    heat = load_profile(PROFILES / "pyspy_raw.txt")
    assert heat.format == "collapsed"
    assert heat.total == 146  # samples, the empty-stack line " 2" included
    _assert_workload_shares(heat, qualified_names=True)
    assert any(f.path == REPO for f in heat.functions)  # py-spy shortened the path


def _py_spy() -> str | None:
    return os.environ.get("PYSPY") or shutil.which("py-spy")


@pytest.mark.parametrize("fmt, suffix", [("speedscope", "json"), ("raw", "txt")])
def test_pyspy_live(tmp_path: Path, fmt: str, suffix: str) -> None:
    py_spy = _py_spy()
    if py_spy is None:
        pytest.skip("py-spy not installed (set $PYSPY to its path)")
    root = _workload(tmp_path)
    out = tmp_path / f"out.{suffix}"
    done = subprocess.run([py_spy, "record", "-r", "200", "-f", fmt, "-o", str(out), "--",
                           sys.executable, "main.py", "1.0"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.exists():
        pytest.skip(f"py-spy cannot record here: {done.stderr.strip()[-300:]}")
    _assert_workload_shares(load_profile(out), qualified_names=True)


# -- HAND-WRITTEN inputs: formats and matching rules -----------------------------------

def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_collapsed_recursion_counts_once(tmp_path: Path) -> None:
    """HAND-WRITTEN folded stacks, py-spy's frame syntax and bare names (perf style)."""
    path = _write(tmp_path, "stacks.txt", (
        "main (/srv/app/main.py:3);fib (/srv/app/shop/math.py:2);fib (/srv/app/shop/math.py:4);"
        "fib (/srv/app/shop/math.py:4) 6\n"
        "main (/srv/app/main.py:3);slow (/srv/app/shop/math.py:9) 3\n"
        "\n"
        "python;_PyEval_EvalFrameDefault 1\n"
    ))
    heat = load_profile(path)
    assert heat.total == 10
    assert heat.share_of("shop/math.py", "fib") == pytest.approx(0.6)
    assert heat.share_of("shop/math.py", "slow") == pytest.approx(0.3)
    assert heat.share_of("main.py", "main") == pytest.approx(0.9)
    assert heat.share_of("shop/python", "python") == 0.0  # no file: matches nothing


def test_speedscope_evented_and_units(tmp_path: Path) -> None:
    """HAND-WRITTEN speedscope: an evented profile in milliseconds (recursive frame 1)
    and a sampled one in seconds; both are summed in seconds."""
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [
            {"name": "handler", "file": "/srv/app/shop/views.py", "line": 10},
            {"name": "walk", "file": "/srv/app/shop/tree.py", "line": 1},
            {"name": "render", "file": "/srv/app/shop/views.py", "line": 30},
        ]},
        "profiles": [
            {"type": "evented", "name": "main", "unit": "milliseconds", "startValue": 0, "endValue": 1000,
             "events": [
                 {"type": "O", "frame": 0, "at": 0},
                 {"type": "O", "frame": 1, "at": 100},
                 {"type": "O", "frame": 1, "at": 200},
                 {"type": "C", "frame": 1, "at": 300},
                 {"type": "C", "frame": 1, "at": 400},
                 {"type": "O", "frame": 2, "at": 500},
                 # render and handler still open when recording stopped: closed at endValue
             ]},
            {"type": "sampled", "name": "worker", "unit": "seconds", "startValue": 0, "endValue": 1,
             "samples": [[2], [0, 2], []], "weights": [0.25, 0.5, 0.25]},
        ],
    }
    heat = load_profile(_write(tmp_path, "profile.speedscope.json", json.dumps(document)))
    assert heat.total == pytest.approx(2.0)
    assert heat.share_of("shop/views.py", "handler") == pytest.approx((1.0 + 0.5) / 2)
    assert heat.share_of("shop/tree.py", "walk") == pytest.approx(0.3 / 2)  # 100..400, once
    assert heat.share_of("shop/views.py", "render") == pytest.approx((0.5 + 0.75) / 2)


def _heat(*functions: tuple[str, str, float]) -> FunctionHeat:
    return FunctionHeat("test", "collapsed", tuple(ProfiledFunction(p, n, None, s) for p, n, s in functions))


def test_path_matching_takes_the_longest_common_tail() -> None:
    heat = _heat(("/srv/a/src/shop/app.py", "handler", 0.2),
                 ("/srv/b/lib/shop/app.py", "handler", 0.7),
                 ("/usr/lib/python3/site-packages/other/app.py", "handler", 0.9))
    assert heat.share_of("src/shop/app.py", "handler") == 0.2  # three components beat two
    assert heat.share_of("shop/app.py", "handler") == 0.7  # a tie on two: the maximum
    assert heat.share_of("other/app.py", "handler") == 0.9
    assert heat.share_of("x/app.py", "handler") == 0.0  # only the file name in common
    assert heat.share_of("app.py", "handler") == 0.9  # a root-level project file: the file name is all there is
    bare = _heat(("app.py", "handler", 0.4))  # a profile that recorded the file name only
    assert bare.share_of("shop/app.py", "handler") == 0.4
    assert heat.share_of("", "handler") == 0.0


def test_name_matching() -> None:
    heat = _heat(("/srv/shop/repo.py", "get_user", 0.3),  # pstats: co_name
                 ("/srv/shop/repo.py", "Cache.get_user", 0.6),  # py-spy: co_qualname
                 ("/srv/shop/repo.py", "outer.<locals>.inner", 0.1),
                 ("/srv/shop/repo.py", "<module>", 0.05))
    assert heat.share_of("shop/repo.py", "Repo.get_user") == 0.3  # Cache.get_user disagrees
    assert heat.share_of("shop/repo.py", "Cache.get_user") == 0.6
    assert heat.share_of("shop/repo.py", "get_user") == 0.6
    assert heat.share_of("shop/repo.py", "outer.inner") == 0.1  # perflint's qualname has no <locals>
    assert heat.share_of("shop/repo.py", "") == 0.05
    assert heat.share_of("shop/repo.py", "inner") == 0.1


def test_empty_total_gives_zero_shares(tmp_path: Path) -> None:
    """HAND-WRITTEN speedscope with no samples."""
    document = {"shared": {"frames": [{"name": "f", "file": "/a/b/c.py"}]},
                "profiles": [{"type": "sampled", "unit": "none", "startValue": 0, "endValue": 0,
                              "samples": [], "weights": []}]}
    heat = load_profile(_write(tmp_path, "empty.json", json.dumps(document)))
    assert heat.total == 0 and heat.share_of("b/c.py", "f") == 0.0


# -- malformed profiles: a ProfileError naming the file, never a traceback ---------------

MALFORMED = {
    "empty": b"",
    "blank": b"  \n\n",
    "gzip": b"\x1f\x8b\x08\x00rest",
    "binary garbage": b"\x00\x01\x02garbage\xff",
    "marshal list": marshal.dumps([1, 2, 3]),
    "marshal wrong shape": marshal.dumps({("a.py", 1, "f"): (1, 2)}),
    "marshal bad key": marshal.dumps({"f": (1, 1, 0.1, 0.2, {})}),
    "truncated marshal": marshal.dumps({("a.py", 1, "f"): (1, 1, 0.1, 0.2, {})})[:-3],
    "text": b"Hello, this is not a profile\n",
    "csv": b"query,calls,total_exec_time\nSELECT 1,1,1\n",
    "bad folded line": b"a;b 3\na;c 2\na;d three\n",
    "counts only": b"3\n4\n",
    "truncated json": b'{"shared": {"frames": [',
    "json list": b'[{"name": "chrometrace event"}]',
    "json without profiles": b'{"frames": []}',
    "speedscope frames not a list": b'{"shared": {"frames": 3}, "profiles": []}',
    "speedscope frame without name": b'{"shared": {"frames": [{"file": "a.py"}]}, "profiles": []}',
    "speedscope unknown type": b'{"shared": {"frames": []}, "profiles": [{"type": "flat"}]}',
    "speedscope bad frame index": (b'{"shared": {"frames": [{"name": "f"}]}, "profiles": [{"type": "sampled",'
                                   b' "samples": [[0, 5]], "weights": [1]}]}'),
    "speedscope weights mismatch": (b'{"shared": {"frames": [{"name": "f"}]}, "profiles": [{"type": "sampled",'
                                    b' "samples": [[0]], "weights": [1, 2]}]}'),
    "speedscope unbalanced events": (b'{"shared": {"frames": [{"name": "f"}, {"name": "g"}]}, "profiles": ['
                                     b'{"type": "evented", "startValue": 0, "endValue": 5, "events": ['
                                     b'{"type": "O", "frame": 0, "at": 0}, {"type": "C", "frame": 1, "at": 1}]}]}'),
    "speedscope events out of order": (b'{"shared": {"frames": [{"name": "f"}]}, "profiles": ['
                                       b'{"type": "evented", "startValue": 0, "endValue": 5, "events": ['
                                       b'{"type": "O", "frame": 0, "at": 3}, {"type": "C", "frame": 0, "at": 1}]}]}'),
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_profile(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path, "broken.prof", content)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message and "Traceback" not in message


def test_malformed_messages_say_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"line 3: malformed collapsed stack: 'a;d three'"):
        load_profile(_write(tmp_path, "a.txt", MALFORMED["bad folded line"]))
    with pytest.raises(ProfileError, match=r"not a recognised profile.*cProfile.*speedscope.*collapsed"):
        load_profile(_write(tmp_path, "b.txt", MALFORMED["text"]))
    with pytest.raises(ProfileError, match=r"not a speedscope profile"):
        load_profile(_write(tmp_path, "c.json", MALFORMED["json list"]))
    with pytest.raises(ProfileError, match=r"not a cProfile/pstats dump"):
        load_profile(_write(tmp_path, "d.prof", MALFORMED["binary garbage"]))


def test_unreadable_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "missing.prof")
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path)


# -- pg_stat_statements ------------------------------------------------------------------

@pytest.fixture(scope="module")
def pgss() -> QueryHeat:
    return load_pg_stat_statements(PROFILES / "pg_stat_statements.csv")


JOIN_TOTAL = 1943.67831  # the multi-line join's total_exec_time in the export


def test_export_is_read_whole(pgss: QueryHeat) -> None:
    assert len(pgss.queries) == 17
    join = pgss.queries[0]
    assert join.query.startswith("SELECT o.id, o.total\n  FROM orders o\n") and join.query.endswith("LIMIT $3")
    assert (join.calls, join.total_time, join.rows, join.toplevel) == (40, JOIN_TOTAL, 670, True)
    assert join.mean_time == pytest.approx(48.59195775)
    # statements run inside a PL/pgSQL function are in their caller's time already
    nested = [stat for stat in pgss.queries if not stat.toplevel]
    assert nested and pgss.total_time == pytest.approx(sum(s.total_time for s in pgss.queries if s.toplevel))


@pytest.mark.parametrize("project_sql", [
    # the app's spelling of the export's multi-line join: psycopg2 named parameter
    """select o.id, o.total from orders o join users u on u.id = o.user_id
       where u.email = %(email)s and o.created_at > now() - interval '30 days'
       order by o.created_at desc limit 20""",
    # literals, other whitespace and keyword case, a comment, the ON sides' names quoted
    "SELECT o.id,o.total FROM orders o JOIN users u ON \"u\".\"id\" = o.user_id -- recent orders\n"
    "WHERE u.email = 'someone@example.com' AND o.created_at > NOW() - INTERVAL '90 days' "
    "ORDER BY o.created_at DESC LIMIT 50",
    # sqlite/DB-API qmark style and asyncpg numbering
    "SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = ? "
    "AND o.created_at > now() - interval '1 day' ORDER BY o.created_at DESC LIMIT ?",
    "SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = $1 "
    "AND o.created_at > now() - $2::interval ORDER BY o.created_at DESC LIMIT $3",
])
def test_project_query_matches_the_export(pgss: QueryHeat, project_sql: str) -> None:
    assert pgss.share_of(project_sql) == pytest.approx(JOIN_TOTAL / pgss.total_time)
    match = pgss.match(project_sql)
    assert match is not None and match.calls == 40 and match.rows == 1


def test_in_lists_of_any_length_are_one_query(pgss: QueryHeat) -> None:
    """PostgreSQL 15 keeps IN lists of 3 and 5 values apart; the code has one query."""
    match = pgss.match("SELECT id, user_id, total FROM orders WHERE user_id IN %s")
    assert match is not None and match.rows == 2 and match.calls == 40
    assert pgss.share_of("select id, user_id, total from orders where user_id in (1, 2)") == match.share


def test_typed_constants_and_signs(pgss: QueryHeat) -> None:
    """The export shows ``DATE $1``, ``$2`` for ``-1`` and ``$3::int[]`` for an array literal."""
    assert pgss.share_of("SELECT count(*) FROM orders WHERE created_at > %s") > 0
    assert pgss.share_of("SELECT count(*) FROM orders WHERE created_at > timestamptz '2024-05-01' "
                         "AND total > -5 AND user_id = ANY(%s)") > 0
    assert pgss.share_of("SELECT count(*) FROM orders WHERE user_id IS NOT NULL "
                         "AND (total > 5) IS TRUE AND user_id <> NULL AND false") > 0


def test_unmatched_and_unparseable(pgss: QueryHeat) -> None:
    assert pgss.share_of("SELECT id FROM users WHERE email = %s") == 0.0
    assert pgss.share_of("SELECT id, name FROM users WHERE id = %s AND name = %s") == 0.0
    assert pgss.share_of("this is not SQL") == 0.0
    assert pgss.match("SELEC id FROM users") is None
    assert 0 < pgss.share_of("SELECT id, name FROM users WHERE id = 7") < 0.01


def test_fingerprint() -> None:
    same = [
        "SELECT id, name FROM users WHERE id = 42",
        "select id,\n   name\nfrom USERS where id=%s",
        'SELECT id, name FROM "users" WHERE id = $1 /* by id */',
        "SELECT id, name FROM users WHERE id = :user_id",
        "SELECT id, name FROM users WHERE id = %(user_id)s",
        "SELECT id, name FROM users WHERE id = ?",
        "SELECT id, name FROM users WHERE id = __pfl_hole_1__",  # perflint's f-string hole
    ]
    assert len({fingerprint(text) for text in same}) == 1
    assert fingerprint(same[0]) == "SELECT id, name FROM users WHERE id = %s"
    different = [
        "SELECT id, name FROM users WHERE email = %s",
        'SELECT id, name FROM "Users" WHERE id = %s',  # quoted: a different table in PostgreSQL
        "SELECT id FROM users WHERE id = %s",
        "SELECT id, name FROM users WHERE id IS NULL",
    ]
    assert len({fingerprint(text) for text in [same[0], *different]}) == 5
    assert fingerprint("UPDATE t SET a = -1, b = NULL WHERE c IS NULL") == \
        fingerprint("update t set a = $1, b = $2 where c is null")
    assert fingerprint("INSERT INTO t (a, b) VALUES (1, 'x')") == fingerprint("INSERT INTO t (a,b) VALUES ($1,$2)")
    assert fingerprint("SELECT 1; SELECT 2") == "SELECT %s; SELECT %s"


@pytest.mark.parametrize("text", ["", "   ", "SELEC id FROM users", "not sql at all", "SHOW work_mem",
                                  "SELECT FROM WHERE (", "SELECT id FROM users WHERE id = ((("])
def test_unparseable_fingerprint_is_none(text: str) -> None:
    assert fingerprint(text) is None


def test_older_export_with_total_time(tmp_path: Path) -> None:
    """HAND-WRITTEN: PostgreSQL 12 and older name the column total_time; no toplevel
    column (every row counts); extra columns, a quoted multi-line query with a comma
    and doubled quotes, CRLF line ends."""
    path = _write(tmp_path, "pgss12.csv", (
        'userid,dbid,queryid,query,calls,total_time,min_time,max_time,mean_time,stddev_time,rows\r\n'
        '10,5,1,"SELECT ""name"", email\r\nFROM users\r\nWHERE id = $1",10,30.0,1,5,3.0,1,10\r\n'
        '10,5,2,"UPDATE users SET name = $1 WHERE id = $2",5,70.0,1,20,14.0,3,5\r\n'
    ))
    heat = load_pg_stat_statements(path)
    assert heat.total_time == 100.0
    assert heat.share_of("SELECT name, email FROM users WHERE id = 3") == pytest.approx(0.3)
    assert heat.share_of("update users set name = %s where id = %s") == pytest.approx(0.7)
    assert heat.queries[0].mean_time == 3.0


def test_tab_separated_export(tmp_path: Path) -> None:
    """HAND-WRITTEN: psql -A -F $'\\t' style output, columns in another order."""
    path = _write(tmp_path, "pgss.tsv", "calls\ttotal_exec_time\tquery\n3\t5.0\tSELECT 1\n1\t15.0\tSELECT a FROM t\n")
    heat = load_pg_stat_statements(path)
    assert heat.share_of("select a from t") == pytest.approx(0.75)


MALFORMED_CSV = {
    "empty": "",
    "no query column": "calls,total_exec_time\n1,2\n",
    "no time column": "query,calls,mean_exec_time\nSELECT 1,1,1\n",
    "no calls column": "query,total_exec_time\nSELECT 1,1\n",
    "not a number": "query,calls,total_exec_time\nSELECT 1,many,1.0\n",
    "negative time": "query,calls,total_exec_time\nSELECT 1,1,-4\n",
    "short row": "query,calls,total_exec_time\nSELECT 1,1\n",
    "unterminated quote": 'query,calls,total_exec_time\n"SELECT 1,1,1\n',
}


@pytest.mark.parametrize("content", MALFORMED_CSV.values(), ids=MALFORMED_CSV.keys())
def test_malformed_export(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, "pgss.csv", content)
    with pytest.raises(ProfileError) as caught:
        load_pg_stat_statements(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_malformed_export_messages(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"header has no total_exec_time or total_time column"):
        load_pg_stat_statements(_write(tmp_path, "a.csv", MALFORMED_CSV["no time column"]))
    with pytest.raises(ProfileError, match=r"line 2: calls 'many' is not a non-negative number"):
        load_pg_stat_statements(_write(tmp_path, "b.csv", MALFORMED_CSV["not a number"]))
    with pytest.raises(ProfileError, match="cannot read pg_stat_statements export"):
        load_pg_stat_statements(tmp_path / "missing.csv")
    with pytest.raises(ProfileError, match="cannot read pg_stat_statements export"):
        load_pg_stat_statements(_write(tmp_path, "c.csv", b"query,calls,total_time\n\xff\xfe,1,1\n"))
