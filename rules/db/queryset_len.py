"""PFL207 queryset-len."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context
from perflint.cstutil import call_method_name, iter_every_node, receiver, target_names
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.db import evidence as ev


@dataclass(frozen=True)
class _Rows:
    """What a ``len()`` / truth test / ``[0]`` loads: every row of ``query`` (the code to
    call ``count()`` / ``exists()`` / ``first()`` on), held in ``name`` when it is a local
    whose other uses decide whether the rows are needed anyway."""

    orm: str  # "django" | "sqlalchemy"
    query: str
    name: str | None


class QuerysetLen(PythonRule):
    """
    ## What it does
    Flags a Django queryset or SQLAlchemy query whose rows are all fetched only to
    count them (`len(qs)`, `len(q.all())`), to see whether there is one (`if qs:`,
    `if not qs:`, `bool(qs)`), or to take the first (`list(qs)[0]`, `q.all()[0]`).

    ## Why is this bad?
    Evaluating the queryset transfers and builds every row (model objects included)
    to produce one number or one boolean. `COUNT(*)`, `EXISTS` and `LIMIT 1` let the
    database answer from an index and send back one value.

    ## Example
    ```python
    def has_open_orders(customer):
        orders = Order.objects.filter(customer=customer, status="open")
        if orders:
            return True
        return len(Order.objects.filter(customer=customer)) > 10
    ```

    ## Use instead
    ```python
    def has_open_orders(customer):
        if Order.objects.filter(customer=customer, status="open").exists():
            return True
        return Order.objects.filter(customer=customer).count() > 10
    ```
    (`list(qs)[0]` becomes `qs.first()`, which returns None instead of raising
    IndexError when there is no row.)

    Not reported when the rows are used anyway in the same function (the queryset is
    iterated, indexed, sliced, returned or passed on: Django caches the rows of an
    evaluated queryset, so `if qs: for x in qs:` runs one query), on querysets the code
    does not show (a parameter, `raw()`), and on plain lists.
    """

    code = "PFL207"
    name = "queryset-len"
    summary = "all rows fetched only to count them, test for one, or take the first"
    message = "rows fetched only to count or test them"
    severity = "warning"
    base_cost = 2.0
    fix_hint = "Use qs.count() / qs.exists() / qs.first() (COUNT, EXISTS, LIMIT 1 in the database)."
    candidate = Words(("objects", "_manager", "query(", ".all()"))

    VALID = (
        # --- RULES.md / task hard negatives: the rows are materialised and used anyway ---
        Valid("def f():\n    qs = Order.objects.filter(open=True)\n    if qs:\n        for o in qs:\n            print(o)\n"),
        Valid("def f():\n    qs = Order.objects.filter(open=True)\n    n = len(qs)\n    return render('t.html', {'orders': qs, 'n': n})\n"),
        Valid("def f():\n    qs = Order.objects.filter(open=True)\n    if not qs:\n        return None\n    return qs[0]\n"),
        Valid("def f(session):\n    rows = session.query(User).filter(User.active).all()\n    if rows:\n        send(rows)\n"),
        Valid("def f():\n    qs = Order.objects.all()\n    total = len(qs)\n    return [o.id for o in qs], total\n"),
        # the fix
        Valid("def f():\n    return Order.objects.filter(open=True).count()\n"),
        Valid("def f():\n    if Order.objects.filter(open=True).exists():\n        return 1\n"),
        # not visibly a queryset: a parameter, a list, a dict
        Valid("def f(qs):\n    return len(qs)\n"),
        Valid("def f(items):\n    orders = list(items)\n    if orders:\n        return len(orders)\n"),
        Valid("def f():\n    data = {'a': 1}\n    return len(data.keys())\n"),
        # raw() has no count() / exists()
        Valid("def f():\n    return len(Order.objects.raw('SELECT id FROM orders'))\n"),
        # rebound to a list before the test
        Valid("def f():\n    qs = Order.objects.all()\n    qs = [o for o in qs if o.ok]\n    return len(qs)\n"),
        # a queryset handed to a helper in the same function
        Valid("def f(request):\n    qs = Order.objects.filter(user=request.user)\n    if not qs:\n        raise Http404\n    return paginate(qs)\n"),
    )
    INVALID = (
        Invalid("def f():\n    return len(Order.objects.filter(open=True))\n", (2,)),
        Invalid("def f():\n    qs = Order.objects.filter(open=True)\n    return len(qs)\n", (3,)),
        Invalid("def f(session):\n    return len(session.query(User).filter(User.active).all())\n", (2,)),
        Invalid("def f(session):\n    q = session.query(User).filter(User.active)\n    return len(q.all())\n", (3,)),
        Invalid("def f():\n    qs = Order.objects.filter(open=True)\n    if qs:\n        return 'some'\n", (3,)),
        Invalid("def f(email):\n    if not User.objects.filter(email=email):\n        raise ValueError(email)\n", (2,)),
        Invalid("def f():\n    return bool(Order.objects.filter(open=True))\n", (2,)),
        Invalid("def f():\n    qs = Order.objects.filter(open=True).order_by('-id')\n    return list(qs)[0]\n", (3,)),
        Invalid("def f(session):\n    return session.query(User).filter(User.active).all()[0]\n", (2,)),
        Invalid("def f(session):\n    rows = session.query(User).filter(User.name == 'x').all()\n    return 'yes' if rows else 'no'\n", (3,)),
        Invalid("from shop.models import Order\n\ndef f(order: Order):\n    return len(order.items.all())\n", (4,)),
        Invalid("def f():\n    qs = Order.objects.all()\n    if qs.filter(open=True):\n        return len(list(qs))\n", (3, 4)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        builtin = _builtin(node, ctx)
        if builtin not in ("len", "bool") or len(node.args) != 1 or node.args[0].keyword is not None:
            return
        value = node.args[0].value
        if builtin == "len" and isinstance(value, cst.Call) and _builtin(value, ctx) in ("list", "tuple") \
                and len(value.args) == 1:
            value = value.args[0].value  # len(list(qs))
        rows = _rows_of(value, ctx)
        if rows is None or _used_anyway(rows, ctx):
            return
        shown = ev.short_code(node, ctx, 60) or f"{builtin}(...)"
        if builtin == "len":
            ctx.report(self, node, f"`{shown}` fetches every row only to count them; "
                                   f"use `{rows.query}.count()`")
        else:
            ctx.report(self, node, _exists_message(f"`{shown}`", rows))

    def visit_If(self, node: cst.If, ctx: Context) -> None:
        self._truth_test(node.test, ctx)

    def visit_IfExp(self, node: cst.IfExp, ctx: Context) -> None:
        self._truth_test(node.test, ctx)

    def _truth_test(self, test: cst.BaseExpression, ctx: Context) -> None:
        for operand in _truth_operands(test):
            rows = _rows_of(operand, ctx)
            if rows is not None and not _used_anyway(rows, ctx):
                shown = ev.short_code(operand, ctx) or rows.query
                ctx.report(self, operand, _exists_message(f"testing `{shown}` for truth", rows))

    def visit_Subscript(self, node: cst.Subscript, ctx: Context) -> None:
        position = _first_or_last(node)
        if position is None:
            return
        value = node.value
        if isinstance(value, cst.Call) and _builtin(value, ctx) in ("list", "tuple") and len(value.args) == 1:
            rows = _rows_of(value.args[0].value, ctx)
        elif isinstance(value, cst.Call):
            rows = _rows_of(value, ctx)  # ``q.all()[0]``
            if rows is not None and rows.orm != "sqlalchemy":
                rows = None  # ``qs.filter(...)[0]`` is LIMIT 1 in Django
        else:
            rows = None
        if rows is None or _used_anyway(rows, ctx) or rows.orm == "sqlalchemy" and position == "last":
            return
        index = "[0]" if position == "first" else "[-1]"
        shown = ev.short_code(node, ctx, 60) or (f"list(...){index}" if rows.orm == "django" else f".all(){index}")
        ctx.report(self, node, f"`{shown}` fetches every row to keep one; use `{rows.query}.{position}()` "
                               "(None when there is no row)")


def _builtin(call: cst.Call, ctx: Context) -> str | None:
    """``len`` / ``bool`` / ``list`` / ``tuple`` when the name is the builtin (not rebound)."""
    func = call.func
    if not isinstance(func, cst.Name) or func.value not in ("len", "bool", "list", "tuple"):
        return None
    if ctx.assigned_values(func.value) or ctx.qualified_name(func) is not None \
            or ev.parameter(func.value, ctx) is not None:
        return None
    return func.value


def _rows_of(node: cst.BaseExpression, ctx: Context) -> _Rows | None:
    """The query whose every row ``node`` holds or loads, or None."""
    if isinstance(node, cst.Name):
        if ev.is_queryset(node, ctx):
            return _Rows("django", node.value, node.value)
        values = ctx.assigned_values(node.value)
        if values and all(_sqlalchemy_all(v, ctx) is not None for v in values):
            base = _sqlalchemy_all(values[-1], ctx)
            assert base is not None
            return _Rows("sqlalchemy", ev.short_code(base, ctx, 60) or "query", node.value)
        return None
    if ev.is_queryset(node, ctx):
        return _Rows("django", ev.short_code(node, ctx, 60) or "qs", None)
    base = _sqlalchemy_all(node, ctx)
    if base is not None:
        return _Rows("sqlalchemy", ev.short_code(base, ctx, 60) or "query", None)
    return None


def _sqlalchemy_all(node: cst.BaseExpression, ctx: Context) -> cst.BaseExpression | None:
    """``q`` for ``q.all()`` when ``q`` is a SQLAlchemy Query the code shows."""
    if isinstance(node, cst.Call) and call_method_name(node) == "all" and not node.args:
        base = receiver(node)
        if base is not None and ev.is_sqlalchemy_query(base, ctx):
            return base
    return None


def _truth_operands(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The expressions whose truth an ``if`` tests: ``qs`` in ``if not qs and x``."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _truth_operands(test.expression)
    if isinstance(test, cst.BooleanOperation):
        return [*_truth_operands(test.left), *_truth_operands(test.right)]
    return [test]


def _first_or_last(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    if isinstance(index, cst.Integer) and index.value == "0":
        return "first"
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.Minus) \
            and isinstance(index.expression, cst.Integer) and index.expression.value == "1":
        return "last"
    return None


def _exists_message(what: str, rows: _Rows) -> str:
    if rows.orm == "django":
        return f"{what} fetches every row to see if there is one; use `{rows.query}.exists()`"
    return (f"{what} fetches every row to see if there is one; use `{rows.query}.first()` "
            f"(one row) or an EXISTS query (`session.query({rows.query}.exists()).scalar()`)")


# Calls whose receiver queryset is not evaluated by them (a new query is built or run).
_NEW_QUERY_METHODS = kb.DJANGO_QUERY_TERMINALS | kb.DJANGO_QUERYSET_BUILDERS


def _used_anyway(rows: _Rows, ctx: Context) -> bool:
    """The local holding the rows is read somewhere in its scope other than by ``len()``,
    ``bool()``, a truth test, ``list(...)[0]`` or a method that builds a new query: its
    rows are needed anyway (iterated, indexed, returned, passed on), so loading them
    once is right."""
    if rows.name is None:
        return False
    function = ctx.function
    local = function is not None and rows.name in function.assignments
    scope: cst.CSTNode = function.node if local and function is not None else ctx.module
    return ctx.memoised(("pfl207_used", id(scope), rows.name), lambda: _has_other_reads(scope, rows.name, ctx))


def _has_other_reads(scope: cst.CSTNode, name: str, ctx: Context) -> bool:
    benign: set[int] = set()
    occurrences: list[cst.Name] = []
    for node in iter_every_node(scope):
        if isinstance(node, cst.Name):
            if node.value == name:
                occurrences.append(node)
        elif isinstance(node, cst.Attribute):
            benign.add(id(node.attr))  # ``x.qs`` reads an attribute, not the local
        elif isinstance(node, cst.Call):
            _mark_benign_call(node, name, benign, ctx)
        elif isinstance(node, (cst.If, cst.IfExp, cst.While)):
            for operand in _truth_operands(node.test):
                benign.add(id(operand))
        elif isinstance(node, cst.Subscript) and _first_or_last(node) is not None \
                and isinstance(node.value, cst.Call) and len(node.value.args) == 1:
            benign.add(id(node.value.args[0].value))  # list(qs)[0]
        elif isinstance(node, (cst.AssignTarget, cst.For, cst.CompFor, cst.AugAssign, cst.AnnAssign)):
            target = node.target
            if name in target_names(target):
                benign |= {id(n) for n in iter_every_node(target) if isinstance(n, cst.Name)}
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            benign.add(id(node.keyword))
        elif isinstance(node, cst.Param):
            benign.add(id(node.name))
    return any(id(occurrence) not in benign for occurrence in occurrences)


def _mark_benign_call(call: cst.Call, name: str, benign: set[int], ctx: Context) -> None:
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name \
            and func.attr.value in _NEW_QUERY_METHODS:
        benign.add(id(func.value))  # ``qs.filter(...)`` / ``qs.count()``: a new query
    elif isinstance(func, cst.Name) and func.value in ("len", "bool") and len(call.args) == 1:
        benign.add(id(call.args[0].value))
        inner = call.args[0].value
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) \
                and inner.func.value in ("list", "tuple") and len(inner.args) == 1:
            benign.add(id(inner.args[0].value))  # len(list(qs))
