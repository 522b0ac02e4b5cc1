"""Spans computed statement by statement (ast line numbers + a code generation of the
statements that hold the nodes) equal the spans of a code generation of the whole module."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from perflint.analyze import decode_source
from perflint.positions import _spans_of_module, node_spans, statement_first_lines
from tests.conftest import FIXTURES, ROOT

SOURCES = sorted(FIXTURES.rglob("*.py")) + sorted((ROOT / "perflint").glob("*.py")) + \
    sorted((ROOT / "rules").rglob("*.py")) + sorted((ROOT / "tests").glob("*.py"))


def _nodes_with_tops(module: cst.Module) -> tuple[list[cst.CSTNode], dict[int, tuple]]:
    """Nodes to locate, each with its top-level statement and, inside a top-level class's
    body, the class-level statement holding it (as the traversal records them)."""
    nodes: list[cst.CSTNode] = []
    tops: dict[int, tuple] = {}

    class Collect(cst.CSTVisitor):
        def __init__(self, top: cst.CSTNode, inner: cst.CSTNode | None) -> None:
            self.top, self.inner = top, inner

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.Call, cst.Name, cst.SimpleString, cst.For, cst.Comparison)):
                nodes.append(node)
                tops[id(node)] = (self.top, self.inner)
            return True

    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for decorator in statement.decorators:
                decorator.visit(Collect(statement, None))
            for inner in statement.body.body:
                inner.visit(Collect(statement, inner))
        else:
            statement.visit(Collect(statement, None))
    return nodes, tops


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_statement_by_statement_spans_match_the_module_spans(path: Path) -> None:
    data = path.read_bytes()
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        pytest.skip("not Python")
    text = decode_source(data)
    assert statement_first_lines(module, text) is not None
    nodes, tops = _nodes_with_tops(module)
    if not nodes:
        return
    expected = _spans_of_module(module, {id(node) for node in nodes})
    assert node_spans(module, nodes, tops, text) == expected


def test_decorators_comments_and_semicolons() -> None:
    text = ("# header\n\nimport os; import sys\n\n\n# a comment\n@decorate\n@other(1)\ndef f():\n"
            "    return os.path.join('a', 'b')\n\nx = [\n    1,\n]\n")
    module = cst.parse_module(text)
    # the file's leading comment is the module header; a statement starts at its leading lines
    assert statement_first_lines(module, text) == [3, 4, 11]
    nodes, tops = _nodes_with_tops(module)
    assert node_spans(module, nodes, tops, text) == _spans_of_module(module, {id(n) for n in nodes})
