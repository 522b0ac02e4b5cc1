"""``libcst.parse_module`` without paying for what a parsed tree does not need.

Every CST node is a frozen dataclass: its generated ``__init__`` sets each field with
``object.__setattr__`` (frozen classes cannot assign) and then runs ``__post_init__``,
which validates: checks meant for trees built by hand (a missing space before ``in``,
parentheses that do not pair, ...). A tree that LibCST's own parser produced from
source is valid by construction. The parser builds about 2,300 nodes per thousand
lines, so both costs add up: validation is 12-18% of the parse on the benchmark corpora
(LibCST's ``CSTNode.__post_init__`` says as much in its ``PERF`` comment), the
``object.__setattr__`` calls about 10% more.

For the length of a parsing session, each node class whose ``__init__`` is the plain
dataclass one gets an equivalent constructor that stores the fields with plain
attribute assignments and skips the validation; any other class keeps its own
``__init__`` and only the validation hook is switched off. Plain assignments need the
classes unfrozen: the ``__setattr__`` and ``__delattr__`` that ``dataclass(frozen=True)``
gives every node class raise, so the session removes them (only when each is exactly
the generated one) and the stores become the interpreter's specialised slot stores: a
``Name`` is built in a third of the time it takes through slot descriptors, the parse
is ~8% cheaper. Inside a session nodes can therefore be
assigned to; nothing in perflint assigns to a node, and a test checks that analysis
leaves trees unchanged. Everything is put back when the session ends or fails, so nodes
built later (``with_changes``, codegen, other tools in the same process) are built,
validated and frozen as usual. The hook is only touched when it is exactly the one-line
hook we know; a LibCST that changes it gets the plain, validating parse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import libcst as cst
from libcst._nodes.base import CSTNode  # private, hence the shape checks below

_VALIDATING_HOOK = CSTNode.__dict__.get("__post_init__")


def _hook_only_validates(hook: object) -> bool:
    code = getattr(hook, "__code__", None)
    return code is not None and code.co_names == ("_validate",) and code.co_argcount == 1


_CAN_SKIP = _hook_only_validates(_VALIDATING_HOOK)


def _node_classes() -> Iterator[type]:
    pending, seen = [CSTNode], {CSTNode}
    while pending:
        cls = pending.pop()
        yield cls
        for subclass in cls.__subclasses__():
            if subclass not in seen:  # diamonds: a class under two bases
                seen.add(subclass)
                pending.append(subclass)


_FROZEN_METHODS = ("__setattr__", "__delattr__")


def _is_frozen_method(method: object, name: str) -> bool:
    """The ``__setattr__``/``__delattr__`` that ``dataclass(frozen=True)`` generates: they
    raise ``FrozenInstanceError`` for the class's own fields and defer to ``super()``."""
    code = getattr(method, "__code__", None)
    return (code is not None and code.co_filename == "<string>" and code.co_name == name
            and code.co_freevars == ("FrozenInstanceError", "cls"))


@lru_cache(maxsize=1)
def _frozen_methods() -> tuple[tuple[type, str, object], ...]:
    """(class, name, method) for each frozen ``__setattr__``/``__delattr__`` that a node
    class defines. Both must go: either one keeps the type's attribute stores on the
    slow path that looks them up and calls them."""
    return tuple((cls, name, cls.__dict__[name]) for cls in _node_classes()
                 for name in _FROZEN_METHODS if name in cls.__dict__)


@lru_cache(maxsize=1)
def _thawed_classes() -> frozenset[type]:
    """The classes a session that unfreezes takes the frozen methods from."""
    return frozenset(cls for cls, _name, _method in _frozen_methods())


# Unfreezing is all or nothing: a node class whose ``__setattr__`` or ``__delattr__`` is
# anything but the generated frozen one (a future LibCST) keeps every class frozen, and
# the constructors store through the slot descriptors instead.
_CAN_UNFREEZE = _CAN_SKIP and all(_is_frozen_method(method, name)
                                  for _cls, name, method in _frozen_methods())


def _no_validation(self: CSTNode) -> None:
    return None


def _is_dataclass_init(cls: type) -> bool:
    """``cls.__init__`` is the one ``dataclasses`` generated: field stores, then the hook."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    return (code is not None and dataclasses.is_dataclass(cls) and code.co_filename == "<string>"
            and set(code.co_names) <= {"__setattr__", "__post_init__", "MISSING"})


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None] | None:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if type(descriptor).__name__ == "member_descriptor":
            return descriptor.__set__  # type: ignore[no-any-return]
    return None


def _fast_init(cls: type, unfrozen: bool = False) -> Callable[..., None] | None:
    """An ``__init__`` with the dataclass one's signature and defaults that stores the
    fields and does not validate; None when the class does not fit the pattern. With
    ``unfrozen``, for a session that unfreezes the node classes, the stores are plain
    assignments where the session unfreezes ``cls`` and everything above it."""
    fields = dataclasses.fields(cls)
    if not fields or any(not field.init or field.kw_only is True for field in fields):
        return None
    # the dataclass constructor takes exactly these fields, in this order (no InitVar, no
    # keyword-only part): otherwise the generated one would not be a drop-in replacement
    code = cls.__dict__["__init__"].__code__
    if code.co_varnames[1:code.co_argcount + code.co_kwonlyargcount] != tuple(f.name for f in fields):
        return None
    # plain assignments only where a session unfreezes every class on the way up
    thawed = _thawed_classes()
    assign = unfrozen and _CAN_UNFREEZE and all(
        klass in thawed for klass in cls.__mro__
        if klass is not object and any(name in klass.__dict__ for name in _FROZEN_METHODS))
    namespace: dict[str, Any] = {"_MISSING": object()}
    params: list[str] = []
    stores: list[str] = []
    for number, field in enumerate(fields):
        name = field.name
        if not name.isidentifier():
            return None
        value = name
        if field.default is not dataclasses.MISSING:
            namespace[f"_default{number}"] = field.default
            params.append(f"{name}=_default{number}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{number}"] = field.default_factory
            params.append(f"{name}=_MISSING")
            value = f"(_factory{number}() if {name} is _MISSING else {name})"
        elif any("=" in param for param in params):
            return None  # a required field after a defaulted one: not a shape dataclasses makes
        else:
            params.append(name)
        if assign:
            stores.append(f"    self.{name} = {value}")
            continue
        setter = _slot_setter(cls, name)
        if setter is not None:
            namespace[f"_set{number}"] = setter
            stores.append(f"    _set{number}(self, {value})")
        else:
            stores.append(f"    self.__dict__[{name!r}] = {value}")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(stores) + "\n"
    exec(compile(source, f"<perflint.cstparse {cls.__name__}>", "exec"), namespace)  # noqa: S102 (our own text)
    return namespace["__init__"]  # type: ignore[no-any-return]


@lru_cache(maxsize=2)
def _fast_inits(unfrozen: bool) -> tuple[tuple[type, Callable[..., None], Callable[..., None]], ...]:
    """(class, its own ``__init__``, the fast one) for every node class that fits."""
    found = []
    for cls in _node_classes():
        if _is_dataclass_init(cls):
            fast = _fast_init(cls, unfrozen)
            if fast is not None:
                found.append((cls, cls.__dict__["__init__"], fast))
    return tuple(found)


@contextmanager
def parsing_session(unfreeze: bool = True) -> Iterator[None]:
    """Node construction without validation (see the module docstring) until exit;
    with ``unfreeze``, also with plain attribute stores in unfrozen node classes.

    Re-entrant: a session inside another finds the fast constructors already in place
    and leaves them for the outer one to restore. A run that parses many files holds
    one session around them all: switching the constructors costs ~0.1 ms, unfreezing
    ~0.75 ms more (every class's attribute slots are recomputed), which the first
    file's parse pays back only when it has a few hundred lines. So ``parse_module``
    alone, the flake8 plugin's one file, holds a session without it."""
    if not _CAN_SKIP or CSTNode.__dict__.get("__post_init__") is not _VALIDATING_HOOK:
        yield  # someone else patched it (or an outer session did), or LibCST changed
        return
    unfreeze = unfreeze and _CAN_UNFREEZE
    swapped = [(cls, own, fast) for cls, own, fast in _fast_inits(unfreeze)
               if cls.__dict__.get("__init__") is own]
    unfrozen = [(cls, name, method) for cls, name, method in _frozen_methods()
                if unfreeze and cls.__dict__.get(name) is method]
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        for cls, name, _method in unfrozen:
            delattr(cls, name)
        for cls, _own, fast in swapped:
            cls.__init__ = fast  # type: ignore[misc]
        yield
    finally:
        for cls, own, _fast in swapped:
            cls.__init__ = own  # type: ignore[misc]
        for cls, name, method in unfrozen:
            if name not in cls.__dict__:
                setattr(cls, name, method)
        CSTNode.__post_init__ = _VALIDATING_HOOK  # type: ignore[method-assign]


def parse_module(source: bytes | str) -> cst.Module:
    """Parse like ``libcst.parse_module``; the same tree, built without the redundant
    validation. Nodes built later (``with_changes``, codegen) are validated as usual,
    unless built inside a ``parsing_session``."""
    with parsing_session(unfreeze=False):
        return cst.parse_module(source)
