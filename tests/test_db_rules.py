"""The database rules beyond their own examples: ``connection-factories`` (PFL205) from
pyproject.toml and Config, confidence levels, and what the messages tell the user to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflint.config import Config, ConfigError, config_from_table
from tests.cli_support import assert_no_traceback, run_json, run_perflint, write
from tests.conftest import lint_source

OWN_FACTORY = '''\
from myapp.db import open_connection


def get_user(user_id):
    conn = open_connection()
    row = conn.fetch_user(user_id)
    conn.close()
    return row
'''


def _findings(source: str, code: str, config: Config | None = None, filename: str = "example.py"):
    return [f for f in lint_source(source, filename, codes={code}, config=config) if f.code == code]


def test_connection_factories_extend_pfl205() -> None:
    assert _findings(OWN_FACTORY, "PFL205") == []
    (finding,) = _findings(OWN_FACTORY, "PFL205", Config(connection_factories=("myapp.db.open_connection",)))
    assert finding.line == 5
    assert "every call of `get_user`" in finding.message


def test_connection_factories_from_pyproject_through_the_cli(tmp_path: Path) -> None:
    write(tmp_path, "users.py", OWN_FACTORY)
    write(tmp_path, "pyproject.toml", "[tool.perflint]\nselect = [\"PFL205\"]\n"
          "connection-factories = [\"myapp.db.open_connection\"]\n")
    code, report, _ = run_json("--no-cache", cwd=tmp_path)
    assert code == 1
    assert [(f["path"], f["line"], f["code"]) for f in report["findings"]] == [("users.py", 5, "PFL205")]


@pytest.mark.parametrize("value", ['"myapp.db.open_connection"', '["open_connection"]'])
def test_bad_connection_factories_exit_2_naming_the_key(tmp_path: Path, value: str) -> None:
    write(tmp_path, "app.py", "x = 1\n")
    write(tmp_path, "pyproject.toml", f"[tool.perflint]\nconnection-factories = {value}\n")
    proc = run_perflint("check", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "connection-factories" in proc.stderr


def test_connection_factories_change_the_analysis_key() -> None:
    base = config_from_table({}, "pyproject.toml")
    extended = config_from_table({"connection-factories": ["myapp.db.open_connection"]}, "pyproject.toml")
    assert base.analysis_key() != extended.analysis_key()
    with pytest.raises(ConfigError):
        config_from_table({"connection-factories": [1]}, "pyproject.toml")


def test_pfl205_confidence_per_call_vs_per_request() -> None:
    per_call = "import asyncpg\n\nasync def get_user(i):\n    db = await asyncpg.connect('postgresql://db')\n    await db.close()\n"
    per_request = ("import httpx\nfrom fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/x')\n"
                   "async def x():\n    async with httpx.AsyncClient() as c:\n        return await c.get('http://a')\n")
    assert [f.confidence for f in _findings(per_call, "PFL205")] == ["medium"]
    (finding,) = _findings(per_request, "PFL205")
    assert finding.confidence == "high"
    assert "every request to `x`" in finding.message
    # a test module's helpers run once per test: not reported per call
    assert _findings(per_call, "PFL205", filename="tests/test_users.py") == []


@pytest.mark.parametrize(("source", "advice"), [
    ("def f():\n    return len(Order.objects.filter(open=True))\n", "use `Order.objects.filter(open=True).count()`"),
    ("def f():\n    qs = Order.objects.filter(open=True)\n    if not qs:\n        return 0\n", "use `qs.exists()`"),
    ("def f():\n    qs = Order.objects.all()\n    return list(qs)[0]\n", "use `qs.first()`"),
    ("def f(session):\n    q = session.query(User)\n    return len(q.all())\n", "use `q.count()`"),
])
def test_pfl207_messages_name_the_cheaper_call(source: str, advice: str) -> None:
    (finding,) = _findings(source, "PFL207")
    assert advice in finding.message


@pytest.mark.parametrize(("source", "advice"), [
    ("def f(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t (a) VALUES (%s)', (r,))\n", "executemany"),
    ("def f(users):\n    for u in users:\n        Profile.objects.create(user=u)\n", "Profile.objects.bulk_create(objs)"),
    ("def f():\n    for o in Order.objects.filter(new=True):\n        o.save()\n", "Order.objects.bulk_update(objs, [fields])"),
    ("def f(session, rows):\n    for r in rows:\n        session.add(r)\n        session.commit()\n", "commit once after the loop"),
    ("from shop.models import Post\n\ndef f(post: Post, tags):\n    for tag in tags:\n        post.tags.add(tag)\n", "`post.tags.add(*tags)`"),
])
def test_pfl203_messages_name_the_batched_form(source: str, advice: str) -> None:
    (finding,) = _findings(source, "PFL203")
    assert advice in finding.message


def test_pfl206_message_names_scan_iter() -> None:
    source = "import redis\nr = redis.Redis()\n\ndef purge():\n    r.delete(*r.keys('session:*'))\n"
    (finding,) = _findings(source, "PFL206")
    assert "scan_iter(match='session:*')" in finding.message


def test_pfl203_in_test_files_is_low_confidence() -> None:
    source = "def test_list(client):\n    for i in range(50):\n        User.objects.create(name=str(i))\n"
    (finding,) = _findings(source, "PFL203", filename="tests/test_users.py")
    assert finding.confidence == "low"
    (finding,) = _findings(source, "PFL203", filename="app/seed.py")
    assert finding.confidence == "high"
