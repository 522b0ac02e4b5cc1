"""The one traversal per file: a pre-order walk that keeps the context stack and
dispatches each node to every enabled rule that asked for its type.

It walks only fields that can hold meaningful nodes (no whitespace, no tokens), and
never copies the tree or computes whole-module metadata.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import libcst as cst

from perflint.context import Context, Frame, LoopFrame
from perflint.cstutil import (
    child_nodes,
    dotted_name,
    iter_children,
    target_names,
    walkable,
)

Handler = Callable[[cst.CSTNode, Context], None]

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_STRING_TYPES = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_LITERAL_COLLECTIONS = (cst.Tuple, cst.List, cst.Set, cst.Dict)


def is_string_like(node: cst.BaseExpression) -> bool:
    """A literal string, or one built from literals with ``+``, ``%`` or ``.format()``."""
    if isinstance(node, _STRING_TYPES):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Modulo)):
        return is_string_like(node.left)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value == "format" and is_string_like(node.func.value)
    return False


class Dispatcher:
    """Maps node types to the bound ``visit_*`` / ``leave_*`` methods of the rules."""

    def __init__(self, rules: Iterable[object]) -> None:
        self.visit: dict[type, list[Handler]] = defaultdict(list)
        self.leave: dict[type, list[Handler]] = defaultdict(list)
        for rule in rules:
            for attr, node_type, is_visit in _hooks(type(rule)):
                (self.visit if is_visit else self.leave)[node_type].append(getattr(rule, attr))
        self.visit = dict(self.visit)
        self.leave = dict(self.leave)


@cache
def _hooks(cls: type) -> tuple[tuple[str, type, bool], ...]:
    """(method name, node type, is visit) for each ``visit_*``/``leave_*`` of a class;
    computed once per class rather than once per file."""
    hooks = []
    for attr in dir(cls):
        if attr.startswith(("visit_", "leave_")):
            node_type = getattr(cst, attr[6:], None)
            if node_type is None:
                raise TypeError(f"{cls.__name__}.{attr}: no libcst node {attr[6:]}")
            hooks.append((attr, node_type, attr.startswith("visit_")))
    return tuple(hooks)


class Walker:
    def __init__(self, ctx: Context, dispatcher: Dispatcher) -> None:
        self.ctx = ctx
        self.visit_handlers = dispatcher.visit
        self.leave_handlers = dispatcher.leave

    def run(self, module: cst.Module) -> None:
        self._collect_module_strings(module)
        self.walk(module)

    # -- the walk ---------------------------------------------------------------------
    def walk(self, node: cst.CSTNode) -> None:
        node_type = type(node)
        handlers = self.visit_handlers.get(node_type)
        if handlers:
            for handler in handlers:
                handler(node, self.ctx)
        parents = self.ctx.parents
        parents.append(node)
        special = _SPECIAL.get(node_type)
        if special is not None:
            special(self, node)
        else:
            self.walk_children(node)
        parents.pop()
        handlers = self.leave_handlers.get(node_type)
        if handlers:
            for handler in handlers:
                handler(node, self.ctx)

    def walk_children(self, node: cst.CSTNode) -> None:
        walk = self.walk
        for child in child_nodes(node):
            walk(child)

    def walk_all(self, nodes: Iterable[cst.CSTNode]) -> None:
        for node in nodes:
            if walkable(node):
                self.walk(node)

    # -- scopes -----------------------------------------------------------------------
    def _qualname(self, name: str) -> str:
        outer = self.ctx.frame.qualname
        return f"{outer}.{name}" if outer else name

    def _function(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.FunctionDef)
        decorators = tuple(
            name for name in (dotted_name(_decorator_callee(d.decorator)) for d in node.decorators)
            if name
        )
        # Decorators and defaults run in the enclosing scope, once, at definition time.
        self.walk_all(d.decorator for d in node.decorators)
        self.walk_all(p.default for p in _all_params(node.params) if p.default is not None)
        frame = Frame("function", node.name.value, self._qualname(node.name.value), node,
                      is_async=node.asynchronous is not None, decorators=decorators)
        self.ctx.frames.append(frame)
        self.ctx.summary.enter_function(frame, self.ctx)
        self.walk(node.body)
        self.ctx.summary.leave_function()
        self.ctx.frames.pop()

    def _lambda(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.Lambda)
        outer = self.ctx.frame
        frame = Frame("function", "<lambda>", f"{outer.qualname}.<lambda>" if outer.qualname
                      else "<lambda>", node, is_async=False)
        frame.strings = outer.strings
        self.ctx.frames.append(frame)
        self.walk(node.body)
        self.ctx.frames.pop()

    def _class(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.ClassDef)
        self.walk_all(d.decorator for d in node.decorators)
        self.walk_all(arg.value for arg in node.bases)
        frame = Frame("class", node.name.value, self._qualname(node.name.value), node,
                      outer_function=self.ctx.function)
        if isinstance(node.body, cst.IndentedBlock):
            _collect_constants(node.body.body, frame)  # ``self.QUERY`` in a method above it
        self.ctx.frames.append(frame)
        self.ctx.summary.enter_class(node, self.ctx)
        self.walk(node.body)
        self.ctx.summary.leave_class()
        self.ctx.frames.pop()

    # -- loops ------------------------------------------------------------------------
    def _for(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.For)
        self.walk(node.iter)  # evaluated once, before the loop
        kind = "async_for" if node.asynchronous is not None else "for"
        loops = self.ctx.loops
        loops.append(LoopFrame(node, kind, frozenset(target_names(node.target)), node.iter, node.body))
        self.walk(node.target)
        self.walk(node.body)
        loops.pop()
        if node.orelse is not None:
            self.walk(node.orelse)

    def _while(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.While)
        loops = self.ctx.loops
        loops.append(LoopFrame(node, "while", frozenset(), None, node.body))
        self.walk(node.test)  # evaluated on every iteration
        self.walk(node.body)
        loops.pop()
        if node.orelse is not None:
            self.walk(node.orelse)

    def _comprehension(self, node: cst.CSTNode) -> None:
        assert isinstance(node, _COMPREHENSIONS)
        loops = self.ctx.loops
        pushed = 0
        comp_for: cst.CompFor | None = node.for_in
        while comp_for is not None:
            self.walk(comp_for.iter)  # the first iterable runs outside the comprehension
            handlers = self.visit_handlers.get(cst.CompFor)
            if handlers:
                for handler in handlers:
                    handler(comp_for, self.ctx)
            kind = "async_comp" if comp_for.asynchronous is not None else "comp"
            loops.append(LoopFrame(comp_for, kind, frozenset(target_names(comp_for.target)),
                                   comp_for.iter, node))
            pushed += 1
            self.walk_all(comp_for.ifs)
            comp_for = comp_for.inner_for_in
        if isinstance(node, cst.DictComp):
            self.walk(node.key)
            self.walk(node.value)
        else:
            self.walk(node.elt)
        del loops[len(loops) - pushed:]

    # -- facts the engine keeps ---------------------------------------------------------
    def _import(self, node: cst.CSTNode) -> None:
        self.ctx.summary.add_import(node, self.ctx)

    def _assign(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.Assign)
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            frame = self.ctx.frame
            if is_string_like(node.value):
                frame.strings[name] = node.value
            else:
                frame.strings.pop(name, None)
                if isinstance(node.value, _LITERAL_COLLECTIONS):
                    frame.literal_names.add(name)
            if isinstance(node.value, cst.Tuple | cst.List | cst.Dict):
                frame.collections[name] = node.value
            else:
                frame.collections.pop(name, None)
            frame.assignments.setdefault(name, []).append(node.value)
        self.walk_children(node)

    def _ann_assign(self, node: cst.CSTNode) -> None:
        assert isinstance(node, cst.AnnAssign)
        if isinstance(node.target, cst.Name) and node.value is not None:
            self.ctx.frame.assignments.setdefault(node.target.value, []).append(node.value)
        self.walk_children(node)

    def _aug_assign(self, node: cst.CSTNode) -> None:
        """``sql += " WHERE ..."``: the text is assembled at run time, often under
        conditions the walk does not follow, so the name no longer holds the text it was
        given first (reading that prefix alone would miss the clauses added later)."""
        assert isinstance(node, cst.AugAssign)
        if isinstance(node.target, cst.Name):
            self.ctx.frame.strings.pop(node.target.value, None)
        self.walk_children(node)

    def _with_item(self, node: cst.CSTNode) -> None:
        """``with sqlite3.connect(p) as conn`` / ``async with aiohttp.ClientSession() as s``:
        the name holds what the item opened (for connections, clients and sessions the
        object itself), so it is recorded like an assignment, after the item ran."""
        assert isinstance(node, cst.WithItem)
        self.walk_children(node)
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.ctx.frame.assignments.setdefault(node.asname.name.value, []).append(node.item)

    def _collect_module_strings(self, module: cst.Module) -> None:
        """Module constants may be defined below the function that uses them."""
        _collect_constants(module.body, self.ctx.frames[0])


# Node types the walker handles itself (scopes, loops, bindings). A table of plain
# functions, not of bound methods: those would tie each walker (and the tree it holds)
# into a reference cycle that only the cyclic collector can free.
_SPECIAL: dict[type, Callable[[Walker, cst.CSTNode], None]] = {
    cst.FunctionDef: Walker._function,
    cst.Lambda: Walker._lambda,
    cst.ClassDef: Walker._class,
    cst.For: Walker._for,
    cst.While: Walker._while,
    cst.ListComp: Walker._comprehension,
    cst.SetComp: Walker._comprehension,
    cst.GeneratorExp: Walker._comprehension,
    cst.DictComp: Walker._comprehension,
    cst.Import: Walker._import,
    cst.ImportFrom: Walker._import,
    cst.Assign: Walker._assign,
    cst.AnnAssign: Walker._ann_assign,
    cst.AugAssign: Walker._aug_assign,
    cst.WithItem: Walker._with_item,
}


def _collect_constants(body: Sequence[cst.BaseStatement], frame: Frame) -> None:
    """String constants and literal collections assigned at the top of a module or class
    body, known before any function in it is visited (it may be defined above them)."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (isinstance(small, cst.Assign) and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)):
                    name = small.targets[0].target.value
                    if is_string_like(small.value):
                        frame.strings[name] = small.value
                    elif isinstance(small.value, _LITERAL_COLLECTIONS):
                        frame.literal_names.add(name)
                elif (isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name)
                        and isinstance(small.value, _LITERAL_COLLECTIONS)):
                    # ``SENSOR_TYPES: tuple[Description, ...] = (...)``
                    frame.literal_names.add(small.target.value)


def _decorator_callee(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    result = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    return result


__all__ = ["Dispatcher", "Walker", "is_string_like", "iter_children"]
