"""PFL405 list-scan-in-loop."""

from __future__ import annotations

import re

import libcst as cst

from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.algo.shapes import growing_list_call
from perflint.rules.loops import describe_loop

# Method -> what to use instead; each walks the list from the front.
_ADVICE: dict[str, str] = {
    "index": "build a dict of first positions once (`for i, x in enumerate({name}): pos.setdefault(x, i)`) "
             "and look positions up",
    "count": "count everything once with `collections.Counter({name})` and read the counts",
    "remove": "collect what to drop in a set and rebuild once (`[x for x in {name} if x not in drop]`), "
              "or keep the items in a set or dict",
}


class ListScanInLoop(PythonRule):
    """
    ## What it does
    Flags `lst.index(x)`, `lst.count(x)` and `lst.remove(x)` inside a loop when `lst`
    is a list that grows with the input (appended to, built by `list(...)`, a
    comprehension or `.split()`, or a parameter annotated `list[...]`).

    ## Why is this bad?
    Each of these walks the list from the front, O(len(lst)) per call; once per pass of
    a loop over n items that is O(n*m), and O(n²) when the loop walks the same list
    (`[x for x in xs if xs.count(x) > 1]`). `remove` also shifts every item after the
    one it deletes.

    ## Example
    ```python
    duplicates = [x for x in items if items.count(x) > 1]
    ```

    ## Use instead
    ```python
    counts = collections.Counter(items)
    duplicates = [x for x in items if counts[x] > 1]
    ```
    For `index`, build a `{item: position}` dict once; for `remove`, collect what to
    drop in a set and rebuild the list once (or keep a set / dict to begin with).

    Confidence: `medium` when the list comes from `.split()` (a line's fields may be few),
    `high` otherwise.

    Not reported: a call right before the loop is left (`lst.remove(x); break`), strings (`line.count(",")`, `text.index(":")`), tuples, literal
    lists that never grow, lists rebuilt on every pass or kept at a constant size by
    the loop, `index`/`count` on lists of dicts/lists/sets (unhashable), loops over a small literal, and names whose type the file does not show (parameters without a `list`
    annotation, attributes).
    """

    code = "PFL405"
    name = "list-scan-in-loop"
    summary = "`list.index/count/remove` inside a loop scans the list on every pass"
    message = "list method scans the whole list on every pass of the loop"
    severity = "warning"
    confidence = "high"
    base_cost = 2.0
    fix_hint = "Index the list once: a dict of positions, a collections.Counter, or a set."
    candidate = re.compile(r"\.(?:index|count|remove)\(")

    VALID = (
        # strings
        Valid("def f(lines):\n    text = ''.join(lines)\n    for line in lines:\n        n = line.count(',')\n        i = text.index(line)\n"),
        # a literal list that never grows
        Valid("ORDER = ['low', 'medium', 'high']\ndef f(rows):\n    return sorted(rows, key=lambda r: ORDER.index(r.level))\n"),
        Valid("def f(rows):\n    order = ['low', 'medium', 'high']\n    for r in rows:\n        r.rank = order.index(r.level)\n"),
        # unknown: an unannotated parameter, an attribute
        Valid("def f(rows, names):\n    for r in rows:\n        r.pos = names.index(r.name)\n"),
        Valid("def f(self, rows):\n    for r in rows:\n        self.pending.remove(r)\n"),
        # rebuilt on every pass
        Valid("def f(lines):\n    for line in lines:\n        fields = line.split(';')\n        print(fields.index('x'))\n"),
        # a small bounded loop
        Valid("def f(names):\n    names = list(names)\n    for k in ('a', 'b'):\n        names.remove(k)\n"),
        # the Counter the rule recommends
        Valid("from collections import Counter\ndef f(items):\n    counts = Counter(items)\n    return [x for x in items if counts[x] > 1]\n"),
        # not in a loop
        Valid("def f(items):\n    items = list(items)\n    items.remove(None)\n    return items.index(0)\n"),
        # removed once, then the loop is left
        Valid("def f(items, rows):\n    items = list(items)\n    for r in rows:\n        if r.bad:\n            items.remove(r)\n            break\n    return items\n"),
        # a list of dicts: no Counter or dict of positions can hold them
        Valid("def f(rows):\n    seen = []\n    for r in rows:\n        seen.append({'id': r.id})\n        print(seen.count({'id': r.id}))\n"),
        # a tuple
        Valid("def f(rows, names):\n    order = tuple(names)\n    for r in rows:\n        r.pos = order.index(r.name)\n"),
    )
    INVALID = (
        Invalid("def duplicates(items: list[int]):\n    return [x for x in items if items.count(x) > 1]\n", (2,)),
        Invalid("def f(rows, names):\n    order = list(names)\n    for r in rows:\n        r.pos = order.index(r.name)\n", (4,)),
        Invalid("def f(items, drop):\n    keep = [x for x in items]\n    for d in drop:\n        keep.remove(d)\n    return keep\n", (4,)),
        Invalid("def f(rows):\n    names = []\n    for r in rows:\n        names.append(r.name)\n    for r in rows:\n        print(names.count(r.name))\n", (6,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        found = growing_list_call(node, ctx, lambda method, call: method in _ADVICE and bool(call.args))
        if found is None:
            return
        name, method, loop, shape = found.name, found.method, found.loop, found.shape
        if shape.unhashable and method != "remove":
            return  # no dict of positions, no Counter for a list of dicts
        ctx.report(self, node,
                   f"`{name}.{method}(...)` scans the list `{name}` ({shape.how}) on every pass of "
                   f"`{describe_loop(loop, ctx)}`: O(len({name})) per call; "
                   + _ADVICE[method].format(name=name),
                   confidence="medium" if shape.weak else self.confidence)
