"""Line/column for the few nodes that are reported, without PositionProvider.

LibCST's PositionProvider generates the whole module with position bookkeeping
for every node (over twice the cost of parsing). We need positions for a handful
of nodes per file, so we run the module's code generation once with a state that
only watches those nodes, and stop as soon as the last one has been passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def node_spans(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, Span]:
    """Span of each node (by ``id``), from one partial code generation of ``module``."""
    targets = {id(node) for node in nodes}
    if not targets:
        return {}
    state = _WatchingState(module, targets)
    try:
        module._codegen(state)
    except _Done:
        pass
    return state.spans
