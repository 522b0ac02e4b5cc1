"""PFL204 unpaginated-fetch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context
from perflint.cstutil import (
    call_method_name,
    child_fields,
    dotted_name,
    iter_subtree,
    receiver,
)
from perflint.queries import classify_call
from perflint.querysets import STATEMENT, QuerySource, query_source
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.schema import SchemaCheck

if TYPE_CHECKING:  # pragma: no cover
    from sqlglot import exp

_FASTAPI = "from fastapi import FastAPI\nfrom databases import Database\n\napp = FastAPI()\ndb = Database('postgresql://x')\n\n\n"
_DJANGO = "from django.shortcuts import render\nfrom django.http import JsonResponse\nfrom books.models import Book\n\n\n"
_SA = ("from flask import Flask, jsonify\nfrom sqlalchemy import select\nfrom app.db import session\n"
       "from app.models import Book\n\napp = Flask(__name__)\n\n\n")
_F, _D, _S = _FASTAPI.count("\n"), _DJANGO.count("\n"), _SA.count("\n")
_RANGE_PREDICATES = ("GT", "GTE", "LT", "LTE", "Between")
_KEY_COLUMNS = frozenset({"id", "pk"})


class UnpaginatedFetch(PythonRule):
    """
    ## What it does
    Flags a request handler that sends every row of a query to its response: rows
    fetched with no `LIMIT` (`fetch_all`, `fetchall()`, `.all()`, a whole queryset,
    `list(qs)`) that the handler returns, renders (`render`, `TemplateResponse`,
    `JsonResponse`, `jsonify`, DRF `Response`), or serializes with `many=True`.
    Handlers are FastAPI/Starlette and Flask routes, Django function views (a view is
    known by the response it builds) and class-based view methods, DRF APIView/viewset
    methods; a Django `ListView` without `paginate_by` renders every row of its
    `queryset`/`model`, and a DRF list view without `pagination_class` does too when the
    project's `REST_FRAMEWORK` settings (read from the project) set no
    `DEFAULT_PAGINATION_CLASS`.

    ## Why is this bad?
    The response grows with the table: the endpoint that returns 50 rows in development
    returns 200,000 in production, with the query, the serialization, the memory and the
    transfer to match. It is the usual cause of list endpoints that slowly time out.

    ## Example
    ```python
    @app.get("/api/products")
    async def list_products():
        return await db.fetch_all("SELECT id, name FROM products")
    ```

    ## Use instead
    ```python
    @app.get("/api/products")
    async def list_products(after: int = 0, size: int = 50):
        return await db.fetch_all(
            "SELECT id, name FROM products WHERE id > :after ORDER BY id LIMIT :size",
            {"after": after, "size": size},
        )
    ```
    Django: `Paginator(qs, 50).get_page(page)`, `paginate_by` on a ListView, or a slice
    (`qs[:50]`); DRF: `pagination_class`; SQLAlchemy: `.limit()` with a keyset filter.

    Not reported: a paginator anywhere in the handler (`Paginator`, `paginate_queryset`,
    `.paginate(...)`, `islice`, `fetchmany`), `paginate_by`/`pagination_class` on the
    view, a sliced queryset or `.limit()`, SQL with `LIMIT`/`FETCH`/`TOP`, aggregates and
    grouped reports, a range report (a `WHERE` range / `__gte`-style lookups, or a set or
    one key: `pk__in`, `WHERE id = ?`), rows reduced before they reach the response
    (`len(rows)`, `sum(...)`), and functions that are not request handlers.
    """

    code = "PFL204"
    name = "unpaginated-fetch"
    summary = "a request handler sends every row of a query to the response"
    message = "the handler sends every row of this query to the response; paginate it"
    severity = "warning"
    base_cost = 3.0
    fix_hint = ("Return one page: LIMIT with a keyset cursor, a paginator (Paginator, DRF "
                "pagination_class, paginate_by), or a slice of the queryset.")
    candidate = Words(("fetch_all", "fetchall", ".fetch(", ".all(", ".objects", ".query", "scalars",
                       "ListView", "ListAPIView", "ViewSet", "select_related", "values("))

    VALID = (
        # LIMIT, a range report, an aggregate, one row by its key
        Valid(_FASTAPI + "@app.get('/p')\nasync def f(size: int = 20):\n"
                         "    return await db.fetch_all('SELECT id FROM products ORDER BY id LIMIT :n', {'n': size})\n"),
        Valid(_FASTAPI + "@app.get('/r')\nasync def f(start, end):\n"
                         "    return await db.fetch_all('SELECT id, total FROM orders WHERE created_at BETWEEN :a AND :b', {'a': start, 'b': end})\n"),
        Valid(_FASTAPI + "@app.get('/c')\nasync def f():\n    return await db.fetch_all('SELECT category, COUNT(*) FROM products GROUP BY category')\n"),
        Valid(_FASTAPI + "@app.get('/p/{i}')\nasync def f(i: int):\n    return await db.fetch_all('SELECT id, name FROM products WHERE id = :i', {'i': i})\n"),
        # not a request handler
        Valid(_FASTAPI + "async def export():\n    return await db.fetch_all('SELECT id FROM products')\n"),
        # rows reduced before the response
        Valid(_FASTAPI + "@app.get('/n')\nasync def f():\n    rows = await db.fetch_all('SELECT price FROM products')\n"
                         "    return {'total': sum(r['price'] for r in rows), 'n': len(rows)}\n"),
        # Django: paginator, slice, range lookups, a single object, a grouped report
        Valid(_DJANGO + "from django.core.paginator import Paginator\n\ndef books(request):\n"
                        "    page = Paginator(Book.objects.all(), 50).get_page(request.GET.get('page'))\n"
                        "    return render(request, 'books.html', {'page': page})\n"),
        Valid(_DJANGO + "def books(request):\n    return render(request, 'books.html', {'books': Book.objects.order_by('-id')[:50]})\n"),
        Valid(_DJANGO + "def books(request):\n    qs = Book.objects.filter(published__gte=request.GET['since'])\n"
                        "    return JsonResponse({'books': list(qs.values('id', 'title'))})\n"),
        Valid(_DJANGO + "def book(request, pk):\n    return render(request, 'book.html', {'book': Book.objects.get(pk=pk)})\n"),
        Valid(_DJANGO + "from django.db.models import Count\n\ndef stats(request):\n"
                        "    rows = Book.objects.values('genre').annotate(n=Count('id'))\n    return JsonResponse({'rows': list(rows)})\n"),
        Valid(_DJANGO + "def count(request):\n    return JsonResponse({'n': Book.objects.all().count()})\n"),
        # ``none()`` holds no rows (django-oscar's partner user search before a valid form)
        Valid(_DJANGO + "def books(request):\n    return render(request, 'books.html', {'books': Book.objects.none()})\n"),
        # class-based: pagination on the view
        Valid("from django.views.generic import ListView\nfrom books.models import Book\n\n\n"
              "class BookList(ListView):\n    model = Book\n    paginate_by = 50\n"),
        Valid("from rest_framework import generics\nfrom books.models import Book\n\n\n"
              "class BookList(generics.ListAPIView):\n    queryset = Book.objects.all()\n    pagination_class = PageNumber\n"),
        # DRF without pagination_class: the project's settings are not known here
        Valid("from rest_framework import generics\nfrom books.models import Book\n\n\n"
              "class BookList(generics.ListAPIView):\n    queryset = Book.objects.all()\n"),
        Valid("from rest_framework.views import APIView\nfrom rest_framework.response import Response\n"
              "from books.models import Book\n\n\nclass Books(APIView):\n    def get(self, request):\n"
              "        page = self.paginate_queryset(Book.objects.all())\n"
              "        return Response(BookSerializer(page, many=True).data)\n"),
        # SQLAlchemy: .limit() and a Flask-SQLAlchemy paginate
        Valid(_SA + "@app.get('/b')\ndef f():\n    return jsonify([b.to_dict() for b in session.scalars(select(Book).limit(50))])\n"),
        Valid(_SA + "@app.get('/b')\ndef f():\n    return jsonify(Book.query.paginate(page=1, per_page=20).items)\n"),
    )
    INVALID = (
        Invalid(_FASTAPI + "@app.get('/p')\nasync def f():\n    products = await db.fetch_all('SELECT id, name FROM products')\n"
                           "    return products\n", (_F + 3,)),
        Invalid(_FASTAPI + "@app.get('/o/{c}')\nasync def f(c: int):\n"
                           "    rows = await db.fetch_all('SELECT id, total FROM orders WHERE customer_id = :c', {'c': c})\n"
                           "    return {'orders': [dict(r) for r in rows]}\n", (_F + 3,)),
        # Django function views: rendered, serialized, listed
        Invalid(_DJANGO + "def books(request):\n    return render(request, 'books.html', {'books': Book.objects.all()})\n", (_D + 2,)),
        Invalid(_DJANGO + "def books(request):\n    qs = Book.objects.filter(published=True).order_by('title')\n"
                          "    return JsonResponse({'books': list(qs.values('id', 'title'))})\n", (_D + 3,)),
        # class-based views: a DRF APIView method, a ListView without paginate_by
        Invalid("from rest_framework.views import APIView\nfrom rest_framework.response import Response\n"
                "from books.models import Book\n\n\nclass Books(APIView):\n    def get(self, request):\n"
                "        books = Book.objects.select_related('author')\n"
                "        return Response(BookSerializer(books, many=True).data)\n", (8,)),
        Invalid("from django.views.generic import ListView\nfrom books.models import Book\n\n\n"
                "class BookList(ListView):\n    queryset = Book.objects.filter(published=True)\n", (6,)),
        Invalid("from django.views.generic import ListView\nfrom books.models import Book\n\n\n"
                "class BookList(ListView):\n    model = Book\n", (6,)),
        # SQLAlchemy 1.x and 2.0, a cursor's fetchall
        Invalid(_SA + "@app.get('/b')\ndef f():\n    return jsonify([b.to_dict() for b in session.query(Book).all()])\n", (_S + 3,)),
        Invalid(_SA + "@app.get('/b')\ndef f():\n    books = session.scalars(select(Book).where(Book.published)).all()\n"
                      "    return jsonify([b.to_dict() for b in books])\n", (_S + 3,)),
        Invalid("import sqlite3\nfrom flask import Flask, jsonify\n\napp = Flask(__name__)\n\n\n"
                "@app.route('/t')\ndef tags():\n    cur = sqlite3.connect('x.db').cursor()\n"
                "    cur.execute('SELECT id, name FROM tags')\n    return jsonify(cur.fetchall())\n", (11,)),
    )

    def __init__(self) -> None:
        self._reported: set[int] = set()
        self._list_views: list[str | None] = []  # per class: "django" | "drf" | None

    # -- where rows reach a response --------------------------------------------------
    def visit_Return(self, node: cst.Return, ctx: Context) -> None:
        function = ctx.function
        if node.value is None or function is None or ctx.frame is not function:
            return
        if ctx.summary.current_entry == "handler" or self._list_view_queryset(function, ctx):
            self._scan(node.value, ctx)

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if ctx.function is None:
            return
        if _is_response(node, ctx) or (ctx.summary.current_entry == "handler" and _serializes_many(node)):
            for arg in node.args:
                self._scan(arg.value, ctx)

    # -- generic list views -------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef, ctx: Context) -> None:
        kind = _list_view_kind(node, ctx)
        self._list_views.append(kind)
        if kind is None:
            return
        attrs = {name: value for name, value in _class_attributes(node)}
        if kb.PAGINATION_ATTRS & attrs.keys() or "get_queryset" in _class_methods(node):
            return
        view = node.name.value
        queryset = attrs.get("queryset")
        if queryset is not None:
            source = query_source(queryset, ctx)
            if source is not None and _all_rows(source):
                self._report_view(queryset, view, kind, _shown(queryset, ctx), ctx)
        elif kind == "django" and isinstance(attrs.get("model"), (cst.Name, cst.Attribute)):
            model = attrs["model"]
            self._report_view(model, view, kind, f"{dotted_name(model)}.objects.all()", ctx)

    def leave_ClassDef(self, node: cst.ClassDef, ctx: Context) -> None:
        self._list_views.pop()

    def _list_view_queryset(self, function: object, ctx: Context) -> bool:
        """``get_queryset`` of a list view without pagination: what it returns is listed whole."""
        frame = ctx.function
        return bool(self._list_views) and self._list_views[-1] is not None and frame is not None \
            and frame.name == "get_queryset" and len(ctx.frames) >= 2 and ctx.frames[-2].kind == "class" \
            and not _class_paginates(ctx.frames[-2].node)

    # -- finding the rows ----------------------------------------------------------------
    def _scan(self, expr: cst.BaseExpression, ctx: Context) -> None:
        """Every fetch of all rows whose rows ``expr`` passes on whole (not reduced to a
        count or a sum, not indexed to one row)."""
        if _paginates(ctx):
            return
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.Attribute)):
                continue  # deferred code; an attribute of the rows is not the rows
            if self._fetch(node, ctx):
                continue
            if isinstance(node, cst.Subscript):
                continue  # one row (``rows[0]``), or a slice: bounded
            if isinstance(node, cst.Call):
                if isinstance(node.func, cst.Name) and node.func.value in kb.ROW_REDUCERS:
                    continue
                stack.extend(arg.value for arg in node.args)  # not the receiver: ``qs.count()``
                continue
            stack.extend(_children(node))

    def _fetch(self, node: cst.CSTNode, ctx: Context) -> bool:
        """True when ``node`` is a query's rows (reported when unbounded); False to look inside."""
        if isinstance(node, cst.Name):
            values = ctx.assigned_values(node.value)
            if not values:
                return False
            source = query_source(node, ctx)
            if source is not None:
                if _all_rows(source):
                    target = _unawaited(values[0])
                    self._report_orm(target, source, ctx)
                return True
            found = False
            for value in values:
                value = _unawaited(value)
                if isinstance(value, cst.Call) and self._fetch(value, ctx):
                    found = True
            return found
        if not isinstance(node, (cst.Call, cst.Subscript)):
            return False
        source = query_source(node, ctx)
        if source is not None:
            if _all_rows(source):
                self._report_orm(node, source, ctx)
            return True
        if isinstance(node, cst.Call):
            text = _sql_of_fetch(node, ctx)
            if text is not None:
                if _sql_returns_all_rows(text, ctx):
                    self._report(node, f"`{_shown(node, ctx)}` sends every row of its query to the response "
                                       "(no LIMIT, no paginator); return one page: `ORDER BY id LIMIT :size` "
                                       "after a keyset cursor (`WHERE id > :after`)", ctx)
                return True
        return False

    def _report_orm(self, node: cst.CSTNode, source: QuerySource, ctx: Context) -> None:
        shown = _shown(node, ctx)
        if source.orm == "django":
            message = (f"`{shown}` sends every row to the response (not sliced, no paginator); page it "
                       "with `Paginator(qs, 50).get_page(page)` (DRF: `pagination_class`) or slice it (`qs[:50]`)")
        else:
            message = (f"`{shown}` sends every row to the response (no `.limit()`, no paginator); return "
                       "one page: `.where(Model.id > after).order_by(Model.id).limit(50)`, or paginate")
        extra = {}
        if isinstance(source.node, cst.Attribute) and source.node.attr.value == "query":
            # ``Book.query`` (Flask-SQLAlchemy): only a model the project defines has one
            extra["schema_check"] = SchemaCheck("model", source.model, origin=source.origin).to_json()
        self._report(node, message, ctx, **extra)

    def _report_view(self, node: cst.CSTNode, view: str, kind: str, shown: str, ctx: Context) -> None:
        if kind == "django":
            self._report(node, f"`{view}` renders every row of `{shown}` (a ListView without "
                               "`paginate_by`); set `paginate_by = 50`", ctx)
        else:
            check = SchemaCheck("unset_setting", "REST_FRAMEWORK", ("DEFAULT_PAGINATION_CLASS",))
            self._report(node, f"`{view}` lists every row of `{shown}`: no `pagination_class` on the view and "
                               "no `DEFAULT_PAGINATION_CLASS` in the REST_FRAMEWORK settings; set one",
                         ctx, schema_check=check.to_json())

    def _report(self, node: cst.CSTNode, message: str, ctx: Context, **extra: object) -> None:
        if id(node) in self._reported:
            return
        self._reported.add(id(node))
        ctx.report(self, node, message, **extra)


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Direct children, names included (``iter_children`` skips leaves: names are what we follow)."""
    found: list[cst.CSTNode] = []
    for name in child_fields(type(node)):
        value = getattr(node, name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, cst.CSTNode):
                found.append(item)
    return found


def _all_rows(source: QuerySource) -> bool:
    return source.stage != STATEMENT and not (source.sliced or source.bounded or source.grouped)


def _unawaited(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def _shown(node: cst.CSTNode, ctx: Context) -> str:
    text = " ".join(ctx.module.code_for_node(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


_RESPONSE_NAMES = frozenset(name.rpartition(".")[2] for name in kb.RESPONSE_FUNCTIONS)


def _is_response(call: cst.Call, ctx: Context) -> bool:
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    if isinstance(func, cst.Attribute) and last in kb.RESPONSE_METHODS:
        return True
    # the name is the cheap test; the import it resolves to decides
    return last in _RESPONSE_NAMES and ctx.qualified_name(func) in kb.RESPONSE_FUNCTIONS


def _serializes_many(call: cst.Call) -> bool:
    """``BookSerializer(books, many=True)`` (DRF, marshmallow's ``dump(rows, many=True)``)."""
    return any(arg.keyword is not None and arg.keyword.value == "many" and isinstance(arg.value, cst.Name)
               and arg.value.value == "True" for arg in call.args)


def _paginates(ctx: Context) -> bool:
    """A paginator in the function, or pagination settings on its view class."""
    function = ctx.function
    if function is None:
        return False
    def paginates() -> bool:
        if any(isinstance(sub, cst.Call) and (dotted_name(sub.func) or "").rpartition(".")[2]
               in kb.PAGINATION_CALLS for sub in iter_subtree(function.node)):
            return True
        owner = ctx.frames[-2] if len(ctx.frames) >= 2 else None
        return owner is not None and owner.kind == "class" and owner.node is not None \
            and _class_paginates(owner.node)

    return ctx.memoised(("paginates", id(function.node)), paginates)


def _class_paginates(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.ClassDef) and any(name in kb.PAGINATION_ATTRS for name, _ in _class_attributes(node))


def _class_attributes(node: cst.ClassDef) -> list[tuple[str, cst.BaseExpression]]:
    found: list[tuple[str, cst.BaseExpression]] = []
    if not isinstance(node.body, cst.IndentedBlock):
        return found
    for statement in node.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    found.append((small.targets[0].target.value, small.value))
    return found


def _class_methods(node: cst.ClassDef) -> set[str]:
    if not isinstance(node.body, cst.IndentedBlock):
        return set()
    return {s.name.value for s in node.body.body if isinstance(s, cst.FunctionDef)}


def _list_view_kind(node: cst.ClassDef, ctx: Context) -> str | None:
    for arg in node.bases:
        qualified = ctx.qualified_name(arg.value)
        if qualified in kb.DJANGO_LIST_VIEWS:
            return "django"
        if qualified in kb.DRF_LIST_VIEWS:
            return "drf"
    return None


def _sql_of_fetch(call: cst.Call, ctx: Context) -> str | None:
    """The SQL text whose every row ``call`` returns: ``db.fetch_all(SQL)``, asyncpg's
    ``conn.fetch(SQL)``, ``conn.execute(SQL).fetchall()`` / ``.all()``, or ``cur.fetchall()``
    after the one ``cur.execute(SQL)`` of the function."""
    method = call_method_name(call)
    if method not in kb.ALL_ROWS_SQL_METHODS or not isinstance(call.func, cst.Attribute):
        return None
    if method in ("fetch_all", "fetch"):
        return _read_sql(call, ctx)
    inner = receiver(call)
    while isinstance(inner, cst.Call) and call_method_name(inner) in ("mappings", "scalars", "unique"):
        inner = receiver(inner)
    if isinstance(inner, cst.Await):
        inner = inner.expression
    if isinstance(inner, cst.Call):
        return _read_sql(inner, ctx)
    if method == "fetchall" and isinstance(inner, cst.Name) and ctx.function is not None:
        texts = {_read_sql(sub, ctx) for sub in iter_subtree(ctx.function.node)
                 if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute)
                 and sub.func.attr.value == "execute" and isinstance(sub.func.value, cst.Name)
                 and sub.func.value.value == inner.value}
        if len(texts) == 1:
            return texts.pop()
    return None


def _read_sql(call: cst.Call, ctx: Context) -> str | None:
    query = classify_call(call, ctx)
    if query is None or query.kind != "sql" or query.is_write or query.is_ddl:
        return None
    return query.sql_text


def _sql_returns_all_rows(text: str, ctx: Context) -> bool:
    """A row-returning SELECT with no LIMIT/FETCH/TOP that is neither an aggregate, a
    grouped report, a range report (``WHERE created_at >= ...``) nor a lookup by key."""
    from perflint.rules.sql.shape import top_level_selects
    from perflint.sqltext import SqlParseError, normalise, parse_statements

    dialect = ctx.config.dialect or ctx.dialect_hint or "postgres"
    try:
        statements = parse_statements(normalise(text, dialect).text, dialect)
    except SqlParseError:
        return False
    if len(statements) != 1 or statements[0].args.get("limit") or statements[0].args.get("fetch"):
        return False
    return any(_select_returns_all_rows(select) for select in top_level_selects(statements[0]))


def _select_returns_all_rows(select: exp.Select) -> bool:
    from sqlglot import exp

    from perflint.rules.sql.shape import is_aggregate_only

    if not (select.args.get("from_") or select.args.get("from")):
        return False
    if select.args.get("limit") or select.args.get("fetch") or select.args.get("top"):
        return False
    if is_aggregate_only(select) or select.args.get("group"):
        return False
    where = select.args.get("where")
    if where is None:
        return True
    if where.find(*(getattr(exp, name) for name in _RANGE_PREDICATES)):
        return False  # a range report
    for test in where.find_all(exp.EQ, exp.In):
        column = test.this if isinstance(test, exp.In) else test.left
        if isinstance(column, exp.Column) and column.name.lower() in _KEY_COLUMNS:
            return False  # one row, or the rows of a set of keys
    return True
