"""Find a call again in a file's source: ``(function qualname, callee text, index)`` ->
line, column and the loops around it.

Summaries name call sites that way instead of storing a position for every call (the
per-file pass would need a code generation per file to know them). The project phase
needs positions only for the few calls an interprocedural finding points at, so it asks
Python's own parser (much cheaper than LibCST; it never runs anything) for those files.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_MAX_LOOP_TEXT = 60


@dataclass(frozen=True)
class CallPosition:
    line: int
    column: int  # 1-based
    end_line: int
    end_column: int
    loops: tuple[str, ...] = ()  # the enclosing loops in this function, outermost first


def _dotted(node: ast.expr) -> str | None:
    """The callee as the per-file pass writes it (perflint.cstutil.chain_name): ``a.b.c``,
    calls inside the chain as ``()`` (``X.objects.filter().first``)."""
    parts: list[str] = []
    suffix = ""
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr + suffix)
            suffix = ""
            node = node.value
        elif isinstance(node, ast.Call):
            suffix += "()"
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id + suffix)
            return ".".join(reversed(parts))
        else:
            return None


def loop_label(head: str) -> str:
    """A loop's head (``for user in users``) as messages name the loop: on one line,
    shortened. The per-file rules (rules/loops.py ``describe_loop``) and the findings
    found through helpers (below) both word loops with it."""
    text = " ".join(head.split())
    return text if len(text) <= _MAX_LOOP_TEXT else text[: _MAX_LOOP_TEXT - 3] + "..."


def _loop_text(node: ast.AST) -> str:
    if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
        return loop_label(f"for {ast.unparse(node.target)} in {ast.unparse(node.iter)}")
    if isinstance(node, ast.While):
        return loop_label(f"while {ast.unparse(node.test)}")
    return "while loop"


@dataclass
class _Index(ast.NodeVisitor):
    """Every call of every function, in source order, keyed by (qualname, callee text)."""

    calls: dict[tuple[str, str], list[CallPosition]] = field(default_factory=dict)
    # qualnames whose calls are wanted and every scope on the way to them; None: all
    scopes: frozenset[str] | None = None
    _scope: list[str] = field(default_factory=list)
    _loops: list[list[str]] = field(default_factory=lambda: [[]])

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        # As the per-file pass counts them: decorators, defaults and bases run in the
        # enclosing scope, at definition time.
        for decorator in node.decorator_list:
            self.visit(decorator)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *node.keywords]:
                self.visit(base)
        else:
            for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
                self.visit(default)
        self._scope.append(node.name)
        if self.scopes is not None and ".".join(self._scope) not in self.scopes:
            self._scope.pop()  # no call in here is asked for: its body is not indexed
            return
        self._loops.append([])
        for statement in node.body:
            self.visit(statement)
        self._loops.pop()
        self._scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _function

    def _loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        # A for loop's iterable is evaluated once, before it; a while loop's test every pass.
        if not isinstance(node, ast.While):
            self.visit(node.iter)
        self._loops[-1].append(_loop_text(node))
        if isinstance(node, ast.While):
            self.visit(node.test)
        for statement in node.body:
            self.visit(statement)
        self._loops[-1].pop()
        for statement in node.orelse:
            self.visit(statement)

    visit_For = visit_AsyncFor = visit_While = _loop

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.visit(node.generators[0].iter)
        pushed = 0
        for number, generator in enumerate(node.generators):
            if number:
                self.visit(generator.iter)
            self._loops[-1].append(_loop_text(generator))
            pushed += 1
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        del self._loops[-1][len(self._loops[-1]) - pushed:]

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Call(self, node: ast.Call) -> None:
        callee = _dotted(node.func)
        if callee is not None:
            position = CallPosition(node.lineno, node.col_offset + 1, node.end_lineno or node.lineno,
                                    (node.end_col_offset or node.col_offset) + 1, tuple(self._loops[-1]))
            self.calls.setdefault((".".join(self._scope), callee), []).append(position)
        self.generic_visit(node)


class CallLocator:
    """Positions of calls in one file's source, parsed once on first use. ``functions``:
    the only qualnames that will be asked about (the others' bodies are not indexed)."""

    def __init__(self, source: bytes, functions: set[str] | None = None) -> None:
        self._source = source
        self._calls: dict[tuple[str, str], list[CallPosition]] | None = None
        self._scopes = None if functions is None else frozenset(
            ".".join(parts[:end]) for parts in (name.split(".") for name in functions)
            for end in range(1, len(parts) + 1))

    def find(self, qualname: str, callee: str, index: int) -> CallPosition | None:
        if self._calls is None:
            index_visitor = _Index(scopes=self._scopes)
            try:
                index_visitor.visit(ast.parse(self._source))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass  # the per-file pass reported it (PFL901); nothing to point at
            self._calls = index_visitor.calls
        found = self._calls.get((qualname, callee), [])
        return found[index] if 0 <= index < len(found) else None
