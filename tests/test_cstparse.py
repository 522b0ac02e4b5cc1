"""The unvalidated parse gives LibCST's tree and leaves validation on for everything else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes.base import CSTNode

from perflint import cstparse

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "perflint").glob("*.py")) + sorted((ROOT / "fixtures").rglob("*.py"))


def _invalid_node() -> None:
    # ``x in(y)`` needs no space, but ``in`` glued to a name on both sides is invalid.
    cst.Comparison(
        left=cst.Name("x"),
        comparisons=[cst.ComparisonTarget(
            cst.In(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
            cst.Name("y"))],
    )


def test_validation_is_what_we_skip() -> None:
    assert cstparse._CAN_SKIP, "LibCST changed CSTNode.__post_init__: re-check cstparse"
    with pytest.raises(cst.CSTValidationError):
        _invalid_node()


@pytest.mark.parametrize("unfreeze", [False, True], ids=["alone", "unfrozen session"])
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_tree_as_libcst(path: Path, unfreeze: bool) -> None:
    data = path.read_bytes()
    try:
        expected = cst.parse_module(data)
    except cst.ParserSyntaxError:
        with pytest.raises(cst.ParserSyntaxError), cstparse.parsing_session(unfreeze):
            cstparse.parse_module(data)
        return
    with cstparse.parsing_session(unfreeze):
        tree = cstparse.parse_module(data)
    assert tree.deep_equals(expected)
    assert tree.code == expected.code


def test_validation_restored_after_parse_and_after_error() -> None:
    cstparse.parse_module("x = [i for i in y]\n")
    with pytest.raises(cst.CSTValidationError):
        _invalid_node()
    with pytest.raises(cst.ParserSyntaxError):
        cstparse.parse_module("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        _invalid_node()
    assert CSTNode.__dict__["__post_init__"] is cstparse._VALIDATING_HOOK


def test_leaves_a_foreign_hook_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def foreign_hook(self: CSTNode) -> None:
        calls.append(type(self).__name__)

    monkeypatch.setattr(CSTNode, "__post_init__", foreign_hook)
    cstparse.parse_module("x = 1\n")
    assert calls, "the foreign hook must still run during our parse"
    assert CSTNode.__dict__["__post_init__"] is foreign_hook


def _own_inits() -> dict[type, object]:
    return {cls: own for cls, own, _fast in cstparse._fast_inits(True)}


@pytest.mark.parametrize("unfrozen", [False, True])
def test_fast_constructors_cover_the_parser_nodes(unfrozen: bool) -> None:
    covered = {cls for cls, _own, _fast in cstparse._fast_inits(unfrozen)}
    for node_type in (cst.Module, cst.Name, cst.Call, cst.FunctionDef, cst.SimpleWhitespace,
                      cst.ParenthesizedWhitespace, cst.For, cst.Attribute, cst.Arg):
        assert node_type in covered, node_type


def test_unfrozen_only_inside_a_session_that_asks() -> None:
    assert cstparse._CAN_UNFREEZE, "LibCST changed its frozen node classes: re-check cstparse"
    name = cst.Name("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        name.value = "y"  # type: ignore[misc]
    with cstparse.parsing_session(unfreeze=False):
        with pytest.raises(dataclasses.FrozenInstanceError):
            cst.Name("x").value = "y"  # type: ignore[misc]
    with cstparse.parsing_session():
        inside = cst.Name("x")
        inside.value = "y"  # type: ignore[misc]
        assert inside.value == "y"
        with cstparse.parsing_session(unfreeze=False):  # nested: the outer one decides
            cst.Name("x").value = "z"  # type: ignore[misc]
    for node in (name, inside, cst.Name("x")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            node.value = "w"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            del node.value  # type: ignore[misc]
    assert all(cls.__dict__.get(attr) is method for cls, attr, method in cstparse._frozen_methods())


def test_constructors_restored_after_parse_error_and_nested_sessions() -> None:
    own = _own_inits()
    with cstparse.parsing_session():
        assert all(cls.__dict__["__init__"] is not init for cls, init in own.items())
        with cstparse.parsing_session():
            cstparse.parse_module("x = 1\n")
        # the inner session (and parse_module's) left the outer one's constructors alone
        assert all(cls.__dict__["__init__"] is not init for cls, init in own.items())
        with pytest.raises(cst.ParserSyntaxError):
            cstparse.parse_module("def (:\n")
    assert all(cls.__dict__["__init__"] is init for cls, init in own.items())
    with pytest.raises(cst.CSTValidationError):
        _invalid_node()


def test_fast_constructor_keeps_defaults_and_fresh_factories() -> None:
    with cstparse.parsing_session():
        first = cst.Call(func=cst.Name("f"))
        second = cst.Call(cst.Name("g"), [cst.Arg(cst.Integer("1"))])
    expected = cst.Call(func=cst.Name("f"))
    assert first.deep_equals(expected)
    assert first.args == () and first.lpar == ()
    assert first.whitespace_after_func is not second.whitespace_after_func  # factory, per node
    assert cst.Module([]).code_for_node(second) == "g(1)"


def test_no_fast_constructor_for_shapes_it_would_not_replace_exactly() -> None:
    # (``dataclasses`` is imported at module level: the string annotations of this file,
    # under ``from __future__ import annotations``, name InitVar through it)
    @dataclasses.dataclass(frozen=True)
    class WithInitVar(CSTNode):
        value: str
        extra: dataclasses.InitVar[int] = 0

        def __post_init__(self, extra: int) -> None:  # type: ignore[override]
            pass

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly(CSTNode):
        value: str

    @dataclasses.dataclass(frozen=True)
    class Plain(CSTNode):
        value: str
        other: tuple[str, ...] = ()

        def _visit_and_replace_children(self, visitor: object) -> Plain:
            return self

        def _codegen_impl(self, state: object) -> None:
            pass

    assert cstparse._fast_init(WithInitVar) is None
    assert cstparse._fast_init(KeywordOnly) is None
    for unfrozen in (False, True):
        # Plain is frozen and no session unfreezes it: slot stores either way
        fast = cstparse._fast_init(Plain, unfrozen)
        assert fast is not None
        node = object.__new__(Plain)
        fast(node, "x")
        assert (node.value, node.other) == ("x", ())
    with cstparse.parsing_session():
        assert Plain("y").value == "y"  # defined after the tables: keeps its own, frozen
        with pytest.raises(dataclasses.FrozenInstanceError):
            Plain("y").value = "z"  # type: ignore[misc]


def test_analysis_leaves_the_unfrozen_trees_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inside a run's session nodes could be assigned to: no rule may do it.
    from perflint import pyfile
    from perflint.analyze import analyze_bytes
    from perflint.config import Config
    from perflint.rulepack import RulePack

    parsed: list[tuple[bytes | str, cst.Module]] = []

    def keeping(data: bytes | str) -> cst.Module:
        parsed.append((data, cstparse.parse_module(data)))
        return parsed[-1][1]

    monkeypatch.setattr(pyfile, "parse_module", keeping)
    config = Config()
    pack = RulePack.for_codes(frozenset(config.enabled_codes()))
    paths = sorted((ROOT / "fixtures").rglob("*.py"))
    with cstparse.parsing_session():
        findings = sum(len(analyze_bytes(str(path), path.read_bytes(), config, pack).findings)
                       for path in paths)
    assert findings > 100 and len(parsed) > len(paths) / 2
    for data, tree in parsed:
        assert tree.deep_equals(cst.parse_module(data)), tree.code[:200]
