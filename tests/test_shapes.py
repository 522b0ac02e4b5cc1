"""rules/algo/shapes.py: what a name holds as far as the file shows (PFL402-PFL407)."""

from __future__ import annotations

import libcst as cst
import pytest

from perflint.config import Config
from perflint.context import Context
from perflint.knowledge import Knowledge
from perflint.rules.algo.shapes import accumulation, leaves_loop_after, shape_of_name
from perflint.rules.loops import input_sized_loop
from perflint.summary_builder import SummaryBuilder
from perflint.traversal import Dispatcher, Walker


class _Probe:
    """Records ``shape_of_name(x)`` at each ``probe(x)`` call, in the innermost loop."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "probe":
            arg = node.args[0].value
            assert isinstance(arg, cst.Name)
            loop = ctx.loops[-1] if ctx.loops else None
            shape = shape_of_name(arg.value, ctx, loop)
            self.seen.append((arg.value, shape.kind, shape.grows))


def probe(source: str) -> list[tuple[str, str, bool]]:
    module = cst.parse_module(source)
    ctx = Context("m.py", module, Knowledge(), Config(), SummaryBuilder("m.py"))
    recorder = _Probe()
    Walker(ctx, Dispatcher([recorder])).run(module)
    return recorder.seen


@pytest.mark.parametrize(("source", "expected"), [
    # displays: a literal is a constant until the scope adds to it
    ("def f(xs):\n    a = ['x', 'y']\n    probe(a)\n", ("list", False)),
    ("def f(xs):\n    a = []\n    for x in xs:\n        a.append(x)\n    probe(a)\n", ("list", True)),
    ("def f(xs):\n    a = []\n    a += xs\n    probe(a)\n", ("list", True)),
    ("def f(xs):\n    a = [*xs]\n    probe(a)\n", ("list", True)),
    # built from the input
    ("def f(xs):\n    a = list(xs)\n    probe(a)\n", ("list", True)),
    ("def f(xs):\n    a = sorted(xs)\n    probe(a)\n", ("list", True)),
    ("def f(xs):\n    a = [x for x in xs]\n    probe(a)\n", ("list", True)),
    ("def f(xs):\n    a = [x for x in ('p', 'q')]\n    probe(a)\n", ("list", False)),
    ("def f(text):\n    a = text.split()\n    probe(a)\n", ("list", True)),
    ("import re\ndef f(text):\n    a = re.split(',', text)\n    probe(a)\n", ("list", True)),
    ("import os\ndef f(p):\n    a = os.path.split(p)\n    probe(a)\n", ("tuple", False)),
    ("def f(xs):\n    a = list(('p', 'q'))\n    probe(a)\n", ("list", False)),
    # parameters: only their annotation says anything
    ("def f(a: list[int]):\n    probe(a)\n", ("list", True)),
    ("from typing import List, Optional\ndef f(a: Optional[List[int]] = None):\n    probe(a)\n", ("list", True)),
    ("def f(a: 'list[int] | None' = None):\n    probe(a)\n", ("list", True)),
    ("def f(a: set[int]):\n    probe(a)\n", ("set", True)),
    ("def f(a):\n    probe(a)\n", ("unknown", False)),
    # an unannotated parameter rebound by the body's own statement
    ("def f(a):\n    a = list(a)\n    probe(a)\n", ("list", True)),
    # declared variables
    ("def f():\n    a: list[str] = fetch()\n    probe(a)\n", ("list", True)),
    # other kinds
    ("def f(xs):\n    a = set(xs)\n    probe(a)\n", ("set", True)),
    ("def f(xs):\n    a = {}\n    probe(a)\n", ("dict", False)),
    ("def f(d: dict[str, int]):\n    a = d.keys()\n    probe(a)\n", ("view", False)),
    ("from collections import deque\ndef f(xs):\n    a = deque(xs)\n    probe(a)\n", ("deque", True)),
    ("import collections\ndef f(xs):\n    a = collections.Counter(xs)\n    probe(a)\n", ("dict", True)),
    ("from collections import defaultdict\ndef f():\n    a = defaultdict(list)\n    probe(a)\n", ("dict", True)),
    ("def f():\n    a = ''\n    probe(a)\n", ("str", True)),
    ("def f():\n    a = b''\n    probe(a)\n", ("bytes", True)),
    ("def f(x):\n    a = f'{x}'\n    probe(a)\n", ("str", True)),
    ("def f(x):\n    a = str(x)\n    probe(a)\n", ("str", True)),
    ("def f(xs):\n    a = ', '.join(xs)\n    probe(a)\n", ("str", True)),
    ("def f():\n    a = 0\n    probe(a)\n", ("number", False)),
    ("def f(n):\n    a = range(n)\n    probe(a)\n", ("range", False)),
    # followed through other names
    ("def f(xs):\n    b = list(xs)\n    a = b\n    probe(a)\n", ("list", True)),
    ("def f(xs, ys):\n    a = list(xs) + list(ys)\n    probe(a)\n", ("list", True)),
    # unknown: calls of unknown functions, attributes, a mix of kinds, for/with/unpacking
    ("def f():\n    a = fetch()\n    probe(a)\n", ("unknown", False)),
    ("def f(self):\n    a = self.items\n    probe(a)\n", ("unknown", False)),
    ("def f(xs, c):\n    a = list(xs)\n    if c:\n        a = set(xs)\n    probe(a)\n", ("unknown", False)),
    ("def f(xs):\n    a = []\n    for a in xs:\n        pass\n    probe(a)\n", ("unknown", False)),
    ("def f(xs):\n    a, b = [], []\n    probe(a)\n", ("unknown", False)),
    ("def f(xs):\n    a = []\n    with open(xs) as a:\n        probe(a)\n", ("unknown", False)),
    ("def f():\n    global a\n    a = []\n    probe(a)\n", ("unknown", False)),
    # builtins rebound in the file are not the builtins
    ("from mylib import list\ndef f(xs):\n    a = list(xs)\n    probe(a)\n", ("unknown", False)),
    ("def f(xs, set):\n    a = set(xs)\n    probe(a)\n", ("unknown", False)),
    # module names used in a function, closures
    ("A = ['x']\ndef f():\n    probe(A)\n", ("list", False)),
    ("def f(xs):\n    a = list(xs)\n    def g():\n        probe(a)\n    g()\n", ("list", True)),
    # a later assignment in the loop's body runs before the next pass
    ("def f(xs, ys):\n    a = list(xs)\n    for y in ys:\n        probe(a)\n        a = set(a)\n", ("unknown", False)),
    # x = x + more keeps the kind
    ("def f(xs, ys):\n    a = []\n    for y in ys:\n        probe(a)\n        a = a + [y]\n", ("list", True)),
])
def test_shape_of_name(source: str, expected: tuple[str, bool]) -> None:
    (name, kind, grows), = probe(source)
    assert (kind, grows) == expected, source


def _statement(code: str) -> cst.BaseSmallStatement:
    line = cst.parse_statement(code)
    assert isinstance(line, cst.SimpleStatementLine)
    return line.body[0]


@pytest.mark.parametrize(("code", "expected"), [
    ("s += t", ("s", True, False, True)),
    ("s = s + t", ("s", False, False, True)),
    ("s = s + a + b", ("s", False, False, False)),
    ("s = t + s", ("s", False, True, False)),
])
def test_accumulation_forms(code: str, expected: tuple[str, bool, bool, bool]) -> None:
    statement = _statement(code)
    assert isinstance(statement, (cst.AugAssign, cst.Assign))
    grown = accumulation(statement)
    assert grown is not None
    assert (grown.name, grown.augmented, grown.prepends, grown.in_place) == expected


# ``(s + a) + b``: the parenthesised operand reads ``s``; not one of the plain forms.
@pytest.mark.parametrize("code", ["s -= t", "s = s * 2", "s = s + s", "self.s += t", "s = t + u",
                                  "s = (s + a) + b"])
def test_not_accumulation(code: str) -> None:
    statement = _statement(code)
    assert isinstance(statement, (cst.AugAssign, cst.Assign))
    assert accumulation(statement) is None


class _LoopProbe:
    """At each ``probe()`` call: the header of the input-sized loop and whether the call
    runs at most once per loop."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, bool]] = []

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "probe":
            loop = input_sized_loop(ctx, allow_while=True)
            if loop is None:
                self.seen.append((None, False))
                return
            header = ctx.module.code_for_node(loop.node).splitlines()[0].strip()
            self.seen.append((header, leaves_loop_after(ctx, loop, node)))


def probe_loop(source: str) -> tuple[str | None, bool]:
    module = cst.parse_module(source)
    ctx = Context("m.py", module, Knowledge(), Config(), SummaryBuilder("m.py"))
    recorder = _LoopProbe()
    Walker(ctx, Dispatcher([recorder])).run(module)
    (found,) = recorder.seen
    return found


@pytest.mark.parametrize(("source", "expected"), [
    # the innermost loop over the input; a small literal loop inside does not count
    ("def f(xs):\n    for x in xs:\n        for k in ('a', 'b'):\n            probe()\n", ("for x in xs:", False)),
    ("def f(xs):\n    for k in range(3):\n        probe()\n", (None, False)),
    # while loops count, except a number counted against a literal
    ("def f(q):\n    while q:\n        probe()\n", ("while q:", False)),
    ("def f(n):\n    while n > 0:\n        probe()\n        n -= 1\n", (None, False)),
    # a body that always leaves on its first pass is no loop; a first-hit exit still is
    ("def f(xs):\n    for x in xs:\n        probe()\n        return x\n", (None, False)),
    ("def f(xs):\n    for x in xs:\n        if x:\n            return x\n        probe()\n", ("for x in xs:", False)),
    # the call's own block leaves the loop right after it: at most once per loop
    ("def f(xs):\n    for x in xs:\n        if x:\n            probe()\n            break\n", ("for x in xs:", True)),
    ("def f(xs):\n    for x in xs:\n        if x:\n            return probe()\n", ("for x in xs:", True)),
    # ... but a break inside a nested (small) loop only leaves that one
    ("def f(xs):\n    for x in xs:\n        for k in ('a', 'b'):\n            probe()\n            break\n", ("for x in xs:", False)),
    ("def f(xs):\n    for x in xs:\n        for k in ('a', 'b'):\n            probe()\n            return\n", ("for x in xs:", True)),
])
def test_input_sized_loop_and_exits(source: str, expected: tuple[str | None, bool]) -> None:
    assert probe_loop(source) == expected, source


@pytest.mark.parametrize(("source", "expected"), [
    # copies and comprehensions of a collection the code fixes are constants too
    ("MAPPING = {'a': 1, 'b': 2}\ndef f():\n    a = [k for k in MAPPING]\n    probe(a)\n", ("list", False)),
    ("MAPPING = {'a': 1}\ndef f():\n    a = list(MAPPING.items())\n    probe(a)\n", ("list", False)),
    ("import enum\nclass Color(enum.Enum):\n    RED = 1\ndef f():\n    a = list(Color)\n    probe(a)\n", ("list", False)),
    # ... unless the code adds to it
    ("def f(rows):\n    d = {}\n    for r in rows:\n        d[r.id] = r\n    a = list(d)\n    probe(a)\n", ("list", True)),
])
def test_copies_of_constants(source: str, expected: tuple[str, bool]) -> None:
    (name, kind, grows), = probe(source)
    assert (kind, grows) == expected, source
