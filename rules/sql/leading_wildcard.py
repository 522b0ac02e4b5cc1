"""PFL104 leading-wildcard-like."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from perflint.rulebase import Invalid, SqlContext, SqlHit, SqlRule, Valid
from perflint.rules.sql.shape import (
    HOLE_PREFIX,
    clause_predicates,
    fragment_sql,
    reads_catalog,
)

_WILDCARDS = ("%", "_")
# Wrappers that keep the pattern's first character first.
_TRANSPARENT = (exp.Paren, exp.Lower, exp.Upper, exp.Cast, exp.Any, exp.All)


class LeadingWildcard(SqlRule):
    """
    ## What it does
    Flags `LIKE` / `ILIKE` (and `NOT LIKE`) in `WHERE` or `JOIN ON` whose pattern starts
    with a wildcard (`%` or `_`): a literal such as `'%son'`, a pattern built in SQL
    (`'%' || :q`, `CONCAT('%', ?)`), or a parameter that the Python code next to the
    query binds to a value starting with one (`cur.execute(sql, (f"%{q}%",))`).

    ## Why is this bad?
    A B-tree index is ordered by the value's first characters: it can find
    `name LIKE 'abc%'` as a range, but `'%abc'` could begin anywhere, so every row is
    read and matched (a sequential scan) however the column is indexed. Search boxes
    built this way get slower with every row added.

    ## Example
    ```python
    cur.execute("SELECT id, name FROM products WHERE name ILIKE %s", (f"%{q}%",))
    ```

    ## Use instead
    ```python
    # PostgreSQL: a trigram index serves infix LIKE / ILIKE
    # CREATE EXTENSION pg_trgm;
    # CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops);
    # or full-text search (to_tsvector / websearch_to_tsquery) ...
    # ... or search by prefix, which a B-tree index serves:
    cur.execute("SELECT id, name FROM products WHERE name LIKE %s", (f"{q}%",))
    ```

    Prefix patterns (`'abc%'`, `:q || '%'`, `f"{q}%"`) and patterns the code cannot
    see (a parameter bound to a plain variable) are not reported, nor `LIKE` outside
    `WHERE` / `JOIN ON` (the SELECT list, a CASE), nor queries over system catalogs only
    (introspection such as `sqlite_master`).
    """

    code = "PFL104"
    name = "leading-wildcard-like"
    summary = "LIKE pattern starting with a wildcard cannot use a B-tree index"
    message = "LIKE pattern starts with a wildcard: no B-tree index can serve it; use a trigram / full-text index or a prefix search"
    severity = "warning"
    base_cost = 3.0
    fix_hint = ("Use a trigram (pg_trgm GIN/GiST) or full-text index for infix search, "
                "or search by prefix ('abc%').")

    VALID = (
        # the schema catalog (Django's SQLite introspection)
        Valid('import sqlite3\ncur.execute("SELECT sql FROM sqlite_master WHERE type = \'table\' AND sql LIKE ?", ("%" + name + "%",))\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE \'abc%\'")\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE :q || \'%\'", {"q": q})\n'),
        Valid('cur.execute(f"SELECT id FROM users WHERE name LIKE \'{q}%\'")\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE %s", (q + "%",))\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE %s", (f"{q}%",))\n'),
        Valid('async def f(db, q):\n    return await db.fetch_all("SELECT id FROM t WHERE name ILIKE :p", {"p": f"{q}%"})\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE %(q)s", {"q": q + "%"})\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name LIKE %s", (pattern,))\n'),
        Valid('cur.execute("SELECT id FROM users WHERE name ILIKE CONCAT(%s, \'%%\')", (q,))\n'),
        # the wildcard-bound parameter is another placeholder than the pattern
        Valid('cur.execute("SELECT id FROM users WHERE note = %s AND name LIKE %s", ("%x", q + "%"))\n'),
        # an escaped wildcard is a literal character
        Valid('cur.execute("SELECT id FROM users WHERE code LIKE \'!%off\' ESCAPE \'!\'")\n'),
        Valid("SELECT id FROM users WHERE name LIKE 'abc%' LIMIT 10;\n", "q.sql"),
        # not a filter: LIKE in the SELECT list
        Valid("SELECT id, name LIKE '%x' AS has_x FROM users WHERE id = 1;\n", "q.sql"),
    )
    INVALID = (
        Invalid('cur.execute("SELECT id FROM t WHERE name LIKE %s", (f"%{q}%",))\n', (1,)),
        Invalid('cur.execute("SELECT id FROM t WHERE name LIKE %(q)s", {"q": "%" + q})\n', (1,)),
        Invalid('async def f(conn, q):\n    return await conn.fetch("SELECT id FROM t WHERE name ILIKE $1", f"%{q}")\n', (2,)),
        Invalid('import sqlite3\n\ndef f(cur, q):\n    cur.execute("SELECT id FROM t WHERE name LIKE \'%\' || ? || \'%\'", (q,))\n', (4,)),
        Invalid('async def f(db, q):\n    return await db.fetch_all("SELECT id FROM t WHERE name LIKE \'%\' || :q", {"q": q})\n', (2,)),
        Invalid('stmt = text("SELECT id FROM t WHERE name NOT LIKE \'_x%\'")\n', (1,)),
        Invalid('SQL = "SELECT id FROM t WHERE name LIKE %s"\n\n\ndef f(cur, q):\n'
                '    params = (f"%{q}%",)\n    cur.execute(SQL, params=params)\n', (1,)),
        Invalid('SQL = "SELECT id FROM t WHERE name LIKE %s"\n\n\ndef f(cur, q):\n'
                '    params = (f"%{q}%",)\n    cur.execute(SQL, params)\n', (1,)),
        Invalid('async def f(conn, q):\n    pattern = "%" + q\n'
                '    return await conn.fetch("SELECT id FROM t WHERE name LIKE $1", pattern)\n', (3,)),
        Invalid('cur.execute("SELECT id FROM t WHERE name LIKE CONCAT(\'%%\', %s)", (q,))\n', (1,)),
        Invalid('cur.execute(f"SELECT id FROM t WHERE name LIKE \'%{q}%\'")\n', (1,)),
        # at the fragment, on the statement's third line
        Invalid('QUERY = """\n    SELECT id, name\n    FROM products\n'
                '    WHERE active AND name ILIKE %(q)s\n"""\n\ndef f(cur, q):\n'
                '    cur.execute(QUERY, {"q": f"%{q}%"})\n', (4,)),
        Invalid("SELECT id\nFROM users\nWHERE email LIKE '%@example.com';\n", (3,), "q.sql"),
    )

    def check(self, statement: exp.Expression, sql: SqlContext) -> Iterator[SqlHit]:
        for found in clause_predicates(statement):
            like = found.predicate
            if not isinstance(like, (exp.Like, exp.ILike)) or reads_catalog(found.scope):
                continue
            pattern = like.expression
            if isinstance(pattern, exp.Expression) and _starts_with_wildcard(pattern, sql.wildcard_params):
                yield SqlHit(_message(like, pattern, sql), node=like)


def _starts_with_wildcard(pattern: exp.Expression, bound: frozenset[str], depth: int = 0) -> bool:
    """The pattern's first character is a wildcard: a string literal, the left end of a
    ``||`` / ``CONCAT``, or a placeholder the code binds to a wildcard-led value."""
    if depth > 50:
        return False
    if isinstance(pattern, exp.Literal):
        # ``f"... LIKE '{q}%'"``: the literal starts with a formatted-in value, not a wildcard
        text = pattern.name
        return pattern.is_string and text.startswith(_WILDCARDS) and not text.startswith(HOLE_PREFIX)
    if isinstance(pattern, exp.Placeholder):
        return bool(pattern.name) and pattern.name in bound
    if isinstance(pattern, exp.DPipe):
        return pattern.this is not None and _starts_with_wildcard(pattern.this, bound, depth + 1)
    if isinstance(pattern, exp.Concat):
        parts = pattern.expressions
        return bool(parts) and _starts_with_wildcard(parts[0], bound, depth + 1)
    if isinstance(pattern, exp.Array):
        return any(_starts_with_wildcard(e, bound, depth + 1) for e in pattern.expressions)
    if isinstance(pattern, _TRANSPARENT):
        return pattern.this is not None and _starts_with_wildcard(pattern.this, bound, depth + 1)
    return False


def _message(like: exp.Expression, pattern: exp.Expression, sql: SqlContext) -> str:
    fragment = fragment_sql(like, sql.dialect, limit=80)
    column = like.this
    on = f" on `{fragment_sql(column, sql.dialect, limit=40)}`" if isinstance(column, exp.Expression) else ""
    what = "is bound to a pattern that starts" if _bound_only(pattern) else "has a pattern that starts"
    return (f"`{fragment}` {what} with a wildcard, so no B-tree index{on} can serve it; "
            "use a trigram (pg_trgm) or full-text index, or a prefix search (`'abc%'`)")


def _bound_only(pattern: exp.Expression) -> bool:
    while isinstance(pattern, _TRANSPARENT):
        pattern = pattern.this
    return isinstance(pattern, exp.Placeholder)
