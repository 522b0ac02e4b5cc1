"""Spans computed statement by statement (ast line numbers + a code generation of the
statements that hold the nodes) equal the spans of a code generation of the whole module."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from perflint.analyze import MAX_BRACKET_DEPTH, decode_source, scan_nesting
from perflint.positions import _Lines, _spans_of_module, node_spans, statement_first_lines
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
    _problem, line_starts = scan_nesting(data)
    assert node_spans(module, nodes, tops, text, line_starts) == expected


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_scanned_first_lines_match_the_parser(path: Path) -> None:
    """The statements' first lines read off the nesting scan's line starts are the ones
    ``ast`` gives, for the module and for each top-level class body (no fallback used)."""
    _assert_scan_agrees(path.read_bytes())


def _assert_scan_agrees(data: bytes) -> None:
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        pytest.skip("not Python")
    text = decode_source(data)
    _problem, line_starts = scan_nesting(data)
    if len(data) <= MAX_BRACKET_DEPTH:
        assert line_starts is None  # tiny: the scan does not run, ``ast`` is asked
        return
    assert line_starts is not None
    scanned, parsed = _Lines(text, line_starts), _Lines(text, None)
    assert scanned.module(module) == parsed.module(module)
    assert scanned._top is not None and scanned._tree is False  # read off the scan, ast never parsed
    for number, statement in enumerate(module.body):
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            assert scanned.class_body(module, number, statement.body) == \
                parsed.class_body(module, number, statement.body)
            assert scanned._tree is False


HARD_CASES = {
    "clauses": b"try:\n    x = 1\nexcept ValueError:\n    pass\nelse:\n    y = 2\nfinally:\n    z = 3\n"
               b"if a:\n    b()\nelif c:\n    d()\nelse:\n    e()\nfor i in x:\n    pass\nelse:\n    pass\n",
    "decorators": b"import os\n\n@a\n\n# between\n@b(1,\n   2)\nasync def f():\n    pass\n@dataclass\nclass C:\n"
                  b"    @property\n    # note\n    def p(self):\n        return 1\n\n    x: int = 0\n",
    "strings_and_continuations": b's = """\ndef not_code():\n    pass\n"""\nt = 1 + \\\n    2\nu = (\n1)\n'
                                 b"v = 'a'; w = 2\nx = [\n# comment\n]\n",
    "crlf_and_bom": b"\xef\xbb\xbfimport os\r\n\r\nclass K:\r\n    a = 1\r\n\r\n    def m(self):\r\n"
                    b"        return os.sep\r\nx = K()\r\n",
    "match_and_tabs": b"match x:\n    case 1:\n        pass\nclass T:\n\tdef a(self):\n\t\treturn 1\n\tb = 2\n",
}


@pytest.mark.parametrize("name", sorted(HARD_CASES))
def test_scanned_first_lines_on_hard_cases(name: str) -> None:
    data = HARD_CASES[name]
    data += b"# padding\n" * (MAX_BRACKET_DEPTH // 10 + 1)  # past the size the scan starts at
    _assert_scan_agrees(data)


def test_lone_carriage_returns_are_left_to_the_parser() -> None:
    data = b"x = 1\ry = 2\r" + b"# padding\r" * 40
    assert scan_nesting(data) == (None, None)


def test_decorators_comments_and_semicolons() -> None:
    text = ("# header\n\nimport os; import sys\n\n\n# a comment\n@decorate\n@other(1)\ndef f():\n"
            "    return os.path.join('a', 'b')\n\nx = [\n    1,\n]\n")
    module = cst.parse_module(text)
    # the file's leading comment is the module header; a statement starts at its leading lines
    assert statement_first_lines(module, text) == [3, 4, 11]
    nodes, tops = _nodes_with_tops(module)
    assert node_spans(module, nodes, tops, text) == _spans_of_module(module, {id(n) for n in nodes})
