"""Project phase: the call graph over all FileSummaries, and each function's heat.

Heat of a function = the strongest entry point that reaches it (request handler >
task > CLI) and the loop depth accumulated along the way (a call made inside a loop
multiplies everything below it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perflint.summary import CallSite, FileSummary

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx


@dataclass
class CallGraph:
    """Function nodes (with their attributes) and caller -> callee edges (with theirs).

    DESIGN.md names networkx for the call graph. The phase every run goes through needs
    only nodes, edges and a walk along out-edges, and importing networkx costs 0.14-0.16 s
    of CPU: a third of a pre-commit run over one file. So the run builds this plain
    structure, and ``perflint graph``, which does query the graph (descendants, shortest
    paths, subgraphs), gets the networkx DiGraph from ``to_networkx``."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    successors: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # each function's calls to other project functions, resolved once (interproc reuses them)
    calls: dict[str, list[tuple[CallSite, str]]] = field(default_factory=dict)

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def add_node(self, node: str, **data: Any) -> None:
        self.nodes.setdefault(node, {}).update(data)
        self.successors.setdefault(node, {})

    def add_edge(self, caller: str, callee: str, **data: Any) -> None:
        for node in (caller, callee):
            if node not in self.nodes:
                self.add_node(node)
        self.successors[caller].setdefault(callee, {}).update(data)

    def edge(self, caller: str, callee: str) -> dict[str, Any] | None:
        return self.successors.get(caller, {}).get(callee)

    def out_edges(self, node: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.successors.get(node, {}).items())

    def to_networkx(self) -> nx.DiGraph:
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes.items())
        graph.add_edges_from((caller, callee, data) for caller, callees in self.successors.items()
                             for callee, data in callees.items())
        return graph


ENTRY_WEIGHTS = {"handler": 3.0, "task": 2.0, "signal": 2.0, "cli": 1.0}
MAX_CARRIED_DEPTH = 4


@dataclass(frozen=True)
class Heat:
    entry_weight: float = 1.0
    entry: str = ""  # qualified name of the strongest entry point that reaches the function
    entry_kind: str = ""
    carried_loop_depth: int = 0  # loops around the call chain from the entry point
    paths: int = 0  # how many entry points reach it


def node_id(module: str, qualname: str) -> str:
    return f"{module}.{qualname}" if module else qualname


def module_tails(summaries: list[FileSummary]) -> dict[str, str]:
    """Every dotted tail of every module name -> the module, when unambiguous. Imports
    are written relative to the project's source root (``repositories.catalog``), while
    paths give ``fixtures.shop.repositories.catalog``."""
    tails: dict[str, str | None] = {}
    for summary in summaries:
        parts = summary.module.split(".")
        for start in range(len(parts)):
            tail = ".".join(parts[start:])
            tails[tail] = summary.module if tails.get(tail, summary.module) == summary.module else None
    return {tail: module for tail, module in tails.items() if module is not None}


class Resolver:
    """Which project function a call names, never guessed: module functions, ``from x
    import y``, ``import x as z``, methods on ``self``/``cls``, on instances of project
    classes built in the same function (``svc = Service()``), and on module-level
    singletons, also imported from another module. Anything else stays unresolved."""

    def __init__(self, summaries: list[FileSummary], graph: CallGraph) -> None:
        self.graph = graph
        self.tails = module_tails(summaries)
        self._functions = {(s.module, f.qualname): f for s in summaries for f in s.functions}
        # ``module.name`` of each module-level singleton -> (its file, the class text there)
        self._singletons = {f"{s.module}.{name}": (s, built) for s in summaries
                            for name, built in s.instances.items()}
        self._found: dict[str, str | None | Resolver] = {}  # candidate -> _lookup_one's answer
        self._imports = {s.module: s.imports for s in summaries}

    def resolve(self, callee: str, summary: FileSummary, qualname: str, depth: int = 0) -> str | None:
        if depth > 3 or "(" in callee:  # ``X.objects.filter().first``: a call chain, no project function
            return None
        head, _, rest = callee.partition(".")
        if rest and head not in ("self", "cls"):
            function = self._functions.get((summary.module, qualname))
            built = (function.instances.get(head) if function else None) or summary.instances.get(head)
            if built is not None and built != head:
                return self.resolve(f"{built}.{rest}", summary, qualname, depth + 1)
            imported = summary.imports.get(head)
            singleton = self._singleton(imported) if imported else None
            if singleton is not None:
                owner, built = singleton
                return self.resolve(f"{built}.{rest}", owner, "", depth + 1)
        return self._lookup(self._candidates(head, rest, summary, qualname))

    def _singleton(self, dotted: str) -> tuple[FileSummary, str] | None:
        found = self._singletons.get(dotted)
        if found is None:
            module, _, name = dotted.rpartition(".")
            if module in self.tails:
                found = self._singletons.get(f"{self.tails[module]}.{name}")
        return found

    def _candidates(self, head: str, rest: str, summary: FileSummary, qualname: str) -> list[str]:
        candidates: list[str] = []
        if head in ("self", "cls") and rest and "." not in rest:
            class_name = qualname.rpartition(".")[0]
            candidates.append(node_id(summary.module, f"{class_name}.{rest}" if class_name else rest))
        elif not rest:
            if qualname and (summary.module, f"{qualname}.{head}") in self._functions:
                # a function defined in the caller itself (``def task(): def _one(o): ...``)
                candidates.append(node_id(summary.module, f"{qualname}.{head}"))
            outer = qualname.rpartition(".")[0]
            if outer and (summary.module, outer) in self._functions:
                # a function nested in ``outer``; a bare name in a method never means a
                # sibling method (a class body is no enclosing scope): sanic's
                # ``await serve(...)`` in a method is the imported ``serve``, not ``cls.serve``
                candidates.append(node_id(summary.module, f"{outer}.{head}"))
            candidates.append(node_id(summary.module, head))
            if head in summary.imports:
                candidates.append(summary.imports[head])
        elif head in summary.imports:
            candidates.append(f"{summary.imports[head]}.{rest}")
        elif head[:1].isupper():
            candidates.append(node_id(summary.module, f"{head}.{rest}"))  # ``Service.method`` here
        return candidates

    def _lookup(self, candidates: list[str]) -> str | None:
        for candidate in candidates:
            found = self._found.get(candidate, self)  # ``self``: not looked up yet
            if found is self:
                found = self._found[candidate] = self._lookup_one(candidate)
            if found is not None:
                return found
        return None

    def _lookup_one(self, candidate: str, depth: int = 0) -> str | None:
        if candidate in self.graph:
            return candidate
        module, _, name = candidate.rpartition(".")
        while module:
            real = self.tails.get(module)
            if real is not None:
                if f"{real}.{name}" in self.graph:
                    return f"{real}.{name}"
                # a package that re-exports the name (``from .orders import Order`` in
                # ``pretix/base/models/__init__.py``): follow its import
                first, _, after = name.partition(".")
                origin = self._imports.get(real, {}).get(first)
                if origin is not None and depth < 3:
                    found = self._lookup_one(f"{origin}.{after}" if after else origin, depth + 1)
                    if found is not None:
                        return found
            # ``pkg.mod.Class.method``: the module is a prefix of the dotted path
            module, _, last = module.rpartition(".")
            name = f"{last}.{name}"
        return None


def build_call_graph(summaries: list[FileSummary]) -> CallGraph:
    graph = CallGraph()
    for summary in summaries:
        for function in summary.functions:
            graph.add_node(node_id(summary.module, function.qualname), entry=function.entry,
                           queries=function.queries)
    resolver = Resolver(summaries, graph)
    for summary in summaries:
        for callee, kind in summary.entry_refs:
            target = resolver.resolve(callee, summary, "")
            if target is not None and not graph.nodes[target].get("entry"):
                graph.nodes[target]["entry"] = kind
    resolved = graph.calls
    for summary in summaries:
        for function in summary.functions:
            caller = node_id(summary.module, function.qualname)
            targets = resolved[caller] = []  # a redefinition replaces it, as in interproc's index
            for call in function.calls:
                callee = resolver.resolve(call.callee, summary, function.qualname)
                if callee is None or callee == caller:
                    continue
                targets.append((call, callee))
                previous = graph.edge(caller, callee)
                if previous is None:
                    # steady: some call to the callee runs on every call of the caller (not
                    # only in an except handler or behind a cache): effects pass through it
                    graph.add_edge(caller, callee, loop_depth=call.loop_depth, steady=not call.rare)
                else:
                    previous["loop_depth"] = max(previous["loop_depth"], call.loop_depth)
                    previous["steady"] = previous["steady"] or not call.rare
    return graph


def compute_heat(graph: CallGraph) -> dict[str, Heat]:
    """Heat per function node reachable from an entry point (others are absent: heat 1)."""
    heat: dict[str, Heat] = {}
    entries = [(node, data["entry"]) for node, data in graph.nodes.items() if data.get("entry")]
    for entry, kind in sorted(entries):
        weight = ENTRY_WEIGHTS.get(kind, 1.0)
        # Longest carried loop depth (capped) by relaxation; cycles stop at the cap.
        depth: dict[str, int] = {entry: 0}
        frontier = [entry]
        while frontier:
            node = frontier.pop()
            for callee, data in graph.out_edges(node):
                carried = min(depth[node] + data["loop_depth"], MAX_CARRIED_DEPTH)
                if carried > depth.get(callee, -1):
                    depth[callee] = carried
                    frontier.append(callee)
        for node, carried in depth.items():
            current = heat.get(node)
            paths = (current.paths if current else 0) + 1
            if current is None or (weight, carried) > (current.entry_weight, current.carried_loop_depth):
                heat[node] = Heat(weight, entry, kind, carried, paths)
            else:
                heat[node] = Heat(current.entry_weight, current.entry, current.entry_kind,
                                  current.carried_loop_depth, paths)
    return heat
