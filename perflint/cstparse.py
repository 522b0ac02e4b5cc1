"""``libcst.parse_module`` without re-validating what the parser built.

Every CST node's ``__post_init__`` runs ``_validate()``: checks meant for trees built by
hand (a missing space before ``in``, parentheses that do not pair, ...). A tree that
LibCST's own parser produced from source is valid by construction, yet those checks cost
12-18% of the parse on the benchmark corpora (LibCST's ``CSTNode.__post_init__`` says as
much in its ``PERF`` comment). We switch them off for the length of one ``parse_module``
call and only when ``__post_init__`` is exactly the one-line hook we know, so a LibCST
that changes it simply gets the plain, validating parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.base import CSTNode  # private, hence the shape check below

_VALIDATING_HOOK = CSTNode.__dict__.get("__post_init__")


def _hook_only_validates(hook: object) -> bool:
    code = getattr(hook, "__code__", None)
    return code is not None and code.co_names == ("_validate",) and code.co_argcount == 1


_CAN_SKIP = _hook_only_validates(_VALIDATING_HOOK)


def _no_validation(self: CSTNode) -> None:
    return None


@contextmanager
def _validation_off() -> Iterator[None]:
    if not _CAN_SKIP or CSTNode.__dict__.get("__post_init__") is not _VALIDATING_HOOK:
        yield  # someone else patched it, or LibCST changed: leave it alone
        return
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        CSTNode.__post_init__ = _VALIDATING_HOOK  # type: ignore[method-assign]


def parse_module(source: bytes | str) -> cst.Module:
    """Parse like ``libcst.parse_module``; the same tree, minus the redundant validation.
    Nodes built later (``with_changes``, codegen) are validated as usual."""
    with _validation_off():
        return cst.parse_module(source)
