"""Interprocedural findings: a call inside a per-item loop whose callee reaches a query
(PFL201) or a write (PFL203) at any depth, across modules, reported at the call site with
the whole path as the trace (caller -> helper -> ... -> the query).

Works on summaries only (a warm run has no parser loaded): facts propagate backwards
along the call graph from the functions that query or write themselves (a breadth-first
walk, so cycles and recursion end, and the trace is a shortest path). Call positions
come from perflint.locate, for the few files a finding points into.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from perflint.findings import Finding, TraceStep
from perflint.graph import Resolver, node_id
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


def find_sites(summaries: list[FileSummary], graph: nx.DiGraph, enabled: frozenset[str]) -> list[Site]:
    """Call sites in per-item loops whose callee (a project function) reaches an effect."""
    effects = [effect for effect, code in EFFECT_RULES.items() if code in enabled]
    if not effects:
        return []
    functions = {node_id(s.module, f.qualname): _Function(s, f) for s in summaries for f in s.functions}
    resolver = Resolver(summaries, graph)
    reach = {effect: _reach(graph, functions, effect, sync_only=effect == "block") for effect in effects}
    sites: list[Site] = []
    for caller, entry in functions.items():
        for call in entry.function.calls:
            if not call.multiplying and not entry.function.is_async:
                continue
            callee = resolver.resolve(call.callee, entry.summary, entry.function.qualname)
            if callee is None or callee == caller or callee not in functions:
                continue
            for effect in effects:
                # blocking matters where an async function calls a sync one; queries and
                # writes where the call repeats per item
                wanted = entry.function.is_async and not functions[callee].function.is_async \
                    if effect == "block" else call.multiplying
                if wanted and callee in reach[effect]:
                    sites.append(_site(effect, entry, call, _path(callee, reach[effect]), functions, resolver))
    return sites


def _reach(graph: nx.DiGraph, functions: dict[str, _Function], effect: str,
           sync_only: bool = False) -> dict[str, str | None]:
    """node -> the next function on a shortest path to one that has ``effect`` itself
    (None for those). Nodes that cannot reach it are absent; memoised functions neither
    have effects nor pass them on."""
    reach: dict[str, str | None] = {
        node: None for node, entry in functions.items()
        if effect in entry.function.effects and not entry.function.cached}
    queue = deque(reach)
    while queue:
        node = queue.popleft()
        if node not in graph:
            continue
        for caller, _, steady in graph.in_edges(node, data="steady"):
            # a memoised function (``@lru_cache``) does not repeat what it calls, nor does a
            # call that runs only in an except handler or behind a cache (not steady)
            if caller not in reach and steady and not (caller in functions and functions[caller].function.cached) \
                    and not (sync_only and caller in functions and functions[caller].function.is_async):
                reach[caller] = node
                queue.append(caller)
    return reach


def _path(start: str, reach: dict[str, str | None]) -> list[str]:
    path = [start]
    while (following := reach[path[-1]]) is not None and following not in path:
        path.append(following)
    return path


def _site(effect: str, entry: _Function, call: CallSite, path: list[str], functions: dict[str, _Function],
          resolver: Resolver) -> Site:
    steps = [Step(entry.summary.path, entry.function.qualname, call.callee, call.index)]
    for hop, following in zip(path, path[1:]):
        owner = functions[hop]
        link = next((c for c in owner.function.calls
                     if not c.rare and resolver.resolve(c.callee, owner.summary, owner.function.qualname) == following),
                    None)
        steps.append(Step(owner.summary.path, owner.function.qualname,
                          link.callee if link else "", link.index if link else 0))
    last = functions[path[-1]]
    callee, index = last.function.effects[effect]
    steps.append(Step(last.summary.path, last.function.qualname, callee, index))
    return Site(effect, call.loop_depth, tuple(functions[node].function.qualname for node in path), tuple(steps))


def site_findings(sites: Iterable[Site], sources: dict[str, bytes], make_finding: MakeFinding) -> list[Finding]:
    """The findings of ``sites``, located in the current ``sources`` (a site whose call
    cannot be found again, say in a file that changed, yields nothing)."""
    locators: dict[str, CallLocator] = {}

    def locate(step: Step) -> CallPosition | None:
        if step.path not in sources or not step.callee:
            return None
        locator = locators.setdefault(step.path, CallLocator(sources[step.path]))
        return locator.find(step.function, step.callee, step.index)

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
