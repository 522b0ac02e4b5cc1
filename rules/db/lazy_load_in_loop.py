"""PFL202 lazy-load-in-loop."""

from __future__ import annotations

from itertools import pairwise

import libcst as cst

from perflint.context import Context, LoopFrame
from perflint.ormmodels import manager_access
from perflint.querysets import (
    Access,
    QuerySource,
    call_access,
    is_chain_link,
    lookup_text,
    read_access,
)
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.db.n_plus_one import repeated_item
from perflint.rules.loops import describe_loop
from perflint.schema import SchemaCheck

_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag)
"""
_SQLALCHEMY = """\
from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped["Author"] = relationship()
    tags: Mapped[list["Tag"]] = relationship(lazy="selectin")
    reviews = relationship("Review", lazy="dynamic")
    shelf = relationship("Shelf", lazy="joined")
"""


def _lines(models: str) -> int:
    return models.count("\n")


_D = _lines(_MODELS)  # the loop examples below start right after the models
_S = _lines(_SQLALCHEMY)


class LazyLoadInLoop(PythonRule):
    """
    ## What it does
    Flags a relation of an ORM object read inside a loop over the query that fetched
    the object, when that query did not load the relation: a Django foreign key,
    one-to-one or reverse one-to-one read (`book.author`), a related-manager call a
    prefetch would serve (`book.tags.all()`, `.count()`, `.exists()`), a SQLAlchemy
    `relationship()` with the default `lazy="select"` (or a `lazy="dynamic"` one).

    The relation must be declared on a model the project defines (in any file: the
    models are indexed across the project) and the query must be one the code shows
    (`for b in Book.objects.filter(...)`, `books = session.scalars(select(Book))` then
    `for b in books`).

    ## Why is this bad?
    Each first access loads the related row with its own query: one query for the
    list, then one more per row. 200 books and their authors take 201 round trips
    instead of one or two.

    ## Example
    ```python
    books = Book.objects.filter(published=True)
    for book in books:
        print(book.title, book.author.name)
    ```

    ## Use instead
    ```python
    books = Book.objects.filter(published=True).select_related("author")
    for book in books:
        print(book.title, book.author.name)
    ```
    `prefetch_related("tags")` for many-valued relations; with SQLAlchemy,
    `.options(joinedload(Book.author), selectinload(Book.tags))`.

    Not reported: relations the query loads (`select_related`, `prefetch_related`,
    `Prefetch(...)`, `prefetch_related_objects(...)`, `joinedload`, `selectinload`,
    `subqueryload`, `contains_eager`, `raiseload`, any `options(...)` it cannot read),
    relationships mapped `lazy="joined"`/`"selectin"`/`"subquery"`, foreign key id
    attributes (`book.author_id`), attributes that are not relations, rows that are not
    model objects (`values()`, `session.execute(select(...))` rows), objects of a query
    the code does not show (a parameter), loops that stop at the first row, and reads
    inside assertions. Related-manager calls that query even after a prefetch
    (`book.tags.filter(...)`) are PFL201's.
    """

    code = "PFL202"
    name = "lazy-load-in-loop"
    summary = "a relation of each ORM object in a loop is loaded with its own query"
    message = "relation is loaded lazily once per iteration (N+1)"
    severity = "error"
    base_cost = 5.0
    fix_hint = ("Load the relation with the rows: select_related/prefetch_related (Django), "
                "joinedload/selectinload options (SQLAlchemy).")
    candidate = Words((".objects", "_default_manager", "query", "scalars(", "select("))

    VALID = (
        # eager loading covers it
        Valid(_MODELS + "def f():\n    for b in Book.objects.select_related('author'):\n        print(b.author.name)\n"),
        Valid(_MODELS + "def f():\n    for b in Book.objects.select_related():\n        print(b.author.name)\n"),
        Valid(_MODELS + "def f():\n    books = Book.objects.filter(title__startswith='A')\n"
                        "    books = books.prefetch_related('tags')\n    for b in books:\n        print(b.tags.all())\n"),
        Valid(_MODELS + "from django.db.models import Prefetch\n\n"
                        "def f():\n    for b in Book.objects.prefetch_related(Prefetch('tags')):\n        print(b.tags.count())\n"),
        Valid(_MODELS + "from django.db.models import prefetch_related_objects\n\n"
                        "def f():\n    books = list(Book.objects.all())\n    prefetch_related_objects(books, 'author')\n"
                        "    for b in books:\n        print(b.author)\n"),
        # the foreign key's id is a column of the row
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        print(b.author_id)\n"),
        # not a relation
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        print(b.title.upper())\n"),
        # values() rows are dicts, a first-hit loop runs once, a parameter's objects are unknown
        Valid(_MODELS + "def f():\n    for b in Book.objects.values('author'):\n        print(b['author'])\n"),
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        if b.author.name == 'x':\n            return b\n"),
        Valid(_MODELS + "def f(books):\n    for b in books:\n        print(b.author.name)\n"),
        # a relation the project does not declare (no model named Book here)
        Valid("def f():\n    for b in Book.objects.all():\n        print(b.author.name)\n"),
        # setting the relation writes the attribute: nothing is loaded
        Valid(_MODELS + "def f(a):\n    for b in Book.objects.all():\n        b.author = a\n        b.save()\n"),
        # a write through the related manager is PFL203's
        Valid(_MODELS + "def f(tag):\n    for b in Book.objects.all():\n        b.tags.add(tag)\n"),
        # SQLAlchemy: options cover it; lazy="selectin" mapping; the id column
        Valid(_SQLALCHEMY + "def f(session):\n    for b in session.scalars(select(Book).options(joinedload(Book.author))):\n        print(b.author)\n"),
        Valid(_SQLALCHEMY + "def f(session):\n    for b in session.query(Book).options(joinedload('author')).all():\n        print(b.author)\n"),
        Valid(_SQLALCHEMY + "def f(session):\n    for b in session.scalars(select(Book)):\n        print(b.tags, b.shelf)\n"),
        Valid(_SQLALCHEMY + "def f(session):\n    stmt = select(Book)\n    stmt = stmt.options(selectinload(Book.author))\n"
                            "    for b in session.scalars(stmt).all():\n        print(b.author)\n"),
        Valid(_SQLALCHEMY + "def f(session):\n    for b in session.scalars(select(Book)):\n        print(b.author_id)\n"),
        # rows of a plain execute() are Row tuples
        Valid(_SQLALCHEMY + "def f(session):\n    for row in session.execute(select(Book)):\n        print(row.author)\n"),
        # options built elsewhere may load anything
        Valid(_SQLALCHEMY + "def f(session, opts):\n    for b in session.scalars(select(Book).options(*opts)):\n        print(b.author)\n"),
        # reads that only feed an assertion (a test)
        Valid(_MODELS + "def test_books(self):\n    for b in Book.objects.all():\n        self.assertEqual(b.author.name, 'x')\n"),
    )
    INVALID = (
        Invalid(_MODELS + "def f():\n    for b in Book.objects.filter(title__startswith='A'):\n        print(b.author.name)\n", (_D + 3,)),
        # through a variable, in a comprehension, after enumerate
        Invalid(_MODELS + "def f():\n    books = Book.objects.all()\n    return [b.author for b in books]\n", (_D + 3,)),
        Invalid(_MODELS + "def f():\n    for i, b in enumerate(Book.objects.all()):\n        print(i, b.author)\n", (_D + 3,)),
        # related-manager calls a prefetch would serve
        Invalid(_MODELS + "def f():\n    for b in Book.objects.select_related('author'):\n        print(b.tags.count())\n", (_D + 3,)),
        # the reverse accessor Author gains from Book.author (related_name="books")
        Invalid(_MODELS + "def f():\n    for a in Author.objects.all():\n        print(a.books.all())\n", (_D + 3,)),
        # changing the related row reads it first
        Invalid(_MODELS + "def f():\n    for b in Book.objects.all():\n        b.author.name = b.title\n", (_D + 3,)),
        # eager loading of another relation does not cover this one
        Invalid(_MODELS + "def f():\n    for b in Book.objects.prefetch_related('tags'):\n        print(b.author)\n", (_D + 3,)),
        # SQLAlchemy 2.0 and 1.x styles; a dynamic relationship's query
        Invalid(_SQLALCHEMY + "def f(session):\n    for b in session.scalars(select(Book).where(Book.id > 3)):\n        print(b.author)\n", (_S + 3,)),
        Invalid(_SQLALCHEMY + "def f(session):\n    books = session.execute(select(Book)).scalars().all()\n    for b in books:\n        print(b.author)\n", (_S + 4,)),
        Invalid(_SQLALCHEMY + "def f(session):\n    for b in session.query(Book).options(selectinload(Book.tags)).all():\n        print(b.author)\n", (_S + 3,)),
        Invalid(_SQLALCHEMY + "def f(session):\n    for b in session.query(Book):\n        print(b.reviews.count())\n", (_S + 3,)),
    )

    def visit_Attribute(self, node: cst.Attribute, ctx: Context) -> None:
        if not ctx.loops or is_chain_link(node, ctx):
            return
        access = read_access(node, ctx)
        if access is not None:
            self._check(access, None, ctx)

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.loops or not isinstance(node.func, cst.Attribute) or is_chain_link(node, ctx):
            return
        access = call_access(node)
        if access is not None and (access.reads or access.manager):
            self._check(access, node, ctx)

    def _check(self, access: Access, call: cst.Call | None, ctx: Context) -> None:
        bound = repeated_item(ctx, access.root)
        if bound is None:
            return
        loop, source = bound
        for size in range(1, len(access.reads) + 1):
            path = access.reads[:size]
            if path[-1].endswith("_id") or path[-1] in ("pk", "id"):
                return  # a column of the row, not a relation
            if not source.covers(path):
                self._report(access.nodes[size - 1], path, "read", source, loop, ctx)
                return
        if access.manager is None or call is None or manager_access(list(access.methods)) != "manager":
            return  # no manager call, or one that queries even when prefetched: PFL201's
        path = (*access.reads, access.manager)
        if not source.covers(path):
            self._report(call, path, "manager", source, loop, ctx)

    def _report(self, node: cst.CSTNode, path: tuple[str, ...], access: str, source: QuerySource,
                loop: LoopFrame, ctx: Context) -> None:
        check = SchemaCheck("lazy_relation", source.model, path, access, source.origin)
        loop_text = describe_loop(loop, ctx)
        shown = _shown(node, ctx)
        lines_of = {"queryset": source.node} if source.node is not None else {}
        ctx.report(self, node, _message(shown, path, access, source, loop_text),
                   schema_check=check.to_json(), lines_of=lines_of)


def _shown(node: cst.CSTNode, ctx: Context) -> str:
    """``b.author`` / ``b.tags.all()`` as written (arguments elided), for the message."""
    if isinstance(node, cst.Call):
        inner = _shown(node.func, ctx)
        return f"{inner}({'...' if node.args else ''})"
    text = " ".join(ctx.module.code_for_node(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _message(shown: str, path: tuple[str, ...], access: str, source: QuerySource, loop: str) -> str:
    where = "line {queryset}" if source.node is not None else "the query"
    if source.orm == "django":
        method = "select_related" if access == "read" else "prefetch_related"
        what = "loads the related row" if access == "read" else "runs a query"
        return (f"`{shown}` {what} once per iteration of `{loop}` (N+1); add "
                f"`{method}('{lookup_text(path)}')` to the queryset built at {where}")
    if access == "manager":
        return (f"`{shown}` runs a query once per iteration of `{loop}` (N+1): a dynamic relationship "
                f"loads nothing up front; load the `{path[-1]}` of all rows with one query, or map it "
                f"with `lazy=\"selectin\"`")
    if len(path) == 1:
        option = f"selectinload({source.model}.{path[0]})"
    else:
        option = f"selectinload({source.model}.{path[0]})" + "".join(
            f".selectinload(<{previous} model>.{step})" for previous, step in pairwise(path))
    return (f"`{shown}` lazy-loads once per iteration of `{loop}` (N+1); add "
            f"`.options({option})` to the query built at {where}")
