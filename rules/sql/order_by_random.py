"""PFL106 order-by-random."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid

# sqlglot reads RAND()/RANDOM()/DBMS_RANDOM.VALUE as exp.Rand and NEWID()/UUID()/
# gen_random_uuid() as exp.Uuid; in a dialect that does not know the name it stays an
# anonymous function call.
_RANDOM_FUNCTIONS = (exp.Rand, exp.Uuid)
_RANDOM_NAMES = frozenset({"rand", "random", "newid", "uuid", "gen_random_uuid", "uuid_generate_v4"})


class OrderByRandom(SqlRule):
    """
    ## What it does
    Flags `ORDER BY RANDOM()` / `RAND()` / `NEWID()` (and the other random-value
    functions: `UUID()`, `gen_random_uuid()`, `DBMS_RANDOM.VALUE`), also through an
    alias or position of a random projection (`SELECT random() AS r ... ORDER BY r`)
    and inside window or aggregate orderings.

    ## Why is this bad?
    The database has to compute a random key for every row the query reads and sort
    all of them, only to keep the first few: a full scan and a full sort on every call,
    however small the `LIMIT`. No index can help, and the cost grows with the table.

    ## Example
    ```python
    cur.execute("SELECT id, title FROM products ORDER BY RANDOM() LIMIT 5")
    ```

    ## Use instead
    ```python
    # pick random ids in the application (ids known, or max(id) cached) ...
    cur.execute("SELECT id, title FROM products WHERE id = ANY(%s)", (random_ids,))
    # ... or jump to a random point of an indexed key
    cur.execute("SELECT id, title FROM products WHERE id >= %s ORDER BY id LIMIT 5", (start,))
    # ... or sample pages instead of rows (PostgreSQL, SQL Server)
    cur.execute("SELECT id, title FROM products TABLESAMPLE SYSTEM (1) LIMIT 5")
    ```

    A random value that is selected but not sorted on (`SELECT random()`), and a
    column that merely is called `rand`, are not reported.
    """

    code = "PFL106"
    name = "order-by-random"
    summary = "ORDER BY RANDOM() sorts every row to pick a few"
    message = ("`ORDER BY` a random value scans and sorts every row; pick random ids in the "
               "application, jump to a random key range (`WHERE id >= :r ORDER BY id LIMIT n`), "
               "or use `TABLESAMPLE`")
    severity = "warning"
    base_cost = 3.0
    fix_hint = "Pick random keys in the application, seek a random key range, or use TABLESAMPLE."

    VALID = (
        Valid('cur.execute("SELECT id, title FROM products ORDER BY id LIMIT 5")\n'),
        Valid('cur.execute("SELECT random() AS r, id FROM products WHERE id = %s", (1,))\n'),
        Valid('cur.execute("SELECT id FROM products WHERE id >= %s ORDER BY id LIMIT 5", (start,))\n'),
        Valid('cur.execute("SELECT id FROM products TABLESAMPLE SYSTEM (1) LIMIT 5")\n'),
        # a column called rand is a column
        Valid("SELECT id, rand FROM draws WHERE id = 1 ORDER BY rand;\n", "q.sql"),
        Valid('cur.execute("INSERT INTO tokens (id, value) VALUES (gen_random_uuid(), %s)", (v,))\n'),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id, title FROM products WHERE category = %s ORDER BY RANDOM() LIMIT 5", (c,))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM products WHERE category = %(c)s ORDER BY random()", {"c": c})\n', (1,)),
        Invalid('async def f(conn):\n    return await conn.fetch("SELECT id FROM quotes WHERE lang = $1 ORDER BY random() LIMIT 1", lang)\n', (2,)),
        Invalid('import sqlite3\n\ndef f(c):\n    c.execute("SELECT id FROM quotes WHERE lang = ? ORDER BY RANDOM() LIMIT 1", (lang,))\n', (4,)),
        Invalid('async def f(db):\n    return await db.fetch_all("SELECT id FROM quotes WHERE lang = :lang ORDER BY RAND() LIMIT 3", {"lang": l})\n', (2,)),
        Invalid('from sqlalchemy import text\n\nQ = text("SELECT id FROM banners ORDER BY NEWID()")\n', (3,)),
        # SQL Server (sqlglot reads NEWID() as a UUID function there)
        Invalid('import pyodbc\n\ndef f(c):\n    c.execute("SELECT TOP 3 id FROM banners WHERE site = ? ORDER BY NEWID()", site)\n', (4,)),
        # at the ORDER BY line of the triple-quoted constant
        Invalid('QUERY = """\n    SELECT id, title\n    FROM products\n    ORDER BY RANDOM()\n    LIMIT 5\n"""\n\ndef f(c):\n    c.execute(QUERY)\n', (4,)),
        Invalid("-- featured\nSELECT id, title\nFROM products\nORDER BY RAND()\nLIMIT 5;\n", (4,), "q.sql"),
        # through an alias, and inside a window
        Invalid("SELECT id, random() AS r\nFROM products\nORDER BY r LIMIT 5;\n", (3,), "q.sql"),
        Invalid("SELECT id, random()\nFROM products\nORDER BY 2 LIMIT 5;\n", (3,), "q.sql"),
        Invalid("SELECT id, ROW_NUMBER() OVER (ORDER BY random()) AS n FROM products WHERE id < 100;\n", (1,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for order in statement.find_all(exp.Order):
            for ordered in order.expressions:
                if isinstance(ordered, exp.Ordered) and _sorts_randomly(ordered.this, order.parent):
                    yield SqlHit(self.message, ordered)
                    break


def _is_random(node: exp.Expression) -> bool:
    if isinstance(node, _RANDOM_FUNCTIONS):
        return True
    if isinstance(node, exp.Anonymous):
        return isinstance(node.this, str) and node.this.lower() in _RANDOM_NAMES
    return False


def _contains_random(node: exp.Expression) -> bool:
    return any(_is_random(sub) for sub in node.walk())


def _sorts_randomly(key: exp.Expression | None, owner: exp.Expression | None) -> bool:
    """The sort key is random, or names (by alias or position) a random projection of
    the SELECT that owns the ORDER BY."""
    if not isinstance(key, exp.Expression):
        return False
    if _contains_random(key):
        return True
    if not isinstance(owner, exp.Select):
        return False
    if isinstance(key, exp.Column) and not key.table:
        name = key.name.lower()
        return any(isinstance(p, exp.Alias) and p.alias.lower() == name and _contains_random(p.this)
                   for p in owner.expressions)
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        index = int(key.this) - 1
        projections = owner.expressions
        return 0 <= index < len(projections) and _contains_random(projections[index])
    return False
