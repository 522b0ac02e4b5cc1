"""ORM awareness: the model index (records from class definitions, joined across files in
the project phase), querysets followed through names with their eager loading, and the
``query-methods`` configuration key."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflint.analyze import analyze_bytes
from perflint.config import Config, ConfigError, config_from_table
from perflint.findings import Finding
from perflint.rulepack import RulePack
from perflint.schema import Schema, SchemaCheck, build_schema, decide_schema_checks
from tests.conftest import lint_source

DJANGO_MODELS = '''\
from django.conf import settings
from django.db import models
from django.db.models import ForeignKey


class Stamped(models.Model):
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)

    class Meta:
        abstract = True


class Publisher(models.Model):
    name = models.CharField(max_length=50)


class Author(models.Model):
    publisher = ForeignKey(Publisher, on_delete=models.CASCADE)


class Book(Stamped):
    title = models.CharField(max_length=200)
    author = models.ForeignKey("library.Author", on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField("Tag", related_name="+")
    cover = models.OneToOneField("Cover", on_delete=models.CASCADE)

    @property
    def review_count(self):
        return self.review_set.count()

    def __str__(self):
        return self.title


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE)
'''

SQLALCHEMY_MODELS = '''\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="selectin")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped["Author"] = relationship(back_populates="books")
    reviews = relationship("Review", lazy="dynamic", backref=backref("book", lazy="joined"))
    notes = relationship(lambda: Note, lazy=False, uselist=True)
'''


def _records(path: str, source: str) -> list[dict]:
    pack = RulePack.for_codes(frozenset())
    return analyze_bytes(path, source.encode(), Config(), pack).schema_records


def _schema(*files: tuple[str, str]) -> Schema:
    pack = RulePack.for_codes(frozenset())
    return build_schema([analyze_bytes(p, s.encode(), Config(), pack) for p, s in files], [])


def _lazy(schema: Schema, model: str, *path: str, access: str = "read", origin: str = "") -> bool:
    return schema.confirms(SchemaCheck("lazy_relation", model, path, access, origin)) is not None


def test_django_model_records() -> None:
    records = {(r["table"], bool(r.get("reverse"))): r for r in _records("library/models.py", DJANGO_MODELS)}
    book = records[("Book", False)]
    assert book["orm"] == "django" and book["module"] == "library.models" and book["bases"] == ["Stamped"]
    assert book["relations"]["author"] == {"kind": "fk", "target": "Author", "lazy": "select", "many": False}
    assert book["relations"]["tags"]["kind"] == "m2m" and book["relations"]["cover"]["kind"] == "o2o"
    assert "title" not in book["relations"]
    assert book["members"] == {"review_count": {"kind": "property", "queries": False,
                                                "uses": {"review_set": "manager"}}}
    assert records[("Author", True)]["relations"] == {
        "books": {"kind": "reverse_fk", "target": "Book", "lazy": "select", "many": True}}
    assert records[("Cover", True)]["relations"]["book"]["kind"] == "reverse_o2o"
    assert ("Tag", True) not in records  # related_name="+": no accessor
    # the abstract base's relation is recorded; its target is not in the code (settings)
    assert records[("Stamped", False)]["relations"]["editor"]["target"] == ""
    assert ("Author", False) in records and ("Publisher", False) in records


def test_sqlalchemy_model_records() -> None:
    records = {(r["table"], bool(r.get("reverse"))): r for r in _records("shop/models.py", SQLALCHEMY_MODELS)}
    book = records[("Book", False)]["relations"]
    assert book["author"] == {"kind": "relationship", "target": "Author", "lazy": "select", "many": False}
    assert book["reviews"]["lazy"] == "dynamic" and book["notes"] == {
        "kind": "relationship", "target": "Note", "lazy": "joined", "many": True}
    assert records[("Author", False)]["relations"]["books"]["lazy"] == "selectin"
    assert records[("Review", True)]["relations"]["book"]["lazy"] == "joined"
    assert ("Base", False) not in records


def test_look_alikes_are_not_models() -> None:
    source = '''\
from myorm import models, relationship


class Book(models.Model):
    author = models.ForeignKey("Author")
    tags = relationship("Tag")


class Plain:
    author = ForeignKey("Author")
'''
    assert _records("app.py", source) == []


def test_lazy_relation_checks_across_files() -> None:
    schema = _schema(("library/models.py", DJANGO_MODELS), ("shop/models.py", SQLALCHEMY_MODELS))
    assert _lazy(schema, "Book", "author", origin="library.models")
    assert _lazy(schema, "Book", "editor", origin="library.models")  # inherited from Stamped
    assert _lazy(schema, "Book", "author", "publisher", origin="library.models")  # through Author
    assert _lazy(schema, "Book", "review_set", access="manager", origin="library.models")
    assert _lazy(schema, "Author", "books", access="manager", origin="library.models")
    assert not _lazy(schema, "Book", "tags", origin="library.models")  # a manager: reading it runs nothing
    assert not _lazy(schema, "Book", "author_id", origin="library.models")
    assert not _lazy(schema, "Book", "title", origin="library.models")
    assert not _lazy(schema, "Book", "editor", "name", origin="library.models")  # the user model is not known
    # SQLAlchemy: lazy="select" reads; "selectin"/"joined" never; "dynamic" through its query
    assert _lazy(schema, "Book", "author", origin="shop.models")
    assert not _lazy(schema, "Author", "books", origin="shop.models")
    assert not _lazy(schema, "Review", "book", origin="shop.models")
    assert not _lazy(schema, "Book", "notes", origin="shop.models")
    assert _lazy(schema, "Book", "reviews", access="manager", origin="shop.models")
    # without an origin, both models named Book must agree
    assert not _lazy(schema, "Book", "review_set", access="manager")
    assert _lazy(schema, "Book", "author")
    assert not _lazy(schema, "Unknown", "author")


def test_querying_member_checks() -> None:
    schema = _schema(("library/models.py", DJANGO_MODELS))

    def member(name: str, kind: str = "property", covered: tuple[str, ...] = ()) -> str | None:
        return schema.confirms(SchemaCheck("querying_member", "Book", (name,), kind, "", covered))

    assert member("review_count") == " (through `self.review_set`, a relation the rows were not loaded with)"
    assert member("review_count", covered=("review_set",)) is None
    assert member("review_count", covered=("*",)) is None
    assert member("review_count", "method") is None  # a property, not a method
    assert member("__str__", "method") is None
    assert member("title") is None


def test_models_and_tables_share_names_without_clobbering() -> None:
    schema = _schema(("library/models.py", DJANGO_MODELS),
                     ("schema.sql", "CREATE TABLE book (id int PRIMARY KEY, author_id int);\n"))
    assert "book" in schema.tables and schema.tables["book"].columns.keys() == {"id", "author_id"}
    assert _lazy(schema, "Book", "author")
    assert schema.confirms(SchemaCheck("unindexed", "book", ("author_id",))) is not None


def _project(tmp_path: Path, files: dict[str, str], codes: set[str], config: Config | None = None) -> list[Finding]:
    """Lint several files the way the project phase does (models in one, their use in another)."""
    config = config or Config()
    pack = RulePack.for_codes(frozenset(codes))
    results = [analyze_bytes(path, text.encode(), config, pack) for path, text in files.items()]
    findings = [finding for result in results for finding in result.findings]
    return decide_schema_checks(findings, build_schema(results, []))


def test_a_relation_declared_in_another_file(tmp_path: Path) -> None:
    views = '''\
from library.models import Book


def titles():
    books = Book.objects.filter(title__startswith="A")
    return [(b.title, b.author.publisher, b.review_count) for b in books]
'''
    found = _project(tmp_path, {"library/models.py": DJANGO_MODELS, "library/views.py": views},
                     {"PFL201", "PFL202"})
    assert [(f.code, f.line, f.column) for f in found] == [("PFL202", 6, 23), ("PFL201", 6, 43)]
    assert "add `select_related('author')` to the queryset built at line 5" in found[0].message
    without_models = _project(tmp_path, {"library/views.py": views}, {"PFL201", "PFL202"})
    assert without_models == []


def test_query_methods_configuration() -> None:
    config = config_from_table({"query-methods": ["get_active", "published"]}, "pyproject.toml")
    assert config.query_methods == ("get_active", "published")
    with pytest.raises(ConfigError, match="query-methods"):
        config_from_table({"query-methods": ["Book.objects.get"]}, "pyproject.toml")
    source = ("def f(ids):\n    for i in ids:\n        Book.objects.get_active(i)\n"
              "        Book.objects.published().count()\n")
    assert [f.line for f in lint_source(source, codes={"PFL201"})] == []
    assert [f.line for f in lint_source(source, codes={"PFL201"}, config=config)] == [3, 4]
    assert config.analysis_key() != Config().analysis_key()


@pytest.mark.parametrize(("project", "uses"), [("orm_django", ("library/views.py", "library/api.py")),
                                               ("orm_sqlalchemy", ("shop/views.py", "shop/reports.py"))])
def test_fixture_projects_need_their_models(project: str, uses: tuple[str, ...]) -> None:
    """The relation findings of the fixture projects come from models.py, another file:
    linted without it, the files that use the models report none of them."""
    from perflint.runner import RunOptions, run
    from tests.conftest import FIXTURES

    def codes(*paths: Path) -> set[tuple[str, int, str]]:
        result = run(Config(select=("PFL201", "PFL202")), RunOptions(paths=paths, jobs=1, use_cache=False,
                                                                     cwd=FIXTURES))
        return {(f.path, f.line, f.code) for f in result.findings}

    whole = codes(FIXTURES / project)
    alone = codes(*(FIXTURES / project / use for use in uses))
    assert whole and {path for path, _, _ in whole} <= {f"{project}/{use}" for use in uses}
    assert alone == set()


def test_eager_custom_manager_flask_models_and_generic_relations(tmp_path: Path) -> None:
    managers = '''\
from django.db import models


class BookManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().select_related("author")
'''
    models_source = '''\
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models

from library.managers import BookManager


class Book(models.Model):
    author = models.ForeignKey("Author", on_delete=models.CASCADE)
    objects = BookManager()


class Note(models.Model):
    target = GenericForeignKey("content_type", "object_id")
'''
    views = '''\
from library.models import Book, Note


def f():
    for b in Book.objects.all():
        print(b.author)
    for n in Note.objects.all():
        print(n.target)
'''
    files = {"library/managers.py": managers, "library/models.py": models_source, "library/views.py": views}
    found = _project(tmp_path, files, {"PFL202"})
    assert [(f.line, f.message.rpartition(" (")[2]) for f in found] == [
        (8, "a generic foreign key: `prefetch_related('target')`, select_related cannot follow it)")]
    flask = '''\
from app.extensions import db


class Author(db.Model):
    id = db.Column(db.Integer, primary_key=True)


class Book(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    author = db.relationship("Author")
'''
    assert {r["table"] for r in _records("app/models.py", flask)} == {"Author", "Book"}
