"""PFL401 quadratic-loop."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    assigned_names,
    dict_view_owner,
    dotted_name,
    is_small_literal_collection,
    iter_subtree,
    names_read,
    target_names,
    unwrap_iterable,
)
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.loops import is_bounded_iterable, loop_bound_names

# Pairwise matches. ``in`` is left out: ``x in container`` is a lookup (or PFL402).
# ``!=`` / ``is not`` are left out too: alone they exclude the item itself from an
# all-pairs walk (``[b for b in items if b != a]``), whose n*m output no index can shrink.
_SEARCH_OPERATORS = (cst.Equal, cst.Is)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


class QuadraticLoop(PythonRule):
    """
    ## What it does
    Flags a loop nested in another loop where both walk collections that grow with
    the input and the inner loop searches for items matching the outer item.

    ## Why is this bad?
    The work is O(n x m): 1,000 x 1,000 items is a million comparisons, and 10x
    the data costs 100x the time. It is the classic hidden cliff in matching,
    de-duplication and "join in Python" code.

    ## Example
    ```python
    for i, item in enumerate(items):
        for j, other in enumerate(items):
            if i != j and item == other:
                duplicates.append(item)
    ```

    ## Use instead
    ```python
    seen, duplicates = set(), set()
    for item in items:
        if item in seen:
            duplicates.add(item)
        seen.add(item)
    ```
    Index the inner collection once (dict / set / `collections.Counter`) and look up.

    Not reported: the inner loop walks the outer item's own children
    (`for o in orders: for line in o.lines`), constant tuples, `range x range`
    grids, adjacency lookups (`graph[node]`), nested loops whose `==`/`is` test
    between the two items decides nothing (a comparison used as a value), and
    `!=`-only filters (all pairs but itself: the n*m output is the point).
    """

    code = "PFL401"
    name = "quadratic-loop"
    summary = "nested loops over two input-sized collections searching pairwise"
    message = "nested loop searches pairwise: O(n*m)"
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Build a dict or set index of the inner collection once, then look items up."
    candidate = None

    VALID = (
        Valid("def f(orders):\n    for o in orders:\n        for line in o.lines:\n            if line.sku == o.sku:\n                print(line)\n"),
        Valid("def f(items):\n    for x in items:\n        for k in ('a', 'b', 'c'):\n            if x.kind == k:\n                print(x)\n"),
        # the outer loop walks a small literal dict (pretix's order states)
        Valid("def f(counters):\n    states = {'paid': 'p', 'pending': 'n', 'expired': 'e'}\n    num = {}\n    for label, s in states.items():\n        num[label] = {c['item']: c['cnt'] for c in counters if c['status'] == s}\n"),
        Valid("def f(n, grid):\n    for i in range(n):\n        for j in range(n):\n            if grid[i][j] == 0:\n                print(i, j)\n"),
        Valid("def bfs(graph, start):\n    queue = [start]\n    for node in queue:\n        for nxt in graph[node]:\n            if nxt not in seen:\n                queue.append(nxt)\n"),
        # lookups in a container, not a pairwise search
        Valid("def f(forms, fields):\n    for form in forms:\n        data = [x for x in fields if x in form.cleaned_data]\n"),
        # the inner collection comes from a loop further out
        Valid("def f(routes):\n    for route, defaults in routes:\n        for part in route.parts:\n            for k, v in defaults.items():\n                if k == part:\n                    print(v)\n"),
        Valid("def f(rows, cols):\n    for r in rows:\n        for c in cols:\n            print(r, c)\n"),
        Valid("def f(groups):\n    for g in groups:\n        members = g.members\n        for m in members:\n            if m.id == g.owner:\n                print(m)\n"),
        # --- from real code (SQLAlchemy, Wagtail tests) ---
        # ``c == local`` builds a value (a SQL expression), it decides nothing
        Valid("def eq(cols, others):\n    result = []\n    for c in others:\n        for local in cols:\n            if c.shares_lineage(local):\n                result.append(c == local)\n    return result\n"),
        # ``!=`` alone leaves the item out of an all-pairs walk: n*m output by design
        Valid("def f(items):\n    for a in items:\n        others = [b for b in items if b != a]\n        print(others)\n"),
        # both loops over a name bound once to a small literal
        Valid("def f():\n    orderings = ('a', '-a', 'b', '-b')\n    for o in orderings:\n        links = [x for x in orderings if x == '-' + o]\n"),
        # a positional walk (count to the n-th item), not a match between items
        Valid("def f(deleted, comparisons):\n    for block, index in deleted:\n        current = 0\n        for i, c in enumerate(comparisons):\n            if current == index:\n                comparisons.insert(i, block)\n                break\n            current += 1\n"),
        # --- from real code (issue 5 sample: django-oscar, Home Assistant) ---
        # every pair but the item itself (``if a == b: continue``): the n*m work is the output
        Valid("def f(offers):\n    for offer in offers:\n        for other in offers:\n            if offer == other:\n                continue\n            offer.combinations.add(other)\n"),
        # a bit test mixing both items (``features & flag == flag``) is no key lookup
        Valid("def f(entities, required):\n    for e in entities:\n        if not any(e.features & fs == fs for fs in required):\n            continue\n"),
        # the outer loop walks an annotated module constant (entity descriptions)
        Valid("TYPES: tuple[Desc, ...] = (\n    Desc(key='a'),\n    Desc(key='b'),\n)\n\n\ndef f(devices):\n    for d in TYPES:\n        for dev in devices:\n            if dev['type'] == d.key:\n                print(dev)\n"),
        # a chunk passed through each handler in turn; ``chunk is None`` compares no two items
        Valid("def f(stream, handlers):\n    for chunk in stream:\n        for handler in handlers:\n            chunk = handler.receive(chunk)\n            if chunk is None:\n                break\n"),
    )
    INVALID = (
        Invalid("def find_duplicates(items):\n    duplicates = []\n    for i, item in enumerate(items):\n        for j, other in enumerate(items):\n            if i != j and item == other:\n                duplicates.append(item)\n    return duplicates\n", (4,)),
        Invalid("def f(users, orders):\n    for u in users:\n        if any(o.user_id == u.id for o in orders):\n            yield u\n", (3,)),
        Invalid("def f(a, b):\n    return [x for x in a for y in b if x.key == y.key]\n", (2,)),
        Invalid("def f(users, accounts):\n    for u in users:\n        matches = [a for a in accounts if a.email == u.email]\n", (3,)),
        # the outer item through a value derived from it (rename detection by signature)
        Invalid("def renames(added, removed, sig):\n    for new in added:\n        new_state = states[new]\n        new_sig = sig(new_state)\n        for old in removed:\n            old_state = states[old]\n            if new_sig == sig(old_state):\n                yield new, old\n", (5,)),
    )

    def visit_For(self, node: cst.For, ctx: Context) -> None:
        if node.asynchronous is None:
            self._check(node, node.target, node.iter, node.body, node, ctx)

    def visit_CompFor(self, node: cst.CompFor, ctx: Context) -> None:
        comprehension = ctx.parents[-1] if ctx.parents else None
        if not isinstance(comprehension, _COMPREHENSIONS):
            return
        first = comprehension.for_in is node
        report_at: cst.CSTNode = node
        consumed = False
        if first:
            report_at = comprehension
            call = _consuming_call(ctx)
            if call is not None:
                report_at = call
                consumed = True
        self._check(node, node.target, node.iter, comprehension, report_at, ctx, consumed)

    def _check(self, node: cst.CSTNode, target: cst.BaseExpression, iterable: cst.BaseExpression,
               search_region: cst.CSTNode, report_at: cst.CSTNode, ctx: Context,
               consumed: bool = False) -> None:
        outer = _enclosing_sized_loop(ctx)
        if outer is None or outer.iterable is None:
            return
        # Cheapest questions first: this runs for every nested loop in the project.
        limit = ctx.config.small_literal_max
        inner_collection = _collection(iterable, limit)
        outer_collection = _collection(outer.iterable, limit)
        if inner_collection is None or outer_collection is None:
            return
        inner_reads = names_read(inner_collection)
        if inner_reads & outer.targets:
            return  # the outer item's own children
        if is_bounded_iterable(iterable, ctx, limit) or is_bounded_iterable(outer.iterable, ctx, limit):
            return
        inner_targets = _targets(target)
        inner_names = set(inner_targets)
        if not isinstance(search_region, _COMPREHENSIONS):
            # ``old = states[key]`` in the inner body stands for the inner item too.
            inner_names |= _derived_names(search_region, inner_targets)
        if not _compares_between(search_region, inner_names,
                                 _outer_names(outer, inner_targets, search_region), consumed):
            return
        # The inner loop walks something derived from an outer item: its children.
        if inner_reads & loop_bound_names(ctx):
            return
        inner_text = " ".join(ctx.module.code_for_node(inner_collection).split())
        outer_text = " ".join(ctx.module.code_for_node(outer_collection).split())
        ctx.report(self, report_at,
                   f"loop over `{inner_text[:40]}` inside the loop over `{outer_text[:40]}` "
                   "compares items pairwise (O(n*m)); index one side in a dict/set and look up")


def _enclosing_sized_loop(ctx: Context) -> LoopFrame | None:
    """The nearest enclosing ``for`` / comprehension loop; ``while`` loops have no known size."""
    if not ctx.loops:
        return None
    loop = ctx.loops[-1]
    return loop if loop.kind in ("for", "comp", "async_for", "async_comp") else None


def _collection(iterable: cst.BaseExpression, limit: int) -> cst.BaseExpression | None:
    """The input-sized collection a loop walks, or None when it is bounded or unknown."""
    if is_small_literal_collection(iterable, limit):
        return None
    node = dict_view_owner(unwrap_iterable(iterable, kb.ITERATION_WRAPPERS))
    if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) is not None:
        return node
    return None  # ranges, calls, subscripts (adjacency), literals: not a plain collection


def _targets(target: cst.BaseExpression) -> set[str]:
    return target_names(target)


def _outer_names(outer: LoopFrame, inner_targets: set[str], inner_region: cst.CSTNode) -> set[str]:
    """The outer item and what the outer body derives from it (``sig = key(item)``),
    leaving out what the inner loop itself binds."""
    names = set(outer.targets)
    if outer.body is not None and not isinstance(outer.node, cst.CompFor):
        names |= _derived_names(outer.body, names) - assigned_names(inner_region)
    return names - inner_targets


def _derived_names(region: cst.CSTNode, sources: set[str]) -> set[str]:
    """Names plain assignments in ``region`` compute from ``sources``, in source order
    (``state = states[item]; sig = signature(state)``). Counters and flags
    (``i += 1``, ``found = True``) are not."""
    derived: set[str] = set()
    for node in iter_subtree(region):
        if isinstance(node, cst.Assign) and names_read(node.value) & (sources | derived):
            for target in node.targets:
                derived |= target_names(target.target)
    return derived


def _compares_between(region: cst.CSTNode, inner: set[str], outer: set[str],
                      consumed: bool) -> bool:
    """A match test (``==`` / ``is``) that reads an inner-loop name and an outer-loop
    name, in a position that decides something: an ``if``/``while``/conditional test,
    a comprehension filter, or the element of a comprehension that ``any()`` / ``next()``
    / ``sum()``... consume. A comparison used as a value (``out.append(a == b)``,
    SQLAlchemy's ``col == other`` building an expression) is not a search."""
    both = inner & outer  # rebound from both sides (``chunk = handler(chunk)``): ambiguous
    inner, outer = inner - both, outer - both
    for test in _decision_tests(region, consumed):
        for node in (test, *iter_subtree(test)):
            if not isinstance(node, cst.Comparison):
                continue
            sides = [node.left, *(target.comparator for target in node.comparisons)]
            for index, target in enumerate(node.comparisons):
                if not isinstance(target.operator, _SEARCH_OPERATORS):
                    continue
                left, right = names_read(sides[index]), names_read(sides[index + 1])
                if left & inner and left & outer or right & inner and right & outer:
                    # ``features & flag == flag``: a side that mixes both items is no key
                    # of either one, so no index of one side can answer it
                    continue
                if (left & inner and right & outer) or (left & outer and right & inner):
                    return True
    return False


def _decision_tests(region: cst.CSTNode, consumed: bool) -> list[cst.BaseExpression]:
    tests: list[cst.BaseExpression] = []
    if consumed and isinstance(region, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        tests.append(region.elt)
    for node in iter_subtree(region):
        if isinstance(node, cst.If) and _skips_only(node):
            continue  # ``if other == item: continue``: all pairs but itself, like ``!=``
        if isinstance(node, (cst.If, cst.While, cst.IfExp, cst.CompIf)):
            tests.append(node.test)
    return tests


def _skips_only(node: cst.If) -> bool:
    """``if a == b: continue`` with no ``else``: the test only leaves the item itself out."""
    if node.orelse is not None:
        return False
    body = node.body
    statements = body.body if isinstance(body, cst.IndentedBlock) else (body,)
    if len(statements) != 1:
        return False
    statement = statements[0]
    small = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
    return len(small) == 1 and isinstance(small[0], cst.Continue)


def _consuming_call(ctx: Context) -> cst.Call | None:
    """``any(...)`` / ``next(...)`` wrapping the comprehension being visited."""
    if len(ctx.parents) >= 3 and isinstance(ctx.parents[-2], cst.Arg) \
            and isinstance(ctx.parents[-3], cst.Call):
        call = ctx.parents[-3]
        if dotted_name(call.func) in kb.CONSUMING_FUNCTIONS and len(call.args) == 1:
            return call
    return None
