"""Line/column for the few nodes that are reported, without PositionProvider.

LibCST's PositionProvider generates the whole module with position bookkeeping
for every node (over twice the cost of parsing). We need positions for a handful
of nodes per file, so we run the module's code generation once with a state that
only watches those nodes, and stop as soon as the last one has been passed.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import libcst as cst
from libcst._nodes.internal import CodegenState

from perflint.analyze import LineStarts


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
               text: str | None = None, line_starts: LineStarts | None = None) -> dict[int, Span]:
    """Span of each node (by ``id``), from one partial code generation of ``module``.

    With ``tops`` (node id -> the top-level statement holding it, and the statement of a
    top-level class's body holding it, if any) for every node and the module's ``text``,
    only those statements are generated: the lines where statements can start, which the
    nesting scan collected (``line_starts``), or else Python's own parser (C, cheap), tell
    on which line each starts, so nothing before them is generated."""
    nodes = list(nodes)
    targets = {id(node) for node in nodes}
    if not targets:
        return {}
    if tops is not None and text is not None and all(id(node) in tops for node in nodes):
        spans = _spans_by_statement(module, nodes, tops, _Lines(text, line_starts))
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


class _Lines:
    """Where the statements of the module, or of one of its top-level classes, start:
    from the nesting scan's line starts when they line up with LibCST's statements, else
    from ``ast`` (parsed once, on first need)."""

    def __init__(self, text: str, line_starts: LineStarts | None) -> None:
        self.text = text
        self.line_starts = line_starts
        self._tree: ast.Module | None | bool = False  # False: not parsed yet
        self._top: list[tuple[int, int]] | None = None  # (line, offset) per top statement

    def module(self, module: cst.Module) -> list[int] | None:
        if self.line_starts is not None:
            self._top = _scanned_starts(module.body, self.line_starts, b"", 0, len(self.line_starts.data))
            if self._top is not None:
                return [line for line, _offset in self._top]
        tree = self._ast()
        return _first_lines(module.body, tree.body) if tree is not None else None

    def class_body(self, module: cst.Module, number: int, block: cst.IndentedBlock) -> list[int] | None:
        indent = block.indent if block.indent is not None else module.default_indent
        if self._top is not None and self.line_starts is not None:
            begin = self._top[number][1]
            end = self._top[number + 1][1] if number + 1 < len(self._top) else len(self.line_starts.data)
            found = _scanned_starts(block.body, self.line_starts, indent.encode(), begin, end)
            if found is not None:
                return [line for line, _offset in found]
        tree = self._ast()
        if tree is None:
            return None
        class_node = tree.body[_ast_position(module.body, number)]
        return _first_lines(block.body, getattr(class_node, "body", []))

    def _ast(self) -> ast.Module | None:
        if self._tree is False:
            try:
                self._tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._tree = None
        return self._tree if isinstance(self._tree, ast.Module) else None


# Lines that continue a compound statement rather than start one.
_CLAUSES = frozenset({b"else", b"elif", b"except", b"finally"})
_DECORATED = frozenset({b"def", b"class", b"async"})
# What a statement's first line starts with, per compound statement type (a statement that
# does not start so means the scan and the parser disagree: the caller asks ``ast``).
_FIRST_WORDS: dict[type, frozenset[bytes]] = {
    cst.FunctionDef: frozenset({b"def", b"async", b"@"}), cst.ClassDef: frozenset({b"class", b"@"}),
    cst.If: frozenset({b"if"}), cst.For: frozenset({b"for", b"async"}), cst.While: frozenset({b"while"}),
    cst.Try: frozenset({b"try"}), cst.TryStar: frozenset({b"try"}),
    cst.With: frozenset({b"with", b"async"}), cst.Match: frozenset({b"match"}),
}
_COMPOUND_WORDS = frozenset().union(*_FIRST_WORDS.values()) - {b"@", b"async"}
_WORD = re.compile(rb"@|[A-Za-z_][A-Za-z0-9_]*")
_NOT_CODE = frozenset(b" \t\f#\r\n\\")


def _scanned_starts(statements: Sequence[cst.BaseStatement], line_starts: LineStarts, indent: bytes,
                    begin: int, end: int) -> list[tuple[int, int]] | None:
    """(first line, byte offset) of each statement, leading lines included, from the lines
    in ``begin``..``end`` that start with exactly ``indent`` and then code: decorators open
    the statement they decorate, ``else``/``elif``/``except``/``finally`` continue one.
    None unless they line up one for one with ``statements``, each starting as its type
    does."""
    data, offsets = line_starts.data, line_starts.offsets
    found: list[tuple[int, bytes]] = []
    decorated = False
    for position in range(bisect.bisect_left(offsets, begin), len(offsets)):
        offset = offsets[position]
        if offset >= end:
            break
        if not data.startswith(indent, offset):
            continue
        at = offset + len(indent)
        if at >= len(data) or data[at] in _NOT_CODE:
            continue  # deeper, blank, a comment, or the end
        match = _WORD.match(data, at)
        word = match.group() if match else b""
        if word in _CLAUSES:
            continue
        if decorated and (word == b"@" or word in _DECORATED):
            decorated = word == b"@"
            continue
        decorated = word == b"@"
        found.append((offset, word))
    if len(found) != len(statements):
        return None
    result: list[tuple[int, int]] = []
    line, counted = 1, 0
    for statement, (offset, word) in zip(statements, found):
        expected = _FIRST_WORDS.get(type(statement))
        if (word not in expected) if expected is not None else (word in _COMPOUND_WORDS):
            return None
        line += data.count(b"\n", counted, offset)
        counted = offset
        result.append((line - len(statement.leading_lines), offset))
    return result


def _spans_by_statement(module: cst.Module, nodes: list[cst.CSTNode],
                        tops: dict[int, tuple[cst.CSTNode, cst.CSTNode | None]], lines: _Lines) -> dict[int, Span] | None:
    first_lines = lines.module(module)
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
            inner_lines = lines.class_body(module, number, top.body)
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
