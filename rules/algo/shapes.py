"""What a name holds, as far as the file shows: a list, a set, a str... (PFL402-PFL407).

The algorithmic rules are only right about the object they judge: ``x in seen`` is a scan
for a list and a hash lookup for a set; ``s += t`` copies for bytes and adds for an int.
So they ask here, and an answer is given only from what the code shows: the values a
name is assigned (``ctx`` records them in order), the annotation of a parameter or a
variable, and how the scope grows it (``seen.append(x)``). Anything else (attributes,
unannotated parameters, names bound by ``for``/``with``/unpacking, a mix of kinds) is
``unknown``, and unknown keeps the rules quiet.

Loop questions live here too: whether a loop's body rebinds a name (``seen = []`` inside
the loop starts a new list per pass: nothing accumulates across passes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, Frame, LoopFrame
from perflint.cstutil import (
    dict_view_owner,
    dotted_name,
    iter_subtree,
    names_read,
    target_names,
)
from perflint.rules.loops import input_sized_loop, is_bounded_iterable

UNKNOWN_KIND = "unknown"
# How far ``a = b`` / ``c = a + b`` are followed to other names.
_MAX_DEPTH = 3
_STRING_NODES = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_COMPREHENSION_KINDS: dict[type, str] = {cst.ListComp: "list", cst.SetComp: "set",
                                         cst.DictComp: "dict"}


@dataclass(frozen=True)
class Shape:
    """The kind of object a name or expression holds.

    ``grows``: its size follows the input (a list built from data or appended to), as
    opposed to a literal of a few items. ``how``: the evidence, quoted in messages.
    ``weak``: the evidence says "list" but not "large" (``line.split(",")``).
    ``unhashable``: its items are dicts/lists/sets (appended or built as such): no set
    or Counter can hold them, so the rules' advice would not apply."""

    kind: str
    grows: bool = False
    how: str = ""
    weak: bool = False
    unhashable: bool = False

    @property
    def known(self) -> bool:
        return self.kind != UNKNOWN_KIND


UNKNOWN = Shape(UNKNOWN_KIND)


@dataclass
class ScopeFacts:
    """What one scope (function, lambda, class body or module) does with its names,
    outside nested functions and classes."""

    bound: set[str] = field(default_factory=set)  # bound here at all: local to the scope
    opaque: set[str] = field(default_factory=set)  # bound by for/with/unpacking/import/...
    grown: set[str] = field(default_factory=set)  # items added in place (append, +=, x = x + y)
    unhashable: set[str] = field(default_factory=set)  # dicts/lists/sets appended as items
    declared: dict[str, cst.Annotation] = field(default_factory=dict)  # ``x: list[int] = ...``
    outer: set[str] = field(default_factory=set)  # ``global x`` / ``nonlocal x``
    params: dict[str, cst.Param] = field(default_factory=dict)


# -- names ----------------------------------------------------------------------------
def shape_of_name(name: str, ctx: Context, loop: LoopFrame | None = None, _depth: int = 0) -> Shape:
    """What ``name`` holds where the traversal is, or UNKNOWN.

    ``loop``: the loop the question is asked for; assignments further down its body run
    before the next pass, so they count too (``seen = set(seen)`` at the end of the body)."""
    if not has_evidence(name, ctx):
        return UNKNOWN
    found = _scope_of(name, ctx)
    if found is None:
        return UNKNOWN
    frame, facts = found
    if name in facts.opaque or any(name in loop_.targets for loop_ in ctx.loops
                                   if isinstance(loop_.node, cst.CompFor)):
        return UNKNOWN  # also: a comprehension's own variable shadows the scope's
    values = list(frame.assignments.get(name, ()))
    if loop is not None and loop.body is not None:
        seen = {id(v) for v in values}
        values += [v for v in loop_assignments(loop, ctx).get(name, ()) if id(v) not in seen]
    evidence: list[Shape] = []
    param = facts.params.get(name)
    if param is not None and not _rebound_on_entry(frame, values):
        if param.annotation is None:
            return UNKNOWN  # whatever the caller passes
        # A parameter holds what callers pass: data, not a literal of a few items.
        evidence.append(annotation_shape(param.annotation, ctx, f"parameter `{name}` is annotated ",
                                         grows=True))
    shapes = [s for s in (value_shape(v, ctx, name, _depth) for v in values) if s is not None]
    declared = facts.declared.get(name)
    if declared is not None:
        kind = annotation_shape(declared, ctx, f"`{name}` is declared ", grows=False)
        if not kind.known:
            return UNKNOWN
        evidence.append(kind)
        # ``rows: list[Row] = fetch()``: the declaration says what the call returns.
        shapes = [s if s.known else Shape(kind.kind, True, kind.how) for s in shapes]
    shape = _join(evidence + shapes)
    if shape.kind in _COLLECTION_KINDS and not shape.grows and name in facts.grown:
        literal = next((v for v in values if isinstance(v, (cst.List, cst.Dict, cst.Set))), None)
        how = f"`{name} = {code_for(literal, ctx, 30)}`, then added to" if literal is not None else shape.how
        shape = replace(shape, grows=True, how=how)
    if name in facts.unhashable and shape.known:
        shape = replace(shape, unhashable=True)
    return shape


def has_evidence(name: str, ctx: Context) -> bool:
    """Cheap gate before any scope is scanned: a shape needs an assignment seen so far or
    an annotated parameter (most names in loops are loop targets and parameters)."""
    for frame in ctx.frames:
        if name in frame.assignments:
            return True
        node = frame.node
        if isinstance(node, cst.FunctionDef):
            params = node.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value == name and param.annotation is not None:
                    return True
    return False


def _rebound_on_entry(frame: Frame, values: list[cst.BaseExpression]) -> bool:
    """A parameter assigned again by a statement of the function's own body
    (``items = list(items)`` at the top): from there on, that value is what it holds."""
    node = frame.node
    if not isinstance(node, cst.FunctionDef) or not isinstance(node.body, cst.IndentedBlock):
        return False
    wanted = {id(v) for v in values}
    for statement in node.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and id(small.value) in wanted:
                    return True
    return False


def annotation_shape(annotation: cst.Annotation, ctx: Context, prefix: str, *, grows: bool) -> Shape:
    """``list[str]`` / ``List[str]`` / ``Optional[list[str]]`` / ``list[str] | None``."""
    node = annotation.annotation
    kind = _annotation_kind(node)
    if kind is None:
        return UNKNOWN
    return Shape(kind, grows, f"{prefix}`{_code(node, ctx)}`")


def _annotation_kind(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        left, right = _annotation_kind(node.left), _annotation_kind(node.right)
        if _is_none(node.right):
            return left
        if _is_none(node.left):
            return right
        return left if left == right else None
    if isinstance(node, cst.Subscript):
        base = dotted_name(node.value)
        if base is not None and base.rpartition(".")[2] == "Optional" and len(node.slice) == 1:
            element = node.slice[0].slice
            return _annotation_kind(element.value) if isinstance(element, cst.Index) else None
        node = node.value
    if isinstance(node, cst.SimpleString):  # "list[Item]" (a forward reference)
        try:
            return _annotation_kind(cst.parse_expression(node.evaluated_value))  # type: ignore[arg-type]
        except (cst.ParserSyntaxError, TypeError):
            return None
    dotted = dotted_name(node)
    if dotted is None:
        return None
    return kb.ANNOTATION_SHAPES.get(dotted.rpartition(".")[2])


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _scope_of(name: str, ctx: Context) -> tuple[Frame, ScopeFacts] | None:
    """The frame whose variable ``name`` is where the traversal is: the current scope,
    enclosing functions (closures), then the module. Class bodies do not enclose the
    functions written in them. None for builtins, undefined names and ``global`` /
    ``nonlocal`` names (assigned from elsewhere too)."""
    frames = ctx.frames
    innermost = len(frames) - 1
    for index in range(innermost, -1, -1):
        frame = frames[index]
        if frame.kind == "class" and index != innermost:
            continue
        facts = scope_facts(frame, ctx)
        if name in facts.outer:
            return None
        if name in facts.bound:
            return frame, facts
    return None


def scope_facts(frame: Frame, ctx: Context) -> ScopeFacts:
    return ctx.memoised(("algo-scope", id(frame.node)), lambda: _collect_scope(frame.node))


def _collect_scope(node: cst.CSTNode) -> ScopeFacts:
    facts = ScopeFacts()
    if isinstance(node, (cst.FunctionDef, cst.Lambda)):
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            facts.params[param.name.value] = param
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                facts.opaque.add(star.name.value)
        facts.bound |= set(facts.params) | facts.opaque
        body: cst.CSTNode = node.body
    else:
        body = node
    for sub in statement_nodes(body):
        _note_binding(sub, facts)
    return facts


def statement_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The statements below ``root`` (a module, class, block or loop body) where names are
    bound or grown, without walking expressions: every small statement (and the call of
    an expression statement, ``seen.append(x)``), ``for`` statements, ``with`` items,
    ``except`` handlers, and nested ``def``/``class`` (not their bodies).

    Expressions are most of a scope's nodes and bind almost nothing (a walrus, an
    ``append`` inside a conditional expression): skipping them keeps a scope's scan cheap,
    and what it misses can only make a list look like it does not grow (quiet)."""
    stack: list[cst.CSTNode] = [root.body if isinstance(root, cst.ClassDef) else root]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _BLOCKS:
            stack.extend(reversed(node.body))  # type: ignore[attr-defined]
        elif kind is cst.For:
            yield node
            stack.extend(s for s in (node.orelse, node.body) if s is not None)  # type: ignore[attr-defined]
        elif kind in (cst.While, cst.If):
            stack.extend(s for s in (node.orelse, node.body) if s is not None)  # type: ignore[attr-defined]
        elif kind in (cst.Else, cst.Finally):
            stack.append(node.body)  # type: ignore[attr-defined]
        elif kind is cst.With:
            yield from node.items  # type: ignore[attr-defined]
            stack.append(node.body)  # type: ignore[attr-defined]
        elif kind in (cst.Try, cst.TryStar):
            yield from node.handlers  # type: ignore[attr-defined]
            stack.extend(s for s in (node.finalbody, node.orelse, *(h.body for h in node.handlers),  # type: ignore[attr-defined]
                                     node.body) if s is not None)  # type: ignore[attr-defined]
        elif kind is cst.Match:
            stack.extend(case.body for case in node.cases)  # type: ignore[attr-defined]
        elif kind is cst.Expr:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is cst.Call:
                yield value
        else:
            yield node  # small statements, nested def/class


# Displays whose value cannot be a set member or dict key.
_UNHASHABLE_DISPLAYS = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)

_BLOCKS: frozenset[type] = frozenset(
    {cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite, cst.SimpleStatementLine}
)


def _note_binding(sub: cst.CSTNode, facts: ScopeFacts) -> None:  # one case per node type
    if isinstance(sub, cst.Assign):
        for target in sub.targets:
            _bind(target.target, facts, plain=isinstance(target.target, cst.Name)
                  and len(sub.targets) == 1)
            if isinstance(target.target, cst.Subscript) and isinstance(target.target.value, cst.Name):
                facts.grown.add(target.target.value.value)  # ``d[k] = v``
            if isinstance(target.target, cst.Name) and _extends_itself(target.target.value, sub.value):
                facts.grown.add(target.target.value)
    elif isinstance(sub, cst.AnnAssign):
        _bind(sub.target, facts, plain=isinstance(sub.target, cst.Name))
        if isinstance(sub.target, cst.Name):
            facts.declared[sub.target.value] = sub.annotation
    elif isinstance(sub, cst.AugAssign):
        _bind(sub.target, facts, plain=True)
        if isinstance(sub.target, cst.Name) and isinstance(sub.operator, cst.AddAssign):
            facts.grown.add(sub.target.value)
    elif isinstance(sub, cst.Call):
        func = sub.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and func.attr.value in kb.GROWING_METHODS:
            facts.grown.add(func.value.value)
            if sub.args and isinstance(sub.args[-1].value, _UNHASHABLE_DISPLAYS) \
                    and func.attr.value in ("append", "insert"):
                facts.unhashable.add(func.value.value)
    elif isinstance(sub, cst.For):
        _bind(sub.target, facts, plain=False)
    elif isinstance(sub, cst.WithItem) and sub.asname is not None:
        _bind(sub.asname.name, facts, plain=False)
    elif isinstance(sub, cst.NamedExpr):
        _bind(sub.target, facts, plain=False)
    elif isinstance(sub, cst.ExceptHandler) and sub.name is not None:
        _bind(sub.name.name, facts, plain=False)
    elif isinstance(sub, (cst.Global, cst.Nonlocal)):
        facts.outer |= {n.name.value for n in sub.names}
    elif isinstance(sub, (cst.Import, cst.ImportFrom)) and not isinstance(sub.names, cst.ImportStar):
        for alias in sub.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            root = (dotted_name(bound) or "").split(".")[0]  # type: ignore[arg-type]
            if root:
                facts.bound.add(root)
                facts.opaque.add(root)
    elif isinstance(sub, (cst.FunctionDef, cst.ClassDef)):
        facts.bound.add(sub.name.value)
        facts.opaque.add(sub.name.value)
    elif isinstance(sub, cst.Del):
        _bind(sub.target, facts, plain=False)


def _bind(target: cst.BaseExpression, facts: ScopeFacts, *, plain: bool) -> None:
    names = target_names(target)
    facts.bound |= names
    if not plain:
        facts.opaque |= names


def _extends_itself(name: str, value: cst.BaseExpression) -> bool:
    """``x = x + more`` / ``x = more + x`` / ``x = [*x, item]``."""
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        operands = add_operands(value)
        return any(isinstance(o, cst.Name) and o.value == name for o in (operands[0], operands[-1]))
    if isinstance(value, cst.List):
        return any(isinstance(e, cst.StarredElement) and isinstance(e.value, cst.Name)
                   and e.value.value == name for e in value.elements)
    return False


# -- values ---------------------------------------------------------------------------
def value_shape(node: cst.BaseExpression, ctx: Context, self_name: str | None = None,
                _depth: int = 0) -> Shape | None:
    """The shape of an assigned value; None when it says nothing new about the name it is
    assigned to (``x = x + [y]`` keeps whatever ``x`` was)."""
    limit = ctx.config.small_literal_max
    if isinstance(node, (cst.List, cst.Tuple)):
        starred = [e.value for e in node.elements if isinstance(e, cst.StarredElement)]
        if self_name is not None and any(isinstance(v, cst.Name) and v.value == self_name for v in starred):
            return None  # ``x = [*x, item]``
        # A display holds the items written in it; it grows only by what the scope adds
        # (``facts.grown``) or by what it unpacks (``[*rows]``).
        grows = any(not is_bounded_iterable(v, ctx, limit) for v in starred)
        kind = "list" if isinstance(node, cst.List) else "tuple"
        unhashable = any(isinstance(e.value, _UNHASHABLE_DISPLAYS) for e in node.elements)
        return Shape(kind, grows, f"`{code_for(node, ctx, 30)}`", unhashable=unhashable)
    if isinstance(node, (cst.Set, cst.Dict)):
        return Shape("set" if isinstance(node, cst.Set) else "dict")
    comprehension = _COMPREHENSION_KINDS.get(type(node))
    if comprehension is not None:
        return _comprehension_shape(node, comprehension, ctx, _depth)  # type: ignore[arg-type]
    if isinstance(node, _STRING_NODES):
        return Shape(_string_kind(node), True, f"`{_code(node, ctx)[:30]}`")
    if isinstance(node, (cst.Integer, cst.Float)):
        return Shape("number")
    if isinstance(node, cst.Name):
        if node.value == self_name:
            return None
        if node.value in ("True", "False"):
            return Shape("number")
        if _depth >= _MAX_DEPTH:
            return UNKNOWN
        shape = shape_of_name(node.value, ctx, None, _depth + 1)
        if not shape.known or not shape.how:
            return shape
        return Shape(shape.kind, shape.grows, f"via `{node.value}`, {shape.how}", shape.weak)
    if isinstance(node, cst.BinaryOperation):
        return _operation_shape(node, ctx, self_name, _depth)
    if isinstance(node, cst.Call):
        return call_shape(node, ctx, _depth)
    return UNKNOWN


def _comprehension_shape(node: cst.ListComp | cst.SetComp | cst.DictComp, kind: str,
                         ctx: Context, depth: int) -> Shape:
    comp: cst.CompFor | None = node.for_in
    grows = False
    while comp is not None:
        if not _constant_size(comp.iter, ctx, depth):
            grows = True
        comp = comp.inner_for_in
    element = node.elt if isinstance(node, (cst.ListComp, cst.SetComp)) else None
    return Shape(kind, grows, "built by a comprehension",
                 unhashable=isinstance(element, _UNHASHABLE_DISPLAYS))


def _string_kind(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.ConcatenatedString):
        return _string_kind(node.left)
    if isinstance(node, cst.SimpleString):
        return "bytes" if "b" in node.prefix.lower() else "str"
    return "str"  # f-strings: there are no bytes f-strings


def _operation_shape(node: cst.BinaryOperation, ctx: Context, self_name: str | None,
                     depth: int) -> Shape | None:
    if isinstance(node.operator, cst.Modulo) and isinstance(node.left, _STRING_NODES):
        return Shape(_string_kind(node.left), True, f"`{_code(node.left, ctx)[:30]}`")
    if not isinstance(node.operator, cst.Add):
        if isinstance(node.operator, (cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide)):
            sides = [value_shape(node.left, ctx, None, depth), value_shape(node.right, ctx, None, depth)]
            if all(s is not None and s.kind == "number" for s in sides):
                return Shape("number")
        return UNKNOWN
    operands = [o for o in add_operands(node)
                if not (isinstance(o, cst.Name) and o.value == self_name)]
    shapes = [value_shape(o, ctx, self_name, depth) for o in operands]
    known = [s for s in shapes if s is not None and s.known]
    if not known:
        return None if len(operands) < len(add_operands(node)) else UNKNOWN
    kinds = {s.kind for s in known}
    if len(kinds) != 1:
        return UNKNOWN
    # ``a + b`` of one kind is that kind (str + str, list + list); it grows when a part does.
    return Shape(kinds.pop(), any(s.grows for s in known), known[0].how, all(s.weak for s in known))


def _constant_size(node: cst.BaseExpression, ctx: Context, depth: int) -> bool:
    """A collection whose size the code fixes: a small literal (``is_bounded_iterable``),
    any display, a name holding one that nothing grows (``MAPPING = {...}`` then
    ``[k for k in MAPPING]``, also through ``.keys()``/``.items()``), or a class defined in
    the file (``list(Color)`` of an enum)."""
    if is_bounded_iterable(node, ctx, ctx.config.small_literal_max):
        return True
    node = dict_view_owner(node)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return not any(isinstance(e, (cst.StarredElement, cst.StarredDictElement))
                       for e in node.elements)
    if not isinstance(node, cst.Name) or depth >= _MAX_DEPTH:
        return False
    found = _scope_of(node.value, ctx)
    if found is not None and any(isinstance(s, cst.ClassDef) and s.name.value == node.value
                                 for s in _top_level_classes(found[0])):
        return True
    shape = shape_of_name(node.value, ctx, None, depth + 1)
    return shape.known and not shape.grows and shape.kind in _COLLECTION_KINDS


_COLLECTION_KINDS = frozenset({"list", "tuple", "set", "frozenset", "dict"})


def _top_level_classes(frame: Frame) -> list[cst.ClassDef]:
    body = getattr(frame.node, "body", None)
    statements = body.body if isinstance(body, cst.IndentedBlock) else body
    if not isinstance(statements, (list, tuple)):
        return []
    return [s for s in statements if isinstance(s, cst.ClassDef)]


def call_shape(call: cst.Call, ctx: Context, depth: int = 0) -> Shape:
    """What a call returns: builtins that are not rebound, imported functions by their
    qualified name (``collections.deque``), and methods whose result is the same on
    every receiver (``.split()``, ``.keys()``)."""
    func = call.func
    callee = None
    if isinstance(func, cst.Name) and func.value in kb.CONSTRUCTOR_SHAPES:
        callee = builtin_name(func, ctx)
    callee = callee or ctx.qualified_name(func)
    if callee is not None:
        kind = kb.CONSTRUCTOR_SHAPES.get(callee)
        if kind is None:
            return UNKNOWN
        if callee in kb.COPYING_CONSTRUCTORS:
            first = call.args[0] if call.args and call.args[0].keyword is None and not call.args[0].star else None
            grows = first is not None and not _constant_size(first.value, ctx, depth)
        else:
            # ``re.findall`` / ``os.listdir`` lists, text, and dicts made to be filled
            # (``defaultdict(list)``); not ``range`` or the pair of ``os.path.split``.
            grows = kind in ("list", "str", "bytes", "bytearray", "dict")
        return Shape(kind, grows, f"built by `{_code(func, ctx)}(...)`")
    if not isinstance(func, cst.Attribute):
        return UNKNOWN
    method = func.attr.value
    if isinstance(func.value, _STRING_NODES):
        if method in kb.STR_RESULT_METHODS:
            return Shape(_string_kind(func.value), True, f"`{_code(func.value, ctx)[:20]}.{method}(...)`")
        if method in kb.LIST_RESULT_METHODS:
            return Shape("list", False, "a split literal")
        return UNKNOWN
    if method in kb.LIST_RESULT_METHODS and _receiver_is_local(func.value, ctx):
        # ``line.split(",")``: as many items as the text has fields, often a few.
        return Shape("list", True, f"built by `.{method}()`", weak=method in ("split", "rsplit"))
    if method in kb.DICT_VIEW_METHODS and not call.args:
        return Shape("view")
    return UNKNOWN


def _receiver_is_local(node: cst.BaseExpression, ctx: Context) -> bool:
    """Not a module: ``os.path.split`` returns a pair, ``re.split`` a list (those are
    looked up by qualified name instead)."""
    return ctx.qualified_name(node) is None


def builtin_name(func: cst.BaseExpression, ctx: Context) -> str | None:
    """``sorted`` for a call of the builtin ``sorted``; None when the name is rebound in
    the file (assigned, imported, a parameter) or is not a bare name."""
    if not isinstance(func, cst.Name):
        return None
    return func.value if is_builtin(func, func.value, ctx) else None


def is_builtin(func: cst.BaseExpression, name: str, ctx: Context) -> bool:
    """``func`` is the bare name ``name`` and means the builtin: not imported, assigned
    or a parameter anywhere on the way out. Cheap when it is not that name at all."""
    if not isinstance(func, cst.Name) or func.value != name:
        return False
    if name in ctx.summary.summary.imports:
        return False
    for frame in ctx.frames:
        if frame.kind == "class":
            continue
        if name in scope_facts(frame, ctx).bound:
            return False
    return True


# -- loops ----------------------------------------------------------------------------
def loop_assignments(loop: LoopFrame, ctx: Context) -> dict[str, list[cst.BaseExpression]]:
    """Values assigned to plain names anywhere in the loop's body (each pass runs them)."""
    body = loop.body
    if body is None or isinstance(loop.node, cst.CompFor):
        return {}
    return ctx.memoised(("algo-loop-assign", id(body)), lambda: _name_assignments(body))


def _name_assignments(body: cst.CSTNode) -> dict[str, list[cst.BaseExpression]]:
    found: dict[str, list[cst.BaseExpression]] = {}
    for sub in statement_nodes(body):
        if isinstance(sub, cst.Assign) and len(sub.targets) == 1 \
                and isinstance(sub.targets[0].target, cst.Name):
            found.setdefault(sub.targets[0].target.value, []).append(sub.value)
        elif isinstance(sub, cst.AnnAssign) and isinstance(sub.target, cst.Name) and sub.value is not None:
            found.setdefault(sub.target.value, []).append(sub.value)
    return found


def reset_in_loop(loop: LoopFrame, ctx: Context) -> set[str]:
    """Names the loop starts afresh on a pass: its targets, and names its body binds to
    a value that is not built from the name itself (``seen = []`` is a reset, ``s = s +
    t`` and ``s += t`` are not). ``del x`` counts too."""
    def resets() -> set[str]:
        found = set(loop.targets)
        if loop.body is not None and not isinstance(loop.node, cst.CompFor):
            for sub in statement_nodes(loop.body):
                found |= _resets(sub)
        return found

    return ctx.memoised(("algo-loop-reset", id(loop.node)), resets)


def _resets(sub: cst.CSTNode) -> set[str]:
    if isinstance(sub, cst.Assign):
        names: set[str] = set()
        for target in sub.targets:
            bound = target_names(target.target)
            if isinstance(target.target, cst.Name) and target.target.value in names_read(sub.value):
                continue  # built from itself: still the same accumulation
            names |= bound
        return names
    if isinstance(sub, cst.AnnAssign) and sub.value is not None:
        bound = target_names(sub.target)
        return bound - names_read(sub.value)
    if isinstance(sub, cst.For):
        return target_names(sub.target)
    if isinstance(sub, cst.WithItem) and sub.asname is not None:
        return target_names(sub.asname.name)
    if isinstance(sub, cst.NamedExpr):
        return target_names(sub.target) - names_read(sub.value)
    if isinstance(sub, cst.Del):
        return target_names(sub.target)
    return set()


def grown_in_loop(loop: LoopFrame, ctx: Context) -> set[str]:
    """Names whose object the loop's body adds to or rewrites items of: ``x.append(...)``,
    ``x += more``, ``x = x + more``, ``x[k] = v`` (not ``x.pop()``: taking items away
    keeps a sorted list sorted and a list no longer)."""
    def grown() -> set[str]:
        if loop.body is None or isinstance(loop.node, cst.CompFor):
            return set()
        facts = ScopeFacts()
        for sub in statement_nodes(loop.body):
            _note_binding(sub, facts)
        return facts.grown | _item_assigned(loop.body)

    return ctx.memoised(("algo-loop-grown", id(loop.node)), grown)


def _item_assigned(node: cst.CSTNode) -> set[str]:
    """``x[k] = v`` / ``x[k] += v`` below ``node``."""
    names: set[str] = set()
    for sub in statement_nodes(node):
        targets = ([t.target for t in sub.targets] if isinstance(sub, cst.Assign)
                   else [sub.target] if isinstance(sub, cst.AugAssign) else [])
        for target in targets:
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                names.add(target.value.value)
    return names


def bounded_in_loop(loop: LoopFrame, name: str, ctx: Context) -> bool:
    """The loop keeps the list ``name`` at a constant size: it compares ``len(name)`` with
    a constant (``if len(window) > 5: window.pop(0)``) or empties it (``name.clear()``,
    ``del name[:]``, ``name[:] = ...``) on its way. A window, not a list of the input."""
    region = loop.node if isinstance(loop.node, cst.While) else loop.body
    return ctx.memoised(("algo-bounded", id(loop.node), name), lambda: region is not None and any(
        _bounds(node, name, ctx) for node in iter_subtree(region)))


# Comparisons that cap a list's length, ``len(window) > 5``, with ``len(...)`` on the left
# (mirrored when it is on the right).
_CAPPING = (cst.GreaterThan, cst.GreaterThanEqual, cst.Equal)
_CAPPING_MIRRORED = (cst.LessThan, cst.LessThanEqual, cst.Equal)


def _bounds(node: cst.CSTNode, name: str, ctx: Context) -> bool:
    if isinstance(node, cst.Comparison):
        sides = [node.left, *(target.comparator for target in node.comparisons)]
        for index, target in enumerate(node.comparisons):
            left, right = sides[index], sides[index + 1]
            if isinstance(target.operator, _CAPPING) and _is_len_of(left, name) and _is_cap(right, ctx):
                return True
            if isinstance(target.operator, _CAPPING_MIRRORED) and _is_len_of(right, name) \
                    and _is_cap(left, ctx):
                return True
        return False
    if isinstance(node, cst.Call):
        func = node.func
        return (isinstance(func, cst.Attribute) and func.attr.value == "clear"
                and isinstance(func.value, cst.Name) and func.value.value == name)
    targets: list[cst.BaseExpression] = []
    if isinstance(node, cst.Del):
        targets = [node.target]
    elif isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    return any(isinstance(t, cst.Subscript) and isinstance(t.value, cst.Name) and t.value.value == name
               and any(isinstance(e.slice, cst.Slice) for e in t.slice) for t in targets)


def _is_len_of(node: cst.BaseExpression, name: str) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len"
            and len(node.args) == 1 and isinstance(node.args[0].value, cst.Name)
            and node.args[0].value.value == name)


def _is_cap(node: cst.BaseExpression, ctx: Context) -> bool:
    """A positive int literal, or a name only ever bound to one (``LIMIT = 10``).
    ``len(queue) == 0`` is an emptiness test, not a cap."""
    if isinstance(node, cst.Integer):
        return node.evaluated_value > 0
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        return bool(values) and all(isinstance(v, cst.Integer) and v.evaluated_value > 0 for v in values)
    return False


def leaves_loop_after(ctx: Context, loop: LoopFrame, node: cst.CSTNode) -> bool:
    """``node`` (being visited) sits in a block of ``loop`` whose next statements leave the
    loop unconditionally (``if hit: names.remove(x); break``): it runs at most once per
    loop, not once per pass. A ``break`` inside a nested loop only leaves that one."""
    if isinstance(loop.node, cst.CompFor):
        return False  # a comprehension has no statements to leave it
    parents = ctx.parents
    top = next((i for i in range(len(parents) - 1, -1, -1) if parents[i] is loop.node), None)
    if top is None:
        return False
    chain = [*parents[top + 1:], node]
    # Only a break whose nearest enclosing loop is ``loop`` leaves it.
    loops_below = [i for i, n in enumerate(chain) if isinstance(n, (cst.For, cst.While))]
    for index in range(len(chain) - 2, -1, -1):
        parent = chain[index]
        if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if not isinstance(parent, (cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            continue
        breaks_here = not any(i < index for i in loops_below)
        statements = list(parent.body)
        child = chain[index + 1]
        position = next((i for i, s in enumerate(statements) if s is child), None)
        if position is not None and any(_exits(s, breaks_here) for s in statements[position:]):
            return True
    return False


def _exits(statement: cst.CSTNode, breaks_here: bool) -> bool:
    small = statement.body if isinstance(statement, cst.SimpleStatementLine) else (statement,)
    return any(isinstance(s, (cst.Return, cst.Raise)) or (isinstance(s, cst.Break) and breaks_here)
               for s in small)


def reset_within(ctx: Context, loop: LoopFrame) -> set[str]:
    """Names started afresh by ``loop`` or by a loop nested in it around the node being
    visited."""
    names: set[str] = set()
    started = False
    for frame in ctx.loops:
        started = started or frame is loop
        if started:
            names |= reset_in_loop(frame, ctx)
    return names


# -- accumulation (PFL404, PFL407) -------------------------------------------------------
@dataclass(frozen=True)
class Accumulation:
    """``name += more`` / ``name = name + more`` / ``name = more + name``."""

    name: str
    added: tuple[cst.BaseExpression, ...]
    augmented: bool  # ``+=``
    prepends: bool  # ``name = more + name``

    @property
    def in_place(self) -> bool:
        """The forms CPython can extend a local str in place: ``s += t`` and ``s = s + t``
        (``s = s + a + b`` copies ``s`` in ``s + a`` first; a prepend always copies)."""
        return self.augmented or (not self.prepends and len(self.added) == 1)


def accumulation(node: cst.AugAssign | cst.Assign) -> Accumulation | None:
    if isinstance(node, cst.AugAssign):
        if isinstance(node.operator, cst.AddAssign) and isinstance(node.target, cst.Name):
            return Accumulation(node.target.value, (node.value,), True, False)
        return None
    if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
        return None
    name = node.targets[0].target.value
    value = node.value
    if not (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)):
        return None
    operands = add_operands(value)
    first, last = operands[0], operands[-1]
    if isinstance(first, cst.Name) and first.value == name:
        added, prepends = operands[1:], False
    elif isinstance(last, cst.Name) and last.value == name:
        added, prepends = operands[:-1], True
    else:
        return None
    if any(name in names_read(o) for o in added):
        return None  # ``s = s + s``: doubling, not accumulating
    return Accumulation(name, tuple(added), False, prepends)


def add_operands(node: cst.BinaryOperation) -> list[cst.BaseExpression]:
    """``a + b + c`` -> [a, b, c] (left-associative chain, parentheses respected)."""
    operands: list[cst.BaseExpression] = []
    current: cst.BaseExpression = node
    while isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.Add) \
            and not current.lpar:
        operands.append(current.right)
        current = current.left
    operands.append(current)
    operands.reverse()
    return operands


# -- helpers --------------------------------------------------------------------------
def _join(shapes: list[Shape]) -> Shape:
    """One kind for every piece of evidence, or UNKNOWN."""
    if not shapes or any(not s.known for s in shapes):
        return UNKNOWN
    kinds = {s.kind for s in shapes}
    if len(kinds) != 1:
        return UNKNOWN
    growing = [s for s in shapes if s.grows]
    best = growing[0] if growing else shapes[0]
    return Shape(best.kind, bool(growing), best.how, all(s.weak for s in growing) if growing else False,
                 any(s.unhashable for s in shapes))


def _code(node: cst.CSTNode | None, ctx: Context) -> str:
    if node is None:
        return ""
    return " ".join(ctx.module.code_for_node(node).split())


def code_for(node: cst.CSTNode, ctx: Context, limit: int = 40) -> str:
    """Source of ``node`` on one line, shortened for messages."""
    text = _code(node, ctx)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class GrowingListCall:
    """``name.method(...)`` on a list that grows with the input, per pass of ``loop``."""

    name: str
    method: str
    loop: LoopFrame
    shape: Shape


def growing_list_call(node: cst.Call, ctx: Context, wanted: Callable[[str, cst.Call], bool]) -> GrowingListCall | None:
    """The question PFL403 and PFL405 share: a method call (``wanted``) on a plain name,
    inside an input-sized loop, that does not leave the loop, where the name is a list the
    file shows growing with the input, neither rebuilt per pass nor capped in the loop."""
    if not ctx.loops:
        return None
    func = node.func
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return None
    method, name = func.attr.value, func.value.value
    if not wanted(method, node) or not has_evidence(name, ctx):
        return None
    loop = input_sized_loop(ctx, allow_while=True)
    if loop is None or leaves_loop_after(ctx, loop, node):
        return None
    if name in reset_in_loop(loop, ctx):
        return None  # a new list per pass: its length is one pass's, not the input's
    shape = shape_of_name(name, ctx, loop)
    if shape.kind != "list" or not shape.grows or bounded_in_loop(loop, name, ctx):
        return None
    return GrowingListCall(name, method, loop, shape)
