"""`perflint graph`: the project call graph and the hot paths behind the findings, as
JSON (for tools) or Graphviz dot (for people)."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

from perflint.findings import Finding
from perflint.graph import Heat, build_call_graph, compute_heat
from perflint.summary import FileSummary, module_name_for


def graph_report(summaries: list[FileSummary], findings: list[Finding], output_format: str,
                 entry: str | None = None) -> str:
    calls = build_call_graph(summaries)
    heat = compute_heat(calls)
    graph = calls.to_networkx()
    if entry is not None:
        starts = [node for node, data in graph.nodes(data=True)
                  if data.get("entry") and (node == entry or node.endswith("." + entry))]
        keep = set(starts)
        for start in starts:
            keep |= nx.descendants(graph, start)
        graph = graph.subgraph(keep).copy()
    paths = _hot_paths(graph, heat, findings)
    if output_format == "dot":
        return _dot(graph, heat, paths)
    return json.dumps(_json(graph, heat, paths), indent=2) + "\n"


def _function_node(finding: Finding) -> str:
    return f"{module_name_for(finding.path)}.{finding.function}" if finding.function else ""


def _hot_paths(graph: nx.DiGraph, heat: dict[str, Heat], findings: list[Finding]) -> list[dict[str, Any]]:
    """For each finding in a function the graph holds: the path from the strongest entry
    point that reaches it down to that function (and on along its trace)."""
    paths = []
    for finding in sorted(findings, key=lambda f: -f.score):
        node = _function_node(finding)
        if node not in graph:
            continue
        function_heat = heat.get(node)
        path = [node]
        if function_heat and function_heat.entry in graph:
            try:
                path = nx.shortest_path(graph, function_heat.entry, node)
            except nx.NetworkXNoPath:
                pass
        # an interprocedural finding goes on down its trace to the query itself
        for step in finding.trace[1:]:
            below = f"{module_name_for(step.path)}.{step.function}"
            if below in graph and below not in path:
                path.append(below)
        paths.append({"code": finding.code, "path": finding.path, "line": finding.line,
                      "score": finding.score, "entry": function_heat.entry if function_heat else "",
                      "functions": path})
    return paths


def _json(graph: nx.DiGraph, heat: dict[str, Heat], paths: list[dict[str, Any]]) -> dict[str, Any]:
    nodes = []
    for node, data in sorted(graph.nodes(data=True)):
        node_heat = heat.get(node)
        nodes.append({"id": node, "entry": data.get("entry"), "queries": bool(data.get("queries")),
                      "reached_from": node_heat.entry if node_heat else None,
                      "loop_depth_from_entry": node_heat.carried_loop_depth if node_heat else 0})
    edges = [{"from": a, "to": b, "loop_depth": data.get("loop_depth", 0)}
             for a, b, data in sorted(graph.edges(data=True))]
    return {"nodes": nodes, "edges": edges, "hot_paths": paths}


_ENTRY_COLOURS = {"handler": "tomato", "task": "orange", "signal": "orange", "cli": "gold"}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(graph: nx.DiGraph, heat: dict[str, Heat], paths: list[dict[str, Any]]) -> str:
    hot = {node for path in paths for node in path["functions"]}
    with_findings = {path["functions"][0] if len(path["functions"]) == 1 else path["functions"][-1]
                     for path in paths}
    lines = ["digraph perflint {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for node, data in sorted(graph.nodes(data=True)):
        attributes = [f"label={_quoted(node)}"]
        if data.get("entry"):
            attributes.append(f'style=filled, fillcolor="{_ENTRY_COLOURS.get(data["entry"], "lightgrey")}"')
        if node in with_findings:
            attributes.append("penwidth=3, color=red")
        elif node in hot:
            attributes.append("color=red")
        lines.append(f"  {_quoted(node)} [{', '.join(attributes)}];")
    for a, b, data in sorted(graph.edges(data=True)):
        depth = data.get("loop_depth", 0)
        attributes = [f'label="loop x{depth}"' if depth else ""]
        if a in hot and b in hot:
            attributes.append("color=red")
        lines.append(f"  {_quoted(a)} -> {_quoted(b)} [{', '.join(x for x in attributes if x)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
