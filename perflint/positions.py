"""Line/column for the few nodes that are reported, without PositionProvider.

LibCST's PositionProvider generates the whole module with position bookkeeping
for every node (over twice the cost of parsing). We need positions for a handful
of nodes per file, so we run the module's code generation once with a state that
only watches those nodes, and stop as soon as the last one has been passed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import libcst as cst
from libcst._nodes.internal import CodegenState


@dataclass(frozen=True)
class Span:
    line: int
    column: int  # 0-based here; reporters add 1
    end_line: int
    end_column: int


class _Done(Exception):
    pass


class _WatchingState(CodegenState):
    def __init__(self, module: cst.Module, targets: set[int]) -> None:
        super().__init__(default_indent=module.default_indent,
                         default_newline=module.default_newline)
        self.targets = targets
        self.starts: dict[int, tuple[int, int]] = {}
        self.spans: dict[int, Span] = {}
        self._line = 1
        self._column = 0
        self._seen = 0  # tokens already folded into line/column

    def _here(self) -> tuple[int, int]:
        tokens = self.tokens
        for index in range(self._seen, len(tokens)):
            token = tokens[index]
            newlines = token.count("\n")
            if newlines:
                self._line += newlines
                self._column = len(token) - token.rindex("\n") - 1
            else:
                self._column += len(token)
        self._seen = len(tokens)
        return self._line, self._column

    @contextmanager
    def record_syntactic_position(self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
                                  end_node: cst.CSTNode | None = None) -> Iterator[None]:
        key = id(node)
        if key in self.targets and start_node is None:
            self.starts[key] = self._here()
        yield
        if key in self.targets and end_node is None:
            self._finish(key)

    def before_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets and key not in self.starts:
            self.starts[key] = self._here()

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets and key not in self.spans:
            self._finish(key)

    def _finish(self, key: int) -> None:
        line, column = self.starts[key]
        end_line, end_column = self._here()
        self.spans[key] = Span(line, column, end_line, end_column)
        if len(self.spans) == len(self.targets):
            raise _Done


def node_spans(module: cst.Module, nodes: Iterable[cst.CSTNode],
               tops: dict[int, tuple[cst.CSTNode, cst.CSTNode | None]] | None = None,
               text: str | None = None) -> dict[int, Span]:
    """Span of each node (by ``id``), from one partial code generation of ``module``.

    With ``tops`` (node id -> the top-level statement holding it, and the statement of a
    top-level class's body holding it, if any) for every node and the module's ``text``,
    only those statements are generated: Python's own parser (C, cheap) tells on which line
    each starts, so nothing before them is generated."""
    nodes = list(nodes)
    targets = {id(node) for node in nodes}
    if not targets:
        return {}
    if tops is not None and text is not None and all(id(node) in tops for node in nodes):
        spans = _spans_by_statement(module, nodes, tops, text)
        if spans is not None and len(spans) == len(targets):
            return spans
    return _spans_of_module(module, targets)


def _spans_of_module(module: cst.Module, targets: set[int]) -> dict[int, Span]:
    state = _WatchingState(module, targets)
    try:
        module._codegen(state)
    except _Done:
        pass
    return state.spans


def _spans_by_statement(module: cst.Module, nodes: list[cst.CSTNode],
                        tops: dict[int, tuple[cst.CSTNode, cst.CSTNode | None]], text: str) -> dict[int, Span] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    first_lines = _first_lines(module.body, tree.body)
    if first_lines is None:
        return None
    index = {id(statement): number for number, statement in enumerate(module.body)}
    # what to generate -> (where it starts, its indentation, the nodes it holds)
    groups: dict[int, tuple[cst.CSTNode, int, str, set[int]]] = {}
    for node in nodes:
        top, inner = tops[id(node)]
        number = index.get(id(top))
        if number is None:
            return None
        target, line, indent = top, first_lines[number], ""
        if inner is not None and isinstance(top, cst.ClassDef) and isinstance(top.body, cst.IndentedBlock):
            # a statement of a top-level class: generate that statement alone
            class_node = tree.body[_ast_position(module.body, number)]
            inner_lines = _first_lines(top.body.body, getattr(class_node, "body", []))
            position = next((i for i, s in enumerate(top.body.body) if s is inner), None)
            if inner_lines is None or position is None:
                return None
            target, line = inner, inner_lines[position]
            indent = top.body.indent if top.body.indent is not None else module.default_indent
        group = groups.setdefault(id(target), (target, line, indent, set()))
        group[3].add(id(node))
    spans: dict[int, Span] = {}
    for target, line, indent, ids in groups.values():
        state = _WatchingState(module, ids)
        state._line = line  # the statement's first (leading) line, at column 0
        if indent:
            state.increase_indent(indent)
        try:
            target._codegen(state)
        except _Done:
            pass
        spans.update(state.spans)
    return spans


def _ast_position(statements: Sequence[cst.BaseStatement], number: int) -> int:
    """Index in ``ast``'s body of LibCST's statement ``number`` (``a; b`` is one LibCST line,
    two ``ast`` statements)."""
    return sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1 for s in statements[:number])


def statement_first_lines(module: cst.Module, text: str) -> list[int] | None:
    """The line each top-level statement's generated code starts on (its leading blank
    and comment lines included), from ``ast``; None when the two parsers' statements do
    not line up (then the caller generates the module instead)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return _first_lines(module.body, tree.body)


def _first_lines(statements: Sequence[cst.BaseStatement], body: list[ast.stmt]) -> list[int] | None:
    lines: list[int] = []
    position = 0
    for statement in statements:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if position + count > len(body):
            return None
        first = body[position]
        decorators = getattr(first, "decorator_list", [])
        line = min([first.lineno, *(decorator.lineno for decorator in decorators)])
        lines.append(line - len(statement.leading_lines))
        position += count
    return lines if position == len(body) else None
