"""The project's schema: tables, column types and the indexes that can serve a lookup.

Built in the project phase from DDL records (see schema_ddl.py, which reads them out of
``.sql`` files with sqlglot) applied in path order, the way migrations run. Plain data,
no sqlglot: a warm run evaluates cached findings against it without importing a parser.

Findings that depend on the schema (PFL109 implicit-cast, PFL113 missing-index, PFL103's
"unless an expression index exists") leave the per-file pass carrying a SchemaCheck and
are decided here, once every file has been read. A table the schema does not know is
never guessed about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# Column type families, as schema_ddl.py classifies declared types.
NUMBER, STRING, TEMPORAL, BOOLEAN, OTHER = "number", "string", "temporal", "boolean", "other"


@dataclass(frozen=True)
class SchemaCheck:
    """The condition under which a SQL finding stands.

    kind ``unindexed``: none of ``columns`` of ``table`` leads any index (PK, UNIQUE,
    KEY, CREATE INDEX) or is in a partial index's predicate, and not all of them are booleans; ``type_mismatch``: ``columns[0]`` has a type of another family
    than the literal kind in ``value`` ("number" or "string"); ``no_expression_index``:
    no expression index on ``table`` matches the expression key in ``value`` (stands for
    tables the schema does not know: that rule needs no schema).
    """

    kind: str
    table: str
    columns: tuple[str, ...] = ()
    value: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "columns": list(self.columns),
                "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaCheck:
        return cls(str(data["kind"]), str(data["table"]), tuple(map(str, data["columns"])),
                   str(data.get("value", "")))


@dataclass
class Index:
    name: str
    columns: tuple[str, ...]  # plain columns, in index order ("" where an expression sits)
    expressions: tuple[str, ...] = ()  # expression keys (schema_ddl.expression_key)
    unique: bool = False
    predicate_columns: tuple[str, ...] = ()  # a partial index's WHERE columns

    @property
    def leading(self) -> str:
        return self.columns[0] if self.columns else ""


@dataclass
class Table:
    name: str
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (declared type, family)
    indexes: list[Index] = field(default_factory=list)

    def leading_columns(self) -> set[str]:
        return {index.leading for index in self.indexes if index.leading}

    def served_columns(self) -> set[str]:
        """Columns a filter on which some index serves: leading columns, and the columns of
        a partial index's predicate (``WHERE status = 'doing'``: such a query reads its rows)."""
        return self.leading_columns() | {c for index in self.indexes for c in index.predicate_columns}


def table_key(name: str) -> str:
    """Tables are matched by their unqualified, case-folded name (``public.Users`` = ``users``)."""
    return name.rsplit(".", 1)[-1].strip('"`[]').lower()


_NATURAL_PART = re.compile(r"(\d+)")


def natural_path_key(path: str) -> list[Any]:
    """Path order as migration tools number files: ``V2__`` before ``V10__``."""
    return [int(part) if part.isdigit() else part.lower() for part in _NATURAL_PART.split(path)]


class Schema:
    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self._index_table: dict[str, str] = {}  # index name -> table key, for DROP INDEX

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Schema:
        schema = cls()
        for record in records:
            try:
                schema.apply(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a tampered cache entry must not stop the run
        return schema

    def __bool__(self) -> bool:
        return bool(self.tables)

    def apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        key = table_key(record.get("table", ""))
        if op == "table":
            table = Table(key)
            for name, declared, family in record["columns"]:
                table.columns[name.lower()] = (declared, family)
            self.tables[key] = table
            for index in record.get("indexes", []):
                self._add_index(key, index)
        elif op == "index":
            self._add_index(key, record)
        elif op == "add_column":
            table = self.tables.get(key)
            if table is not None:
                column = record["column"].lower()
                table.columns[column] = (record["type"], record["family"])
                if record.get("indexed"):
                    table.indexes.append(Index(f"{key}_{column}", (column,), unique=True))
        elif op == "drop_table":
            self.tables.pop(key, None)
        elif op == "drop_index":
            owner = self._index_table.pop(record["name"].lower(), None)
            if owner in self.tables:
                table = self.tables[owner]
                table.indexes = [i for i in table.indexes if i.name.lower() != record["name"].lower()]

    def _add_index(self, key: str, record: dict[str, Any]) -> None:
        table = self.tables.get(key)
        if table is None:
            return
        name = str(record.get("name") or f"{key}_{len(table.indexes)}")
        index = Index(name, tuple(c.lower() for c in record.get("columns", [])),
                      tuple(record.get("expressions", [])), bool(record.get("unique")),
                      tuple(c.lower() for c in record.get("predicate_columns", [])))
        table.indexes.append(index)
        self._index_table[name.lower()] = key

    def confirms(self, check: SchemaCheck) -> str | None:
        """None when the finding does not stand; otherwise what to append to its message
        (punctuation included, "" for nothing)."""
        table = self.tables.get(table_key(check.table))
        if check.kind == "no_expression_index":
            if table is None:
                return ""
            matched = any(check.value in index.expressions for index in table.indexes)
            return None if matched else ""
        if table is None:
            return None
        if any(column not in table.columns for column in check.columns):
            return None  # a column the DDL does not declare: the schema is incomplete, stay quiet
        if check.kind == "unindexed":
            if not check.columns or set(check.columns) & table.served_columns():
                return None
            candidates = [column for column in check.columns if table.columns[column][1] != BOOLEAN]
            if not candidates:
                return None  # two values: a plain index would not be used; not a missing index
            return f"; add one, e.g. `CREATE INDEX ON {table.name} ({candidates[0]})`"
        if check.kind == "type_mismatch":
            declared, family = table.columns[check.columns[0]]
            if family in (NUMBER, STRING) and check.value in (NUMBER, STRING) and family != check.value:
                return f" ({table.name}.{check.columns[0]} is {declared})"
            return None
        return None

    def to_json(self) -> dict[str, Any]:
        return {name: asdict(table) for name, table in sorted(self.tables.items())}


def build_schema(results: Iterable[Any], configured: list[str]) -> Schema:
    """The schema from every file's records (DDL of .sql files, ORM models of Python
    files): configured schema files first (in the order given), then the project's files
    in natural path order, as migrations run."""
    by_path = {result.path: result for result in results if result.schema_records}
    first = [path for path in configured if path in by_path]
    rest = sorted((path for path in by_path if path not in set(first)), key=natural_path_key)
    return Schema.from_records(record for path in first + rest for record in by_path[path].schema_records)


def decide_schema_checks(findings: list[Any], schema: Schema) -> list[Any]:
    """Keep the findings whose schema condition holds (their message gains what the
    schema adds); drop the rest. Findings without a condition pass unchanged."""
    kept = []
    for finding in findings:
        if not finding.schema_check:
            kept.append(finding)
            continue
        try:
            check = SchemaCheck.from_json(finding.schema_check)
        except (KeyError, TypeError, ValueError):
            continue
        detail = schema.confirms(check)
        if detail is None:
            continue
        finding.schema_check = None
        finding.message += detail
        kept.append(finding)
    return kept
