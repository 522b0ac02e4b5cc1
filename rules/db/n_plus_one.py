"""PFL201 n-plus-one."""

from __future__ import annotations

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import dotted_name, iter_subtree, names_read
from perflint.ormmodels import manager_access
from perflint.queries import (
    chain_calls,
    classify_call,
    has_dynamic_table,
    iterates_queryset,
    manager_root,
)
from perflint.querysets import (
    Access,
    QuerySource,
    call_access,
    is_chain_link,
    loop_item,
    read_access,
)
from perflint.rulebase import Invalid, PythonRule, Valid
from perflint.rules.db.evidence import (
    iterates_batches,
    queries_table_from_loop,
    steps_through_offsets,
)
from perflint.rules.loops import (
    describe_loop,
    exits_early,
    loop_bound_names,
    multiplying_loop,
)
from perflint.schema import SchemaCheck

# Models for the ORM examples: a property and methods that query, directly or through a relation.
_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    tags = models.ManyToManyField("Tag")

    @property
    def review_count(self):
        return self.reviews.count()

    @property
    def author_name(self):
        return self.author.name

    def latest_review(self):
        return self.reviews.order_by("-created").first()

    def sales(self):
        return Sale.objects.filter(book=self).count()

    def shout(self):
        return self.title.upper()


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    created = models.DateTimeField()
"""
_M = _MODELS.count("\n")  # the loop examples start on the line after the models


class NPlusOne(PythonRule):
    """
    ## What it does
    Flags a database query that runs once per iteration of a `for` loop or a
    comprehension: one query for the list, then N more, one per row.

    Queries are SQL sinks and ORM query methods (Django managers/querysets, SQLAlchemy
    sessions and queries, plus the `query-methods` of the configuration). On the objects
    of a query the loop walks (`for b in Book.objects.filter(...)`), it also flags a
    related-manager call that queries even when the relation is prefetched
    (`b.tags.filter(...).first()`) and a model property or method that runs a query
    (`b.review_count` whose body calls `self.reviews.count()`), decided against the
    models the project defines, in any file (relation reads and prefetchable manager
    calls are PFL202's).

    ## Why is this bad?
    Each query pays a network round trip, parsing and planning. With 500 rows that
    is 501 round trips where 1 or 2 would do; latency grows with the data, and the
    database spends its time on overhead.

    ## Example
    ```python
    users = await db.fetch_all("SELECT id, name FROM users WHERE team_id = :t", {"t": team})
    for user in users:
        user["posts"] = await db.fetch_all(
            "SELECT id, title FROM posts WHERE user_id = :u", {"u": user["id"]}
        )
    ```

    ## Use instead
    ```python
    rows = await db.fetch_all(
        "SELECT u.id, u.name, p.id AS post_id, p.title FROM users u "
        "LEFT JOIN posts p ON p.user_id = u.id WHERE u.team_id = :t", {"t": team}
    )
    ```
    or fetch the children with one `WHERE user_id = ANY(:ids)` query, or eager-load
    (`select_related` / `prefetch_related` / `selectinload`).

    Not reported: loops that return, break or always raise on the first pass, loops
    over a small literal (also through a name bound once to one), writes (PFL203)
    and DDL, `while` loops (pagination and polling), a different table per pass
    (`model.objects` on the loop's model, `FROM %s` formatted from the loop), batches
    per group or chunk (`filter(pk__in=ids)`, `in_bulk(ids)`), and queries that only
    feed assertions (tests checking each fixture row). For model members: members that
    query only through relations the rows were loaded with, writes (`save()`), and
    objects whose query the code does not show.
    """

    code = "PFL201"
    name = "n-plus-one"
    summary = "a query runs once per loop iteration"
    message = "query runs once per iteration"
    severity = "error"
    base_cost = 5.0
    fix_hint = "Fetch all rows in one query (JOIN, WHERE id = ANY(...)/IN) or eager-load the relation."
    candidate = None

    VALID = (
        # first-hit lookup: the loop ends at the first row found
        Valid("def find(cur, ids):\n    for i in ids:\n        cur.execute('SELECT id FROM t WHERE id = %s', (i,))\n        if cur.fetchone():\n            return i\n"),
        # a small literal loop is bounded
        Valid("def warm(cur):\n    for table in ('users', 'orders'):\n        cur.execute('SELECT id FROM stats WHERE name = %s', (table,))\n"),
        Valid("STATES = {'paid': 'p', 'pending': 'n'}\n\ndef count(cur):\n    for label, code in STATES.items():\n        cur.execute('SELECT count(*) FROM orders WHERE status = %s', (code,))\n"),
        # writes are PFL203's
        Valid("def save(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t (a) VALUES (%s)', (r,))\n"),
        Valid("def save(cur, rows):\n    cur.executemany('INSERT INTO t (a) VALUES (%s)', rows)\n"),
        # one query, then a loop over its rows
        Valid("async def f(db):\n    rows = await db.fetch_all('SELECT id FROM t WHERE a = :a', {'a': 1})\n    for r in rows:\n        print(r['id'])\n"),
        # pagination with while
        Valid("async def pages(conn):\n    cursor = 0\n    while cursor is not None:\n        rows = await conn.fetch('SELECT id FROM t WHERE id > $1 LIMIT 100', cursor)\n        cursor = rows[-1]['id'] if rows else None\n"),
        # HTTP, not a query
        Valid("def f(client, urls):\n    for u in urls:\n        client.fetch(u)\n"),
        # an aiohttp / requests session's get is a request (PFL304), not SQLAlchemy's Session.get
        Valid("import aiohttp\n\nasync def f(urls):\n    async with aiohttp.ClientSession() as session:\n        for u in urls:\n            await session.get(u)\n"),
        Valid("def f(items):\n    for i in items:\n        i.update(x=1)\n        d = {}.get(i)\n"),
        # Django write and a small retry loop
        Valid("def f(users):\n    for u in users:\n        Profile.objects.create(user=u)\n"),
        Valid("def f(cur):\n    for attempt in range(3):\n        cur.execute('SELECT 1 FROM t WHERE id = 1')\n"),
        # a list of different statements run in order (a script), not one query per row
        Valid("def f(cursor, statements):\n    for sql in statements:\n        cursor.execute(sql)\n"),
        Valid("def f(cursor, plan):\n    for sql, params in plan:\n        stmt = sql.strip()\n        cursor.execute(stmt, params)\n"),
        # --- from real code (SQLAlchemy, Django, Wagtail) ---
        # DDL per object (provisioning, teardown): schema work, not a read repeated per row
        Valid("def drop(conn, names):\n    for n in names:\n        conn.exec_driver_sql(f'DROP MATERIALIZED VIEW {n}')\n"),
        # a statement visibly built as a write (SQLAlchemy Core) is PFL203's
        Valid("def f(connection, table, values):\n    for i, value in enumerate(values):\n        connection.execute(table.insert(), {'id': i, 'v': value})\n"),
        Valid("def f(connection, mapper, table, records):\n    statement = mapper._memo(('delete', table), delete_stmt)\n    for params in records:\n        connection.execute(statement, params)\n"),
        # a different table each time (the table name is formatted in from the loop)
        Valid("def check(cursor, relations):\n    for table, column in relations.items():\n        cursor.execute('SELECT %s FROM %s WHERE %s IS NULL' % (column, table, column))\n"),
        # one query per model class, and one per chunk of ids: not per row
        Valid("def count_others(models, locale):\n    total = 0\n    for model in models:\n        total += model.objects.filter(locale=locale).count()\n    return total\n"),
        Valid("def load(ids_by_type, get_model):\n    for type_id, object_ids in ids_by_type.items():\n        model = get_model(type_id)\n        model.objects.in_bulk(object_ids)\n"),
        Valid("def load(chunks):\n    for chunk in chunks:\n        missing = list(chunk)\n        Item.objects.filter(pk__in=missing).in_bulk()\n"),
        # tests asserting on each fixture row
        Valid("def test_deleted(self):\n    for page in self.pages:\n        self.assertFalse(Page.objects.filter(id=page.id).exists())\n"),
        Valid("def test_published(self):\n    for page in self.pages:\n        fresh = Page.objects.get(id=page.id)\n        self.assertTrue(fresh.live)\n"),
        Valid("def test_published(self):\n    for page in self.pages:\n        page.refresh_from_db()\n        self.assertTrue(page.live)\n"),
        # a loop over test scenarios (unittest subTest): each pass is a request, not a row
        Valid("def test_matrix(self):\n    for codenames, status in self.matrix:\n        with self.subTest(codenames=codenames):\n            response = self.client.post(self.url)\n            page = Page.objects.get(pk=response.json()['id'])\n            self.assertEqual(page.owner, self.user)\n"),
        # the body ends in an unconditional raise: it runs once
        Valid("def check(cursor, violations):\n    for table, rowid in violations:\n        row = cursor.execute('SELECT a FROM t WHERE rowid = %s', (rowid,)).fetchone()\n        raise IntegrityError(row)\n"),
        # a name bound once to a small literal
        Valid("def f(cur):\n    tables = ('users', 'orders')\n    for t in tables:\n        cur.execute('SELECT id FROM stats WHERE name = %s', (t,))\n"),
        # --- from real code (issue 5 sample: mlflow, sanic, pip, Home Assistant) ---
        # ``get`` on something only named like a session: a dict item (mlflow's schema
        # ``s.get("type")``, sanic's worker states, ``trace_to_session.get(tid)``) or an
        # HTTP session (pip's ``PipSession.get(url)``); ``Session.get`` takes the model first
        Valid("def f(any_of):\n    return [s for s in any_of if s.get('type') == 'null']\n"),
        Valid("def f(trace_ids, trace_to_session):\n    for tid in trace_ids:\n        print(trace_to_session.get(tid, tid))\n"),
        Valid("def f(files, session: PipSession):\n    for url in files:\n        resp = session.get(url)\n        print(resp.text)\n"),
        # one query per chunk of offsets or per batch (mlflow's metric store, ``in_(batch)``)
        Valid("def f(session, ids, size):\n    for start in range(0, len(ids), size):\n        chunk = ids[start:start + size]\n        session.query(T.id).filter(or_(*[T.id == c for c in chunk])).all()\n"),
        Valid("def f(session, keys):\n    batches = (keys[i:i + 100] for i in range(0, len(keys), 100))\n    for batch in batches:\n        session.query(Metric).filter(Metric.key.in_(batch)).all()\n"),
        Valid("def f(session, ids, size):\n    out = []\n    for start in range(0, len(ids), size):\n        chunk = ids[start:start + size]\n        out.extend(r.id for r in session.query(T.id).filter(T.x.in_(chunk)).all())\n"),
        Valid("def f(ids_by_author):\n    for author, ids in ids_by_author.items():\n        for b in Book.objects.filter(pk__in=ids):\n            print(b)\n"),
        # a different table per pass (mlflow's rollup tables): ``select_from(model)``
        Valid("def f(session, models):\n    return any(session.query(literal(1)).select_from(model).first() is not None for model in models)\n"),
        # --- ORM objects of a query the loop walks (models indexed across the project) ---
        # what the property reads was loaded with the rows
        Valid(_MODELS + "def f():\n    for b in Book.objects.prefetch_related('reviews'):\n        print(b.review_count)\n"),
        Valid(_MODELS + "def f():\n    for b in Book.objects.select_related('author'):\n        print(b.author_name)\n"),
        # members that do not query, writes (PFL203), objects of unknown origin
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        print(b.shout())\n"),
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        b.save()\n"),
        Valid(_MODELS + "def f(books):\n    for b in books:\n        print(b.sales())\n"),
        # the loop stops at the first object it asks
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        if b.review_count:\n            return b\n"),
        # a related-manager call a prefetch serves is PFL202's; a write through it PFL203's
        Valid(_MODELS + "def f():\n    for b in Book.objects.all():\n        print(b.tags.count())\n"),
        Valid(_MODELS + "def f(t):\n    for b in Book.objects.all():\n        b.tags.add(t)\n"),
        # a write (PFL203's), not a query; here once per batch, which is the batched form (prefect's event store)
        Valid("from sqlalchemy import insert\n\ndef f(session, events, batches):\n    stmt = insert(Event).returning(Event.id)\n    for batch in batches:\n        session.scalars(stmt, [e.row() for e in batch])\n"),
    )
    INVALID = (
        Invalid("async def f(db, users):\n    for user in users:\n        user['posts'] = await db.fetch_all(\n            'SELECT id FROM posts WHERE user_id = :u', {'u': user['id']})\n", (3,)),
        Invalid("def f(cur, ids):\n    return [cur.execute('SELECT name FROM t WHERE id = %s', (i,)) for i in ids]\n", (2,)),
        Invalid("def f(orders):\n    for o in orders:\n        customer = Customer.objects.get(pk=o.customer_id)\n", (3,)),
        Invalid("def f(session, ids):\n    for i in ids:\n        session.query(User).filter(User.id == i).first()\n", (3,)),
        Invalid("def f(authors):\n    for a in authors:\n        for book in Book.objects.filter(author=a):\n            print(book)\n", (3,)),
        Invalid("SQL = 'SELECT id FROM t WHERE x = %s'\n\ndef f(conn, xs):\n    for x in xs:\n        conn.execute(SQL, (x,))\n", (5,)),
        Invalid("async def f(conn, ids):\n    async for i in ids:\n        await conn.fetchrow('SELECT a FROM t WHERE id = $1', i)\n", (3,)),
        # a schema prefix formatted in is not a per-iteration table (SQLAlchemy's sqlite reflection)
        Invalid("def f(connection, rows, schema):\n    for row in rows:\n        s = 'SELECT sql FROM %(schema)ssqlite_master WHERE name = ?' % {'schema': schema}\n        connection.exec_driver_sql(s, (row[1],))\n", (4,)),
        # a formatted table that stays the same across iterations
        Invalid("def f(self, cur, ids):\n    for i in ids:\n        cur.execute('SELECT a FROM %s WHERE id = %%s' % self.table, (i,))\n", (3,)),
        # text that starts with a hole is unknown SQL, still a query
        Invalid("BASE = 'SELECT a FROM t'\n\ndef f(cur, ids):\n    for i in ids:\n        cur.execute(f'{BASE} WHERE id = %s', (i,))\n", (5,)),
        # reloading or fetching relations object by object (Django, Tortoise)
        Invalid("def f(orders):\n    for o in orders:\n        o.refresh_from_db()\n", (3,)),
        Invalid("async def f(users):\n    for user in users:\n        await user.fetch_related('groups')\n", (3,)),
        # ``__in`` over a one-row literal, or over a set computed per row, is still per row
        Invalid("def f(permissions):\n    for permission in permissions:\n        groups = permission.groups\n        Task.objects.filter(groups__in=groups.all()).first()\n", (4,)),
        Invalid("def f(ids):\n    for i in ids:\n        Audit.objects.filter(pk__in=[i]).count()\n", (3,)),
        # ``Session.get`` with the model first; ``in_([i])`` is one row; a step of 2 walks pairs
        Invalid("def f(session, ids):\n    for i in ids:\n        session.get(User, i)\n", (3,)),
        Invalid("def f(session, ids):\n    for i in ids:\n        session.query(User).filter(User.id.in_([i])).all()\n", (3,)),
        Invalid("def f(session, ids):\n    for i in range(0, len(ids), 2):\n        session.query(User).filter(User.id == ids[i]).first()\n", (3,)),
        # --- ORM objects: model properties/methods that query, related managers that always query ---
        Invalid(_MODELS + "def f():\n    for b in Book.objects.all():\n        print(b.review_count)\n", (_M + 3,)),
        Invalid(_MODELS + "def f():\n    books = Book.objects.filter(author__name='x')\n    return [b.author_name for b in books]\n", (_M + 3,)),
        Invalid(_MODELS + "def f():\n    for b in Book.objects.prefetch_related('reviews'):\n        print(b.latest_review(), b.sales())\n", (_M + 3, _M + 3)),
        Invalid(_MODELS + "def f():\n    for b in Book.objects.prefetch_related('tags'):\n        print(b.tags.filter(name='x').exists())\n", (_M + 3,)),
        Invalid(_MODELS + "def f():\n    for b in Book.objects.all():\n        for r in b.reviews.filter(created__year=2024):\n            print(r)\n", (_M + 3,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.loops:
            return
        # Classification is memoised (the engine's collector already asked), so it
        # is the cheap question; finding the multiplying loop walks loop bodies.
        query = classify_call(node, ctx)
        if query is None:
            self._orm_object_call(node, ctx)
            return
        if query.is_write or query.is_batch or query.is_ddl:
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False)
        if loop is None:
            return
        if query.opaque_sql is not None and names_read(query.opaque_sql) & loop_bound_names(ctx):
            # ``for sql in statements: cursor.execute(sql)``: a different statement each
            # time (a migration, a script), not the same query repeated per row.
            return
        if query.sql_text is not None and query.sql_node is not None \
                and has_dynamic_table(query.sql_text) \
                and names_read(query.sql_node) & loop_bound_names(ctx):
            # ``"SELECT ... FROM %s" % table`` per table: a different table each time
            # (introspection, per-table checks), which no single query can replace.
            return
        if steps_through_offsets(loop):
            return  # ``for i in range(0, len(ids), size)``: one query per chunk or page
        if query.kind == "orm" and _per_model_or_per_batch(node, loop, ctx):
            return
        if inside_assertion(ctx) or _verification_loop(loop):
            return
        self._report(node, loop, ctx, "query")

    def visit_Attribute(self, node: cst.Attribute, ctx: Context) -> None:
        if not ctx.loops or is_chain_link(node, ctx):
            return
        access = read_access(node, ctx)
        if access is not None:
            self._orm_object_access(access, None, ctx)

    def _orm_object_call(self, node: cst.Call, ctx: Context) -> None:
        """Calls on an object of a query the loop walks: a related-manager call that queries
        even after a prefetch (``book.tags.filter(...).first()``), a model method or
        property that queries (decided against the project's models)."""
        if not isinstance(node.func, cst.Attribute) or is_chain_link(node, ctx):
            return
        access = call_access(node)
        if access is not None:
            self._orm_object_access(access, node, ctx)

    def _orm_object_access(self, access: Access, call: cst.Call | None, ctx: Context) -> None:
        bound = repeated_item(ctx, access.root)
        if bound is None:
            return
        loop, source = bound
        shown = describe_loop(loop, ctx)
        lines_of = {"queryset": source.node} if source.node is not None else {}
        if access.manager is not None:
            if call is None or manager_access(list(access.methods)) != "manager_always" \
                    or not _evaluated(call, access, ctx):
                return  # a call a prefetch serves is PFL202's
            path = (*access.reads, access.manager)
            check = SchemaCheck("lazy_relation", source.model, path, "manager", source.origin)
            ctx.report(self, call, _manager_message(_chain_text(call), path, source, shown),
                       schema_check=check.to_json(), lines_of=lines_of)
            return
        if access.reads:
            member, kind, node = access.reads[0], "property", access.nodes[0]
        elif call is not None and access.methods:
            member, kind, node = access.methods[0], "method", call
        else:
            return
        if member in kb.MODEL_WRITE_METHODS or member in kb.ORM_INSTANCE_QUERY_METHODS:
            return  # a write (PFL203) or a reload the query classification reports
        check = SchemaCheck("querying_member", source.model, (member,), kind, source.origin,
                            source.loaded_names())
        text = f"{access.root}.{member}" + ("()" if kind == "method" else "")
        ctx.report(self, node, f"`{text}` runs a query once per iteration of `{shown}` (N+1): the "
                               f"{kind} queries for each object; compute it for all rows in the "
                               "queryset built at line {queryset} (`annotate(...)`, "
                               "`prefetch_related(...)`) instead" if source.orm == "django" else
                   f"`{text}` runs a query once per iteration of `{shown}` (N+1): the {kind} "
                   "queries for each object; load what it needs for all rows in the query built "
                   "at line {queryset} (a join, `selectinload(...)`, a grouped subquery)",
                   schema_check=check.to_json(), lines_of=lines_of)

    def visit_For(self, node: cst.For, ctx: Context) -> None:
        self._check_iterable(node.iter, ctx)

    def visit_CompFor(self, node: cst.CompFor, ctx: Context) -> None:
        self._check_iterable(node.iter, ctx)

    def _check_iterable(self, iterable: cst.BaseExpression, ctx: Context) -> None:
        # ``for b in Book.objects.filter(author=a)`` inside a loop over authors.
        if not iterates_queryset(iterable):
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False)
        if loop is None or steps_through_offsets(loop) or (
                isinstance(iterable, cst.Call) and _per_model_or_per_batch(iterable, loop, ctx)):
            return  # per chunk, per group or per table, as for the other queries
        self._report(iterable, loop, ctx, "queryset evaluation")

    def _report(self, node: cst.CSTNode, loop: LoopFrame, ctx: Context, what: str) -> None:
        ctx.report(self, node, f"{what} runs once per iteration of `{describe_loop(loop, ctx)}` "
                               "(N+1); fetch all rows in one query or eager-load")



def repeated_item(ctx: Context, name: str) -> tuple[LoopFrame, QuerySource] | None:
    """The loop over a query's rows that binds ``name``, and the query, when each pass
    repeats work: not a loop that runs once, not a check inside an assertion."""
    bound = loop_item(ctx, name)
    if bound is None or item_loop_runs_once(bound[0], ctx) or inside_assertion(ctx):
        return None
    return bound


def item_loop_runs_once(loop: LoopFrame, ctx: Context) -> bool:
    """The loop over a query's objects leaves on its first pass (a first-hit lookup)."""
    return isinstance(loop.node, (cst.For, cst.While)) and exits_early(loop, ctx)


def _evaluated(call: cst.Call, access: Access, ctx: Context) -> bool:
    """The manager chain runs its query here: it ends in a terminal (``.first()``), or is
    iterated, materialised (``list(...)``) or tested (``if ...:``)."""
    last = access.methods[-1] if access.methods else ""
    if last in kb.RELATED_MANAGER_CACHED_METHODS or last in kb.SQLALCHEMY_QUERY_TERMINALS or (
            last in kb.DJANGO_QUERY_TERMINALS and last not in kb.DJANGO_WRITE_TERMINALS):
        return True
    parent = ctx.parents[-1] if ctx.parents else None
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is call:
        return True
    if isinstance(parent, (cst.If, cst.While)) and parent.test is call:
        return True
    grand = ctx.parents[-2] if len(ctx.parents) >= 2 else None
    return isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) \
        and isinstance(grand.func, cst.Name) and grand.func.value in kb.EVALUATING_FUNCTIONS


def _chain_text(node: cst.BaseExpression) -> str:
    """``b.tags.filter(...).first()``: the chain as written, arguments elided."""
    if isinstance(node, cst.Call):
        return f"{_chain_text(node.func)}({'...' if node.args else ''})"
    if isinstance(node, cst.Attribute):
        return f"{_chain_text(node.value)}.{node.attr.value}"
    return dotted_name(node) or "..."


def _manager_message(shown: str, path: tuple[str, ...], source: QuerySource, loop: str) -> str:
    if source.orm == "django":
        return (f"`{shown}` runs a query once per iteration of `{loop}` (N+1), even when `{path[-1]}` "
                "is prefetched; prefetch the filtered rows once with "
                f"`prefetch_related(Prefetch('{'__'.join(path)}', queryset=..., to_attr=...))` on the "
                "queryset built at line {queryset}")
    return (f"`{shown}` runs a query once per iteration of `{loop}` (N+1): a dynamic relationship "
            f"loads nothing up front; query the `{path[-1]}` of all rows at once (`IN` over their ids)")


def _per_model_or_per_batch(call: cst.Call, loop: LoopFrame, ctx: Context) -> bool:
    """``for model in models: model.objects.count()`` queries a different table each
    time; ``filter(pk__in=ids)`` per group (``for type_id, ids in by_type.items()``) or
    per chunk (``for chunk in chunked(ids, 500)``) is already the batched form. Neither
    is one query per row."""
    root = manager_root(call)
    bound = loop_bound_names(ctx)
    if root is not None and names_read(root) & bound or queries_table_from_loop(call, bound):
        return True
    chunked = iterates_batches(loop, ctx)
    for link in chain_calls(call):
        method = link.func.attr.value if isinstance(link.func, cst.Attribute) else None
        for arg in link.args:
            batched = (arg.keyword is not None and arg.keyword.value.endswith("__in")) or (
                method == "in_bulk" and arg.keyword is None)
            # ``pk__in=[i]`` is one row again; the batch is a collection built elsewhere.
            if batched and not isinstance(arg.value, (cst.List, cst.Tuple, cst.Set)) \
                    and (names_read(arg.value) & loop.targets or chunked):
                return True
            if _in_batch(arg.value, loop, chunked):
                return True
    return False


def _in_batch(node: cst.BaseExpression, loop: LoopFrame, chunked: bool) -> bool:
    """SQLAlchemy's ``Model.key.in_(batch)`` over the loop's group or chunk (not over a
    literal one-row list): the batched form, as Django's ``key__in=batch``."""
    for sub in (node, *iter_subtree(node)):
        if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) \
                and sub.func.attr.value == "in_" and len(sub.args) == 1 \
                and not isinstance(sub.args[0].value, (cst.List, cst.Tuple, cst.Set)) \
                and (names_read(sub.args[0].value) & loop.targets or chunked):
            return True
    return False


def inside_assertion(ctx: Context) -> bool:
    """The query only feeds an assertion (``assert ...``, ``self.assertTrue(...)``): a
    test checking each fixture row, not work a request repeats per row."""
    for parent in reversed(ctx.parents):
        if isinstance(parent, cst.Assert):
            return True
        if isinstance(parent, cst.Call):
            name = dotted_name(parent.func) or ""
            last = name.rpartition(".")[2]
            if last.startswith("assert"):
                return True
        if isinstance(parent, (cst.BaseStatement, cst.BaseSmallStatement, cst.Lambda)):
            return False  # left the statement (an ``assert`` returned above)
    return False


def _is_assertion(statement: cst.CSTNode) -> bool:
    if isinstance(statement, cst.Assert):
        return True
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
        name = dotted_name(statement.value.func) or ""
        return name.rpartition(".")[2].startswith("assert")
    return False


def _is_reload(statement: cst.CSTNode) -> bool:
    """``page.refresh_from_db()`` / ``await user.fetch_related("groups")`` as a statement."""
    if not isinstance(statement, cst.Expr):
        return False
    value = statement.value
    if isinstance(value, cst.Await):
        value = value.expression
    return isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
        and value.func.attr.value in kb.ORM_INSTANCE_QUERY_METHODS


def _verification_loop(loop: LoopFrame) -> bool:
    """``for p in pages: fresh = Page.objects.get(pk=p.pk); self.assertTrue(fresh.live)``:
    a loop whose body only fetches a row and asserts on it (a test checking fixtures)."""
    body = loop.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    assertions = 0
    for statement in body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if _is_assertion(small):
                assertions += 1
            elif not (isinstance(small, cst.Assign) or _is_reload(small)):
                return False
    return assertions > 0
