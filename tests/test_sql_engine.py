"""SQL as Python code holds it: sinks, how the text is built, placeholders, dialects,
positions of findings inside literals and .sql files, and text that is not SQL."""

from __future__ import annotations

import pytest

from perflint.config import Config
from perflint.sqltext import normalise, parse_statements
from tests.conftest import lint_source

STAR = "SELECT * FROM users WHERE id = 1"


def _where(source: str, code: str = "PFL101", filename: str = "example.py",
           config: Config | None = None) -> list[tuple[int, int]]:
    return [(f.line, f.column) for f in lint_source(source, filename, {code}, config) if f.code == code]


# -- where SQL comes from -------------------------------------------------------------------
SINKS = {
    "dbapi cursor": f'cur.execute("{STAR}")\n',
    "dbapi executemany": f'cur.executemany("{STAR}", rows)\n',
    "connection execute": f'conn.execute("{STAR}")\n',
    "asyncpg fetch": f'async def f(conn):\n    return await conn.fetch("{STAR}")\n',
    "asyncpg fetchrow": f'async def f(pool):\n    return await pool.fetchrow("{STAR}")\n',
    "asyncpg fetchval": f'async def f(pool):\n    return await pool.fetchval("{STAR}")\n',
    "databases fetch_all": f'async def f(database):\n    return await database.fetch_all(query="{STAR}")\n',
    "databases fetch_one": f'async def f(database):\n    return await database.fetch_one("{STAR}")\n',
    "sqlalchemy text": f'from sqlalchemy import text\nsession.execute(text("{STAR}"))\n',
    "sqlalchemy exec_driver_sql": f'conn.exec_driver_sql("{STAR}")\n',
    "django raw": f'User.objects.raw("{STAR}")\n',
    "django cursor": f'from django.db import connection\nwith connection.cursor() as cursor:\n    cursor.execute("{STAR}")\n',
    "pandas read_sql": f'import pandas as pd\ndf = pd.read_sql("{STAR}", engine)\n',
    "pandas read_sql_query": f'import pandas as pd\ndf = pd.read_sql_query(sql="{STAR}", con=engine)\n',
}


@pytest.mark.parametrize("source", SINKS.values(), ids=SINKS.keys())
def test_every_sink_is_read(source: str) -> None:
    assert len(_where(source)) == 1, source


BUILT = {
    "module constant below the use": f'def f(cur):\n    cur.execute(QUERY)\n\nQUERY = "{STAR}"\n',
    "local variable": f'def f(cur):\n    sql = "{STAR}"\n    cur.execute(sql, ())\n',
    "class attribute via self": f'class Repo:\n    def get(self):\n        return self.db.execute(self.QUERY)\n\n    QUERY = "{STAR}"\n',
    "class attribute via cls": f'class Repo:\n    QUERY = "{STAR}"\n\n    @classmethod\n    def get(cls, cur):\n        cur.execute(cls.QUERY)\n',
    "implicit concatenation": 'cur.execute(\n    "SELECT * "\n    "FROM users WHERE id = 1"\n)\n',
    "plus concatenation": 'cur.execute("SELECT * " + "FROM users WHERE id = 1")\n',
    "f-string": 'cur.execute(f"SELECT * FROM users WHERE id = {user_id}")\n',
    "format": 'cur.execute("SELECT * FROM users WHERE id = {}".format(user_id))\n',
    "percent": 'cur.execute("SELECT * FROM users WHERE id = %d" % user_id)\n',
}


@pytest.mark.parametrize("source", BUILT.values(), ids=BUILT.keys())
def test_sql_built_in_python_is_followed_to_the_sink(source: str) -> None:
    assert len(_where(source)) == 1, source


def test_strings_that_never_reach_a_sink_are_not_sql() -> None:
    assert _where(f'LABEL = "{STAR}"\nprint(LABEL)\nlogger.info("{STAR}")\n') == []


def test_sinks_extend_from_configuration() -> None:
    source = f'repo.run_query("{STAR}")\nrun_sql("{STAR}")\n'
    assert _where(source) == []
    config = Config(extra_sinks=(".run_query", "run_sql"))
    assert _where(source, config=config) == [(1, 24), (2, 17)]


# -- placeholders and dialects ------------------------------------------------------------
@pytest.mark.parametrize(("text", "dialect"), [
    ("SELECT id FROM t WHERE a = %s AND b = %(name)s AND c LIKE 'x%%'", "postgres"),
    ("SELECT id FROM t WHERE a = $1 AND b = $2", "postgres"),
    ("SELECT id FROM t WHERE a = ? AND b = ?", "sqlite"),
    ("SELECT id FROM t WHERE a = :a AND b = :b", "sqlite"),
    ("SELECT `id` FROM `t` WHERE `a` = %s", "mysql"),
    ("SELECT id FROM t WHERE data ? 'key' AND a = %s", "postgres"),  # jsonb ? operator stays
])
def test_every_placeholder_style_parses(text: str, dialect: str) -> None:
    (statement,) = parse_statements(normalise(text, dialect).text, dialect)
    assert statement is not None


def test_positional_placeholders_are_numbered_and_offsets_map_back() -> None:
    text = "SELECT a FROM t WHERE b = %s AND c = ? AND d = $2 AND e LIKE 'x%%' AND f = 1"
    normalised = normalise(text, "sqlite")
    assert ":pfl_pos_0" in normalised.text and ":pfl_pos_1" in normalised.text  # %s, then ?
    assert ":pfl_pos_1" in normalised.text.split("AND d = ")[1]  # $2 is parameter index 1
    assert "'x%'" in normalised.text
    for column in ("b", "c", "d", "e", "f"):
        here = normalised.text.index(f" {column} ") + 1
        assert text[normalised.original_offset(here)] == column


def test_percent_escapes_keep_columns_right_in_the_report() -> None:
    source = 'cur.execute("SELECT id FROM t WHERE a LIKE \'x%%\' AND id NOT IN (SELECT id FROM u) LIMIT 1")\n'
    ((line, column),) = _where(source, "PFL102")
    assert (line, column) == (1, source.index("id NOT IN") + 1)


def test_dialect_from_the_driver_import() -> None:
    # MySQL backticks parse only when the mysql dialect is used
    source = 'import pymysql\ncur.execute("SELECT * FROM `users` WHERE `id` = %s", (1,))\n'
    assert _where(source, "PFL101") == [(2, 21)]
    unparsed = lint_source(source, codes={"PFL902"})
    assert unparsed == []


# -- positions ----------------------------------------------------------------------------
def test_finding_on_line_4_of_a_triple_quoted_query_reports_line_4() -> None:
    source = (
        'def dormant(cur):\n'
        '    cur.execute("""\n'
        '        SELECT c.id\n'
        '        FROM customers c\n'
        '        WHERE c.id NOT IN (SELECT customer_id FROM orders)\n'
        '        LIMIT 10\n'
        '    """)\n'
    )
    # the statement's line 4 is the file's line 5
    assert _where(source, "PFL102") == [(5, 15)]


def test_position_after_escape_sequences() -> None:
    source = 'cur.execute("SELECT id\\n\\tFROM t\\n\\tWHERE id NOT IN (SELECT x FROM u) LIMIT 1")\n'
    ((line, column),) = _where(source, "PFL102")
    assert line == 1 and source[column - 1:column + 1] == "id"


def test_position_inside_implicitly_concatenated_parts() -> None:
    source = 'cur.execute(\n    "SELECT id FROM t "\n    "WHERE id NOT IN (SELECT x FROM u) LIMIT 1"\n)\n'
    assert _where(source, "PFL102") == [(3, 12)]


def test_constant_finding_points_into_the_definition() -> None:
    source = 'Q = (\n    "SELECT id FROM t "\n    "WHERE id NOT IN (SELECT x FROM u) LIMIT 1"\n)\n\n\ndef f(cur):\n    cur.execute(Q)\n'
    assert _where(source, "PFL102") == [(3, 12)]


def test_assembled_strings_fall_back_to_the_literal_start() -> None:
    source = 'cur.execute(\n    f"SELECT id FROM {table} "\n    f"WHERE id NOT IN (SELECT x FROM u) LIMIT 1"\n)\n'
    assert _where(source, "PFL102") == [(2, 5)]


def test_sql_file_positions_are_exact() -> None:
    source = "-- report\nSELECT id\nFROM t\n  WHERE id NOT IN (SELECT x FROM u)\nLIMIT 1;\n\nSELECT *\nFROM t WHERE id = 1;\n"
    assert _where(source, "PFL102", "q.sql") == [(4, 9)]
    assert _where(source, "PFL101", "q.sql") == [(7, 8)]


@pytest.mark.parametrize("noqa_line", [4, 5])
def test_noqa_for_a_finding_inside_a_triple_quoted_string(noqa_line: int) -> None:
    lines = ['cur.execute("""', "    SELECT id FROM t", "    WHERE id NOT IN (SELECT x FROM u)", "    LIMIT 1", '""")']
    assert _where("\n".join(lines) + "\n", "PFL102") == [(3, 11)]
    lines[noqa_line - 1] += ("  # noqa: PFL102" if noqa_line != 4 else "  -- noqa: PFL102")
    if noqa_line == 4:  # an SQL comment on another line of the string does not cover line 3
        assert _where("\n".join(lines) + "\n", "PFL102") == [(3, 11)]
        lines[2] += "  -- noqa: PFL102"
    assert _where("\n".join(lines) + "\n", "PFL102") == []


def test_noqa_on_the_statement_line_of_a_sql_file() -> None:
    assert _where("SELECT * FROM t WHERE id = 1; -- noqa: PFL101\n", "PFL101", "q.sql") == []


# -- .sql file formats ----------------------------------------------------------------------
def test_aiosql_named_queries_without_semicolons() -> None:
    source = (
        "-- name: get-user^\n"
        "SELECT * FROM users WHERE id = :id\n"
        "\n"
        "-- name: dormant\n"
        "SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders) LIMIT 5\n"
    )
    assert _where(source, "PFL101", "queries.sql") == [(2, 8)]
    assert _where(source, "PFL102", "queries.sql") == [(5, 28)]
    assert lint_source(source, "queries.sql", {"PFL902"}) == []


def test_psql_meta_commands_are_skipped() -> None:
    source = "\\set ON_ERROR_STOP on\n\\connect shop\nSELECT * FROM users WHERE id = 1;\n"
    assert _where(source, "PFL101", "q.sql") == [(3, 8)]
    assert lint_source(source, "q.sql", {"PFL902"}) == []


def test_mysql_file_is_read_as_mysql() -> None:
    source = "CREATE TABLE `t` (`id` int NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=InnoDB;\nSELECT * FROM `t` WHERE `id` = 1;\n"
    assert lint_source(source, "q.sql", {"PFL902"}) == []
    assert _where(source, "PFL101", "q.sql") == [(2, 8)]


# -- text that is not SQL, or not SQL sqlglot reads ----------------------------------------
NOT_SQL = [
    "", "   ", "SELECT", "SELECT * FROM", "select from where", "INSERT INTO", "WITH x AS",
    "SELECT 'unterminated", "$$", "%(", "%s%s%s", "?:?::", "SELECT * FROM t WHERE a = $",
    "SELECT \x00 FROM t", "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "UPDATE SET WHERE", "DELETE", "SELECT ... FROM ...", "select * from {table}} where",
    "SELECT * FROM t WHERE " + " AND ".join(f"c{i} = %s" for i in range(3000)),
]


@pytest.mark.parametrize("text", NOT_SQL, ids=range(len(NOT_SQL)))
def test_unparseable_sql_never_crashes_and_only_yields_pfl902(text: str) -> None:
    source = f"cur.execute({text!r})\n"
    every_sql_code = {f"PFL1{n:02d}" for n in range(1, 14)} | {"PFL902"}
    from perflint.registry import all_codes

    codes = every_sql_code & set(all_codes())
    findings = lint_source(source, codes=codes)
    parsed = True
    try:
        parse_statements(normalise(text).text, "postgres")
    except Exception:
        parsed = False
    if not parsed:
        assert {f.code for f in findings} <= {"PFL902"}, findings
    assert lint_source(text, "q.sql", codes) is not None  # the same text as a .sql file: no crash


def test_pfl902_only_when_enabled() -> None:
    source = 'cur.execute("SELECT * FROM WHERE")\n'
    assert lint_source(source, codes={"PFL101", "PFL110"}) == []
    (finding,) = lint_source(source, codes={"PFL902"})
    assert finding.code == "PFL902" and finding.line == 1


@pytest.mark.parametrize("text", ["https://example.com/?q=1", "hello", "PRAGMA foreign_keys=ON",
                                  "SET search_path TO app", "BEGIN", "COMMIT", "VACUUM ANALYZE"])
def test_non_sql_text_in_execute_gives_nothing(text: str) -> None:
    from perflint.registry import all_codes

    assert lint_source(f"cur.execute({text!r})\n", codes=set(all_codes())) == []


@pytest.mark.parametrize("placeholder", ["%s", "%(off)s", "$1", ":off"])
def test_placeholders_have_positions(placeholder: str) -> None:
    source = f'cur.execute("""\n    SELECT id FROM t\n    ORDER BY id\n    LIMIT 10 OFFSET {placeholder}\n""", p)\n'
    assert _where(source, "PFL107") == [(4, 21)]


# -- messages name the fragment and the fix -----------------------------------------------
def _message(source: str, code: str, filename: str = "example.py") -> str:
    (finding,) = [f for f in lint_source(source, filename, {code}) if f.code == code]
    return finding.message


def test_not_in_message_gives_the_not_exists_rewrite() -> None:
    message = _message('cur.execute("SELECT id FROM a WHERE id NOT IN (SELECT x FROM b WHERE y = %s) LIMIT 1", (1,))\n',
                       "PFL102")
    assert "`id NOT IN (SELECT ...)`" in message
    assert "NOT EXISTS(SELECT 1 FROM b WHERE y = ? AND b.x = a.id)" in message


def test_not_in_rewrite_is_not_guessed_when_the_correlation_would_be_ambiguous() -> None:
    message = _message("SELECT id FROM a WHERE id NOT IN (SELECT id FROM a WHERE y = 1) LIMIT 1;\n", "PFL102", "q.sql")
    assert "NOT EXISTS (SELECT 1 ... WHERE inner.key = outer.key)" in message


@pytest.mark.parametrize(("source", "code", "expected"), [
    ('cur.execute("SELECT id FROM users WHERE LOWER(email) = %s", (e,))\n', "PFL103", "`LOWER(email)`"),
    ('cur.execute("SELECT id FROM users WHERE name LIKE %s", (f"%{q}",))\n', "PFL104", "trigram"),
    ('cur.execute("SELECT id, name FROM users u JOIN teams t ON t.id = u.team_id")\n', "PFL110", "`users, teams`"),
    ('cur.execute("DELETE FROM sessions")\n', "PFL111", "TRUNCATE sessions"),
])
def test_messages_name_the_fragment_and_the_fix(source: str, code: str, expected: str) -> None:
    assert expected in _message(source, code)


# -- found on real packages (acceptance: SQL findings read on downloaded projects) ----------
def test_text_extended_with_plus_equals_is_not_read_as_its_first_part() -> None:
    # pgspecial, sqlite-utils: ``sql += " WHERE ..."`` under conditions; the first literal
    # alone is an unfinished prefix (no WHERE yet, or a dangling ``WHERE``)
    source = ('def f(cur, where):\n    sql = "SELECT a FROM t"\n    if where:\n'
              '        sql += " WHERE " + where\n    cur.execute(sql)\n')
    assert _where(source, "PFL110") == []
    assert _where(source.replace("SELECT a FROM t", "SELECT a FROM t WHERE"), "PFL902") == []


@pytest.mark.parametrize("name", ["when", "from", "select"])
def test_placeholders_named_like_keywords_parse(name: str) -> None:
    # yoyo-migrations: ``VALUES (:version, :when)``; sqlglot does not read ``:when``
    assert _where(f'conn.execute("INSERT INTO t VALUES (:v, :{name})", p)\n', "PFL902") == []
    assert _where(f'conn.execute("INSERT INTO t VALUES (%(v)s, %({name})s)", p)\n', "PFL112") == [(1, 27)]
    assert normalise(f"SELECT a FROM t WHERE b = :{name} AND c::date = :d").text == \
        f"SELECT a FROM t WHERE b = :pfl_kw_{name} AND c::date = :d"


def test_keyword_named_placeholder_keeps_its_wildcard_binding_and_its_name() -> None:
    source = 'cur.execute("SELECT id FROM t WHERE name LIKE :from LIMIT 5", {"from": f"%{q}"})\n'
    assert _where(source, "PFL104") == [(1, 37)]
    assert "`name LIKE :from`" in _message(source, "PFL104")


def test_driver_reexported_by_the_project_sets_the_dialect() -> None:
    # datasette: ``from .utils import sqlite3``; ``[name]`` quoting is SQLite's
    source = 'from .utils import sqlite3\n\ndef f(c, t):\n    c.execute(f"select * from [{t}] where id = 1")\n'
    assert _where(source, "PFL902") == []


@pytest.mark.parametrize("sql", [
    # django-watson's MySQL backend, in a module that imports no driver
    "SELECT CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
    "SELECT a FROM [items] WHERE id = 1",
])
def test_text_in_another_dialects_syntax_parses_when_no_dialect_is_known(sql: str) -> None:
    assert _where(f'cur.execute("{sql}")\n', "PFL902") == []
    # a configured or imported dialect is not second-guessed
    assert _where(f'import psycopg2\ncur.execute("{sql}")\n', "PFL902") != []
    assert _where(f'cur.execute("{sql}")\n', "PFL902", config=Config(dialect="postgres")) != []


@pytest.mark.parametrize(("source", "code"), [
    # pgspecial: ``... ON n.oid = c.relnamespace " + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY 2,3"``
    ('cur.execute("SELECT a FROM t JOIN u ON u.id = t.u " + ("WHERE " + " AND ".join(w) if w else "") + " ORDER BY 1")\n', "PFL902"),
    ('cur.execute(f"UPDATE t SET a = 1 {where_clause}")\n', "PFL902"),
    # the appended clause would otherwise be read as a table alias: no WHERE seen
    ('cur.execute("SELECT a, b FROM t " + where_clause)\n', "PFL110"),
    ('cur.execute(f"SELECT a, b FROM t {where_clause} ORDER BY a")\n', "PFL110"),
    ('cur.execute("DELETE FROM t " + where_clause)\n', "PFL111"),
])
def test_a_hole_standing_for_a_clause_is_unknown_not_a_finding(source: str, code: str) -> None:
    assert _where(source, code) == []


def test_sql_that_is_broken_around_its_holes_is_still_reported() -> None:
    assert _where('cur.execute(f"SELECT a FROM t WHERE a = {x} AND AND b = 1")\n', "PFL902") == [(1, 13)]


def test_query_file_without_semicolons_splits_at_header_comments() -> None:
    # procrastinate's queries.sql: ``-- name --`` headers, some queries without ``;``
    source = ("-- get_one --\nSELECT id FROM t WHERE x = 1;\n\n-- list_u --\n-- all of u\n"
              "SELECT id, a FROM u WHERE id > 2\n\n-- get_v --\nSELECT * FROM v WHERE id = 3\n")
    assert _where(source, "PFL902", "q.sql") == []
    assert _where(source, "PFL101", "q.sql") == [(9, 8)]


def test_a_query_that_parses_is_not_split_at_its_comments() -> None:
    source = "WITH x AS (SELECT id FROM t WHERE k = 1)\n\n-- then the rows\nSELECT * FROM x\n"
    assert _where(source, "PFL902", "q.sql") == []
    assert _where(source, "PFL101", "q.sql") == [(4, 8)]


def test_hugsql_name_comments_start_a_query() -> None:
    source = "-- :name get-a :? :1\nSELECT * FROM a WHERE id = :id\n-- :name get-b :? :1\nSELECT * FROM b WHERE id = :id\n"
    assert _where(source, "PFL101", "q.sql") == [(2, 8), (4, 8)]


def test_unbounded_select_over_formatted_tables_names_no_placeholder() -> None:
    from perflint.analyze import analyze_bytes
    from perflint.config import Config
    from perflint.rulepack import RulePack

    source = b'def f(cur, a, b):\n    cur.execute("SELECT x FROM `%s` JOIN `%s` USING (id)" % (a, b))\n'
    config = Config()
    result = analyze_bytes("m.py", source, config, RulePack.for_codes(frozenset(config.enabled_codes())))
    messages = [f.message for f in result.findings if f.code == "PFL110"]
    assert messages and "of the tables formatted into it:" in messages[0]
    assert "{}" not in messages[0]
