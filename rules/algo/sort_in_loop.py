"""PFL406 sort-in-loop."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context, LoopFrame
from perflint.cstutil import dict_view_owner, dotted_name, mutated_names, names_read
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.algo.shapes import (
    Shape,
    bounded_in_loop,
    code_for,
    grown_in_loop,
    is_builtin,
    leaves_loop_after,
    reset_within,
    shape_of_name,
)
from perflint.rules.loops import (
    describe_loop,
    input_sized_loop,
    is_bounded_iterable,
    loop_bound_names,
)

# Kinds ``sorted()`` may be given that hold many items; anything else known (a str, a
# number, a literal list) is not a sort worth hoisting.
_COLLECTIONS = frozenset({"list", "tuple", "set", "frozenset", "dict", "view", "deque"})


class SortInLoop(PythonRule):
    """
    ## What it does
    Flags `sorted(data)` and `data.sort()` inside a loop when `data` is the same
    collection on every pass (built outside the loop, not rebound in it) and the sort
    itself does not change from pass to pass (its `key=` reads nothing the loop binds).

    ## Why is this bad?
    Sorting is O(n log n). Sorting the same data once per pass of a loop over m items
    costs O(m * n log n) for one result that could be computed once. When the loop adds
    an item and re-sorts each time (a hand-made priority queue or ordered list), n
    inserts cost O(n² log n) where `heapq` needs O(n log n) and `bisect.insort` a
    cheap memmove per insert.

    ## Example
    ```python
    for request in requests:
        ranked = sorted(candidates, key=score)
        respond(request, ranked[:10])
    ```

    ## Use instead
    ```python
    ranked = sorted(candidates, key=score)
    for request in requests:
        respond(request, ranked[:10])
    ```
    and for data that grows in the loop: `heapq.heappush` / `heappop` for the smallest
    item, `bisect.insort` to keep a list ordered, or one sort after the loop.

    Confidence: `high` when the file shows the data is a growing list, `medium` when its
    type is not visible (a parameter, an attribute).

    `lst.sort()` is reported only when the loop also adds to `lst` (append, extend,
    insert, `+=`): a list sorted in place without growing may be changing through its
    items, and Timsort passes over already sorted data in linear time.

    Not reported: a sort right before the loop is left (`...; break`), a list the
    loop keeps at a constant size (a top-k capped by `len(top) > 10`), data bound per
    pass (`for g in groups: sorted(g.members)`), sorts whose `key=` reads the loop
    variable (a different order each pass), small literal collections, loops over a
    small literal, `.sort(...)` with positional arguments (not `list.sort`), `while`
    loops over data whose type is not visible (event and polling loops), and a builtin
    `sorted` rebound in the file.
    """

    code = "PFL406"
    name = "sort-in-loop"
    summary = "the same data sorted on every pass of a loop"
    message = "sorts the same data on every pass of the loop"
    severity = "warning"
    confidence = "high"
    base_cost = 2.0
    fix_hint = "Sort once outside the loop; for data that grows in the loop use heapq or bisect.insort."
    candidate = Words(("sorted(", ".sort("))

    VALID = (
        # data bound per pass: each group's own members
        Valid("def f(groups):\n    for g in groups:\n        for m in sorted(g.members):\n            print(m)\n"),
        Valid("def f(rows):\n    for r in rows:\n        tags = list(r.tags)\n        tags.sort()\n        print(tags)\n"),
        # a different order on each pass
        Valid("def f(rows, columns):\n    for col in columns:\n        ranked = sorted(rows, key=lambda r: r[col])\n        print(ranked[0])\n"),
        # sorted once, before the loop
        Valid("def f(rows, requests):\n    ranked = sorted(rows)\n    for q in requests:\n        print(q, ranked[:10])\n"),
        # a small literal
        Valid("def f(rows):\n    levels = ['b', 'a', 'c']\n    for r in rows:\n        print(sorted(levels))\n"),
        Valid("def f(rows):\n    for r in rows:\n        print(sorted(('b', 'a')))\n"),
        # a loop over a small literal
        Valid("def f(rows):\n    for attempt in range(3):\n        rows.sort()\n"),
        # not list.sort: positional arguments
        Valid("def f(model, columns):\n    for c in columns:\n        model.sort(c)\n"),
        # an event loop over data of unknown type
        Valid("def f(self):\n    while True:\n        for name in sorted(self.handlers):\n            self.handlers[name]()\n"),
        # a string: sorted() of characters
        Valid("def f(words, alphabet: str):\n    for w in words:\n        order = sorted(alphabet)\n        print(w, order)\n"),
        # sorted rebound in the file
        Valid("from natsort import natsorted as sorted\ndef f(rows, names):\n    for r in rows:\n        print(sorted(names))\n"),
        # a top-k the loop keeps at a constant size
        Valid("def f(scores):\n    top = []\n    for s in scores:\n        top.append(s)\n        top.sort(reverse=True)\n        if len(top) > 10:\n            top.pop()\n    return top\n"),
        # lst.sort() of a list the loop does not add to (its items change through ``target``)
        Valid("def f(stubs: list[list[int]], degrees):\n    for degree in degrees:\n        stubs.sort()\n        for target in stubs[-degree:]:\n            target[0] -= 1\n"),
        # sorted once, then the loop is left
        Valid("def f(arr: list[int]):\n    result = arr\n    for i, x in enumerate(arr[1:]):\n        if x < arr[i]:\n            result = sorted(arr)\n            break\n    return result\n"),
        # sort after the loop
        Valid("def f(rows):\n    out = []\n    for r in rows:\n        out.append(r)\n    out.sort()\n    return out\n"),
    )
    INVALID = (
        # the same data sorted on every pass
        Invalid("def f(requests, candidates: list[str]):\n    for q in requests:\n        ranked = sorted(candidates)\n        print(q, ranked[:10])\n", (3,)),
        # re-sorted after each append: a hand-made priority queue
        Invalid("def f(events):\n    pending = []\n    for e in events:\n        pending.append(e)\n        pending.sort(key=lambda x: x.time)\n        print(pending[0])\n", (5,)),
        Invalid("def f(tasks):\n    queue = list(tasks)\n    while queue:\n        queue.sort()\n        task = queue.pop()\n        queue.extend(task.followups)\n", (4,)),
        # the smallest item picked by sorting what is left on every pass: heapq
        Invalid("def f(jobs: list[int]):\n    order = []\n    while jobs:\n        first = sorted(jobs)[0]\n        jobs.remove(first)\n        order.append(first)\n", (4,)),
        # unknown type, for loop: medium
        Invalid("def f(self, users):\n    for u in users:\n        top = sorted(self.scores.items(), key=lambda kv: kv[1])\n        print(u, top[-1])\n", (3,)),
        # in a comprehension
        Invalid("def f(rows, names):\n    names = list(names)\n    return [sorted(names)[0] for r in rows]\n", (3,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.loops:
            return
        data, options = _sorted_data(node, ctx)
        if data is None:
            return
        loop = input_sized_loop(ctx, allow_while=True)
        if loop is None or leaves_loop_after(ctx, loop, node):
            return
        root = (dotted_name(data) or "").split(".")[0]
        if root in reset_within(ctx, loop):
            return  # different data on each pass
        if any(names_read(option) & loop_bound_names(ctx) for option in options):
            return  # a different order on each pass
        if is_bounded_iterable(data, ctx, ctx.config.small_literal_max):
            return
        if isinstance(data, cst.Name) and bounded_in_loop(loop, data.value, ctx):
            return  # a top-k kept at a constant size: sorting it is constant work
        grows = root in grown_in_loop(loop, ctx)
        if isinstance(node.func, cst.Attribute) and not grows:
            # ``lst.sort()`` of a list the loop does not add to: its items may be changed
            # through other references (``target[0] -= 1`` on an item), and Timsort passes
            # over sorted data in linear time anyway.
            return
        shape = shape_of_name(data.value, ctx, loop) if isinstance(data, cst.Name) else None
        confidence = _confidence(shape, loop)
        if confidence is None:
            return
        changes = grows or (loop.body is not None and isinstance(data, cst.Name)
                            and data.value in mutated_names(loop.body))
        self._report(node, data, loop, changes, confidence, ctx)

    def _report(self, node: cst.Call, data: cst.BaseExpression, loop: LoopFrame, changes: bool,
                confidence: str, ctx: Context) -> None:
        call = code_for(node, ctx)
        what = code_for(data, ctx)
        where = describe_loop(loop, ctx)
        if changes:
            text = (f"`{call}` re-sorts `{what}` after it changes on every pass of `{where}`; "
                    "keep it ordered with `bisect.insort`, use `heapq` (heappush / heappop) when "
                    "only the smallest item is needed, or sort once after the loop")
        else:
            text = (f"`{call}` sorts the same `{what}` on every pass of `{where}`; "
                    "sort once before the loop and reuse the result")
        ctx.report(self, node, text, confidence=confidence)


def _sorted_data(call: cst.Call, ctx: Context) -> tuple[cst.BaseExpression | None, list[cst.BaseExpression]]:
    """(what is sorted, the sort's other arguments) for ``sorted(data, ...)`` (also
    ``sorted(d.items())``) and ``data.sort(...)``; (None, []) for anything else."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "sort":
        if any(arg.keyword is None for arg in call.args):
            return None, []  # list.sort takes keywords only
        data: cst.BaseExpression = func.value
        options = [arg.value for arg in call.args]
    elif call.args and call.args[0].keyword is None and not call.args[0].star \
            and is_builtin(func, "sorted", ctx):
        data = call.args[0].value
        options = [arg.value for arg in call.args[1:]]
        data = dict_view_owner(data)  # ``sorted(d.items())`` sorts ``d``
    else:
        return None, []
    if dotted_name(data) is None:
        return None, []
    return data, options


def _confidence(shape: Shape | None, loop: LoopFrame) -> str | None:
    """high for a visible growing collection, medium for an attribute or a name of
    unknown type in a ``for`` loop, None (quiet) otherwise."""
    if shape is not None and shape.known:
        if shape.kind not in _COLLECTIONS:
            return None
        if shape.kind in ("list", "tuple") and not shape.grows:
            return None  # a literal of a few items
        return "high" if shape.kind == "list" else "medium"
    if loop.kind == "while":
        return None  # event and polling loops: no visible link to the input
    return "medium"
