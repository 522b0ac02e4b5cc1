"""Interprocedural findings: a call inside a per-item loop whose callee reaches a query
(PFL201) or a write (PFL203) at any depth, across modules, reported at the call site with
the whole path as the trace (caller -> helper -> ... -> the query).

Works on summaries only (a warm run has no parser loaded): facts propagate backwards
along the call graph from the functions that query or write themselves (a breadth-first
walk, so cycles and recursion end, and the trace is a shortest path). Call positions
come from perflint.locate, for the few files a finding points into.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from perflint.findings import Finding, TraceStep
from perflint.graph import CallGraph, Resolver, node_id
from perflint.locate import CallLocator, CallPosition
from perflint.summary import CallSite, FileSummary, FunctionSummary

# effect -> the rule reporting it at a call site: in a per-item loop (query, write), or in
# an async function calling a sync one (block)
EFFECT_RULES = {"query": "PFL201", "write": "PFL203", "block": "PFL303"}
_WHAT = {"query": "a query", "write": "a write", "block": "a blocking call"}
_FIX = {
    "query": "fetch what the loop needs in one query before it (a batch version of `{helper}`)",
    "write": "collect the rows and write them once after the loop (executemany / bulk_create / "
             "one UPDATE ... WHERE id = ANY(...))",
    "block": "run it off the event loop (`await asyncio.to_thread({helper}, ...)`) or use an async client",
}


@dataclass(frozen=True)
class _Function:
    summary: FileSummary
    function: FunctionSummary


@dataclass(frozen=True)
class Step:
    """A call to find again: in ``function`` of ``path``, the ``index``-th call to ``callee``."""

    path: str
    function: str
    callee: str
    index: int


@dataclass(frozen=True)
class Site:
    """An interprocedural finding before positions: the loop's call, the calls from helper
    to helper, the effect's own call. Plain data (JSON-safe), cached with the call graph."""

    effect: str
    loop_depth: int
    helpers: tuple[str, ...]  # qualnames, outermost first
    steps: tuple[Step, ...]

    def to_json(self) -> list[Any]:
        return [self.effect, self.loop_depth, list(self.helpers),
                [[s.path, s.function, s.callee, s.index] for s in self.steps]]

    @classmethod
    def from_json(cls, data: list[Any]) -> Site:
        effect, depth, helpers, steps = data
        return cls(str(effect), int(depth), tuple(map(str, helpers)),
                   tuple(Step(str(a), str(b), str(c), int(d)) for a, b, c, d in steps))


MakeFinding = Callable[..., Finding]


def find_sites(summaries: list[FileSummary], graph: CallGraph, enabled: frozenset[str]) -> list[Site]:
    """Call sites in per-item loops whose callee (a project function) reaches an effect."""
    effects = [effect for effect, code in EFFECT_RULES.items() if code in enabled]
    if not effects:
        return []
    functions = {node_id(s.module, f.qualname): _Function(s, f) for s in summaries for f in s.functions}
    # each project function's calls to other project functions, as build_call_graph resolved them
    calls = graph.calls
    if not calls:
        resolver = Resolver(summaries, graph)
        for caller, entry in functions.items():
            calls[caller] = [(call, callee) for call in entry.function.calls
                             if (callee := resolver.resolve(call.callee, entry.summary, entry.function.qualname))
                             not in (None, caller)]
    calls = {caller: [(call, callee) for call, callee in resolved if callee in functions]
             for caller, resolved in calls.items() if caller in functions}
    reach = {effect: _reach(functions, calls, effect, sync_only=effect == "block") for effect in effects}
    sites: list[Site] = []
    for caller, entry in functions.items():
        for call, callee in calls.get(caller, ()):
            if not call.multiplying and not entry.function.is_async:
                continue
            for effect in effects:
                # blocking matters where an async function calls a sync one; queries and
                # writes where the call repeats per item
                wanted = entry.function.is_async and not functions[callee].function.is_async \
                    if effect == "block" else call.multiplying
                path = _path(callee, call, reach[effect], functions) if wanted else None
                if path is not None:
                    sites.append(_site(effect, entry, call, path, functions))
    return sites


@dataclass(frozen=True)
class _Route:
    """One way a function reaches an effect: its own call (``following`` None) or a call to
    ``following``, a function that reaches it. ``needs``: the optional parameters the call
    runs only when given (CallSite.needs)."""

    needs: frozenset[str]
    following: str | None
    link: CallSite | None


def _omitted(call: CallSite, callee: FunctionSummary) -> dict[str, str]:
    """The callee's optional parameters (name -> "none"/"falsy") that ``call`` leaves out,
    so that they take their default; none when the arguments cannot be counted."""
    if not callee.optional or call.positional < 0 or "**" in call.keywords:
        return {}
    offset = 1 if callee.params[:1] in (["self"], ["cls"]) else 0  # bound: the receiver is the first
    given = set(callee.params[:call.positional + offset]) | set(call.keywords)
    return {name: kind for name, kind in callee.optional.items() if name not in given}


def _forwarded(call: CallSite, callee: FunctionSummary) -> dict[str, str]:
    """Callee parameter -> the caller's optional parameter that ``call`` hands on to it."""
    found: dict[str, str] = {}
    offset = 1 if callee.params[:1] in (["self"], ["cls"]) else 0
    for forward in call.forwards:
        slot, _, param = forward.partition("=")
        if slot.isdigit():
            position = int(slot) + offset
            if position >= len(callee.params):
                continue
            slot = callee.params[position]
        found[slot] = param
    return found


def _translated(needs: frozenset[str], call: CallSite, callee: FunctionSummary) -> frozenset[str]:
    """The callee's needs that ``call`` turns into needs of its caller's own parameters
    (``send_mail(..., attach=attach)`` needs ``attach`` if the callee needs it)."""
    if not needs or not call.forwards:
        return frozenset()
    forwarded = _forwarded(call, callee)
    return frozenset(forwarded[need.rstrip("?")] + need[len(need.rstrip("?")):]
                     for need in needs if need.rstrip("?") in forwarded)


def _runs(needs: frozenset[str] | tuple[str, ...], omitted: dict[str, str]) -> bool:
    """Whether a call that ``needs`` parameters runs when ``omitted`` take their defaults:
    not behind ``if size:`` when size defaults to None or False, nor behind ``if x is not
    None:`` when x defaults to None."""
    for need in needs:
        name = need.rstrip("?")
        if name in omitted and (not need.endswith("?") or omitted[name] == "none"):
            return False
    return True


def _reach(functions: dict[str, _Function], calls: dict[str, list[tuple[CallSite, str]]], effect: str,
           sync_only: bool = False) -> dict[str, list[_Route]]:
    """node -> its routes to ``effect``, the first of them on a shortest path (a
    breadth-first walk backwards from the functions that have it themselves). Nodes that
    cannot reach it are absent; memoised functions neither have effects nor pass them on,
    nor do calls that run only in an except handler or behind a cache (CallSite.rare). A
    route through a call that leaves out an optional parameter the callee's routes all
    need is no route (``get_picture(event, picture)`` never reaches the thumbnail query
    behind ``if size:``)."""
    callers: dict[str, list[tuple[str, CallSite]]] = {}
    for caller, resolved in calls.items():
        function = functions[caller].function
        if function.cached or (sync_only and function.is_async):
            continue
        for call, callee in resolved:
            if not call.rare:
                callers.setdefault(callee, []).append((caller, call))
    reach: dict[str, list[_Route]] = {}
    for node, entry in functions.items():
        site = entry.function.effects.get(effect)
        if site is not None and not entry.function.cached:
            own = next((c for c in entry.function.calls if (c.callee, c.index) == site), None)
            reach[node] = [_Route(frozenset(own.needs) if own else frozenset(), None, None)]
    queue = deque(reach)
    while queue:
        node = queue.popleft()
        routes = reach[node]
        callee = functions[node].function
        for caller, call in callers.get(node, ()):
            omitted = _omitted(call, callee)
            added = False
            for route in routes:
                if not _runs(route.needs, omitted):
                    continue
                # what the call needs itself, and what it hands on that the callee needs
                needs = frozenset(call.needs) | _translated(route.needs, call, callee)
                known = reach.setdefault(caller, [])
                if not any(other.needs <= needs for other in known):
                    known.append(_Route(needs, node, call))
                    added = True
            if added:
                queue.append(caller)
    return reach


def _path(start: str, call: CallSite, reach: dict[str, list[_Route]],
          functions: dict[str, _Function]) -> list[tuple[str, CallSite | None]] | None:
    """The functions from ``start`` (called by ``call``) to the one with the effect, each
    with the call that leads on (None for the last); None when ``call`` reaches nothing."""
    path: list[tuple[str, CallSite | None]] = []
    node = start
    omitted = _omitted(call, functions[start].function)
    while True:
        route = next((r for r in reach.get(node, ()) if _runs(r.needs, omitted)), None)
        if route is None or any(n == node for n, _ in path):
            return None
        path.append((node, route.link))
        if route.following is None or route.link is None:
            return path
        following = functions[route.following].function
        # left out here: what the link leaves out, and what it hands on that was left out
        handed = {param: omitted[source] for param, source in _forwarded(route.link, following).items()
                  if source in omitted}
        omitted = {**_omitted(route.link, following), **handed}
        node = route.following


def _site(effect: str, entry: _Function, call: CallSite, path: list[tuple[str, CallSite | None]],
          functions: dict[str, _Function]) -> Site:
    steps = [Step(entry.summary.path, entry.function.qualname, call.callee, call.index)]
    for node, link in path[:-1]:
        owner = functions[node]
        steps.append(Step(owner.summary.path, owner.function.qualname,
                          link.callee if link else "", link.index if link else 0))
    last = functions[path[-1][0]]
    callee, index = last.function.effects[effect]
    steps.append(Step(last.summary.path, last.function.qualname, callee, index))
    return Site(effect, call.loop_depth, tuple(functions[node].function.qualname for node, _ in path), tuple(steps))


def site_findings(sites: Iterable[Site], sources: dict[str, bytes], make_finding: MakeFinding) -> list[Finding]:
    """The findings of ``sites``, located in the current ``sources`` (a site whose call
    cannot be found again, say in a file that changed, yields nothing)."""
    sites = list(sites)
    wanted: dict[str, set[str]] = {}  # path -> the functions asked about there
    for site in sites:
        for step in site.steps:
            wanted.setdefault(step.path, set()).add(step.function)
    locators: dict[str, CallLocator] = {}

    def locate(step: Step) -> CallPosition | None:
        if step.path not in sources or not step.callee:
            return None
        locator = locators.get(step.path)
        if locator is None:
            locator = locators[step.path] = CallLocator(sources[step.path], wanted[step.path])
        return locator.find(step.function, step.callee, step.index)

    # Callers that reach the effect along the same route from their first helper on share
    # one cause; each finding says so, and how one noqa covers them all (runner._unsuppressed).
    sharing = Counter(site.steps[1:] for site in sites)
    findings = []
    for site in sites:
        first = site.steps[0]
        where = locate(first)
        if where is None:
            continue
        trace = [TraceStep(step.path, position.line if (position := locate(step)) else 0, step.function)
                 for step in site.steps]
        trace[0] = TraceStep(first.path, where.line, first.function)
        loop = where.loops[-1] if where.loops else "the loop"
        helpers = " -> ".join(f"`{name}`" for name in site.helpers)
        if site.effect == "block":
            message = (f"`{first.callee}(...)` blocks the event loop in async `{first.function}`: it calls "
                       f"`{site.steps[-1].callee}` (through {helpers}); ")
        else:
            message = (f"`{first.callee}(...)` runs {_WHAT[site.effect]} once per iteration of `{loop}` "
                       f"(through {helpers}); ")
        message += _FIX[site.effect].format(helper=site.helpers[0])
        others = sharing[site.steps[1:]] - 1
        if others:
            root, step = trace[-1], site.steps[-1]
            where_root = f" at {root.path}:{root.line}" if root.line else f" in `{step.function}`"
            sharers = f"{others} other call sites reach" if others > 1 else "1 other call site reaches"
            message += (f" ({sharers} it through `{site.helpers[0]}`: one `# noqa: {EFFECT_RULES[site.effect]}` "
                        f"on the `{step.callee}` call{where_root}, or on a call on the way there, covers them all)")
        findings.append(make_finding(EFFECT_RULES[site.effect], message, first.path, where.line, where.column,
                                     where.end_line, where.end_column, function=first.function,
                                     loop_depth=site.loop_depth, trace=trace))
    return findings


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (path, line, code): a local finding on the same call wins."""
    seen: set[tuple[str, int, str]] = set()
    kept = []
    for finding in findings:
        key = (finding.path, finding.line, finding.code)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept
