"""The schema model (DDL -> tables, types, indexes) and where the schema comes from:
the project's .sql files in migration order, `schema` paths in the configuration, and
`--schema` on the command line. Checked through the real console script where it matters."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflint.analyze import analyze_bytes
from perflint.config import Config
from perflint.rulepack import RulePack
from perflint.schema import Schema, SchemaCheck, build_schema, natural_path_key
from tests.cli_support import run_json, write


def _schema(*files: tuple[str, str]) -> Schema:
    pack = RulePack.for_codes(frozenset())
    results = [analyze_bytes(path, text.encode(), Config(), pack) for path, text in files]
    return build_schema(results, [])


def _indexed(schema: Schema, table: str, column: str) -> bool:
    return schema.confirms(SchemaCheck("unindexed", table, (column,))) is None


def test_ddl_forms_that_make_a_column_indexed() -> None:
    schema = _schema(("s.sql", """
        CREATE TABLE public.users (
            id serial PRIMARY KEY, email text UNIQUE, org_id int, team_id int, name text, age int,
            CONSTRAINT users_org_team UNIQUE (org_id, team_id)
        );
        CREATE TABLE `events` (`id` int, `kind` varchar(9), `at` datetime, PRIMARY KEY (`id`),
                               KEY `k` (`kind`), UNIQUE KEY `u` (`at`));
        CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name ON users USING btree (name, age);
        CREATE INDEX users_active ON users (age) WHERE name IS NOT NULL;
    """))
    assert all(_indexed(schema, "users", c) for c in ("id", "email", "org_id", "name", "age"))
    assert not _indexed(schema, "users", "team_id")  # second column of a composite constraint
    assert all(_indexed(schema, "events", c) for c in ("id", "kind", "at"))
    assert _indexed(schema, "public.users", "email")  # schema-qualified names match


def test_alter_and_drop_apply_in_order() -> None:
    schema = _schema(("s.sql", """
        CREATE TABLE t (id int PRIMARY KEY, a int, b text);
        CREATE INDEX t_a ON t (a);
        ALTER TABLE t ADD COLUMN c varchar(3) UNIQUE;
        ALTER TABLE ONLY t ADD CONSTRAINT t_b UNIQUE (b);
        DROP INDEX t_a;
    """))
    assert not _indexed(schema, "t", "a")
    assert _indexed(schema, "t", "b") and _indexed(schema, "t", "c")
    assert schema.confirms(SchemaCheck("type_mismatch", "t", ("c",), "number")) == " (t.c is VARCHAR(3))"
    dropped = _schema(("s.sql", "CREATE TABLE t (id int);\nDROP TABLE t;\n"))
    assert "t" not in dropped.tables


def test_expression_index_matches_whatever_the_qualifier() -> None:
    schema = _schema(("s.sql", "CREATE TABLE users (id int, email text);\n"
                                "CREATE INDEX ON users (LOWER(email));\n"))
    assert schema.confirms(SchemaCheck("no_expression_index", "users", (), "lower(email)")) is None
    assert schema.confirms(SchemaCheck("no_expression_index", "users", (), "upper(email)")) == ""
    assert schema.confirms(SchemaCheck("no_expression_index", "other", (), "lower(email)")) == ""
    parenthesised = _schema(("s.sql", "CREATE TABLE t (id int, at timestamp);\n"
                                      "CREATE INDEX t_day ON t ((at::date));\n"))
    assert parenthesised.confirms(SchemaCheck("no_expression_index", "t", (), "cast(atasdate)")) is None


def test_unknown_tables_and_columns_are_never_guessed() -> None:
    schema = _schema(("s.sql", "CREATE TABLE t (id int);\n"))
    assert schema.confirms(SchemaCheck("unindexed", "nosuch", ("id",))) is None
    assert schema.confirms(SchemaCheck("unindexed", "t", ("nosuch",))) is None
    assert schema.confirms(SchemaCheck("type_mismatch", "nosuch", ("id",), "string")) is None


def test_migrations_run_in_natural_path_order() -> None:
    paths = ["m/V10__drop.sql", "m/V2__index.sql", "m/V1__init.sql"]
    assert sorted(paths, key=natural_path_key) == ["m/V1__init.sql", "m/V2__index.sql", "m/V10__drop.sql"]
    schema = _schema(("m/V10__drop.sql", "DROP INDEX t_a;"), ("m/V2__index.sql", "CREATE INDEX t_a ON t (a);"),
                     ("m/V1__init.sql", "CREATE TABLE t (id int PRIMARY KEY, a int);"))
    assert not _indexed(schema, "t", "a")


def test_corrupt_records_are_skipped() -> None:
    schema = Schema.from_records([{"op": "table"}, {"op": "index", "table": 3}, {"nothing": 1},
                                  {"op": "table", "table": "t", "columns": [["id", "INT", "number"]]}])
    assert "t" in schema.tables


# -- through the command line -----------------------------------------------------------
QUERY = 'def f(cur, o):\n    cur.execute("SELECT id FROM orders WHERE customer_id = %s", (o,))\n'
DDL = "CREATE TABLE orders (id int PRIMARY KEY, customer_id int);\n"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    write(tmp_path, "app/orders.py", QUERY)
    return tmp_path


def _codes(report: dict) -> list[tuple[str, int, str]]:
    return sorted((f["path"], f["line"], f["code"]) for f in report["findings"])


def test_no_schema_no_missing_index(shop: Path) -> None:
    code, report, _ = run_json("--select", "PFL113", cwd=shop)
    assert (code, _codes(report)) == (0, [])


def test_schema_from_a_project_sql_file(shop: Path) -> None:
    write(shop, "db/schema.sql", DDL)
    code, report, _ = run_json("--select", "PFL113", cwd=shop)
    assert code == 1
    assert _codes(report) == [("app/orders.py", 2, "PFL113")]
    (finding,) = report["findings"]
    assert "CREATE INDEX ON orders (customer_id)" in finding["message"]
    assert "schema_check" not in finding  # decided, not leaked into the contract


def test_schema_paths_in_configuration_are_read_not_reported(shop: Path) -> None:
    write(shop, "ddl/schema.sql", DDL + "SELECT * FROM orders;\n")
    write(shop, "pyproject.toml", '[tool.perflint]\nschema = ["ddl/schema.sql"]\nexclude = ["ddl"]\n')
    code, report, _ = run_json("--select", "PFL101,PFL113", cwd=shop)
    assert _codes(report) == [("app/orders.py", 2, "PFL113")]  # nothing reported in ddl/
    # a later migration in the project adds the index: configured schema first, then migrations
    write(shop, "migrations/0002_index.sql", "CREATE INDEX orders_customer ON orders (customer_id);\n")
    code, report, _ = run_json("--select", "PFL101,PFL113", cwd=shop)
    assert (code, _codes(report)) == (0, [])


def test_schema_option_and_warm_runs_follow_schema_changes(shop: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("dba") / "prod.sql"
    elsewhere.write_text(DDL)
    first = run_json("--select", "PFL113", "--schema", str(elsewhere), cwd=shop)
    warm = run_json("--select", "PFL113", "--schema", str(elsewhere), cwd=shop)
    assert _codes(first[1]) == _codes(warm[1]) == [("app/orders.py", 2, "PFL113")]
    assert warm[1]["stats"]["cached"] == warm[1]["stats"]["files"]
    elsewhere.write_text(DDL + "CREATE INDEX ON orders (customer_id);\n")
    code, report, _ = run_json("--select", "PFL113", "--schema", str(elsewhere), cwd=shop)
    assert (code, _codes(report)) == (0, [])


def test_missing_schema_path_is_reported(shop: Path) -> None:
    write(shop, "pyproject.toml", '[tool.perflint]\nschema = ["nowhere.sql"]\n')
    code, report, _ = run_json(cwd=shop)
    assert code == 2
    assert {"path": "nowhere.sql", "message": "schema path not found"} in report["errors"]
