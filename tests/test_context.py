"""What the traversal context tells rules about names: imports and assignments."""

from __future__ import annotations

import libcst as cst

from perflint.config import Config
from perflint.context import Context
from perflint.knowledge import Knowledge
from perflint.summary_builder import SummaryBuilder
from perflint.traversal import Dispatcher, Walker

SOURCE = '''\
import requests
import time as t
from asyncio import sleep
from . import repo

seen: set[int] = set()


async def handler(cache, items):
    requests.get("u")
    t.sleep(1)
    await sleep(1)
    cache.get("k")
    self.session.get("u")
    repo.load()
    names = []
    names = list(items)
    requests = object()
    requests.get("shadowed")
'''


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.names: dict[str, list[str]] = {}

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        code = cst.Module([]).code_for_node(node.func)
        self.calls.append((code, ctx.qualified_name(node.func)))
        for name in ("names", "seen", "items"):
            self.names[name] = [cst.Module([]).code_for_node(v) for v in ctx.assigned_values(name)]


def test_qualified_names_and_assignments() -> None:
    module = cst.parse_module(SOURCE)
    builder = SummaryBuilder("app/views.py")
    ctx = Context("app/views.py", module, Knowledge(), Config(), builder)
    recorder = _Recorder()
    Walker(ctx, Dispatcher([recorder])).run(module)
    assert recorder.calls[0] == ("set", None)
    assert recorder.calls[1:8] == [
        ("requests.get", "requests.get"),
        ("t.sleep", "time.sleep"),
        ("sleep", "asyncio.sleep"),
        ("cache.get", None),  # a parameter, not an import
        ("self.session.get", None),
        ("repo.load", "app.repo.load"),  # relative import resolved against the module path
        ("list", None),
    ]
    assert ("requests.get", None) in recorder.calls[8:]  # rebound locally: not the library any more
    assert recorder.names["names"] == ["[]", "list(items)"]
    assert recorder.names["seen"] == ["set()"]
    assert recorder.names["items"] == []
