"""Call resolution follows Python's scopes: a bare name in a method is never a sibling
method (issue 5 real-code sample: sanic's ``await serve(...)`` inside ``StartupMixin``
methods is the imported ``sanic.server.runners.serve``, not the blocking ``cls.serve``)."""

from __future__ import annotations

from pathlib import Path

from perflint.config import Config
from perflint.runner import RunOptions, run


def _codes(tmp_path: Path) -> list[tuple[str, int]]:
    result = run(Config(), RunOptions(paths=(tmp_path,), jobs=1, use_cache=False, cwd=tmp_path))
    return sorted((f.code, f.line) for f in result.findings if f.code == "PFL303")


def test_bare_name_in_a_method_is_not_the_sibling_method(tmp_path: Path) -> None:
    (tmp_path / "runners.py").write_text("async def serve():\n    return 1\n")
    (tmp_path / "startup.py").write_text(
        "import time\n\nfrom runners import serve\n\n\nclass Mixin:\n"
        "    @classmethod\n    def serve(cls):\n        time.sleep(1)\n\n"
        "    async def start(self):\n        return await serve()\n")
    assert _codes(tmp_path) == []


def test_function_nested_in_a_function_is_still_found(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import time\n\n\ndef outer():\n    def helper():\n        time.sleep(1)\n\n"
        "    async def run():\n        helper()\n    return run\n")
    assert _codes(tmp_path) == [("PFL303", 9)]


def test_function_nested_in_the_caller_is_found(tmp_path: Path) -> None:
    """pretix's send_mails_to_orders calls its own nested _send_to_order per order."""
    (tmp_path / "tasks.py").write_text(
        "import time\n\n\nasync def send_all(orders):\n"
        "    def _send_to_order(o):\n        time.sleep(1)\n\n"
        "    for o in orders:\n        _send_to_order(o)\n")
    assert _codes(tmp_path) == [("PFL303", 9)]
