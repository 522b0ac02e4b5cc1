"""The project call graph: queries and writes reached through helpers across modules,
reported at the loop's call site with the path as the trace; ranking by hot path."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from perflint.config import Config
from perflint.locate import CallLocator
from perflint.runner import RunOptions, run
from perflint.summary_builder import SummaryBuilder
from tests.conftest import FIXTURES, ROOT

PROJECT = FIXTURES / "callgraph"


def _run(paths: tuple[Path, ...] = (PROJECT,), cwd: Path = FIXTURES, **config: object):
    return run(Config(**config), RunOptions(paths=paths, jobs=1, use_cache=False, cwd=cwd))


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_query_two_levels_down_in_another_module_is_reported_at_the_loop_call() -> None:
    result = _run()
    handler = PROJECT / "shopapi/handlers.py"
    (finding,) = [f for f in result.findings if f.path.endswith("handlers.py") and f.code == "PFL201"]
    assert finding.line == _line_of(handler, "pricing.customer_discount(line")
    assert [(Path(s.path).name, s.function) for s in finding.trace] == [
        ("handlers.py", "quote"), ("pricing.py", "customer_discount"), ("customers.py", "fetch_customer")]
    assert [s.line for s in finding.trace] == [
        finding.line,
        _line_of(PROJECT / "shopapi/services/pricing.py", "customer = fetch_customer("),
        _line_of(PROJECT / "shopapi/repos/customers.py", '"SELECT id, name, tier FROM customers WHERE id = %s"'),
    ]
    assert "for line in order['lines']" in finding.message and "`customer_discount`" in finding.message


def test_helpers_that_do_not_query_recursion_and_first_hit_loops_stay_quiet() -> None:
    result = _run()
    lines = {(Path(f.path).name, f.line) for f in result.findings}
    handler = PROJECT / "shopapi/handlers.py"
    assert ("handlers.py", _line_of(handler, "shipping_cost(line")) not in lines or \
        _line_of(handler, "shipping_cost(line") == _line_of(handler, "pricing.customer_discount(line")
    assert ("handlers.py", _line_of(handler, "pricing.tree_size(tree)")) not in lines
    assert ("handlers.py", _line_of(handler, "if pricing.customer_discount(customer_id)")) not in lines
    assert ("tasks.py", _line_of(PROJECT / "shopapi/tasks.py", "return fetch_many(")) not in lines


def test_same_pattern_ranks_by_where_it_runs() -> None:
    scores = {Path(f.path).name: f.score for f in _run().findings if f.code == "PFL201"}
    assert scores["handlers.py"] > scores["tasks.py"] > scores["backfill.py"]


def test_nested_loops_rank_above_one_loop(tmp_path: Path) -> None:
    (tmp_path / "repo.py").write_text(
        "def load(cur, i):\n    cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n    return cur.fetchone()\n")
    (tmp_path / "jobs.py").write_text(
        "from repo import load\n\n\n"
        "def once(cur, ids):\n    return [load(cur, i) for i in ids]\n\n\n"
        "def twice(cur, groups):\n    for group in groups:\n        for i in group:\n            load(cur, i)\n")
    result = _run((tmp_path,), tmp_path)
    by_function = {f.function: f for f in result.findings if f.code == "PFL201"}
    assert by_function["twice"].score > by_function["once"].score


def test_noqa_at_the_call_site(tmp_path: Path) -> None:
    (tmp_path / "repo.py").write_text("def load(cur, i):\n    cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n")
    (tmp_path / "jobs.py").write_text(
        "from repo import load\n\n\ndef f(cur, ids):\n    for i in ids:\n        load(cur, i)  # noqa: PFL201\n")
    assert [f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"] == []


def test_warm_and_edited_runs_keep_the_interprocedural_findings(tmp_path: Path) -> None:
    (tmp_path / "repo.py").write_text("def load(cur, i):\n    cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n")
    jobs = tmp_path / "jobs.py"
    jobs.write_text("from repo import load\n\n\ndef f(cur, ids):\n    for i in ids:\n        load(cur, i)\n")
    options = RunOptions(paths=(tmp_path,), jobs=1, use_cache=True, cwd=tmp_path)
    cold = run(Config(), options)
    warm = run(Config(), options)
    assert [(f.path, f.line) for f in cold.findings] == [(f.path, f.line) for f in warm.findings] == [("jobs.py", 6)]
    jobs.write_text("from repo import load\n\n# a comment moves the call down\n\ndef f(cur, ids):\n"
                    "    for i in ids:\n        load(cur, i)\n")
    edited = run(Config(), options)
    assert [(f.path, f.line) for f in edited.findings] == [("jobs.py", 7)]
    assert edited.findings[0].trace[0].line == 7


SOURCES = sorted(PROJECT.rglob("*.py")) + sorted((FIXTURES / "shop").rglob("*.py")) + \
    sorted((ROOT / "perflint").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_summarised_call_is_found_again(path: Path) -> None:
    """The per-file pass (LibCST) and the locator (ast) count calls the same way."""
    from perflint.context import Context
    from perflint.knowledge import Knowledge
    from perflint.pyfile import FactCollector
    from perflint.traversal import Dispatcher, Walker

    data = path.read_bytes()
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        pytest.skip("not Python")
    builder = SummaryBuilder(path.name)
    ctx = Context(path.name, module, Knowledge(), Config(), builder)
    Walker(ctx, Dispatcher([FactCollector()])).run(module)
    locator = CallLocator(data)
    for function in builder.summary.functions:
        for call in function.calls:
            found = locator.find(function.qualname, call.callee, call.index)
            assert found is not None, (function.qualname, call)
            assert bool(found.loops) == (call.loop_depth > 0), (function.qualname, call, found)


def test_methods_on_instances_and_singletons_resolve(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("")
    (tmp_path / "app/service.py").write_text(
        "class Pricing:\n"
        "    def discount(self, cur, i):\n"
        "        return self._load(cur, i)\n\n"
        "    def _load(self, cur, i):\n"
        "        cur.execute('SELECT d FROM discounts WHERE id = %s', (i,))\n"
        "        return cur.fetchone()\n\n"
        "    def label(self, i):\n"
        "        return f'#{i}'\n\n\n"
        "pricing = Pricing()\n")
    (tmp_path / "app/jobs.py").write_text(
        "from app.service import Pricing, pricing\n\n\n"
        "def local_instance(cur, ids):\n"
        "    svc = Pricing()\n"
        "    for i in ids:\n"
        "        svc.discount(cur, i)\n"
        "        svc.label(i)\n\n\n"
        "def singleton(cur, ids):\n"
        "    return [pricing.discount(cur, i) for i in ids]\n\n\n"
        "def unknown_receiver(cur, ids, other):\n"
        "    for i in ids:\n"
        "        other.discount(cur, i)\n")
    found = {(f.function, f.line) for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"}
    assert found == {("local_instance", 7), ("singleton", 12)}


def test_entry_points_by_reference_urlpatterns_and_main_guard(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop/__init__.py").write_text("")
    body = "    for i in ids:\n        cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n"
    (tmp_path / "shop/views.py").write_text(f"def orders(cur, ids):\n{body}\n\ndef unrouted(cur, ids):\n{body}")
    (tmp_path / "shop/urls.py").write_text(
        "from django.urls import path\n\nfrom shop import views\n\n"
        "urlpatterns = [path('orders/', views.orders, name='orders')]\n")
    (tmp_path / "tool.py").write_text(f"def run(cur, ids):\n{body}\n\nif __name__ == '__main__':\n    run(None, [])\n")
    findings = {f.function: f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"}
    assert any("request handler shop.views.orders" in r for r in findings["orders"].reasons)
    assert any("CLI command tool.run" in r for r in findings["run"].reasons)
    assert any("cold" in r for r in findings["unrouted"].reasons)
    assert findings["orders"].score > findings["run"].score > findings["unrouted"].score


def test_graph_command_shows_the_hot_path(tmp_path: Path) -> None:
    import json
    import subprocess

    from tests.cli_support import clean_env, perflint_executable

    def graph(*args: str) -> str:
        proc = subprocess.run([perflint_executable(), "graph", "--no-cache", str(PROJECT), *args],
                              cwd=FIXTURES, env=clean_env(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    report = json.loads(graph())
    ids = {node["id"] for node in report["nodes"]}
    assert "callgraph.shopapi.handlers.quote" in ids
    (quote,) = [p for p in report["hot_paths"] if p["entry"].endswith("handlers.quote") and p["code"] == "PFL201"]
    assert quote["functions"] == ["callgraph.shopapi.handlers.quote", "callgraph.shopapi.services.pricing.customer_discount",
                                  "callgraph.shopapi.repos.customers.fetch_customer"]
    assert {"from": "callgraph.shopapi.handlers.quote", "to": "callgraph.shopapi.services.pricing.customer_discount",
            "loop_depth": 1} in report["edges"]
    dot = graph("--format", "dot", "--entry", "quote")
    assert dot.startswith("digraph perflint {") and "handlers.quote" in dot and "handlers.add_notes" not in dot


def test_helpers_that_run_what_they_are_given_or_are_memoised_do_not_propagate(tmp_path: Path) -> None:
    (tmp_path / "editor.py").write_text(
        "import functools\n\n\n"
        "class Editor:\n"
        "    def execute(self, sql, params=()):\n"
        "        self.cursor.execute(sql, params)\n\n"
        "    def drop(self, table):\n"
        "        self.cursor.execute('DELETE FROM %s' % table)\n\n"
        "    def alter_all(self, statements, tables):\n"
        "        for sql in statements:\n"
        "            self.execute(sql)\n"
        "        for table in tables:\n"
        "            self.drop(table)\n\n\n"
        "@functools.lru_cache\n"
        "def type_oids(cur, name):\n"
        "    cur.execute('SELECT oid FROM pg_type WHERE typname = %s', (name,))\n\n\n"
        "def register(cur, names):\n"
        "    for name in names:\n"
        "        type_oids(cur, name)\n")
    assert [f for f in _run((tmp_path,), tmp_path).findings if f.code in ("PFL201", "PFL203")] == []


def test_a_profile_that_shows_a_cold_function_hot_moves_its_finding_up(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.cli_support import run_json

    script = tmp_path / "prod" / "scripts" / "backfill.py"
    script.parent.mkdir(parents=True)
    script.write_text("def backfill(customer_ids):\n    total = 0\n    for i in range(300000):\n"
                      "        total += i * i\n    return total\n\n\nif __name__ == '__main__':\n    backfill([])\n")
    profile = tmp_path / "prod.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), str(script)], check=True, timeout=120)

    def ranking(*extra: str) -> list[tuple[str, str]]:
        code, report, _ = run_json("--no-cache", "--select", "PFL201", str(PROJECT), *extra, cwd=FIXTURES)
        return [(Path(f["path"]).name, " | ".join(f["reasons"])) for f in report["findings"]]

    plain = ranking()
    measured = ranking("--profile", str(profile))
    assert [name for name, _ in plain].index("backfill.py") > [name for name, _ in measured].index("backfill.py")
    reasons = dict(measured)["backfill.py"]
    assert "profile prod.prof: `backfill` takes" in reasons


def test_bad_profile_is_a_usage_error(tmp_path: Path) -> None:
    from tests.cli_support import run_perflint

    bad = tmp_path / "bad.prof"
    bad.write_text("not a profile\n")
    proc = run_perflint("check", "--profile", str(bad), str(PROJECT), cwd=FIXTURES)
    assert proc.returncode == 2 and "bad.prof" in proc.stderr and "Traceback" not in proc.stderr


def test_pg_stat_statements_weighs_the_matching_sql_finding(tmp_path: Path) -> None:
    from tests.cli_support import run_json, write

    write(tmp_path, "q.py", 'cur.execute("SELECT * FROM users WHERE id = 42")\ncur.execute("SELECT * FROM orders WHERE id = 1")\n')
    export = tmp_path / "pgss.csv"
    export.write_text('query,calls,total_exec_time\n"SELECT * FROM  users WHERE id = $1",1000,900.0\n'
                      '"SELECT * FROM orders WHERE id = $1",10,100.0\n')
    _, report, _ = run_json("--no-cache", "--select", "PFL101", "--pg-stat-statements", str(export), cwd=tmp_path)
    first, second = report["findings"]
    assert first["line"] == 1 and first["score"] > second["score"]
    assert any("pg_stat_statements pgss.csv: the query takes 90% of database time (1000 calls)" in r
               for r in first["reasons"])


def test_async_handler_calling_a_sync_helper_that_blocks(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/__init__.py").write_text("")
    (tmp_path / "svc/slow.py").write_text(
        "import time\nimport asyncio\n\n\n"
        "def wait_for_stock(sku):\n    time.sleep(1)\n    return sku\n\n\n"
        "def check(sku):\n    return wait_for_stock(sku)\n\n\n"
        "async def polite(sku):\n    await asyncio.sleep(1)\n")
    (tmp_path / "svc/api.py").write_text(
        "import asyncio\n\nfrom fastapi import FastAPI\n\nfrom svc.slow import check, polite\n\napp = FastAPI()\n\n\n"
        "@app.get('/stock')\nasync def stock(sku: str):\n    return check(sku)\n\n\n"
        "@app.get('/offloaded')\nasync def offloaded(sku: str):\n    return await asyncio.to_thread(check, sku)\n\n\n"
        "@app.get('/polite')\nasync def polite_stock(sku: str):\n    return await polite(sku)\n\n\n"
        "def sync_view(sku):\n    return check(sku)\n")
    findings = [f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL303"]
    assert [(f.path, f.line, f.function) for f in findings] == [("svc/api.py", 12, "stock")]
    (finding,) = findings
    assert [(s.function, s.line) for s in finding.trace] == [("stock", 12), ("check", 11), ("wait_for_stock", 6)]
    assert "time.sleep" in finding.message and "asyncio.to_thread(check" in finding.message


def _blocking_project(tmp_path: Path, sleep_comment: str = "", call_comment: str = "") -> None:
    (tmp_path / "svc").mkdir(exist_ok=True)
    (tmp_path / "svc/__init__.py").write_text("")
    (tmp_path / "svc/slow.py").write_text(
        "import time\n\n\n"
        f"def wait_for_stock(sku):\n    time.sleep(1){sleep_comment}\n    return sku\n\n\n"
        f"def check(sku):\n    return wait_for_stock(sku){call_comment}\n")
    (tmp_path / "svc/api.py").write_text(
        "from fastapi import FastAPI\n\nfrom svc.slow import check\n\napp = FastAPI()\n\n\n"
        + "".join(f"@app.get('/{name}')\nasync def {name}(sku: str):\n    return check(sku)\n\n\n"
                  for name in ("stock", "price", "reserve")))


def _blocking(tmp_path: Path) -> list:
    return [f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL303"]


def test_callers_sharing_a_route_are_told_that_one_noqa_covers_them_all(tmp_path: Path) -> None:
    _blocking_project(tmp_path)
    findings = _blocking(tmp_path)
    assert sorted(f.function for f in findings) == ["price", "reserve", "stock"]
    for finding in findings:
        assert ("(2 other call sites reach it through `check`: one `# noqa: PFL303` on the "
                "`time.sleep` call at svc/slow.py:5, or on a call on the way there, covers them all)"
                in finding.message)


@pytest.mark.parametrize(("sleep_comment", "call_comment"), [
    ("  # noqa: PFL303", ""),  # on the blocking call itself
    ("", "  # noqa: PFL3"),  # on the call leading to it; a prefix of the code, as flake8 reads it
])
def test_a_noqa_naming_the_code_on_a_later_step_covers_every_caller(
        tmp_path: Path, sleep_comment: str, call_comment: str) -> None:
    _blocking_project(tmp_path, sleep_comment, call_comment)
    assert _blocking(tmp_path) == []


def test_a_noqa_added_to_a_helper_counts_on_a_warm_run(tmp_path: Path) -> None:
    """The helper's summary does not change with a comment, so the cached call graph is
    reused; the noqa is read from the current source all the same."""
    def cached_run() -> list:
        result = run(Config(), RunOptions(paths=(tmp_path,), jobs=1, use_cache=True, cwd=tmp_path))
        return [f for f in result.findings if f.code == "PFL303"]

    _blocking_project(tmp_path)
    assert len(cached_run()) == 3
    _blocking_project(tmp_path, sleep_comment="  # noqa: PFL303")
    assert cached_run() == []
    _blocking_project(tmp_path)
    assert len(cached_run()) == 3


@pytest.mark.parametrize(("sleep_comment", "call_comment"), [
    ("  # noqa", ""),  # bare: may be there for another tool, covers only its own line
    ("  # noqa: E501", "  # noqa: PFL201"),  # other codes
])
def test_a_noqa_on_a_later_step_that_does_not_name_the_code_covers_nothing(
        tmp_path: Path, sleep_comment: str, call_comment: str) -> None:
    _blocking_project(tmp_path, sleep_comment, call_comment)
    assert len(_blocking(tmp_path)) == 3


def test_a_noqa_on_the_query_in_a_helper_covers_the_loops_that_reach_it(tmp_path: Path) -> None:
    helper = "def fetch(cur, i):\n    cur.execute('SELECT a FROM t WHERE id = %s', (i,)){}\n"
    (tmp_path / "views.py").write_text(
        "from repo import fetch\n\n\n"
        "def one(cur, ids):\n    for i in ids:\n        fetch(cur, i)\n")
    (tmp_path / "repo.py").write_text(helper.format(""))
    assert [(f.path, f.line) for f in _run((tmp_path,), tmp_path).findings
            if f.code == "PFL201"] == [("views.py", 6)]
    (tmp_path / "repo.py").write_text(helper.format("  # noqa: PFL201"))
    assert [f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"] == []


def test_a_name_bound_to_two_classes_resolves_to_neither(tmp_path: Path) -> None:
    """``s = A(); s.update(x)`` then ``s = B(); s.update(x)`` in one function: the scope
    is read without its control flow, so neither call may go to the class written last."""
    (tmp_path / "serializers.py").write_text(
        "class PositionSerializer:\n"
        "    def update(self, instance, data):\n"
        "        return data\n\n\n"
        "class FeeSerializer:\n"
        "    def update(self, instance, data):\n"
        "        instance.refresh_from_db()\n\n\n"
        "class Report:\n"
        "    def rows(self, cur, i):\n"
        "        cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n")
    (tmp_path / "views.py").write_text(
        "from serializers import FeeSerializer, PositionSerializer, Report\n\n\n"
        "def change(patches, fees):\n"
        "    for p in patches:\n"
        "        s = PositionSerializer()\n"
        "        s.update(p, p.body)\n"
        "    for f in fees:\n"
        "        s = FeeSerializer()\n"
        "        s.update(f, f.body)\n\n\n"
        "def report(cur, ids, other):\n"
        "    r = Report()\n"
        "    r = other\n"
        "    for i in ids:\n"
        "        r.rows(cur, i)\n\n\n"
        "def same_class_twice(cur, ids):\n"
        "    r = Report()\n"
        "    r = None\n"
        "    r = Report()\n"
        "    for i in ids:\n"
        "        r.rows(cur, i)\n")
    found = {(f.path, f.line) for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"}
    assert found == {("views.py", 25)}


def test_queries_in_except_handlers_or_behind_a_cache_the_helper_fills_do_not_propagate(tmp_path: Path) -> None:
    """A helper's query that runs only when its call fails (retry after IntegrityError,
    create on DoesNotExist) or only until a module-level cache it fills answers (``if not
    _types: <query>; _types[k] = v``; ``global P; if P: return P ... P = rows``) is not
    run once per call; a query beside them still is."""
    (tmp_path / "helpers.py").write_text(
        "_types = {}\n"
        "PROVIDERS = []\n"
        "_seen = set()\n\n\n"
        "def upsert(answer, Answer, **kwargs):\n"
        "    try:\n"
        "        answer.save()\n"
        "    except IntegrityError:\n"
        "        answer = Answer.objects.get(**kwargs)\n"
        "    return answer\n\n\n"
        "def thumbnail(source, size):\n"
        "    try:\n"
        "        return make(source, size)\n"
        "    except ValueError:\n"
        "        return create_thumbnail(source, size)\n\n\n"
        "def create_thumbnail(source, size):\n"
        "    return Thumbnail.objects.create(source=source, size=size)\n\n\n"
        "def type_name(engine, oid):\n"
        "    if not _types:\n"
        "        for oid_, name in engine.execute('SELECT oid, typname FROM pg_type'):\n"
        "            _types[oid_] = name\n"
        "    return _types[oid]\n\n\n"
        "def providers(cur):\n"
        "    global PROVIDERS\n"
        "    if PROVIDERS:\n"
        "        return PROVIDERS\n"
        "    cur.execute('SELECT name FROM providers')\n"
        "    PROVIDERS = cur.fetchall()\n"
        "    return PROVIDERS\n\n\n"
        "def mark(cur, key):\n"
        "    if key not in _seen:\n"
        "        _seen.add(key)\n"
        "        cur.execute('UPDATE t SET seen = true WHERE k = %s', (key,))\n\n\n"
        "def local_memo(cur, keys):\n"
        "    seen = {}\n"
        "    if keys[0] not in seen:\n"
        "        seen[keys[0]] = cur.execute('SELECT a FROM t WHERE k = %s', (keys[0],))\n\n\n"
        "def lookup(cur, key):\n"
        "    try:\n"
        "        cur.execute('SELECT a FROM t WHERE k = %s', (key,))\n"
        "    except KeyError:\n"
        "        pass\n")
    (tmp_path / "views.py").write_text(
        "from helpers import local_memo, lookup, mark, providers, thumbnail, type_name, upsert\n\n\n"
        "def save(answers, Answer, engine, cur, fields):\n"
        "    for a in answers:\n"
        "        upsert(a, Answer, id=a.id)\n"
        "        thumbnail(a.src, '60x60')\n"
        "    for f in fields:\n"
        "        type_name(engine, f.oid)\n"
        "        providers(cur)\n"
        "        mark(cur, f.key)\n"
        "        local_memo(cur, f.keys)\n"
        "        lookup(cur, f.key)\n")
    found = {(f.code, f.line) for f in _run((tmp_path,), tmp_path).findings
             if f.code in ("PFL201", "PFL203") and f.path == "views.py"}
    assert found == {("PFL201", 12), ("PFL201", 13)}


def test_a_helper_whose_query_is_a_call_chain_propagates(tmp_path: Path) -> None:
    """``Order.objects.select_related('event').get(id=pk)``, ``Invoice.objects.filter(...).last()``:
    the usual ORM query is a chain of calls; the helper runs it on each call, and the trace
    ends at the chain's line."""
    (tmp_path / "services.py").write_text(
        "from models import Invoice, Order\n\n\n"
        "def load(pk):\n"
        "    order = Order.objects.select_related('event').get(id=pk)\n"
        "    return order\n\n\n"
        "def last_invoice(order):\n"
        "    label = str(order)\n"
        "    return Invoice.objects.filter(order=order, is_cancellation=False).last()\n")
    (tmp_path / "tasks.py").write_text(
        "from services import last_invoice, load\n\n\n"
        "def expire(pks, orders):\n"
        "    for pk in pks:\n"
        "        load(pk)\n"
        "    return [last_invoice(o) for o in orders]\n")
    findings = {f.line: f for f in _run((tmp_path,), tmp_path).findings
                if f.code == "PFL201" and f.path == "tasks.py"}
    assert set(findings) == {6, 7}
    assert [(s.function, s.line) for s in findings[6].trace] == [("expire", 6), ("load", 5)]
    assert [(s.function, s.line) for s in findings[7].trace] == [("expire", 7), ("last_invoice", 11)]


def test_a_call_that_leaves_out_the_optional_argument_a_query_needs_reaches_nothing(tmp_path: Path) -> None:
    """``get_picture(event, pic)`` never runs the thumbnail query behind ``if size:`` (size
    defaults to None); ``get_picture(event, pic, '60x60')`` does. Likewise ``mail(to)``
    without ``attach_cached_files``, and a query behind ``isinstance(seat, str)`` (also with
    ``seat=None`` passed: pretix's ``self.add_position(..., seat=None)``)."""
    (tmp_path / "helpers.py").write_text(
        "def get_picture(event, picture, size=None):\n"
        "    if size:\n"
        "        return Thumbnail.objects.get(source=picture.name, size=size)\n"
        "    return picture.url\n\n\n"
        "def mail(email, subject, attach_cached_files=None, plain=False):\n"
        "    if not attach_cached_files:\n"
        "        return send(email, subject)\n"
        "    for cf in attach_cached_files:\n"
        "        CachedFile.objects.get(pk=cf)\n\n\n"
        "class Manager:\n"
        "    def add_position(self, item, seat=None, count=1):\n"
        "        if isinstance(seat, str):\n"
        "            seat = Seat.objects.get(guid=seat)\n"
        "        self.items.append(item)\n\n\n"
        "def notify(email, subject, detailed=False):\n"
        "    if detailed is not None:\n"
        "        Log.objects.get(email=email)\n\n\n"
        "def rebound(email, extra=None):\n"
        "    extra = extra or default_extra()\n"
        "    if extra:\n"
        "        Log.objects.get(email=email)\n")
    (tmp_path / "views.py").write_text(
        "from helpers import Manager, get_picture, mail, notify, rebound\n\n\n"
        "def items(event, products, files, kwargs):\n"
        "    m = Manager()\n"
        "    for p in products:\n"
        "        get_picture(event, p.picture)\n"
        "        get_picture(event, p.picture, '60x60^')\n"
        "        get_picture(event, p.picture, size='60x60^')\n"
        "        mail(p.email, 'hi')\n"
        "        mail(p.email, 'hi', files)\n"
        "        mail(p.email, 'hi', plain=True)\n"
        "        mail(p.email, 'hi', **kwargs)\n"
        "        m.add_position(p)\n"
        "        m.add_position(p, p.seat)\n"
        "        m.add_position(p, seat=None)\n"
        "        notify(p.email, 'hi')\n"
        "        rebound(p.email)\n")
    found = {f.line for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201" and f.path == "views.py"}
    assert found == {8, 9, 11, 13, 15, 17, 18}


def test_a_locator_told_the_functions_finds_their_calls_as_the_full_one() -> None:
    """site_findings indexes only the functions its sites name (and their outer scopes)."""
    source = (b"def helper(x):\n    return load(x)\n\n\n"
              b"class Report:\n    def rows(self, ids):\n        for i in ids:\n            load(i)\n\n"
              b"        def inner(j):\n            return load(j)\n        return inner\n")
    full, narrow = CallLocator(source), CallLocator(source, {"Report.rows.inner", "Report.rows"})
    for qualname in ("Report.rows", "Report.rows.inner"):
        assert narrow.find(qualname, "load", 0) == full.find(qualname, "load", 0) is not None
    assert narrow.find("helper", "load", 0) is None and full.find("helper", "load", 0) is not None


def test_routes_registered_in_an_app_factory_or_blueprint_helper_are_entry_points(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text(
        "from flask import Blueprint\n\n\n"
        "def search(cur, ids):\n"
        "    for i in ids:\n"
        "        cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n\n\n"
        "def helper(cur, ids):\n"
        "    for i in ids:\n"
        "        cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n\n\n"
        "def register_rules(bp):\n"
        "    bp.add_url_rule('/', view_func=search)\n\n\n"
        "def other(request, obj):\n"
        "    return url(request, helper)\n")
    findings = {f.function: f for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"}
    assert any("request handler views.search" in r for r in findings["search"].reasons)
    assert any("cold" in r for r in findings["helper"].reasons)


def test_a_query_behind_a_cache_another_function_of_the_file_fills_does_not_propagate(tmp_path: Path) -> None:
    """ckan's ``if type_name in _type_names: return True`` before asking the database, the
    set filled by the function that loads pg_type; a local set of that name is no cache."""
    (tmp_path / "backend.py").write_text(
        "_type_names = set()\n\n\n"
        "def load_types(cur):\n"
        "    for (name,) in cur.execute('SELECT typname FROM pg_type'):\n"
        "        _type_names.add(name)\n\n\n"
        "def valid_type(cur, name):\n"
        "    if name in _type_names:\n"
        "        return True\n"
        "    cur.execute('SELECT cast(%s as regtype)', (name,))\n\n\n"
        "def shadowed(cur, name):\n"
        "    _type_names = set()\n"
        "    if name in _type_names:\n"
        "        return True\n"
        "    cur.execute('SELECT cast(%s as regtype)', (name,))\n\n\n"
        "def check_fields(cur, fields):\n"
        "    for field in fields:\n"
        "        valid_type(cur, field.type)\n"
        "        shadowed(cur, field.type)\n")
    found = {f.line for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL201"}
    assert found == {25}


def test_a_helper_called_when_the_loops_buffer_is_full_runs_per_batch(tmp_path: Path) -> None:
    """``if len(insert_queue) > 1000: store()`` and ``if n % 500 == 0: flush()`` run once
    per batch of items (pretix's migrations and voucher bulk creation); ``if len(x) > 0``
    is no batch."""
    (tmp_path / "jobs.py").write_text(
        "def store(queue):\n"
        "    Setting.objects.bulk_create(queue)\n"
        "    queue.clear()\n\n\n"
        "def run(settings):\n"
        "    queue = []\n"
        "    for n, s in enumerate(settings):\n"
        "        queue.append(s)\n"
        "        if len(queue) > 1000:\n"
        "            store(queue)\n"
        "        if n % 500 == 0 and queue:\n"
        "            store(queue)\n"
        "        if len(queue) > 0:\n"
        "            store(queue)\n"
        "    store(queue)\n")
    found = {f.line for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL203" and f.trace}
    assert found == {15}


def test_methods_on_annotated_parameters_and_through_package_reexports_resolve(tmp_path: Path) -> None:
    """``def send(order: Order)`` with ``Order`` imported from the package that re-exports it
    (``from shop.models import Order``, defined in shop/models/orders.py): ``order.mail()``
    is ``Order.mail``; an annotation rebound in the body says nothing."""
    (tmp_path / "shop/models").mkdir(parents=True)
    (tmp_path / "shop/__init__.py").write_text("")
    (tmp_path / "shop/models/__init__.py").write_text("from .orders import Order\n")
    (tmp_path / "shop/models/orders.py").write_text(
        "class Order:\n"
        "    def mail(self, cur):\n"
        "        cur.execute('INSERT INTO outbox (order_id) VALUES (%s)', (self.id,))\n")
    (tmp_path / "shop/tasks.py").write_text(
        "from shop.models import Order\n\n\n"
        "def send(orders: list, cur, first: Order, other: Order):\n"
        "    for o in orders:\n"
        "        first.mail(cur)\n"
        "        other = o\n"
        "        other.mail(cur)\n")
    found = {f.line for f in _run((tmp_path,), tmp_path).findings if f.code == "PFL203" and f.trace}
    assert found == {6}


def test_an_optional_parameter_handed_on_unchanged_is_left_out_downstream_too(tmp_path: Path) -> None:
    """``Order.send_mail(..., attach=None)`` passes ``attach=attach`` to ``mail``, whose
    attachment query runs only when given: a loop calling ``order.send_mail(subject)``
    reaches its write, not that query; ``order.send_mail(subject, files)`` reaches both."""
    (tmp_path / "mail.py").write_text(
        "def mail(to, subject, attach=None):\n"
        "    if attach:\n"
        "        for pk in attach:\n"
        "            CachedFile.objects.get(pk=pk)\n"
        "    return OutgoingMail.objects.create(to=to, subject=subject)\n\n\n"
        "class Order:\n"
        "    def send_mail(self, subject, attach=None):\n"
        "        return mail(self.email, subject, attach=attach)\n\n\n"
        "def notify(order: Order, subject, files=None):\n"
        "    order.send_mail(subject, files)\n\n\n"
        "def run(orders, files):\n"
        "    for o in orders:\n"
        "        o_ = Order()\n"
        "        o_.send_mail('hi')\n"
        "        o_.send_mail('hi', files)\n"
        "        notify(o_, 'hi')\n"
        "        notify(o_, 'hi', files)\n")
    found = {(f.code, f.line) for f in _run((tmp_path,), tmp_path).findings if f.trace}
    assert found == {("PFL203", 20), ("PFL201", 21), ("PFL203", 21), ("PFL203", 22), ("PFL201", 23),
                     ("PFL203", 23)}
    (deep,) = [f for f in _run((tmp_path,), tmp_path).findings if f.trace and (f.code, f.line) == ("PFL201", 23)]
    assert [(s.function, s.line) for s in deep.trace] == [("run", 23), ("notify", 14), ("Order.send_mail", 10),
                                                         ("mail", 4)]


def test_a_helper_called_per_chunk_is_the_batched_form(tmp_path: Path) -> None:
    """pretix's ``for chunk in chunked_iterable(all_ids, 1000): Order.gracefully_delete_bulk(...)``."""
    (tmp_path / "bulk.py").write_text(
        "def delete_bulk(ids):\n"
        "    Order.objects.filter(id__in=ids).delete()\n\n\n"
        "def run(all_ids, groups):\n"
        "    for chunk in chunked_iterable(all_ids, 1000):\n"
        "        delete_bulk(chunk)\n"
        "    for group in groups:\n"
        "        delete_bulk(group.ids)\n")
    assert {f.line for f in _run((tmp_path,), tmp_path).findings if f.trace} == {9}


def test_a_loop_over_a_slice_named_batch_still_runs_per_row(tmp_path: Path) -> None:
    """pretix's ``for i in qs[:batch_size]: mail(...)`` sends one mail per invoice."""
    (tmp_path / "send.py").write_text(
        "def mail(to):\n"
        "    OutgoingMail.objects.create(to=to)\n\n\n"
        "def run(qs, batch_size, ids):\n"
        "    for i in qs[:batch_size]:\n"
        "        mail(i.email)\n"
        "    for offset in range(0, len(ids), batch_size):\n"
        "        mail(ids[offset:offset + batch_size])\n")
    assert {f.line for f in _run((tmp_path,), tmp_path).findings if f.trace} == {7}


def test_django_signal_receivers_are_entry_points(tmp_path: Path) -> None:
    """pretix's ``@receiver(signal=periodic_task)`` cron jobs (expire_orders) start paths."""
    (tmp_path / "orders.py").write_text(
        "from django.dispatch import receiver\n\n\n"
        "def mark_expired(order):\n"
        "    Order.objects.filter(pk=order.pk).update(status='e')\n\n\n"
        "@receiver(signal=periodic_task)\n"
        "def expire_orders(sender, **kwargs):\n"
        "    for o in pending():\n"
        "        mark_expired(o)\n")
    (finding,) = [f for f in _run((tmp_path,), tmp_path).findings if f.trace]
    assert any("signal receiver orders.expire_orders" in r for r in finding.reasons)
