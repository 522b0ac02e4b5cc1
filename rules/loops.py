"""Loop questions shared by the loop rules (which enclosing loop multiplies work)."""

from __future__ import annotations

import libcst as cst

from perflint.context import Context, LoopFrame
from perflint.cstutil import assigned_names, is_small_literal_collection, loop_exits_early
from perflint.knowledge import Knowledge

_MAX_DESCRIPTION = 60


def multiplying_loop(ctx: Context, knowledge: Knowledge, *, allow_while: bool,
                     allow_async_for: bool = True) -> LoopFrame | None:
    """The innermost enclosing loop (in this function) that runs its body an
    input-dependent number of times with independent passes, or None.

    A loop does not multiply when it is over a small literal (or ``range(<small>)``), or
    when its body returns / breaks (first-hit lookups and retries)."""
    limit = ctx.config.small_literal_max
    for loop in reversed(ctx.loops):
        if loop.kind == "while" and not allow_while:
            continue
        if loop.kind in ("async_for", "async_comp") and not allow_async_for:
            continue
        if loop.iterable is not None and is_small_literal_collection(loop.iterable, limit):
            continue
        if isinstance(loop.node, (cst.For, cst.While)) and _exits_early(loop, ctx):
            # A return leaves every enclosing loop too.
            return None
        return loop
    return None


def _exits_early(loop: LoopFrame, ctx: Context) -> bool:
    key = ("exits", id(loop.node))
    cached = ctx.memo.get(key)
    if cached is None:
        cached = loop.body is not None and loop_exits_early(loop.body)
        ctx.memo[key] = cached
    return cached


def describe_loop(loop: LoopFrame, ctx: Context) -> str:
    """``for user in users`` (shortened), for messages."""
    node = loop.node
    if isinstance(node, (cst.For, cst.CompFor)):
        text = f"for {ctx.module.code_for_node(node.target)} in {ctx.module.code_for_node(node.iter)}"
    else:
        text = "while loop"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def loop_bound_names(ctx: Context) -> set[str]:
    """Names that change per iteration of any enclosing loop: the targets, and names
    the loop bodies assign."""
    names: set[str] = set()
    for loop in ctx.loops:
        names |= loop.targets
        if loop.body is not None and not isinstance(loop.node, cst.CompFor):
            key = ("assigned", id(loop.body))
            assigned = ctx.memo.get(key)
            if assigned is None:
                assigned = assigned_names(loop.body)
                ctx.memo[key] = assigned
            names |= assigned
    return names
