"""``[tool.perflint]`` keys of the async and I/O rules: ``blocking-calls`` (PFL303) and
``http-clients`` (PFL304), from pyproject.toml through the CLI and through Config."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflint.config import Config, ConfigError, config_from_table
from tests.cli_support import assert_no_traceback, run_json, run_perflint, write
from tests.conftest import lint_source

LEGACY = '''\
from myapp.legacy import fetch_report


async def report(day):
    return fetch_report(day)
'''

API_CLIENT = '''\
from myapp.api import ApiClient


def sync_all(items):
    api = ApiClient("https://partner.example.com")
    for item in items:
        api.post("/items", json=item)


async def refresh(ids):
    api = ApiClient("https://partner.example.com")
    for i in ids:
        await api.get(f"/items/{i}")


async def gathered(ids):
    api = ApiClient("https://partner.example.com")
    return [api.get(f"/items/{i}") for i in ids]  # coroutines for asyncio.gather
'''


def _lines(source: str, code: str, config: Config | None = None) -> list[int]:
    return sorted(f.line for f in lint_source(source, codes={code}, config=config) if f.code == code)


def test_blocking_calls_extend_pfl303() -> None:
    assert _lines(LEGACY, "PFL303") == []
    config = Config(blocking_calls=("myapp.legacy.fetch_report",))
    assert _lines(LEGACY, "PFL303", config) == [5]
    (finding,) = lint_source(LEGACY, codes={"PFL303"}, config=config)
    assert "asyncio.to_thread" in finding.message


def test_http_clients_extend_pfl304() -> None:
    assert _lines(API_CLIENT, "PFL304") == []
    config = Config(http_clients=("myapp.api.ApiClient",))
    # sync code: the call sends; async code: only when awaited (not the gathered coroutines)
    assert _lines(API_CLIENT, "PFL304", config) == [7, 13]


def test_keys_read_from_pyproject_through_the_cli(tmp_path: Path) -> None:
    write(tmp_path, "legacy.py", LEGACY)
    write(tmp_path, "partner.py", API_CLIENT)
    write(tmp_path, "pyproject.toml", "[tool.perflint]\nselect = [\"PFL303\", \"PFL304\"]\n"
          "blocking-calls = [\"myapp.legacy.fetch_report\"]\n"
          "http-clients = [\"myapp.api.ApiClient\"]\n")
    code, report, _ = run_json("--no-cache", cwd=tmp_path)
    assert code == 1
    found = sorted((f["path"], f["line"], f["code"]) for f in report["findings"])
    assert found == [("legacy.py", 5, "PFL303"), ("partner.py", 7, "PFL304"), ("partner.py", 13, "PFL304")]


@pytest.mark.parametrize(("key", "value"), [
    ("blocking-calls", '"time.sleep"'),  # a string, not a list
    ("blocking-calls", '["sleep"]'),  # not a dotted name
    ("http-clients", '["myapp.api.ApiClient()"]'),
])
def test_bad_values_exit_2_naming_the_key(tmp_path: Path, key: str, value: str) -> None:
    write(tmp_path, "app.py", "x = 1\n")
    write(tmp_path, "pyproject.toml", f"[tool.perflint]\n{key} = {value}\n")
    proc = run_perflint("check", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert key in proc.stderr


def test_the_keys_change_the_analysis_key() -> None:
    base = config_from_table({}, "pyproject.toml")
    blocking = config_from_table({"blocking-calls": ["myapp.legacy.fetch_report"]}, "pyproject.toml")
    clients = config_from_table({"http-clients": ["myapp.api.ApiClient"]}, "pyproject.toml")
    assert len({base.analysis_key(), blocking.analysis_key(), clients.analysis_key()}) == 3
    with pytest.raises(ConfigError):
        config_from_table({"http-clients": ["ApiClient"]}, "pyproject.toml")
