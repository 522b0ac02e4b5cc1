"""Small, allocation-light helpers over LibCST nodes shared by the traversal and the rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import libcst as cst

from perflint.knowledge import DICT_VIEW_METHODS

# Fields that only hold whitespace, punctuation or tokens: never walked.
_SKIPPED_FIELD_WORDS = (
    "whitespace", "lpar", "rpar", "comma", "semicolon", "colon", "operator", "leading_lines",
    "lines_after", "header", "footer", "equal", "dot", "star", "arrow", "bracket", "brace",
    "asynchronous", "newline", "indent", "quote", "prefix",
)
# Nodes with nothing below them that any rule looks at.
LEAF_TYPES: tuple[type[cst.CSTNode], ...] = (
    cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.Pass, cst.Annotation, cst.Ellipsis,
    # Plain string literals hold no calls; SQL text is read from sink arguments and
    # assignments directly. (f-strings stay walkable: their holes can call things.)
    cst.SimpleString, cst.ConcatenatedString,
)
_FIELDS: dict[type, tuple[str, ...]] = {}
# type -> "walk this value": isinstance() against LibCST's ABC-based classes is slow
# enough to matter on the hot path, so the answer is cached per concrete type.
_WALKABLE: dict[type, bool] = {}


def walkable(value: object) -> bool:
    kind = type(value)
    answer = _WALKABLE.get(kind)
    if answer is None:
        answer = issubclass(kind, cst.CSTNode) and not issubclass(kind, LEAF_TYPES)
        _WALKABLE[kind] = answer
    return answer


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold meaningful child nodes (cached per class)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(cls)
            if not any(word in f.name for word in _SKIPPED_FIELD_WORDS)
        )
        _FIELDS[cls] = names
    return names


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Direct meaningful children in source order, skipping whitespace and leaves."""
    return iter(child_nodes(node))


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Direct meaningful children in source order, skipping whitespace and leaves, as a
    list (no generator: the loops that walk many nodes call this)."""
    known = _WALKABLE
    children: list[cst.CSTNode] = []
    for name in child_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                answer = known.get(type(item))
                if answer is None:
                    answer = walkable(item)
                if answer:
                    children.append(item)
        else:
            answer = known.get(kind)
            if answer is None:
                answer = walkable(value)
            if answer:
                children.append(value)
    return children


# Exact types (LibCST's node classes are final): a set lookup, not an ABC isinstance.
_SCOPES = frozenset({cst.FunctionDef, cst.Lambda, cst.ClassDef})


def iter_subtree(node: cst.CSTNode, *, into_functions: bool = False) -> Iterator[cst.CSTNode]:
    """Pre-order walk below ``node`` (not including it); nested defs and lambdas are
    skipped unless asked, because their bodies do not run where they are written."""
    pending = child_nodes(node)
    pending.reverse()
    while pending:
        current = pending.pop()
        yield current
        if not into_functions and type(current) in _SCOPES:
            continue
        children = child_nodes(current)
        children.reverse()
        pending.extend(children)


def iter_every_node(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and everything below it, leaves (names, literals) included; for the rare
    question that needs them (the walker and ``iter_subtree`` skip leaves)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children = []
        for name in child_fields(type(current)):
            value = getattr(current, name)
            items = value if type(value) in (tuple, list) else (value,)
            children.extend(item for item in items if isinstance(item, cst.CSTNode))
        stack.extend(reversed(children))


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:  # exact types: final classes, no ABC isinstance
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def chain_name(node: cst.BaseExpression | None) -> str | None:
    """A call chain as text, each call in it written ``()``: ``X.objects.filter().first``
    for ``X.objects.filter(a=1).first``, ``Session().get`` for ``Session().get``; None when
    the chain does not start at a name (a subscript, a literal). Plain dotted names come
    out as ``dotted_name`` gives them. perflint.locate writes calls the same way."""
    parts: list[str] = []
    suffix = ""
    while True:
        kind = type(node)  # exact types, as in dotted_name
        if kind is cst.Attribute:
            parts.append(node.attr.value + suffix)
            suffix = ""
            node = node.value
        elif kind is cst.Call:
            suffix += "()"
            node = node.func
        elif kind is cst.Name:
            parts.append(node.value + suffix)
            return ".".join(reversed(parts))
        else:
            return None


def call_method_name(call: cst.Call) -> str | None:
    """The called attribute or function name: ``execute`` for ``cur.execute(...)``."""
    func = call.func
    kind = type(func)  # exact types, as in dotted_name: asked of every call by several rules
    if kind is cst.Attribute:
        return func.attr.value
    if kind is cst.Name:
        return func.value
    return None


def receiver(call: cst.Call) -> cst.BaseExpression | None:
    func = call.func
    return func.value if type(func) is cst.Attribute else None


def receiver_last_name(call: cst.Call) -> str | None:
    """``cursor`` for ``self.db.cursor.execute(...)``; ``conn`` for ``conn().execute``."""
    node = receiver(call)
    while node is not None:
        kind = type(node)
        if kind is cst.Name:
            return node.value
        if kind is cst.Attribute:
            return node.attr.value
        if kind is cst.Call:
            node = node.func
            continue
        if kind is cst.Await:
            node = node.expression
            continue
        return None
    return None


def names_read(node: cst.CSTNode) -> set[str]:
    """Every bare name used below ``node`` (including itself)."""
    found: set[str] = set()
    if isinstance(node, cst.Name):
        found.add(node.value)
    elif isinstance(node, cst.Attribute):
        # ``a.b`` itself: ``b`` is not a variable read (as below it).
        _collect_names_expr(node.value, found)
        return found
    _collect_names(node, found)
    return found


def _collect_names(node: cst.CSTNode, found: set[str]) -> None:
    for name in child_fields(type(node)):
        value = getattr(node, name)
        items = value if type(value) in (tuple, list) else (value,)
        for item in items:
            kind = type(item)
            if kind is cst.Name:
                found.add(item.value)
            elif kind is cst.Attribute:
                # ``a.b``: the attribute name is not a variable read.
                _collect_names_expr(item.value, found)
            elif _is_node(kind):
                _collect_names(item, found)


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """``issubclass(kind, cst.CSTNode)``, cached: an ABC check per value is slow."""
    answer = _NODE_TYPES.get(kind)
    if answer is None:
        answer = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return answer


def _collect_names_expr(node: cst.BaseExpression, found: set[str]) -> None:
    if isinstance(node, cst.Name):
        found.add(node.value)
    else:
        _collect_names(node, found)


def target_names(target: cst.BaseExpression | cst.BaseAssignTargetExpression) -> set[str]:
    """Names bound by an assignment or loop target (tuples unpacked, attributes ignored)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for element in target.elements:
            names |= target_names(element.value)
        return names
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return set()


def assigned_names(node: cst.CSTNode) -> set[str]:
    """Names (re)bound anywhere below ``node`` outside nested functions."""
    names: set[str] = set()
    for sub in iter_subtree(node):
        kind = type(sub)
        if kind in _BINDING_TARGETS:
            names |= target_names(sub.target)
        elif kind is cst.WithItem and sub.asname is not None:
            names |= target_names(sub.asname.name)
    return names


# Nodes whose ``target`` binds names (exact types: LibCST's node classes are final).
_BINDING_TARGETS = frozenset({cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For,
                              cst.CompFor})


def is_small_literal_collection(node: cst.BaseExpression, limit: int) -> bool:
    """A literal tuple/list/set/dict (or ``range(<small int>)``) bounded to ``limit`` items."""
    if isinstance(node, (cst.Tuple, cst.List, cst.Set, cst.Dict)):
        return len(node.elements) <= limit and all(
            not isinstance(element, (cst.StarredElement, cst.StarredDictElement))
            for element in node.elements
        )
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.Call) and dotted_name(node.func) == "range":
        # ``range(3)``, ``range(121, 115, -1)``: literal bounds, counted as the range counts
        bounds = [_literal_int(arg.value) for arg in node.args if arg.keyword is None and not arg.star]
        if not bounds or len(bounds) != len(node.args) or len(bounds) > 3 or None in bounds \
                or (len(bounds) == 3 and bounds[2] == 0):
            return False
        return len(range(*bounds)) <= limit  # type: ignore[arg-type]
    return False


def _literal_int(node: cst.BaseExpression) -> int | None:
    """``3``, ``-1``: an integer literal (signed), else None."""
    sign = 1
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        sign, node = -1, node.expression
    if isinstance(node, cst.Integer):
        return sign * int(node.value.replace("_", ""), 0)
    return None


def loop_exits_early(body: cst.CSTNode) -> bool:
    """True when a loop's body can leave the loop on a hit: a ``return`` anywhere (outside
    nested defs) or a ``break`` that belongs to this loop (not to a nested one), or a
    ``raise`` that every iteration reaches (the body runs once). A conditional ``raise``
    does not count: failing on a bad row still runs the query per row."""
    if _raises_unconditionally(body):
        return True
    stack = child_nodes(body)
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind in _LEAVING:
            return True
        if kind in _SCOPES:
            continue
        if kind in _LOOP_STATEMENTS:
            # A break in a nested loop only leaves that loop; a return still leaves ours.
            stack.extend(n for n in iter_subtree(current) if type(n) is cst.Return)
            continue
        stack.extend(child_nodes(current))
    return False


_LEAVING = frozenset({cst.Return, cst.Break})
_LOOP_STATEMENTS = frozenset({cst.For, cst.While})


def _raises_unconditionally(body: cst.CSTNode) -> bool:
    """A ``raise`` statement at the top level of the loop body with no ``continue`` that
    could skip it: the first iteration always ends the loop."""
    statements = getattr(body, "body", ())
    small: list[cst.CSTNode] = []
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            small.extend(statement.body)
        elif isinstance(statement, cst.BaseSmallStatement):
            small.append(statement)
    if not any(isinstance(s, cst.Raise) for s in small):
        return False
    return not has_own_continue(body)


def has_own_continue(body: cst.CSTNode) -> bool:
    """A ``continue`` of this loop body (not of a loop, function or class nested in it)."""
    stack = child_nodes(body)
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Continue):
            return True
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.For, cst.While)):
            continue  # a continue in a nested loop belongs to that loop
        stack.extend(child_nodes(current))
    return False


def mutated_names(node: cst.CSTNode) -> set[str]:
    """Names whose object the code below ``node`` changes in place: ``x.append(...)``,
    ``x.add(...)``, ``x[k] = v``, ``x.attr = v`` (outside nested functions)."""
    names: set[str] = set()
    for sub in iter_subtree(node):
        kind = type(sub)
        if kind is cst.Call:
            func = sub.func
            if type(func) is cst.Attribute and func.attr.value in MUTATING_METHODS \
                    and type(func.value) is cst.Name:
                names.add(func.value.value)
        elif kind is cst.AssignTarget or kind is cst.AugAssign:
            target = sub.target
            if type(target) in (cst.Subscript, cst.Attribute) and type(target.value) is cst.Name:
                names.add(target.value.value)
    return names


MUTATING_METHODS: frozenset[str] = frozenset(
    {"append", "add", "extend", "update", "insert", "remove", "discard", "pop", "popitem",
     "clear", "setdefault", "appendleft", "extendleft", "popleft", "difference_update",
     "intersection_update", "symmetric_difference_update"}
)


def single_binding(scope: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    """The value of ``name = <value>`` when that is the only binding of ``name`` in
    ``scope`` (outside nested functions and classes) and the object is never changed in
    place there; else None."""
    return single_bindings(scope).get(name)


def single_bindings(scope: cst.CSTNode) -> dict[str, cst.BaseExpression]:
    """``single_binding`` for every name of ``scope`` at once: one walk, where asking name
    by name walks the scope once per name (a module's loops ask about many names)."""
    counts: dict[str, int] = {}
    values: dict[str, cst.BaseExpression | None] = {}
    declared: set[str] = set()  # ``global`` / ``nonlocal``: bound elsewhere too

    def bound(names: Iterable[str], value: cst.BaseExpression | None = None) -> None:
        for bound_name in names:
            counts[bound_name] = counts.get(bound_name, 0) + 1
            values[bound_name] = value

    for sub in iter_subtree(scope):
        if type(sub) not in _BINDING_STATEMENTS:
            continue
        if isinstance(sub, cst.Assign):
            for target in sub.targets:
                plain = isinstance(target.target, cst.Name)
                bound(target_names(target.target), sub.value if plain else None)
        elif isinstance(sub, cst.AnnAssign) and sub.value is not None and isinstance(sub.target, cst.Name):
            # ``SENSOR_TYPES: tuple[Description, ...] = (...)``: a binding with its value
            bound([sub.target.value], sub.value)
        elif isinstance(sub, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor)):
            bound(target_names(sub.target))
        elif isinstance(sub, cst.WithItem) and sub.asname is not None:
            bound(target_names(sub.asname.name))
        elif isinstance(sub, (cst.Global, cst.Nonlocal)):
            declared.update(n.name.value for n in sub.names)
        elif isinstance(sub, (cst.Import, cst.ImportFrom)) and not isinstance(sub.names, cst.ImportStar):
            bound(alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name)
                  else (dotted_name(alias.name) or "").split(".")[0] for alias in sub.names)
    candidates = {name: value for name, value in values.items()
                  if value is not None and counts[name] == 1 and name not in declared}
    if not candidates:
        return {}
    mutated = mutated_names(scope)
    return {name: value for name, value in candidates.items() if name not in mutated}


_BINDING_STATEMENTS = _BINDING_TARGETS | {cst.Assign, cst.WithItem, cst.Global, cst.Nonlocal, cst.Import,
                                          cst.ImportFrom}


def dict_view_owner(node: cst.BaseExpression) -> cst.BaseExpression:
    """``d`` for ``d.items()`` / ``d.keys()`` / ``d.values()`` (as many items as ``d``);
    any other expression as it is."""
    if type(node) is cst.Call and type(node.func) is cst.Attribute and not node.args \
            and node.func.attr.value in DICT_VIEW_METHODS:
        return node.func.value
    return node


def unwrap_iterable(node: cst.BaseExpression, wrappers: frozenset[str]) -> cst.BaseExpression:
    """``items`` for ``enumerate(sorted(items))``: the collection a loop really walks."""
    while isinstance(node, cst.Call) and dotted_name(node.func) in wrappers and node.args:
        node = node.args[0].value
    return node
