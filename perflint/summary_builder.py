"""Builds a FileSummary during the traversal (the walker calls it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from perflint.cstutil import dotted_name
from perflint.knowledge import (
    CACHING_DECORATORS,
    DRIVER_DIALECTS,
    REEXPORTED_DRIVERS,
    VIEW_BASE_SUFFIXES,
    VIEW_HANDLER_METHODS,
    entry_kind,
)
from perflint.summary import CallSite, FileSummary, FunctionSummary, module_name_for

if TYPE_CHECKING:  # pragma: no cover
    from perflint.context import Context, Frame


@dataclass
class _Open:
    """What the builder learns about a function while it is walked and settles when it
    leaves it: which calls do not run on every call of the function (in an ``except``
    handler; behind a cache the function fills), and from that its effects."""

    frame: Frame
    handler_calls: set[int] = field(default_factory=set)  # positions in ``calls``
    guards: dict[int, frozenset[str]] = field(default_factory=dict)  # position -> names tested
    needs: dict[int, frozenset[str]] = field(default_factory=dict)  # position -> "p" / "p?" required
    candidates: list[tuple[str, tuple[str, int]]] = field(default_factory=list)  # (effect, site)
    fills: set[str] = field(default_factory=set)  # names stored into (``N[k] = v``, ``N.add(v)``)
    declared: set[str] = field(default_factory=set)  # ``global N`` / ``nonlocal N``
    counts: dict[str, int] = field(default_factory=dict)  # callee text -> calls so far


class SummaryBuilder:
    """Collects a FileSummary during the traversal (called by the walker)."""

    def __init__(self, path: str) -> None:
        self.summary = FileSummary(path, module_name_for(path))
        self._functions: list[FunctionSummary] = []
        self._view_classes: list[bool] = []
        # Names bound to more than one kind of value, per open function and at module level.
        self._rebound: list[set[str]] = []
        self._module_rebound: set[str] = set()
        self._open: list[_Open] = []
        self._closed: list[tuple[FunctionSummary, _Open]] = []  # walked, settled by ``finish``

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
        if isinstance(frame.node, cst.FunctionDef):
            # ``def _send_mail(order: Order)``: ``order.send_mail()`` is ``Order.send_mail``
            # (as for ``order = Order()``; a rebinding in the body makes it ambiguous)
            for param in _params(frame.node.params):
                annotation = dotted_name(param.annotation.annotation) if param.annotation else None
                if annotation is not None and annotation.rpartition(".")[2][:1].isupper():
                    function.instances[param.name.value] = annotation
            function.optional = _optional_params(frame.node.params)
            if function.optional:
                function.params = [p.name.value for p in (*frame.node.params.posonly_params,
                                                          *frame.node.params.params)]
        self.summary.functions.append(function)
        self._functions.append(function)
        self._rebound.append(set())
        self._open.append(_Open(frame))

    def leave_function(self) -> None:
        function = self._functions.pop()
        self._rebound.pop()
        self._closed.append((function, self._open.pop()))

    def finish(self) -> FileSummary:
        """The summary, once the walk is over: each function's calls and effects settled
        (see ``_settle``) against the caches that the file's functions fill."""
        caches = {name for _, state in self._closed for name in _filled_caches(state)}
        for function, state in self._closed:
            _settle(function, state, caches)
        self._closed = []
        return self.summary

    @property
    def current_optional(self) -> dict[str, str]:
        """The optional parameters (FunctionSummary.optional) of the function being walked."""
        return self._functions[-1].optional if self._functions else {}

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

    def add_call(self, callee: str, loop_depth: int, multiplying: bool = False, in_handler: bool = False,
                 guards: frozenset[str] = frozenset(), needs: frozenset[str] = frozenset(),
                 positional: int = 0, keywords: tuple[str, ...] = (), forwards: tuple[str, ...] = ()) -> int:
        """Record a call; returns its index among the function's calls to ``callee``.
        ``in_handler``: inside an ``except`` handler; ``guards``: the names read by the
        tests of the ``if`` statements (and earlier early returns) it runs behind; ``needs``:
        the names those tests require truthy ("x") or not None ("x?"); ``positional`` and
        ``keywords``: the arguments it passes."""
        if not self._functions:
            return 0
        function = self._functions[-1]
        counts = self._open[-1].counts
        index = counts.get(callee, 0)
        counts[callee] = index + 1
        position = len(function.calls)
        function.calls.append(CallSite(callee, loop_depth, index, multiplying, False, positional, keywords,
                                       (), forwards))
        if in_handler:
            self._open[-1].handler_calls.add(position)
        if guards:
            self._open[-1].guards[position] = guards
        if needs and function.optional:
            self._open[-1].needs[position] = needs
        return index

    def add_fill(self, name: str) -> None:
        """The current function stores into ``name`` (``N[k] = v``, ``N.add(v)``, or
        assigns it after ``global N``)."""
        if self._open:
            self._open[-1].fills.add(name)

    def add_declared(self, names: list[str]) -> None:
        """``global``/``nonlocal`` names of the current function."""
        if self._open:
            self._open[-1].declared.update(names)

    def add_entry_ref(self, callee: str, kind: str) -> None:
        """A function named as an entry point by reference (a URL route, a ``__main__`` call)."""
        if (callee, kind) not in self.summary.entry_refs:
            self.summary.entry_refs.append((callee, kind))

    def add_instance(self, name: str, class_name: str | None) -> None:
        """``name = ClassName(...)`` in the current function, or at module level; ``None``
        for any other value bound to ``name`` there. A name bound to two classes, or to a
        class and something else, holds either (the scope is read without its control
        flow): calls on it stay unresolved rather than go to the last class written."""
        owner = self._functions[-1].instances if self._functions else self.summary.instances
        rebound = self._rebound[-1] if self._functions else self._module_rebound
        if name in rebound:
            return
        if class_name is None or owner.get(name, class_name) != class_name:
            rebound.add(name)
            owner.pop(name, None)
        else:
            owner[name] = class_name

    def mark_effect(self, effect: str, site: tuple[str, int]) -> None:
        """The current function has ``effect`` itself (e.g. "block") at ``site``; its
        effects are settled when it is left (see ``_settle``)."""
        if self._open:
            self._open[-1].candidates.append((effect, site))

    def mark_query(self, effect: str = "query", site: tuple[str, int] | None = None) -> None:
        """The current function runs a query itself; ``effect`` is "query" (a read) or
        "write", ``site`` the (callee, index) of the call that does it."""
        if self._functions:
            self._functions[-1].queries = True
            if site is not None:
                self._open[-1].candidates.append((effect, site))


def _locals(state: _Open) -> set[str]:
    """Names local to the function: its parameters and the names it assigns, unless
    declared ``global``/``nonlocal``."""
    node = state.frame.node
    params = {p.name.value for p in _params(node.params)} if isinstance(node, cst.FunctionDef) else set()
    return (set(state.frame.assignments) | params) - state.declared


def _filled_caches(state: _Open) -> set[str]:
    """The names the function stores into that outlive its call (module-level or closure)."""
    return state.fills - _locals(state) if state.fills else set()


def _settle(function: FunctionSummary, state: _Open, caches: set[str]) -> None:
    """Mark the calls that do not run on every call of ``function`` (``CallSite.rare``)
    and keep as its effects the first call of each kind that does. Rare: inside an
    ``except`` handler (it runs when the call fails), or behind an ``if`` (or an earlier
    early return) that tests a cache: a module-level or closure name that a function of
    the file fills (``if not _types: <query>; _types[k] = v``, ``global P; if P: return P
    ... P = rows``, ``if name in _type_names: return True`` with ``_type_names.add(n)``
    elsewhere), filled once and then answering."""
    if caches and state.guards:
        caches = caches - _locals(state)
    rare: set[tuple[str, int]] = set()
    for position, call in enumerate(function.calls):
        if position in state.handler_calls or (caches and caches & state.guards.get(position, frozenset())):
            call.rare = True
            rare.add((call.callee, call.index))
    for position, needs in state.needs.items():
        function.calls[position].needs = tuple(sorted(needs))
    unguarded = {(c.callee, c.index) for c in function.calls if not c.needs}
    # the first effect of each kind, preferring one that runs whatever optional arguments are given
    for effect, site in sorted(state.candidates, key=lambda candidate: candidate[1] not in unguarded):
        if site not in rare:
            function.effects.setdefault(effect, site)


_FALSY_DEFAULTS = {"False": "falsy", "0": "falsy", "''": "falsy", '""': "falsy", "None": "none"}


def _optional_params(params: cst.Parameters) -> dict[str, str]:
    """Parameters whose default is None ("none") or False/0/'' ("falsy")."""
    found: dict[str, str] = {}
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        default = param.default
        text = default.value if isinstance(default, (cst.Name, cst.Integer, cst.SimpleString)) else None
        if text in _FALSY_DEFAULTS:
            found[param.name.value] = _FALSY_DEFAULTS[text]
    return found


def _params(params: cst.Parameters) -> list[cst.Param]:
    return [p for p in (*params.posonly_params, *params.params, *params.kwonly_params,
                        params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]


def _dialect_from_imports(imports: dict[str, str]) -> str | None:
    for origin in imports.values():
        dialect = DRIVER_DIALECTS.get(origin.split(".")[0])
        if dialect:
            return dialect
        last = origin.rsplit(".", 1)[-1]  # ``from .utils import sqlite3``: a re-exported driver
        if last in REEXPORTED_DRIVERS:
            return DRIVER_DIALECTS[last]
    return None
