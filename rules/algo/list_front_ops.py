"""PFL403 list-front-ops."""

from __future__ import annotations

import re

import libcst as cst

from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.algo.shapes import growing_list_call
from perflint.rules.loops import describe_loop


class ListFrontOps(PythonRule):
    """
    ## What it does
    Flags `lst.pop(0)` and `lst.insert(0, x)` inside a loop when `lst` is a list that
    grows with the input: a FIFO queue (breadth-first search, work lists, a parser
    consuming lines) kept in a list.

    ## Why is this bad?
    A list stores its items contiguously: removing or inserting at the front moves
    every other item one slot, O(n) per call. Draining a queue of n items that way is
    O(n²). `collections.deque` does both ends in O(1).

    ## Example
    ```python
    queue = [root]
    while queue:
        node = queue.pop(0)
        queue.extend(node.children)
    ```

    ## Use instead
    ```python
    from collections import deque

    queue = deque([root])
    while queue:
        node = queue.popleft()
        queue.extend(node.children)
    ```
    (`insert(0, x)` becomes `appendleft(x)`.)

    Confidence: `medium` when the list comes from `.split()` (a line's fields may be few),
    `high` otherwise.

    Not reported: deques (`deque(...)`, also `insert(0, x)`, which a deque does in O(1)),
    lists capped at a constant length in the loop (`if len(window) > 5:
    window.pop(0)`) or emptied by it (`.clear()`, `del lst[:]`), literal lists that never grow, lists rebuilt on every pass, and
    names whose type the file does not show (parameters without a `list` annotation,
    attributes).
    """

    code = "PFL403"
    name = "list-front-ops"
    summary = "`list.pop(0)` / `list.insert(0, x)` in a loop: O(n) per call"
    message = "front operation on a list moves every item on each pass"
    severity = "warning"
    confidence = "high"
    base_cost = 2.0
    fix_hint = "Use collections.deque: popleft() / appendleft() are O(1)."
    candidate = re.compile(r"\.(?:pop|insert)\(\s*0\s*[,)]")

    VALID = (
        # a deque
        Valid("from collections import deque\ndef bfs(graph, root):\n    queue = deque([root])\n    while queue:\n        node = queue.popleft()\n        queue.extend(graph[node])\n"),
        Valid("import collections\ndef f(items):\n    out = collections.deque()\n    for x in items:\n        out.insert(0, x)\n"),
        # a window capped at a constant length
        Valid("def moving(values):\n    window = []\n    for v in values:\n        window.append(v)\n        if len(window) > 5:\n            window.pop(0)\n        yield sum(window) / len(window)\n"),
        Valid("LIMIT = 10\ndef recent(events):\n    last = []\n    for e in events:\n        last.insert(0, e)\n        if len(last) >= LIMIT:\n            last.pop()\n"),
        # a literal list that never grows
        Valid("def f(rows):\n    steps = ['a', 'b', 'c']\n    for r in rows:\n        if steps:\n            print(steps.pop(0))\n"),
        # not in a loop
        Valid("def f(names):\n    names = list(names)\n    first = names.pop(0)\n    return first, names\n"),
        # unknown: an unannotated parameter, an attribute (pop(0) is also dict.pop(key))
        Valid("def f(args):\n    while args:\n        arg = args.pop(0)\n        print(arg)\n"),
        Valid("def f(self):\n    while self.pending:\n        self.pending.pop(0)\n"),
        Valid("def f(rows):\n    by_key = {}\n    for r in rows:\n        by_key.pop(0, None)\n"),
        # rebuilt on every pass
        Valid("def f(lines):\n    for line in lines:\n        parts = line.split()\n        head = parts.pop(0)\n        print(head, parts)\n"),
        # pop() from the end is O(1)
        Valid("def dfs(graph, root):\n    stack = [root]\n    while stack:\n        node = stack.pop()\n        stack.extend(graph[node])\n"),
    )
    INVALID = (
        Invalid("def bfs(graph, root):\n    queue = [root]\n    seen = {root}\n    while queue:\n        node = queue.pop(0)\n        for nxt in graph[node]:\n            if nxt not in seen:\n                seen.add(nxt)\n                queue.append(nxt)\n", (5,)),
        Invalid("def reverse(items):\n    out = []\n    for x in items:\n        out.insert(0, x)\n    return out\n", (4,)),
        Invalid("def parse(text):\n    lines = text.splitlines()\n    while lines:\n        line = lines.pop(0)\n        print(line)\n", (4,)),
        Invalid("def f(jobs: list[str]):\n    while jobs:\n        run(jobs.pop(0))\n", (3,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        found = growing_list_call(node, ctx, _front_call)
        if found is None:
            return
        name, method, loop, shape = found.name, found.method, found.loop, found.shape
        replacement = "popleft()" if method == "pop" else "appendleft(...)"
        ctx.report(self, node,
                   f"`{name}.{method}(0{'' if method == 'pop' else ', ...'})` moves every other item of "
                   f"the list `{name}` on each pass of `{describe_loop(loop, ctx)}` (O(n) per call, "
                   f"O(n²) in all); make it a `collections.deque` and use `{name}.{replacement}`",
                   confidence="medium" if shape.weak else self.confidence)


def _front_call(method: str, call: cst.Call) -> bool:
    """``x.pop(0)`` or ``x.insert(0, item)``, positional arguments only."""
    args = call.args
    if any(arg.keyword is not None or arg.star for arg in args):
        return False
    if method == "pop":
        return len(args) == 1 and _is_zero(args[0].value)
    if method == "insert":
        return len(args) == 2 and _is_zero(args[0].value)
    return False


def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.evaluated_value == 0

