"""PFL402 list-membership-in-loop."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context
from perflint.cstutil import names_read
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.algo.shapes import (
    bounded_in_loop,
    code_for,
    grown_in_loop,
    has_evidence,
    leaves_loop_after,
    reset_in_loop,
    shape_of_name,
)
from perflint.rules.loops import describe_loop, input_sized_loop, loop_bound_names

_MEMBERSHIP = (cst.In, cst.NotIn)


class ListMembershipInLoop(PythonRule):
    """
    ## What it does
    Flags `x in seq` / `x not in seq` inside a loop when `seq` is a list that grows
    with the input (appended to, built by `list(...)`, a comprehension or `.split()`, or
    a parameter annotated `list[...]`) and is built outside that loop.

    ## Why is this bad?
    Membership in a list compares `x` with every item until a match: O(len(seq)) per
    test. Done once per pass of a loop over n items it is O(n*m), and when the loop
    also appends to the list (the "seen" pattern) it is O(n²). A set answers in O(1).

    ## Example
    ```python
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    ```

    ## Use instead
    ```python
    seen = set()
    for item in items:
        if item not in seen:
            seen.add(item)
    ```
    When the order matters too, keep the list for the order and a set next to it for
    the membership tests (or `dict.fromkeys(items)` to de-duplicate in order).

    Confidence: `medium` when the list comes from `.split()` (a line's fields may be few),
    `high` otherwise. Several tests of one list in one loop are reported once, at the
    first: one set serves them all.

    Not reported: sets, dicts, frozensets, dict views, strings (`in` is a substring
    test), `range`, small literal sequences, lists rebuilt on every pass (`parts =
    line.split(",")` inside the loop), lists the loop keeps at a constant size
    (`if len(recent) > 10: recent.pop(0)`, `batch.clear()`), names whose type the file
    does not show (unannotated parameters, attributes, `global` names), lists of
    dicts/lists/sets (no set can hold them), and tests of a value that does not change
    from pass to pass.
    """

    code = "PFL402"
    name = "list-membership-in-loop"
    summary = "`x in list` inside a loop scans the list on every pass"
    message = "membership test scans a list on every pass of the loop"
    severity = "warning"
    confidence = "high"
    base_cost = 2.0
    fix_hint = "Test membership on a set (build it once before the loop, or add to it next to the list)."
    candidate = None

    VALID = (
        # the guide's GOOD example: a set
        Valid("def find_duplicates(items):\n    seen = set()\n    duplicates = set()\n    for item in items:\n        if item in seen:\n            duplicates.add(item)\n        seen.add(item)\n    return list(duplicates)\n"),
        # dicts, frozensets, dict views
        Valid("def f(rows):\n    by_id = {}\n    for r in rows:\n        if r.id not in by_id:\n            by_id[r.id] = r\n"),
        Valid("def f(rows, names):\n    allowed = frozenset(names)\n    return [r for r in rows if r.name in allowed]\n"),
        Valid("def f(rows, mapping: dict[str, int]):\n    keys = mapping.keys()\n    for r in rows:\n        if r in keys:\n            print(r)\n"),
        # small literal sequences
        Valid("def f(rows):\n    kinds = ['a', 'b', 'c']\n    for r in rows:\n        if r.kind in kinds:\n            print(r)\n"),
        Valid("def f(rows):\n    for r in rows:\n        if r.kind in ('a', 'b'):\n            print(r)\n"),
        # strings: a substring test
        Valid("def f(lines):\n    text = ''\n    for line in lines:\n        if line in text:\n            continue\n        text += line\n"),
        Valid("def f(words, text: str):\n    return [w for w in words if w in text]\n"),
        # range
        Valid("def f(rows, n):\n    valid = range(n)\n    return [r for r in rows if r in valid]\n"),
        # unknown: an unannotated parameter, an attribute
        Valid("def f(rows, allowed):\n    for r in rows:\n        if r in allowed:\n            print(r)\n"),
        Valid("def f(self, rows):\n    for r in rows:\n        if r in self.allowed:\n            print(r)\n"),
        # rebuilt on every pass: a few fields per row, not a growing list
        Valid("def f(lines):\n    for line in lines:\n        parts = line.split(',')\n        if 'x' in parts:\n            print(line)\n"),
        # the list is converted to a set before the loop
        Valid("def f(rows, names):\n    allowed = list(names)\n    allowed = set(allowed)\n    for r in rows:\n        if r in allowed:\n            print(r)\n"),
        # a loop over a small literal does not multiply
        Valid("def f(names):\n    found = list(names)\n    for k in ('a', 'b', 'c'):\n        if k in found:\n            print(k)\n"),
        # the element does not change across passes: a loop-invariant test
        Valid("def f(rows, names):\n    found = list(names)\n    for r in rows:\n        if 'admin' in found:\n            print(r)\n"),
        # bound by a for loop: type not followed
        Valid("def f(groups, rows):\n    for group in groups:\n        pass\n    for r in rows:\n        if r in group:\n            print(r)\n"),
        # a mix of kinds: not known to be a list
        Valid("def f(rows, names, flag):\n    if flag:\n        allowed = set(names)\n    else:\n        allowed = list(names)\n    for r in rows:\n        if r in allowed:\n            print(r)\n"),
        # a list display that never grows is a constant
        Valid("def f(rows):\n    allowed = ['admin', 'owner', 'staff', 'viewer']\n    return [r for r in rows if r.role in allowed]\n"),
        # ``list`` rebound in the file
        Valid("from mylib import list\ndef f(rows, names):\n    found = list(names)\n    for r in rows:\n        if r in found:\n            print(r)\n"),
        # a deque is a different question (PFL403); no membership fast path, but no list either
        Valid("from collections import deque\ndef f(rows, names):\n    q = deque(names)\n    for r in rows:\n        if r in q:\n            print(r)\n"),
        # a window the loop keeps at a constant size, a buffer it empties
        Valid("def f(events):\n    recent = []\n    for e in events:\n        if e in recent:\n            continue\n        recent.append(e)\n        if len(recent) > 10:\n            recent.pop(0)\n"),
        Valid("def f(rows, flush):\n    batch = []\n    for r in rows:\n        if r not in batch:\n            batch.append(r)\n        if len(batch) == 100:\n            flush(batch)\n            batch.clear()\n"),
        # a comprehension's own variable shadows the list of the same name
        Valid("def f(groups):\n    items = list(groups)\n    return [x for items in groups for x in items if x in items]\n"),
        # a list of dicts: no set can hold them
        Valid("def f(rows):\n    out = []\n    for r in rows:\n        item = {'id': r.id}\n        if item not in out:\n            out.append({'id': r.id})\n"),
        Valid("def f(rows, ids):\n    wanted = [{'id': i} for i in ids]\n    return [r for r in rows if {'id': r.id} in wanted]\n"),
        # a parameter annotated as a set
        Valid("def f(rows, allowed: set[str]):\n    return [r for r in rows if r in allowed]\n"),
        # a model's fields: as many as the schema has (Django's own checks, oscar, wagtail)
        Valid("def check_columns(cls):\n    used = []\n    for f in cls._meta.local_fields:\n        if f.column in used:\n            raise ValueError(f.column)\n        used.append(f.column)\n"),
        Valid("def user_fields(model, fields):\n    names = [field.name for field in model._meta.get_fields()]\n    return [f for f in fields if f in names]\n"),
    )
    INVALID = (
        # the seen-list de-duplication: O(n²)
        Invalid("def unique(items):\n    seen = []\n    for item in items:\n        if item not in seen:\n            seen.append(item)\n    return seen\n", (4,)),
        # list(...) built before the loop, tested in a comprehension
        Invalid("def f(rows, names):\n    allowed = list(names)\n    return [r for r in rows if r.name in allowed]\n", (3,)),
        # a list comprehension
        Invalid("def f(users, orders):\n    paying = [o.user_id for o in orders]\n    for u in users:\n        if u.id in paying:\n            yield u\n", (4,)),
        # a parameter annotated list[...] (also Optional / List)
        Invalid("def f(rows, banned: list[str]):\n    for r in rows:\n        if r.email in banned:\n            print(r)\n", (3,)),
        Invalid("from typing import List, Optional\ndef f(rows, banned: Optional[List[str]] = None):\n    return [r for r in rows if r not in banned]\n", (3,)),
        # .split() of the input
        Invalid("def f(text, words):\n    vocabulary = text.split()\n    return sum(1 for w in words if w in vocabulary)\n", (3,)),
        # a while loop (a BFS with a visited list)
        Invalid("def bfs(graph, start):\n    visited = []\n    queue = [start]\n    while queue:\n        node = queue.pop()\n        if node in visited:\n            continue\n        visited.append(node)\n        queue.extend(graph[node])\n", (6,)),
        # module level script
        Invalid("import sys\nseen = []\nfor line in sys.stdin:\n    if line not in seen:\n        seen.append(line)\n", (4,)),
        # first-hit exit: a miss still scans every pass
        Invalid("def has_duplicates(items):\n    seen = []\n    for item in items:\n        if item in seen:\n            return True\n        seen.append(item)\n    return False\n", (4,)),
        # one report per list and loop: one fix (a set) serves every test of it (DRF's serializers)
        Invalid("def f(fields, names):\n    wanted = [n for n in names]\n    for name, field in fields:\n        if field.a and name in wanted:\n            yield 1\n        if field.b and name in wanted:\n            yield 2\n", (4,)),
    )

    def __init__(self) -> None:
        self.reported: set[tuple[int, str]] = set()  # (loop node id, list name)

    def visit_Comparison(self, node: cst.Comparison, ctx: Context) -> None:
        if not ctx.loops:
            return
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, _MEMBERSHIP) and isinstance(target.comparator, cst.Name):
                self._check(node, left, target.comparator, ctx)
                return
            left = target.comparator

    def _check(self, node: cst.Comparison, element: cst.BaseExpression, container: cst.Name,
               ctx: Context) -> None:
        name = container.value
        if not has_evidence(name, ctx):
            return  # cheapest first: most containers are parameters and attributes
        loop = input_sized_loop(ctx, allow_while=True)
        if loop is None or leaves_loop_after(ctx, loop, node):
            return
        if name in reset_in_loop(loop, ctx):
            return  # a new list per pass: nothing accumulates across passes
        shape = shape_of_name(name, ctx, loop)
        if shape.kind != "list" or not shape.grows or shape.unhashable:
            return  # (a list of dicts cannot become a set)
        # The element must change across passes; a loop-invariant test is hoistable, not a scan per item.
        if not names_read(element) & loop_bound_names(ctx) or bounded_in_loop(loop, name, ctx):
            return
        if (id(loop.node), name) in self.reported:
            return
        self.reported.add((id(loop.node), name))
        test = code_for(node, ctx)
        grown_here = name in grown_in_loop(loop, ctx)
        if grown_here:
            advice = (f"use a set (`{name} = set()`, `{name}.add(...)`), or a set next to the list "
                      "when its order matters, and test membership on the set")
        else:
            advice = f"build `{name}_set = set({name})` once before the loop and test membership on it"
        ctx.report(self, node,
                   f"`{test}` scans the list `{name}` ({shape.how}) on every pass of "
                   f"`{describe_loop(loop, ctx)}`: O(len({name})) per test; {advice}",
                   confidence="medium" if shape.weak else self.confidence)

