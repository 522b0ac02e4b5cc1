"""Loop questions shared by the loop rules (which enclosing loop multiplies work)."""

from __future__ import annotations

from functools import partial

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    assigned_names,
    dict_view_owner,
    has_own_continue,
    is_small_literal_collection,
    loop_exits_early,
    single_bindings,
    unwrap_iterable,
)
from perflint.knowledge import Knowledge
from perflint.locate import loop_label


def multiplying_loop(ctx: Context, knowledge: Knowledge, *, allow_while: bool,
                     allow_async_for: bool = True) -> LoopFrame | None:
    """The innermost enclosing loop (in this function) that runs its body an
    input-dependent number of times with independent passes, or None.

    A loop does not multiply when it is over a small literal (or ``range(<small>)``), or
    when its body returns / breaks (first-hit lookups and retries)."""
    if not ctx.loops:
        return None
    # The answer depends only on the loops around the node, not on the node: every call in
    # a loop body asks the same question (the call graph asks it of every call in a loop).
    return ctx.memoised(("multiplying", id(ctx.loops[-1].node), allow_while, allow_async_for),
                        lambda: _multiplying_loop(ctx, allow_while, allow_async_for))


def _multiplying_loop(ctx: Context, allow_while: bool, allow_async_for: bool) -> LoopFrame | None:
    limit = ctx.config.small_literal_max
    for loop in reversed(ctx.loops):
        if loop.kind == "while" and not allow_while:
            continue
        if loop.kind in ("async_for", "async_comp") and not allow_async_for:
            continue
        if loop.iterable is not None and is_bounded_iterable(loop.iterable, ctx, limit):
            continue
        if _is_test_case_loop(loop):
            continue
        if isinstance(loop.node, (cst.For, cst.While)) and exits_early(loop, ctx):
            # A return leaves every enclosing loop too.
            return None
        return loop
    return None


def input_sized_loop(ctx: Context, *, allow_while: bool) -> LoopFrame | None:
    """The innermost enclosing loop (in this function) whose number of passes grows with
    the input, or None: the loops the algorithmic rules (PFL402-PFL407) multiply by.

    Same bounds as ``multiplying_loop``: loops over a small literal (or ``range(<small>)``,
    also through a name bound once to one) and test-case loops do not count, nor do
    ``while`` loops counting a number against a literal (``while n > 0``). Unlike it, a
    loop that may stop early on a hit (``return`` / ``break`` inside an ``if``) still counts:
    a first-hit exit caps the number of queries when the hit comes, but a scan that misses
    runs every pass. Only a body that always leaves on its first pass is not a loop."""
    limit = ctx.config.small_literal_max
    for loop in reversed(ctx.loops):
        if loop.kind == "while" and (not allow_while or _counter_test(loop.node, limit)):
            continue
        if loop.iterable is not None and is_bounded_iterable(loop.iterable, ctx, limit):
            continue
        if _is_test_case_loop(loop):
            continue
        if isinstance(loop.node, (cst.For, cst.While)) and _always_leaves(loop.node.body):
            continue
        return loop
    return None


def _counter_test(node: cst.CSTNode, limit: int) -> bool:
    """``while n > 0`` / ``while i != 0``: a number counted against a literal (digits of
    an int, a countdown), with no visible link to the size of any collection; and
    ``while len(parts) < 3``: a collection filled up to a small literal size."""
    if not isinstance(node, cst.While) or not isinstance(node.test, cst.Comparison):
        return False
    test = node.test
    sides = [test.left, *(target.comparator for target in test.comparisons)]
    if len(sides) == 2 and isinstance(test.comparisons[0].operator, (cst.LessThan, cst.LessThanEqual)) \
            and _is_len_call(sides[0]) and isinstance(sides[1], cst.Integer) \
            and int(sides[1].value.replace("_", ""), 0) <= limit:
        return True
    return len(sides) == 2 and any(isinstance(side, (cst.Integer, cst.Float)) for side in sides) \
        and all(isinstance(side, (cst.Name, cst.Integer, cst.Float)) for side in sides)


def _is_len_call(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len" \
        and len(node.args) == 1


def _always_leaves(body: cst.BaseSuite) -> bool:
    """A ``return`` / ``break`` / ``raise`` among the body's own statements (not inside an
    ``if``), with no ``continue`` that could skip it: the body runs once."""
    statements = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    leaves = False
    for statement in statements:
        small = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
        if any(isinstance(s, (cst.Return, cst.Break, cst.Raise)) for s in small):
            leaves = True
            break
    if not leaves:
        return False
    return not has_own_continue(body)


def is_bounded_iterable(node: cst.BaseExpression, ctx: Context, limit: int) -> bool:
    """A small literal (or ``range(<small>)``), also through a name bound once to one in
    this function or at module level (``cases = [...]`` then ``for c in cases``) and
    through ``enumerate``/``sorted``/... wrappers and dict views (``STATES.items()``), or a
    model's list of fields (``model._meta.get_fields()``: the schema's size)."""
    node = dict_view_owner(unwrap_iterable(node, kb.ITERATION_WRAPPERS))
    if is_small_literal_collection(node, limit) or _lists_schema(node):
        return True
    if not isinstance(node, cst.Name):
        return False
    name = node.value

    def bounded() -> bool:
        value = _binding_of(name, ctx)
        return value is not None and is_small_literal_collection(value, limit)

    return ctx.memoised(("bounded", id(node)), bounded)


def _lists_schema(node: cst.BaseExpression) -> bool:
    """``model._meta.fields``, ``model._meta.get_fields()``, ``Model.__table__.columns``:
    one item per column or relation of a model (knowledge.SCHEMA_LISTS)."""
    if isinstance(node, cst.Call):
        node = node.func
    if not isinstance(node, cst.Attribute) or not isinstance(node.value, cst.Attribute):
        return False
    return node.attr.value in kb.SCHEMA_LISTS.get(node.value.attr.value, ())


def _binding_of(name: str, ctx: Context) -> cst.BaseExpression | None:
    """The single literal-candidate value ``name`` is bound to where this code runs."""
    # Cheap gate: the traversal noted every name ever bound to a literal collection in
    # this function and at module level (module constants are collected up front).
    # Only those are worth a scan for "bound exactly once".
    function = ctx.function
    in_function = function is not None and name in function.literal_names
    if not in_function and name not in ctx.frames[0].literal_names:
        return None
    if function is not None and isinstance(function.node, cst.FunctionDef):
        params = function.node.params
        all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                all_params.append(star)
        if any(p.name.value == name for p in all_params):
            return None
        value = ctx.memoised(("single_bindings", id(function.node)),
                      lambda: single_bindings(function.node.body)).get(name)
        if value is not None:
            return value
        assigned = ctx.memoised(("assigned_names", id(function.node)),
                         lambda: assigned_names(function.node.body))
        if name in assigned:
            return None  # bound here more than once, or to something else
    # one walk of the module answers every loop over a module-level name
    return ctx.memoised(("single_bindings", id(ctx.module)), lambda: single_bindings(ctx.module)).get(name)



def _is_test_case_loop(loop: LoopFrame) -> bool:
    """``for case in cases: with self.subTest(case): ...``: each pass is a test scenario
    (a request, fixtures, assertions), not the same work repeated per row."""
    body = loop.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    for statement in body.body:
        if isinstance(statement, cst.With):
            for item in statement.items:
                call = item.item
                if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
                        and call.func.attr.value in kb.TEST_CASE_CONTEXTS:
                    return True
    return False


def exits_early(loop: LoopFrame, ctx: Context) -> bool:
    """The loop's body can leave it on a hit (``cstutil.loop_exits_early``), asked once
    per loop."""
    return ctx.memoised(("exits", id(loop.node)),
                        lambda: loop.body is not None and loop_exits_early(loop.body))


def describe_loop(loop: LoopFrame, ctx: Context) -> str:
    """``for user in users`` (shortened), for messages."""
    node = loop.node
    if isinstance(node, (cst.For, cst.CompFor)):
        return loop_label(f"for {ctx.module.code_for_node(node.target)} in {ctx.module.code_for_node(node.iter)}")
    if isinstance(node, cst.While):
        return loop_label(f"while {ctx.module.code_for_node(node.test)}")
    return "while loop"


def loop_bound_names(ctx: Context) -> set[str]:
    """Names that change per iteration of any enclosing loop: the targets, and names
    the loop bodies assign."""
    names: set[str] = set()
    for loop in ctx.loops:
        names |= loop.targets
        if loop.body is not None and not isinstance(loop.node, cst.CompFor):
            names |= ctx.memoised(("assigned", id(loop.body)), partial(assigned_names, loop.body))
    return names
