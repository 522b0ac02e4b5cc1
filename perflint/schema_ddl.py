"""DDL statements (parsed by sqlglot) -> schema records, the plain data schema.py applies.

Understands CREATE TABLE (column types; inline and table-level PRIMARY KEY / UNIQUE;
MySQL ``KEY`` / ``UNIQUE KEY``), CREATE [UNIQUE] INDEX (plain, expression and partial),
ALTER TABLE ... ADD COLUMN / ADD CONSTRAINT, DROP TABLE and DROP INDEX. Anything else
yields nothing.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from perflint.schema import BOOLEAN, NUMBER, OTHER, STRING, TEMPORAL

Record = dict[str, Any]

_NUMBER_TYPES = exp.DataType.NUMERIC_TYPES | {
    exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL}
_STRING_TYPES = exp.DataType.TEXT_TYPES


def type_family(kind: exp.DataType | None) -> str:
    if kind is None:
        return OTHER
    if kind.this in _NUMBER_TYPES:
        return NUMBER
    if kind.this in _STRING_TYPES:
        return STRING
    if kind.this in exp.DataType.TEMPORAL_TYPES:
        return TEMPORAL
    if kind.this == exp.DataType.Type.BOOLEAN:
        return BOOLEAN
    return OTHER


def expression_key(node: exp.Expression) -> str:
    """A comparable text for an expression: table qualifiers dropped, one spelling, no spaces.
    ``LOWER(u.email)`` in a query and ``lower(email)`` in an index have the same key."""
    def unqualify(sub: exp.Expression) -> exp.Expression:
        if isinstance(sub, exp.Column) and sub.table:
            return exp.column(sub.name)
        return sub

    bare = node.copy().transform(unqualify)
    return "".join(bare.sql(dialect="postgres").lower().split())


def ddl_records(statement: exp.Expression) -> list[Record]:
    try:
        if isinstance(statement, exp.Create):
            return _create(statement)
        if isinstance(statement, exp.Alter):
            return _alter(statement)
        if isinstance(statement, exp.Drop):
            return _drop(statement)
    except (AttributeError, TypeError, ValueError):
        pass  # a shape this sqlglot release builds differently: no facts rather than a crash
    return []


def _table_name(node: exp.Expression | None) -> str:
    return node.name if isinstance(node, exp.Table) else ""


def _create(statement: exp.Create) -> list[Record]:
    kind = str(statement.args.get("kind") or "").upper()
    target = statement.this
    if kind == "TABLE" and isinstance(target, exp.Schema):
        return [_create_table(target)]
    if kind == "INDEX" and isinstance(target, exp.Index):
        return [_create_index(target, bool(statement.args.get("unique")))]
    return []


def _create_table(schema: exp.Schema) -> Record:
    columns: list[list[str]] = []
    indexes: list[Record] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            columns.append(_column(item))
            if _inline_unique(item):
                indexes.append({"columns": [item.name], "unique": True})
        else:
            indexes.extend(_table_constraint(item))
    return {"op": "table", "table": _table_name(schema.this), "columns": columns, "indexes": indexes}


def _column(definition: exp.ColumnDef) -> list[str]:
    kind = definition.args.get("kind")
    declared = kind.sql(dialect="postgres") if isinstance(kind, exp.DataType) else ""
    return [definition.name, declared, type_family(kind if isinstance(kind, exp.DataType) else None)]


def _inline_unique(definition: exp.ColumnDef) -> bool:
    for constraint in definition.args.get("constraints") or []:
        if isinstance(constraint.args.get("kind"),
                      exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint):
            return True
    return False


def _table_constraint(item: exp.Expression) -> list[Record]:
    if isinstance(item, exp.Constraint):
        records = []
        for inner in item.expressions:
            for record in _table_constraint(inner):
                record.setdefault("name", item.name)
                records.append(record)
        return records
    if isinstance(item, exp.PrimaryKey):
        return [_index_of(item.expressions, unique=True)]
    if isinstance(item, exp.UniqueColumnConstraint):
        body = item.this
        parts = body.expressions if isinstance(body, exp.Schema) else []
        record = _index_of(parts, unique=True)
        if isinstance(body, exp.Schema) and isinstance(body.this, exp.Identifier):
            record["name"] = body.this.name
        return [record] if parts else []
    if isinstance(item, exp.IndexColumnConstraint):  # MySQL ``KEY name (cols)``
        record = _index_of(item.expressions, unique=False)
        if item.this is not None:
            record["name"] = item.this.name
        return [record]
    return []


def _index_of(parts: list[exp.Expression], unique: bool) -> Record:
    columns: list[str] = []
    expressions: list[str] = []
    for part in parts:
        inner = part.this if isinstance(part, exp.Ordered) else part
        while isinstance(inner, exp.Paren):  # PostgreSQL's ``((created_at::date))`` form
            inner = inner.this
        if isinstance(inner, exp.Identifier | exp.Column):
            columns.append(inner.name)
        else:
            columns.append("")  # an expression sits here: it serves no plain column lookup
            expressions.append(expression_key(inner))
    return {"columns": columns, "expressions": expressions, "unique": unique}


def _create_index(index: exp.Index, unique: bool) -> Record:
    params = index.args.get("params")
    parts = params.args.get("columns") or [] if params is not None else []
    record = _index_of(list(parts), unique)
    record.update(op="index", table=_table_name(index.args.get("table")), name=index.name)
    where = params.args.get("where") if params is not None else None
    if isinstance(where, exp.Expression):
        # a partial index (``... WHERE status = 'doing'``) serves the queries whose filter
        # implies its predicate: they read only its rows, not the whole table
        record["predicate_columns"] = sorted({column.name for column in where.find_all(exp.Column)})
    return record


def _alter(statement: exp.Alter) -> list[Record]:
    if str(statement.args.get("kind") or "").upper() != "TABLE":
        return []
    table = _table_name(statement.this)
    records: list[Record] = []
    for action in statement.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            name, declared, family = _column(action)
            records.append({"op": "add_column", "table": table, "column": name, "type": declared,
                            "family": family, "indexed": _inline_unique(action)})
        elif isinstance(action, exp.AddConstraint):
            for constraint in action.expressions:
                for record in _table_constraint(constraint):
                    record.update(op="index", table=table)
                    records.append(record)
    return records


def _drop(statement: exp.Drop) -> list[Record]:
    kind = str(statement.args.get("kind") or "").upper()
    targets = statement.args.get("tables") or ([statement.this] if statement.this else [])
    if kind == "TABLE":
        return [{"op": "drop_table", "table": _table_name(t)} for t in targets]
    if kind == "INDEX":
        return [{"op": "drop_index", "name": t.name} for t in targets]
    return []
