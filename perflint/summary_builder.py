"""Builds a FileSummary during the traversal (the walker calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from perflint.cstutil import dotted_name
from perflint.knowledge import CACHING_DECORATORS, DRIVER_DIALECTS, REEXPORTED_DRIVERS, VIEW_BASE_SUFFIXES, VIEW_HANDLER_METHODS, entry_kind
from perflint.summary import CallSite, FileSummary, FunctionSummary, module_name_for

if TYPE_CHECKING:  # pragma: no cover
    from perflint.context import Context, Frame


class SummaryBuilder:
    """Collects a FileSummary during the traversal (called by the walker)."""

    def __init__(self, path: str) -> None:
        self.summary = FileSummary(path, module_name_for(path))
        self._functions: list[FunctionSummary] = []
        self._view_classes: list[bool] = []

    def enter_function(self, frame: Frame, ctx: Context) -> None:
        entry = entry_kind(frame.decorators)
        extra = ctx.config.entry_point_decorators
        if entry is None and extra and any(
                name in extra or name.rpartition(".")[2] in extra for name in frame.decorators):
            entry = "handler"  # the team's own route/handler decorators, from configuration
        if entry is None and self._view_classes and self._view_classes[-1] \
                and frame.name in VIEW_HANDLER_METHODS:
            entry = "handler"
        function = FunctionSummary(frame.qualname, frame.is_async, entry)
        function.cached = any(name.rpartition(".")[2] in CACHING_DECORATORS for name in frame.decorators)
        self.summary.functions.append(function)
        self._functions.append(function)

    def leave_function(self) -> None:
        self._functions.pop()

    @property
    def current_entry(self) -> str | None:
        """The entry kind ("handler", "task", "cli") of the function being walked, if any."""
        return self._functions[-1].entry if self._functions else None

    def enter_class(self, node: cst.ClassDef, ctx: Context) -> None:
        bases = [dotted_name(arg.value) or "" for arg in node.bases]
        self._view_classes.append(any(b.endswith(VIEW_BASE_SUFFIXES) for b in bases))

    def leave_class(self) -> None:
        self._view_classes.pop()

    def add_import(self, node: cst.CSTNode, ctx: Context) -> None:
        imports = self.summary.imports
        if isinstance(node, cst.Import):
            for alias in node.names:
                origin = dotted_name(alias.name) or ""
                local = (alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name)
                         else origin.split(".")[0])
                imports[local] = origin if alias.asname else local
        elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            base = dotted_name(node.module) if node.module else ""
            if node.relative:
                # ``from . import x`` in a.b.c means a.b; in a/b/__init__.py it means a.b.
                drop = len(node.relative) - (1 if self.summary.path.endswith("__init__.py") else 0)
                package = self.summary.module
                for _ in range(drop):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base and package else (base or package)
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
                imports[local] = f"{base}.{name}" if base else name
        ctx.dialect_hint = ctx.dialect_hint or _dialect_from_imports(imports)

    def add_call(self, callee: str, loop_depth: int, multiplying: bool = False) -> int:
        """Record a call; returns its index among the function's calls to ``callee``."""
        if not self._functions:
            return 0
        function = self._functions[-1]
        index = sum(1 for call in function.calls if call.callee == callee)
        function.calls.append(CallSite(callee, loop_depth, index, multiplying))
        return index

    def add_entry_ref(self, callee: str, kind: str) -> None:
        """A function named as an entry point by reference (a URL route, a ``__main__`` call)."""
        if (callee, kind) not in self.summary.entry_refs:
            self.summary.entry_refs.append((callee, kind))

    def add_instance(self, name: str, class_name: str) -> None:
        """``name = ClassName(...)`` in the current function, or at module level."""
        owner = self._functions[-1].instances if self._functions else self.summary.instances
        owner[name] = class_name

    def mark_effect(self, effect: str, site: tuple[str, int]) -> None:
        """The current function has ``effect`` itself (e.g. "block"), first at ``site``."""
        if self._functions:
            self._functions[-1].effects.setdefault(effect, site)

    def mark_query(self, effect: str = "query", site: tuple[str, int] | None = None) -> None:
        """The current function runs a query itself; ``effect`` is "query" (a read) or
        "write", ``site`` the (callee, index) of the call that does it."""
        if self._functions:
            function = self._functions[-1]
            function.queries = True
            if site is not None:
                function.effects.setdefault(effect, site)


def _dialect_from_imports(imports: dict[str, str]) -> str | None:
    for origin in imports.values():
        dialect = DRIVER_DIALECTS.get(origin.split(".")[0])
        if dialect:
            return dialect
        last = origin.rsplit(".", 1)[-1]  # ``from .utils import sqlite3``: a re-exported driver
        if last in REEXPORTED_DRIVERS:
            return DRIVER_DIALECTS[last]
    return None
