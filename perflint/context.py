"""The traversal context: where in the code the node being visited sits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import libcst as cst

from perflint.cstutil import dotted_name

_T = TypeVar("_T")

if TYPE_CHECKING:  # pragma: no cover
    from perflint.config import Config
    from perflint.knowledge import Knowledge
    from perflint.rulebase import Rule
    from perflint.summary_builder import SummaryBuilder


@dataclass
class LoopFrame:
    """One loop the visited node runs inside: ``for``, ``while`` or a comprehension ``for``."""

    node: cst.CSTNode  # For, While or CompFor
    kind: str  # "for" | "async_for" | "while" | "comp" | "async_comp"
    targets: frozenset[str]
    iterable: cst.BaseExpression | None
    body: cst.CSTNode | None  # the statements (or comprehension) run per iteration


@dataclass
class Frame:
    """A scope whose code runs together: the module, a class body, a function or lambda."""

    kind: str  # "module" | "class" | "function"
    name: str
    qualname: str
    node: cst.CSTNode
    is_async: bool = False
    decorators: tuple[str, ...] = ()
    loops: list[LoopFrame] = field(default_factory=list)
    # Local names bound to string-like expressions (SQL text candidates).
    strings: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # Names ever bound to a literal tuple/list/set/dict here: the only candidates for
    # "a loop over a small literal through a name" (checked fully, and lazily, by rules).
    literal_names: set[str] = field(default_factory=set)
    # Local names bound to a tuple/list/dict display (query parameters built before the call).
    collections: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # Every value assigned to a plain name in this scope so far (``x = ...``, ``x: T = ...``,
    # ``with <value> as x``), in order: what rules follow to learn what a name holds (a list
    # or a set, a queryset, a client).
    assignments: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    # For a class body: the function it is defined in, if any (``Context.function`` asks it
    # of the innermost frame instead of searching the stack on every call).
    outer_function: Frame | None = None


@dataclass
class PendingReport:
    rule: Rule
    node: cst.CSTNode
    message: str
    function: str
    loop_depth: int
    extra: dict[str, Any] = field(default_factory=dict)
    # the top-level statement holding the node (and the statement of a top-level class's
    # body holding it): positions need to generate only that one
    top: tuple[cst.CSTNode, cst.CSTNode | None] | None = None


class Context:
    """Mutable state of one file's traversal. Rules read it and call ``report``."""

    def __init__(self, path: str, module: cst.Module, knowledge: Knowledge, config: Config,
                 summary: SummaryBuilder) -> None:
        self.path = path
        self.module = module
        self.knowledge = knowledge
        self.config = config
        self.summary = summary
        self.frames: list[Frame] = [Frame("module", "<module>", "", module)]
        self.parents: list[cst.CSTNode] = []
        self.reports: list[PendingReport] = []
        self.dialect_hint: str | None = None
        # Per-node memo shared by rules (e.g. how a call was classified).
        self.memo: dict[tuple[object, ...], Any] = {}

    def memoised(self, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        """``compute()`` once per file for ``key`` (the answers stay in ``memo``): for
        questions many nodes ask of the same loop, function or module."""
        memo = self.memo
        if key in memo:
            return memo[key]  # type: ignore[no-any-return]
        value = memo[key] = compute()
        return value

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    @property
    def loops(self) -> list[LoopFrame]:
        return self.frames[-1].loops

    @property
    def function(self) -> Frame | None:
        """The innermost function (or lambda) being walked; None at module or class level
        outside any function."""
        frame = self.frames[-1]
        return frame if frame.kind == "function" else frame.outer_function

    @property
    def in_async_function(self) -> bool:
        function = self.function
        return function is not None and function.is_async and self.frame is function

    def lookup_string(self, name: str) -> cst.BaseExpression | None:
        """A string-like value bound to ``name`` in this function or at module level."""
        value = self.frame.strings.get(name)
        if value is None:
            value = self.frames[0].strings.get(name)
        return value

    def assigned_values(self, name: str) -> list[cst.BaseExpression]:
        """The values assigned to ``name`` so far in the innermost function (or class body)
        that assigns it, else at module level; [] for parameters, loop targets, imports."""
        for frame in (self.frame, self.frames[0]):
            values = frame.assignments.get(name)
            if values:
                return values
        return []

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """The imported origin of a dotted name: ``requests.get`` for ``requests.get(...)``,
        ``r.get`` after ``import requests as r``, ``get`` after ``from requests import get``
        (both ``requests.get``). None when the root is not an imported name (a local,
        ``self``, a parameter): ``self.cache.get`` is not ``requests.get``."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if root in self.frame.assignments or (self.function is not None and root in self.function.assignments):
            return None  # rebound locally: no longer the import
        origin = self.summary.summary.imports.get(root)
        if origin is None:
            return None
        return f"{origin}.{rest}" if rest else origin

    def lookup_class_string(self, owner: str, name: str) -> cst.BaseExpression | None:
        """``self.QUERY`` / ``cls.QUERY`` / ``Repo.QUERY``: a string constant of the
        enclosing class, or of a class of that name defined at module level so far."""
        for frame in reversed(self.frames):
            if frame.kind == "class" and (owner in ("self", "cls") or owner == frame.name):
                return frame.strings.get(name)
        return None

    def report(self, rule: Rule, node: cst.CSTNode, message: str | None = None,
               **extra: Any) -> None:
        parents = self.parents
        top = None
        if len(parents) > 1:
            in_class = len(parents) > 3 and type(parents[1]) is cst.ClassDef and type(parents[2]) is cst.IndentedBlock
            top = (parents[1], parents[3] if in_class else None)
        self.reports.append(
            PendingReport(rule, node, message or rule.message, self.frame.qualname,
                          len(self.loops), extra, top)
        )
