"""PFL404 str-concat-in-loop."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.algo.shapes import (
    Accumulation,
    accumulation,
    has_evidence,
    leaves_loop_after,
    reset_in_loop,
    shape_of_name,
)
from perflint.rules.loops import describe_loop, input_sized_loop


class StrConcatInLoop(PythonRule):
    """
    ## What it does
    Flags a `str` or `bytes` built up with `+=` (or `s = s + ...`, `s = ... + s`) across
    the passes of a loop over the input. The accumulator must visibly be a string: it
    is initialised from a string or bytes literal, an f-string or `str(...)` before the
    loop (or is a parameter annotated `str` / `bytes`).

    ## Why is this bad?
    Strings and bytes are immutable: each `+` builds a new object and copies everything
    accumulated so far, so n appends cost O(n²) bytes copied. CPython avoids the copy
    for one case only, `s += t` (or `s = s + t`) on a local `str` that nothing else
    references; it never does for `bytes`, for prepends (`s = t + s`), for
    `s = s + a + b` (the `s + a` copies) or, since CPython 3.11, for module-level and
    global names; other interpreters (PyPy) never do.

    Confidence: `low` for `s += t` on a local `str` (usually saved by CPython's
    in-place concatenation, still quadratic elsewhere); `high` for `bytes` and for the
    `str` forms CPython always copies.

    ## Example
    ```python
    html = ""
    for row in rows:
        html += f"<tr><td>{row.name}</td></tr>"
    ```

    ## Use instead
    ```python
    parts = []
    for row in rows:
        parts.append(f"<tr><td>{row.name}</td></tr>")
    html = "".join(parts)
    ```
    or write to an `io.StringIO`; for bytes, append to a `bytearray()` (its `+=` is
    amortised O(1)) or `b"".join(chunks)`.

    One finding per accumulator and loop, on its first `+=` there.

    Not reported: numbers and lists (`total += x`, `items += more`), loops over a small
    literal or `range(<small constant>)`, `while` loops counting a number against a
    literal (`while n > 0:` building the digits of n), accumulators started afresh on each pass
    (`line = ""` inside the loop), and names whose type the file does not show
    (parameters without a `str` annotation, attributes, results of unknown calls).
    """

    code = "PFL404"
    name = "str-concat-in-loop"
    summary = "a str/bytes accumulated with `+=` across an input-sized loop"
    message = "string built with += in a loop copies everything accumulated so far"
    severity = "warning"
    confidence = "low"
    base_cost = 1.0
    fix_hint = 'Collect the parts in a list and "".join(parts) once (io.StringIO; bytearray for bytes).'
    candidate = Words(("+",))

    VALID = (
        # numbers
        Valid("def f(rows):\n    total = 0\n    errors = 0\n    for r in rows:\n        total += r.amount\n        errors = errors + 1\n"),
        # lists (+= extends in place)
        Valid("def f(groups):\n    out = []\n    for g in groups:\n        out += g.items\n"),
        # small bounded loops
        Valid("def f(row):\n    line = ''\n    for col in ('id', 'name', 'email'):\n        line += str(row[col]) + ','\n    return line\n"),
        Valid("def f():\n    bar = ''\n    for _ in range(10):\n        bar += '#'\n    return bar\n"),
        # started afresh on each pass
        Valid("def f(rows):\n    for r in rows:\n        line = ''\n        for col in ('a', 'b'):\n            line += r[col]\n        print(line)\n"),
        # unknown type: a parameter, a call result, an attribute
        Valid("def f(prefix, rows):\n    for r in rows:\n        prefix += r\n"),
        Valid("def f(rows):\n    text = render()\n    for r in rows:\n        text += r\n"),
        Valid("def f(self, rows):\n    for r in rows:\n        self.text += r\n"),
        # the join the rule recommends
        Valid("def f(rows):\n    parts = []\n    for r in rows:\n        parts.append(f'<td>{r}</td>')\n    return ''.join(parts)\n"),
        # a bytearray grows in place
        Valid("def f(sock):\n    buf = bytearray()\n    while True:\n        chunk = sock.recv(4096)\n        if not chunk:\n            break\n        buf += chunk\n"),
        # not in a loop
        Valid("def f(a, b):\n    s = ''\n    s += a\n    s += b\n    return s\n"),
        # a number's digits: the loop counts against a literal, not over the input
        Valid("def base36(n):\n    digits = '0123456789abcdefghijklmnopqrstuvwxyz'\n    out = ''\n    while n > 0:\n        n, r = divmod(n, 36)\n        out = digits[r] + out\n    return out\n"),
        # added to once, then the loop is left
        Valid("def f(rows):\n    s = ''\n    for r in rows:\n        if r.last:\n            s += r.text\n            break\n    return s\n"),
        # a loop that always leaves on its first pass
        Valid("def f(rows):\n    s = ''\n    for r in rows:\n        s += r\n        return s\n"),
        # a literal range of six passes (Home Assistant's fmp4utils codec string)
        Valid("def f(box):\n    s = ''\n    for i in range(121, 115, -1):\n        s = '.' + hex(box[i])[2:] + s\n    return s\n"),
        # filled up to a small literal size
        Valid("def f(s):\n    while len(s) < 8:\n        s += '0'\n    return s\n"),
    )
    INVALID = (
        # str, local, in place: low confidence
        Invalid("def table(rows):\n    html = ''\n    for row in rows:\n        html += f'<tr><td>{row.name}</td></tr>'\n    return html\n", (4,)),
        # bytes read in a loop: high
        Invalid("def read_all(sock):\n    data = b''\n    while True:\n        chunk = sock.recv(4096)\n        if not chunk:\n            break\n        data += chunk\n    return data\n", (7,)),
        # s = s + a + b copies s; a prepend always copies
        Invalid("def csv(rows):\n    out = str()\n    for r in rows:\n        out = out + r.name + '\\n'\n    return out\n", (4,)),
        Invalid("def f(items):\n    s = ''\n    for x in items:\n        s = x + s\n    return s\n", (4,)),
        # module level: a global, never extended in place
        Invalid("import sys\nreport = ''\nfor line in sys.stdin:\n    report += line\n", (4,)),
        # one finding per accumulator and loop
        Invalid("def f(rows):\n    msg = 'Rows:'\n    for r in rows:\n        msg += '\\n  '\n        if r.parent:\n            msg += r.parent.name\n        msg += r.name\n    return msg\n", (4,)),
        # through a comprehension-free inner loop over the row's cells
        Invalid("def f(rows, sep: str):\n    out = sep\n    for r in rows:\n        for cell in r.cells:\n            out += cell\n    return out\n", (5,)),
    )

    def __init__(self) -> None:
        # One finding per accumulator and loop: the fix (collect the parts, join once)
        # covers every ``+=`` of it in that loop.
        self.reported: set[tuple[str, int]] = set()

    def visit_AugAssign(self, node: cst.AugAssign, ctx: Context) -> None:
        if ctx.loops and isinstance(node.operator, cst.AddAssign):
            self._check(node, ctx)

    def visit_Assign(self, node: cst.Assign, ctx: Context) -> None:
        if ctx.loops and isinstance(node.value, cst.BinaryOperation):
            self._check(node, ctx)

    def _check(self, node: cst.AugAssign | cst.Assign, ctx: Context) -> None:
        grown = accumulation(node)
        if grown is None or not has_evidence(grown.name, ctx):
            return
        loop = input_sized_loop(ctx, allow_while=True)
        if loop is None or grown.name in reset_in_loop(loop, ctx) or leaves_loop_after(ctx, loop, node):
            return
        key = (grown.name, id(loop.node))
        if key in self.reported:
            return
        shape = shape_of_name(grown.name, ctx, loop)
        if shape.kind not in ("str", "bytes"):
            return
        self.reported.add(key)
        confidence = self._confidence(shape.kind, grown, ctx)
        where = f"on each pass of `{describe_loop(loop, ctx)}`"
        if shape.kind == "bytes":
            advice = ("append to a `bytearray()` (its `+=` is amortised O(1)) or collect the "
                      "chunks in a list and `b\"\".join(chunks)` once")
        elif grown.prepends:
            advice = 'collect the parts in a list and `"".join(reversed(parts))` once'
        else:
            advice = 'collect the parts in a list and `"".join(parts)` once, or write them to an `io.StringIO`'
        form = f"{grown.name} += ..." if grown.augmented else (
            f"{grown.name} = ... + {grown.name}" if grown.prepends else f"{grown.name} = {grown.name} + ...")
        copies = ("copies everything accumulated so far" if confidence == "high"
                  else "builds a new string (quadratic unless CPython can extend it in place)")
        ctx.report(self, node, f"`{form}` {copies} {where}; {advice}", confidence=confidence)

    @staticmethod
    def _confidence(kind: str, grown: Accumulation, ctx: Context) -> str:
        """``low`` only where CPython's in-place str concatenation applies: ``s += t`` /
        ``s = s + t`` on a function's local. Bytes are always copied."""
        if kind == "bytes":
            return "high"
        in_function = ctx.frame.kind == "function"
        return "low" if grown.in_place and in_function else "high"
