"""PFL109 implicit-cast."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.columns import COMPARISONS, bare_column, queries
from perflint.rules.sql.shape import column_table, query_scope
from perflint.schema import NUMBER, STRING, SchemaCheck

_SCHEMA = """
CREATE TABLE users (id integer PRIMARY KEY, phone varchar(20), zip char(5), age smallint,
                    balance numeric(10, 2), created_at timestamp, birthday date, note text);
"""


class ImplicitCast(SqlRule):
    """
    ## What it does
    Flags a column compared with a literal of another type family: a number against a
    `VARCHAR`/`CHAR`/`TEXT` column, a string against an integer or numeric column. The
    column types come from the project's schema (DDL in `.sql` files and the configured
    `schema` paths).

    ## Why is this bad?
    The database must convert one side. When it converts the column (MySQL compares a
    string column with a number by casting every row's value to a number), no index on
    the column can be used and every row is converted; `'0123'` and `'123'` also compare
    equal. Where it converts the literal instead, the query still says something other
    than what the schema means and breaks on the first value that does not convert.

    ## Example
    ```sql
    -- phone is VARCHAR(20)
    SELECT id FROM users WHERE phone = 5551234;
    ```

    ## Use instead
    ```sql
    SELECT id FROM users WHERE phone = '5551234';
    ```

    Date and timestamp strings against `DATE`/`TIMESTAMP` columns are the normal way to
    write such literals and are not reported; neither are columns of tables the schema
    does not declare, nor placeholders (the driver sends them typed).
    """

    code = "PFL109"
    name = "implicit-cast"
    summary = "a column compared with a literal of another type"
    message = ("`{column}` is compared with the {kind} {literal}: the database converts one side "
               "for every row and may not use an index on `{name}`; write the literal as a {wanted}")
    severity = "warning"
    base_cost = 2.0
    fix_hint = "Compare the column with a literal of its own type."

    VALID = (
        Valid("SELECT id FROM users WHERE phone = '5551234';\n", "q.sql", schema=_SCHEMA),
        Valid('cur.execute("SELECT id FROM users WHERE id = 42 AND age > 30")\n', schema=_SCHEMA),
        # date/timestamp strings against date/timestamp columns
        Valid("SELECT id FROM users WHERE created_at >= '2024-01-01' AND birthday = '1990-05-01';\n", "q.sql",
              schema=_SCHEMA),
        # placeholders are typed by the driver
        Valid('cur.execute("SELECT id FROM users WHERE phone = %s", (p,))\n', schema=_SCHEMA),
        # a table the schema does not know
        Valid('cur.execute("SELECT id FROM contacts WHERE phone = 5551234")\n', schema=_SCHEMA),
        # no schema at all
        Valid('cur.execute("SELECT id FROM users WHERE phone = 5551234")\n'),
        Valid("SELECT id FROM users WHERE zip IN ('01234', '99999') AND balance > 10.5;\n", "q.sql", schema=_SCHEMA),
    )
    INVALID = (
        # every placeholder style around the mismatch
        Invalid('cur.execute("SELECT id FROM users WHERE phone = 5551234 AND age > %s", (a,))\n', (1,), schema=_SCHEMA),
        Invalid('cur.execute("SELECT id FROM users WHERE zip = 12345 AND age > %(a)s", {"a": a})\n', (1,), schema=_SCHEMA),
        Invalid('session.execute(text("SELECT id FROM users WHERE note = 7 AND age > :a"), {"a": a})\n', (1,), schema=_SCHEMA),
        Invalid("SELECT id FROM users WHERE phone = 5551234;\n", (1,), "q.sql", schema=_SCHEMA),
        Invalid('cur.execute(\n    """\n    SELECT id\n    FROM users u\n    WHERE u.zip IN (1234, 99999)\n    """\n)\n', (5,),
                schema=_SCHEMA),
        Invalid('import sqlite3\nc.execute("SELECT phone FROM users WHERE id = \'42\' AND age > ?", (a,))\n', (2,),
                schema=_SCHEMA),
        Invalid('await conn.fetch("SELECT id FROM users WHERE balance > \'100\' AND id = $1", uid)\n', (1,),
                schema=_SCHEMA),
        # a number against a text column declared by a later ALTER TABLE
        Invalid("ALTER TABLE users ADD COLUMN code text;\nUPDATE users SET note = 'x' WHERE code = 7;\n", (2,), "q.sql",
                schema=_SCHEMA),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for query in queries(statement):
            conditions = [query.args.get("where")]
            conditions += [join.args.get("on") for join in query.args.get("joins") or []]
            for condition in conditions:
                if condition is None:
                    continue
                for node in condition.find_all(*COMPARISONS, exp.In, exp.Between):
                    if query_scope(node) is not query:
                        continue  # a subquery's comparison: judged in its own scope
                    for column, literal in _column_literal_pairs(node):
                        table = column_table(column, query)
                        if table:
                            yield self._hit(column, literal, table)

    def _hit(self, column: exp.Column, literal: exp.Literal, table: str) -> SqlHit:
        kind = STRING if literal.is_string else NUMBER
        message = self.message.format(
            column=column.sql(), kind="string" if kind == STRING else "number", literal=literal.sql(),
            name=column.name, wanted="number" if kind == STRING else "quoted string")
        # A number against a text column converts the column (the index is lost); a string
        # against a number column mostly converts the literal: worth fixing, less costly.
        return SqlHit(message, literal, SchemaCheck("type_mismatch", table, (column.name.lower(),), kind),
                      confidence="medium" if kind == STRING else None)


def _column_literal_pairs(node: exp.Expression) -> Iterator[tuple[exp.Column, exp.Literal]]:
    if isinstance(node, exp.In | exp.Between):
        column = bare_column(node.this)
        values = node.expressions if isinstance(node, exp.In) else [node.args.get("low"), node.args.get("high")]
        literals = [value for value in values if isinstance(value, exp.Literal)]
        if column is not None and literals:
            yield column, literals[0]
        return
    left, right = node.this, node.expression
    if bare_column(left) is not None and isinstance(right, exp.Literal):
        yield bare_column(left), right  # type: ignore[misc]
    elif bare_column(right) is not None and isinstance(left, exp.Literal):
        yield bare_column(right), left  # type: ignore[misc]
