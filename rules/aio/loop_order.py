"""Why a loop of I/O calls may run one pass after another on purpose (PFL301, PFL304):
it paces itself, it times itself, or each pass needs what the previous one left."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    assigned_names,
    dotted_name,
    iter_subtree,
    mutated_names,
    names_read,
)


def paces_itself(loop: LoopFrame) -> bool:
    """The loop body sleeps (``asyncio.sleep``, ``time.sleep``) or enters a limiter
    (``async with limiter:``, ``with throttle(...)``): sequential on purpose."""
    if loop.body is None:
        return False
    for node in iter_subtree(loop.body):
        if isinstance(node, cst.Call) and dotted_name(node.func) in kb.RATE_LIMIT_CALLS:
            return True
        if isinstance(node, cst.With):
            for item in node.items:
                name = (dotted_name(item.item.func) if isinstance(item.item, cst.Call)
                        else dotted_name(item.item)) or ""
                if any(word in name.lower() for word in kb.RATE_LIMIT_CONTEXT_WORDS):
                    return True
    return False


def times_itself(loop: LoopFrame, ctx: Context) -> bool:
    """The loop body reads a clock (``time.perf_counter()``): it measures each call's
    latency (a benchmark, a health probe), and running the calls together would change
    what it measures."""
    if loop.body is None:
        return False
    body = loop.body
    return ctx.memoised(("times_itself", id(body)), lambda: any(
        isinstance(node, cst.Call) and ctx.qualified_name(node.func) in kb.CLOCK_CALLS
        for node in iter_subtree(body)))


def depends_on_previous_iteration(expr: cst.CSTNode, loop: LoopFrame, ctx: Context) -> bool:
    """``expr`` reads a name the loop body rebinds (cursor, token, accumulator) or changes
    in place (``applied.add(step)``): each pass sees what the previous ones left."""
    if loop.body is None or isinstance(loop.node, cst.CompFor):
        return False
    body = loop.body
    rebound = ctx.memoised(("rebound", id(body)), lambda: assigned_names(body) - set(loop.targets))
    mutated = ctx.memoised(("mutated", id(body)), lambda: mutated_names(body) - set(loop.targets))
    return bool(names_read(expr) & (rebound | mutated))


def iterates_batches(loop: LoopFrame, ctx: Context) -> bool:
    """``for chunk in chunked(ids, 100)`` / ``for batch in batches``: each pass already
    sends a batch (the batched form of per-item requests)."""
    if not isinstance(loop.node, (cst.For, cst.CompFor)):
        return False
    text = f"{ctx.module.code_for_node(loop.node.target)} {ctx.module.code_for_node(loop.node.iter)}"
    lowered = text.lower()
    return any(word in lowered for word in kb.BATCH_LOOP_WORDS)
