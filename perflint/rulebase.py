"""The rule contract: metadata, documentation and the examples every rule carries.

Python rules receive nodes from the single traversal (``visit_<NodeClass>`` /
``leave_<NodeClass>`` methods, dispatched by node type) together with the
traversal context. SQL rules receive each parsed sqlglot statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # pragma: no cover - typing only
    from sqlglot import exp

    from perflint.schema import SchemaCheck


@dataclass(frozen=True)
class Valid:
    """Source that must produce no finding of the rule."""

    code: str
    filename: str = "example.py"
    schema: str = ""  # DDL the project around the example declares (a .sql file of its own)


@dataclass(frozen=True)
class Invalid:
    """Source that must produce the rule's finding at each of ``lines`` (1-based), and nowhere else."""

    code: str
    lines: tuple[int, ...]
    filename: str = "example.py"
    schema: str = ""


class Rule:
    """Base of every rule. Subclasses set the class attributes and write their docs
    in the class docstring with the sections What it does / Why is this bad /
    Example / Use instead."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    message: ClassVar[str]
    severity: ClassVar[str] = "warning"
    confidence: ClassVar[str] = "high"
    base_cost: ClassVar[float] = 1.0
    fix_hint: ClassVar[str] = ""
    default_enabled: ClassVar[bool] = True
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    @classmethod
    def documentation(cls) -> str:
        import inspect  # only `perflint explain` needs it

        return inspect.cleandoc(cls.__doc__ or "")


@dataclass(frozen=True)
class Words:
    """A candidate check by plain substrings: any of ``words`` in the text. Python's
    regular expressions scan slowly for an alternation without a common prefix; ``in``
    does not (measured: 0.9 s of a cold Django run went to such candidate regexes)."""

    words: tuple[str, ...]
    ignore_case: bool = False

    def search(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        return any(word in text for word in self.words)


class PythonRule(Rule):
    """A rule fed by the per-file traversal.

    ``candidate`` is a cheap regular expression over the file text: when it is set
    and does not match, the rule provably has nothing to say about the file and is
    not dispatched to at all.
    """

    candidate: ClassVar[re.Pattern[str] | Words | None] = None


@dataclass(frozen=True)
class SqlContext:
    """What a SQL rule may know besides the statement: the dialect, thresholds, and which
    placeholders the Python code next to the query binds to a pattern starting with a
    wildcard (``cur.execute(sql, (f"%{q}%",))``): positional ones as ``pfl_pos_<i>``
    (0-based, the name the placeholder gets when normalised), named ones by their name."""

    dialect: str = "postgres"
    deep_offset: int = 1000
    wildcard_params: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SqlHit:
    """One problem a SQL rule found in a statement.

    ``node`` is where it is: its position in the text comes from sqlglot's token
    positions (the finding falls back to the statement's start when there is none).
    ``schema_check`` makes the finding conditional on the project's schema (see
    perflint.schema): it is decided after every file has been read."""

    message: str
    node: exp.Expression | None = None
    schema_check: SchemaCheck | None = None
    confidence: str | None = None


class SqlRule(Rule):
    """A rule over one parsed SQL statement (from a Python sink or a .sql file)."""

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:  # pragma: no cover
        raise NotImplementedError
