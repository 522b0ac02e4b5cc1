"""PFL407 quadratic-sum."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.algo.shapes import (
    accumulation,
    code_for,
    has_evidence,
    is_builtin,
    leaves_loop_after,
    reset_in_loop,
    shape_of_name,
    value_shape,
)
from perflint.rules.loops import describe_loop, input_sized_loop, is_bounded_iterable

# Sequence kinds whose ``a + b`` builds a new object holding both.
_SEQUENCES = ("list", "tuple")


class QuadraticSum(PythonRule):
    """
    ## What it does
    Flags `sum(list_of_lists, [])` (or a tuple start, `sum(..., ())`) anywhere, and a
    list or tuple rebuilt by concatenation on every pass of an input-sized loop:
    `acc = acc + other`, `acc = other + acc`, `acc = [*acc, item]`.

    ## Why is this bad?
    `a + b` on lists builds a new list and copies both sides. `sum(lists, [])` does that
    once per element, and so does `acc = acc + other` once per pass: the accumulated
    part is copied again every time, O(n²) in total. `acc += other` / `acc.extend(other)`
    grows the same list in place (amortised O(len(other))).

    ## Example
    ```python
    rows = sum(pages, [])
    ids = []
    for batch in batches:
        ids = ids + batch.ids
    ```

    ## Use instead
    ```python
    rows = list(itertools.chain.from_iterable(pages))
    ids = []
    for batch in batches:
        ids.extend(batch.ids)
    ```

    One finding per accumulator and loop.

    Not reported: `sum()` of numbers or with a numeric start, `sum()` over a small
    literal, `acc += other` (in place), accumulators started afresh on each pass,
    loops over a small literal, strings (PFL404), and names whose type the file does
    not show.
    """

    code = "PFL407"
    name = "quadratic-sum"
    summary = "lists joined by `sum(..., [])` or `acc = acc + other` in a loop: O(n²) copying"
    message = "list concatenation copies everything accumulated so far"
    severity = "warning"
    confidence = "high"
    base_cost = 2.0
    fix_hint = "Use itertools.chain.from_iterable, list.extend or +=."
    candidate = Words(("sum(", "+", "*"))

    VALID = (
        # numbers
        Valid("def f(rows):\n    return sum(r.amount for r in rows)\n"),
        Valid("def f(rows):\n    return sum((r.amount for r in rows), 0.0)\n"),
        # a small literal
        Valid("def f():\n    return sum([[1], [2], [3]], [])\n"),
        # in place
        Valid("def f(batches):\n    ids = []\n    for b in batches:\n        ids += b.ids\n        ids.extend(b.more)\n"),
        # started afresh on each pass
        Valid("def f(rows):\n    for r in rows:\n        cells = []\n        for c in ('a', 'b'):\n            cells = cells + [r[c]]\n        print(cells)\n"),
        # a small bounded loop
        Valid("def f(base: list[int]):\n    out = base\n    for extra in ([1], [2]):\n        out = out + extra\n    return out\n"),
        # unknown type
        Valid("def f(acc, batches):\n    for b in batches:\n        acc = acc + b\n    return acc\n"),
        # strings are PFL404's
        Valid("def f(rows):\n    s = ''\n    for r in rows:\n        s = s + r\n    return s\n"),
        # numbers in a loop
        Valid("def f(rows):\n    total = 0\n    for r in rows:\n        total = total + r.amount\n    return total\n"),
        # sum rebound in the file
        Valid("from numpy import sum\ndef f(arrays):\n    return sum(arrays, [])\n"),
        # the chain the rule recommends
        Valid("import itertools\ndef f(pages):\n    return list(itertools.chain.from_iterable(pages))\n"),
        # a tuple padded to a small literal length (rich's unicode version triple)
        Valid("def f(version):\n    v = tuple(map(int, version.split('.')))\n    while len(v) < 3:\n        v = v + (0,)\n    return v\n"),
    )
    INVALID = (
        Invalid("def flatten(pages):\n    return sum(pages, [])\n", (2,)),
        Invalid("def flatten(groups):\n    return sum((g.items for g in groups), start=[])\n", (2,)),
        Invalid("def f(batches):\n    ids = []\n    for b in batches:\n        ids = ids + b.ids\n    return ids\n", (4,)),
        Invalid("def f(items):\n    out = []\n    for x in items:\n        out = [x] + out\n    return out\n", (4,)),
        Invalid("def f(items):\n    out = []\n    for x in items:\n        out = [*out, x]\n    return out\n", (4,)),
        Invalid("def f(rows):\n    acc = ()\n    for r in rows:\n        acc = acc + (r.id,)\n    return acc\n", (4,)),
    )

    def __init__(self) -> None:
        self.reported: set[tuple[str, int]] = set()  # (accumulator, loop): one finding each

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        start = _sequence_start(node, ctx)
        if start is None or is_bounded_iterable(node.args[0].value, ctx, ctx.config.small_literal_max):
            return
        kind = "list" if isinstance(start, cst.List) else "tuple"
        iterable = node.args[0].value
        if isinstance(iterable, cst.GeneratorExp):
            iterable = iterable.with_changes(lpar=[], rpar=[])  # it becomes the only argument
        what = code_for(iterable, ctx, 60)
        fix = (f"`list(itertools.chain.from_iterable({what}))`" if kind == "list"
               else f"`tuple(itertools.chain.from_iterable({what}))`")
        ctx.report(self, node,
                   f"`{code_for(node, ctx)}` builds a new {kind} for every element and copies "
                   f"everything summed so far (O(n²)); use {fix}")

    def visit_Assign(self, node: cst.Assign, ctx: Context) -> None:
        if not ctx.loops or not isinstance(node.value, (cst.BinaryOperation, cst.List)):
            return
        name, kind, prepends = _rebuilt_sequence(node, ctx)
        if name is None or not has_evidence(name, ctx):
            return
        loop = input_sized_loop(ctx, allow_while=True)
        if loop is None or name in reset_in_loop(loop, ctx) or leaves_loop_after(ctx, loop, node):
            return
        if (name, id(loop.node)) in self.reported:
            return
        shape = shape_of_name(name, ctx, loop)
        if shape.kind not in _SEQUENCES or (kind is not None and shape.kind != kind):
            return
        self.reported.add((name, id(loop.node)))
        if prepends:
            fix = (f"append to `{name}` and reverse it once after the loop, or use a "
                   "`collections.deque` and `appendleft`")
        elif shape.kind == "list":
            fix = f"grow it in place: `{name}.extend(...)` / `{name}.append(...)` / `{name} += ...`"
        else:
            fix = "collect the items in a list (`.append` / `.extend`) and build the tuple once"
        ctx.report(self, node,
                   f"`{code_for(node, ctx)}` copies the whole {shape.kind} `{name}` on each pass of "
                   f"`{describe_loop(loop, ctx)}` (O(n²) in all); {fix}")


def _sequence_start(call: cst.Call, ctx: Context) -> cst.List | cst.Tuple | None:
    """The ``[]`` / ``()`` start of a builtin ``sum(iterable, start)``."""
    args = call.args
    if len(args) < 2 or args[0].keyword is not None:
        return None
    start = None
    for index, arg in enumerate(args[1:], start=1):
        if (arg.keyword is None and index == 1) or (arg.keyword is not None and arg.keyword.value == "start"):
            start = arg.value
    if not isinstance(start, (cst.List, cst.Tuple)) or not is_builtin(call.func, "sum", ctx):
        return None
    return start


def _rebuilt_sequence(node: cst.Assign, ctx: Context) -> tuple[str | None, str | None, bool]:
    """(name, kind the new part shows or None, prepends) for ``x = x + more``,
    ``x = more + x`` and ``x = [*x, item]``."""
    value = node.value
    if isinstance(value, cst.List):
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return None, None, False
        name = node.targets[0].target.value
        elements = value.elements
        if elements and isinstance(elements[0], cst.StarredElement) \
                and isinstance(elements[0].value, cst.Name) and elements[0].value.value == name:
            return name, "list", False
        if elements and isinstance(elements[-1], cst.StarredElement) \
                and isinstance(elements[-1].value, cst.Name) and elements[-1].value.value == name:
            return name, "list", True
        return None, None, False
    grown = accumulation(node)
    if grown is None:
        return None, None, False
    kinds = {shape.kind for shape in (value_shape(part, ctx) for part in grown.added)
             if shape is not None and shape.known}
    return grown.name, (kinds.pop() if len(kinds) == 1 else None), grown.prepends
