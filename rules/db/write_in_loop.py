"""PFL203 write-in-loop."""

from __future__ import annotations

import re

import libcst as cst

from perflint import knowledge as kb
from perflint.context import Context, LoopFrame
from perflint.cstutil import (
    call_method_name,
    chain_name,
    dotted_name,
    names_read,
    receiver,
)
from perflint.queries import (
    QueryCall,
    chain_calls,
    classify_call,
    has_dynamic_table,
    manager_root,
)
from perflint.rulebase import Invalid, PythonRule, Valid, Words
from perflint.rules.db import evidence as ev
from perflint.rules.loops import describe_loop, loop_bound_names, multiplying_loop

_VERB = re.compile(r"^\W*(insert|update|delete|replace|merge|upsert)\b", re.IGNORECASE)


class WriteInLoop(PythonRule):
    """
    ## What it does
    Flags a database write that runs once per iteration of a loop: an `INSERT`,
    `UPDATE` or `DELETE` sent through a cursor or connection, a Django
    `Model.objects.create()`, `obj.save()` / `obj.delete()` on the loop's model
    objects, a queryset `.update()` / `.delete()`, a related manager's `.add()` /
    `.remove()`, SQLAlchemy `query.update()`, and `session.commit()` / `flush()`
    (or a connection's `commit()`) per iteration.

    ## Why is this bad?
    Every write is a round trip, and every commit is a transaction with its own
    durable log flush. Importing 10,000 rows one statement at a time takes 10,000
    round trips where one batched statement (or a few) would do, and holds locks
    far longer.

    ## Example
    ```python
    async def create_users(users_data):
        for user in users_data:
            await db.execute(
                "INSERT INTO users (name, email) VALUES (?, ?)",
                user['name'], user['email']
            )
    ```

    ## Use instead
    ```python
    async def create_users(users_data):
        values = [(user['name'], user['email']) for user in users_data]
        await db.execute_many("INSERT INTO users (name, email) VALUES (?, ?)", values)
    ```
    Django: `Model.objects.bulk_create(objs)`, `bulk_update(objs, fields)`,
    `qs.update(...)`, `obj.tags.add(*tags)`; SQL: one `UPDATE ... WHERE id = ANY(%s)`;
    SQLAlchemy: `session.add_all(objs)` and one `commit()` after the loop. (Bulk
    methods skip `save()` overrides and signals: move that logic along.)

    Not reported: `session.add()` in a loop (the unit of work batches it),
    `executemany` / `bulk_*`, loops over a small literal, `while` and `async for`
    loops (queue and stream consumers), loops over chunks or batches, one statement
    per table or per model (`for model in models: model.objects.all().delete()`),
    DDL, `save()` on anything the code does not show to be a model object (a form, an
    image, a file), and a `commit()` under an `if` or inside a `try` in the loop
    (periodic commits, per-item error isolation).
    """

    code = "PFL203"
    name = "write-in-loop"
    summary = "a database write runs once per loop iteration"
    message = "write runs once per iteration"
    severity = "warning"
    base_cost = 4.0
    fix_hint = ("Write all rows in one call (executemany, bulk_create/bulk_update, one UPDATE ... "
                "WHERE id = ANY(...)) and commit once after the loop; bulk methods skip save() "
                "overrides and signals, so move that logic along.")
    candidate = Words(("insert", "update", "delete", "upsert", "replace", "merge", "create", "save",
                       ".add(", ".aadd(", ".remove(", ".aremove(", "commit", "flush"), ignore_case=True)

    VALID = (
        # --- RULES.md hard negatives ---
        # session.add() in a loop: the unit of work sends the rows together
        Valid("def f(session, rows):\n    for r in rows:\n        session.add(User(**r))\n    session.commit()\n"),
        # executemany / bulk methods
        Valid("def f(cur, rows):\n    cur.executemany('INSERT INTO t (a) VALUES (%s)', rows)\n"),
        Valid("def f(rows):\n    Item.objects.bulk_create([Item(**r) for r in rows])\n"),
        Valid("async def f(db, users):\n    values = [(u['name'],) for u in users]\n    await db.execute_many('INSERT INTO users (name) VALUES (?)', values)\n"),
        # --- task hard negatives ---
        # a small literal loop
        Valid("def f(cur):\n    for status in ('new', 'paid', 'shipped'):\n        cur.execute('UPDATE stats SET n = 0 WHERE status = %s', (status,))\n"),
        # while loops drain a queue or page through batches
        Valid("def drain(cur, queue):\n    while queue:\n        item = queue.pop()\n        cur.execute('INSERT INTO log (v) VALUES (%s)', (item,))\n"),
        # one write per chunk / batch is the batched form
        Valid("def f(cur, chunks):\n    for chunk in chunks:\n        cur.execute('DELETE FROM t WHERE id = ANY(%s)', (chunk,))\n"),
        Valid("def f(ids):\n    for batch in batched(ids, 500):\n        Item.objects.filter(pk__in=batch).update(seen=True)\n"),
        # DDL per table
        Valid("def f(cur, tables):\n    for t in tables:\n        cur.execute(f'TRUNCATE {t}')\n"),
        # save() of something that is not visibly a model object
        Valid("def f(forms):\n    for form in forms:\n        form.save()\n"),
        Valid("def f(paths):\n    for p in paths:\n        image = Image.open(p)\n        image.save(p + '.png')\n"),
        Valid("def f(request, files):\n    for upload in files:\n        upload.save()\n"),
        Valid("from shop.models import Order\n\ndef f(orders):\n    for o in orders:\n        o.save()\n"),
        # the loop item rebound to something else before the save
        Valid("from shop.models import Product\n\ndef f():\n    for p in Product.objects.all():\n        p = render_thumbnail(p)\n        p.save('thumb.png')\n"),
        # values() rows are dicts, not model objects
        Valid("from shop.models import Order\n\ndef f():\n    for row in Order.objects.values('id'):\n        row.save()\n"),
        # a dict's or a set's add/remove; a related manager add outside any loop
        Valid("def f(items, seen):\n    for i in items:\n        seen.add(i)\n"),
        Valid("from shop.models import Post\n\ndef f(post_id, tags):\n    post = Post.objects.get(pk=post_id)\n    post.tags.add(*tags)\n"),
        # --- discovered ---
        # periodic commit and per-item error isolation
        Valid("def f(session, rows):\n    for i, r in enumerate(rows):\n        session.add(User(**r))\n        if i % 1000 == 0:\n            session.commit()\n"),
        Valid("def f(session, rows):\n    for r in rows:\n        try:\n            session.add(User(**r))\n            session.commit()\n        except IntegrityError:\n            session.rollback()\n"),
        # a commit on something that is not visibly a session or connection
        Valid("def f(repo, changes):\n    for c in changes:\n        repo.index.commit(c.message)\n"),
        Valid("def f(git, changes):\n    for c in changes:\n        g = Git(c)\n        g.commit()\n"),
        # one statement per model / per table
        Valid("def reset(models):\n    for model in models:\n        model.objects.all().delete()\n"),
        Valid("def f(cur, tables):\n    for t in tables:\n        cur.execute('DELETE FROM %s WHERE stale' % t)\n"),
        # per group: the ``__in`` list is the batch
        Valid("def f(ids_by_status):\n    for status, ids in ids_by_status.items():\n        Order.objects.filter(pk__in=ids).update(status=status)\n"),
        # the loop returns after the first write
        Valid("def f(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t (a) VALUES (%s)', (r,))\n        return\n"),
        # a stream consumer (async for)
        Valid("async def f(conn, stream):\n    async for event in stream:\n        await conn.execute('INSERT INTO events (v) VALUES ($1)', event)\n"),
        # a read per row is PFL201's, not a write
        Valid("def f(cur, ids):\n    for i in ids:\n        cur.execute('SELECT a FROM t WHERE id = %s', (i,))\n"),
        # one statement per model of the app (a data migration), not per row
        Valid("def forwards(apps, schema_editor):\n    for Model in apps.get_models():\n        ct = ContentType.objects.get_for_model(Model)\n        Permission.objects.filter(content_type=ct).update(content_type=ct)\n"),
        # a different table per pass (SQLAlchemy Core tables)
        Valid("def f(conn, tables):\n    for table in tables:\n        conn.execute(table.delete())\n"),
        Valid("def f(conn, tables):\n    for table in tables:\n        stmt = table.delete().where(table.c.stale)\n        conn.execute(stmt)\n"),
        # a different statement per pass (a migration script)
        Valid("def f(cursor, statements):\n    for sql in statements:\n        cursor.execute(sql)\n"),
        # --- from real code (issue 5 sample: Home Assistant recorder, mlflow) ---
        # a DELETE per chunk of ids (``range(0, n, SQLITE_MAX_BIND_VARS)`` offsets)
        Valid("def f(session, table, ids):\n    for i in range(0, len(ids), MAX_VARS):\n        session.query(table).filter(table.id.in_(ids[i:i + MAX_VARS])).delete(synchronize_session=False)\n"),
        # one DELETE per table: the model comes from the loop
        Valid("def f(session, families):\n    return {f: session.query(FAMILY_MODEL[f]).delete(synchronize_session=False) for f in families}\n"),
    )
    INVALID = (
        # raw SQL through a DB-API cursor, databases, asyncpg
        Invalid("def f(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t (a) VALUES (%s)', (r,))\n", (3,)),
        Invalid("async def create_users(db, users_data):\n    for user in users_data:\n        await db.execute(\n            'INSERT INTO users (name, email) VALUES (?, ?)',\n            user['name'], user['email'])\n", (3,)),
        Invalid("async def f(conn, ids):\n    for i in ids:\n        await conn.execute('UPDATE t SET seen = true WHERE id = $1', i)\n", (3,)),
        Invalid("def f(cur, ids):\n    [cur.execute('DELETE FROM t WHERE id = %s', (i,)) for i in ids]\n", (2,)),
        # SQLAlchemy Core statement built as a write, and Query.update()
        Invalid("def f(connection, table, values):\n    for v in values:\n        connection.execute(table.insert(), {'v': v})\n", (3,)),
        Invalid("def f(session, ids):\n    for i in ids:\n        session.query(User).filter(User.id == i).update({'active': False})\n", (3,)),
        Invalid("from sqlalchemy import update\n\ndef f(session, rows):\n    for row in rows:\n        session.execute(update(User).where(User.id == row['id']).values(score=row['score']))\n", (5,)),
        Invalid("from sqlalchemy import delete\n\ndef f(session, ids):\n    for i in ids:\n        stmt = delete(User).where(User.id == i)\n        session.execute(stmt)\n", (6,)),
        # Django create / queryset update and delete / get_or_create
        Invalid("def f(users):\n    for u in users:\n        Profile.objects.create(user=u)\n", (3,)),
        Invalid("def f(orders):\n    for o in orders:\n        Order.objects.filter(pk=o.pk).update(status='paid')\n", (3,)),
        Invalid("def f(names):\n    for n in names:\n        Tag.objects.get_or_create(name=n)\n", (3,)),
        Invalid("async def f(users):\n    for u in users:\n        await Profile.objects.acreate(user=u)\n", (3,)),
        Invalid("def f(orders):\n    for o in orders:\n        stale = Order.objects.filter(customer=o.customer)\n        stale.delete()\n", (4,)),
        # save() on the loop's model objects: a queryset, objects built in the loop, a list of them
        Invalid("from shop.models import Order\n\ndef f():\n    for o in Order.objects.filter(status='new'):\n        o.status = 'paid'\n        o.save()\n", (6,)),
        Invalid("def f():\n    orders = Order.objects.filter(status='new')\n    for i, o in enumerate(orders):\n        o.rank = i\n        o.save(update_fields=['rank'])\n", (5,)),
        Invalid("from shop.models import Order\n\ndef f(rows):\n    for row in rows:\n        order = Order(**row)\n        order.save()\n", (6,)),
        Invalid("from .models import Order\n\ndef f(rows):\n    orders = [Order(**r) for r in rows]\n    for o in orders:\n        o.save()\n", (6,)),
        Invalid("from shop.models import Order\n\ndef f(orders: list[Order]):\n    for o in orders:\n        o.delete()\n", (5,)),
        Invalid("def f(ids):\n    for i in ids:\n        order = Order.objects.get(pk=i)\n        order.paid = True\n        order.save()\n", (5,)),
        Invalid("from django.db import models\n\nclass Order(models.Model):\n    pass\n\ndef f(rows):\n    for r in rows:\n        Order(**r).save()\n", (8,)),
        # a related manager add / remove per item
        Invalid("from shop.models import Post\n\ndef f(post: Post, tags):\n    for tag in tags:\n        post.tags.add(tag)\n", (5,)),
        Invalid("def f(names):\n    post = Post.objects.get(pk=1)\n    for n in names:\n        post.tags.remove(Tag.objects.get(name=n))\n", (4,)),
        # commit / flush per iteration
        Invalid("def f(session, rows):\n    for r in rows:\n        session.add(User(**r))\n        session.commit()\n", (4,)),
        Invalid("from sqlalchemy.orm import sessionmaker\nSessionLocal = sessionmaker(bind=engine)\n\ndef f(rows):\n    db = SessionLocal()\n    for r in rows:\n        db.add(User(**r))\n        db.flush()\n", (8,)),
        Invalid("import sqlite3\n\ndef f(rows):\n    conn = sqlite3.connect('app.db')\n    for r in rows:\n        conn.execute('INSERT INTO t (a) VALUES (?)', (r,))\n        conn.commit()\n", (6, 7)),
        # SQLAlchemy: an INSERT ... RETURNING through ``session.scalars`` is a write, as through ``execute``
        Invalid("from sqlalchemy import insert\n\ndef f(session, events):\n    for e in events:\n        session.scalars(insert(Event).returning(Event.id), e.row())\n", (5,)),
    )

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        if not ctx.loops:
            return
        method = call_method_name(node)
        if method is None:
            return
        query = classify_call(node, ctx)
        if (query is None or not query.is_write) and method not in _OTHER_WRITE_METHODS:
            return
        loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False, allow_async_for=False)
        if loop is None or ev.iterates_batches(loop, ctx) or ev.iterates_schema(loop):
            return
        if query is not None and query.is_write:
            message = _query_write(node, query, method, loop, ctx)
        else:
            message = _other_write(node, method, loop, ctx)
        if message is None:
            return
        if ev.in_test_file(ctx):
            # Test setup and benchmarks write row by row on purpose as often as not.
            ctx.report(self, node, message, confidence="low")
        else:
            ctx.report(self, node, message)


# Methods that can write without being a query the engine classifies (instance saves,
# related managers, transaction ends, Query and local-queryset updates).
_OTHER_WRITE_METHODS = (kb.DJANGO_INSTANCE_WRITES | kb.DJANGO_RELATED_ROW_WRITES | kb.TRANSACTION_END_METHODS
                        | kb.SQLALCHEMY_QUERY_WRITES | {"aupdate", "adelete"})


def _query_write(call: cst.Call, query: QueryCall, method: str, loop: LoopFrame, ctx: Context) -> str | None:
    """A write the engine classified (SQL through a sink, a Django manager write)."""
    if query.is_batch or query.is_ddl:
        return None
    where = describe_loop(loop, ctx)
    bound = loop_bound_names(ctx)
    if query.kind == "sql":
        if query.opaque_sql is not None and _statement_varies(query.opaque_sql, loop, bound, ctx):
            return None  # a different statement per pass (``for table in tables: table.delete()``)
        if query.sql_text is not None and query.sql_node is not None \
                and has_dynamic_table(query.sql_text) and names_read(query.sql_node) & bound:
            return None  # a different table per pass
        verb_match = _VERB.match(query.sql_text or "")
        verb = verb_match.group(1).upper() if verb_match else None
        if verb == "INSERT" or verb is None and _inserts(query.opaque_sql):
            return (f"`INSERT` runs once per iteration of `{where}`; send all rows in one call "
                    "(`executemany` / `execute_many`, or one multi-row `INSERT ... VALUES`)")
        shown = f"`{verb}`" if verb else "a write statement"
        return (f"{shown} runs once per iteration of `{where}`; write all rows in one statement "
                "(`... WHERE id = ANY(%s)` with the list of ids) or one `executemany`")
    if _per_model_or_group(call, loop, ctx):
        return None
    model = ev.model_label(call, ctx)
    if method.removeprefix("a") == "create":
        return (f"`{model}.objects.{method}()` inserts one row per iteration of `{where}`; build the "
                f"objects in the loop and insert them with one `{model}.objects.bulk_create(objs)`")
    if method in kb.DJANGO_PAIR_GETTERS or method.removeprefix("a") in kb.DJANGO_PAIR_GETTERS:
        return (f"`{model}.objects.{method}()` runs a query (and maybe a write) per iteration of "
                f"`{where}`; fetch the existing rows once (`filter(key__in=keys)`), then "
                f"`bulk_create` the missing ones (`ignore_conflicts=True`) / `bulk_update` the rest")
    return _queryset_write_message(method, model, where)


def _queryset_write_message(method: str, model: str, where: str) -> str:
    action = method.removeprefix("a")
    if action == "delete":
        return (f"`.delete()` runs one DELETE per iteration of `{where}`; delete all rows at once "
                f"(`{model}.objects.filter(pk__in=ids).delete()`)")
    return (f"`.{method}()` runs one UPDATE per iteration of `{where}`; update all rows at once "
            f"(`{model}.objects.filter(pk__in=ids).update(...)`, or `bulk_update(objs, fields)` "
            "for values that differ per row)")


def _other_write(call: cst.Call, method: str, loop: LoopFrame, ctx: Context) -> str | None:
    where = describe_loop(loop, ctx)
    base = receiver(call)
    if method in kb.TRANSACTION_END_METHODS:
        return _transaction_end(call, method, loop, ctx)
    if method in kb.DJANGO_RELATED_ROW_WRITES:
        return _related_write(call, method, loop, ctx)
    if method in kb.SQLALCHEMY_QUERY_WRITES and base is not None and ev.is_sqlalchemy_query(base, ctx):
        if ev.queries_table_from_loop(call, loop_bound_names(ctx)):
            return None  # ``session.query(model).delete()`` per model: a table per pass
        return (f"`query.{method}()` runs one {method.upper()} per iteration of `{where}`; "
                f"{method} all rows in one statement (`{method}(Model).where(Model.id.in_(ids))`)")
    if method in kb.DJANGO_INSTANCE_WRITES and isinstance(base, cst.Name):
        source = _instance_source(base.value, loop, ctx)
        if source is not None:
            return _instance_write_message(base.value, method, source, where, ctx)
    if isinstance(base, cst.Call) and method in kb.DJANGO_INSTANCE_WRITES \
            and ev.is_instance_expression(base, ctx):
        return _instance_write_message("obj", method, base, where, ctx)  # ``Order(**r).save()``
    if method.removeprefix("a") in ("update", "delete") and base is not None \
            and ev.is_queryset(base, ctx):
        if isinstance(base, cst.Name) and base.value in loop_bound_names(ctx) \
                and _per_model_or_group_value(base.value, loop, ctx):
            return None
        return _queryset_write_message(method, _queryset_model(base, ctx), where)
    return None


def _instance_source(name: str, loop: LoopFrame, ctx: Context) -> cst.BaseExpression | None:
    """What shows ``name`` to be a model object written per iteration: the iterable of the
    loop it is the item of, or its assignment inside the loop body. None otherwise (a
    form, an image, an object fetched once before the loop)."""
    body = loop.body
    values = ev.assigned_in(body, name, ctx) if body is not None and not isinstance(loop.node, cst.CompFor) else []
    if values:
        # rebound in the loop: the new value decides (``img = Image.open(p)`` is no model)
        return values[-1] if all(ev.is_instance_expression(v, ctx) for v in values) else None
    for frame in reversed(ctx.loops):
        if name in frame.targets and ev.loop_yields_instances(frame, name, ctx):
            node = frame.node
            assert isinstance(node, (cst.For, cst.CompFor))
            return node.iter
    return None


def _instance_write_message(name: str, method: str, source: cst.BaseExpression, where: str,
                            ctx: Context) -> str:
    model = _instance_model(source, ctx)
    if method.removeprefix("a") == "delete":
        return (f"`{name}.{method}()` runs one DELETE per iteration of `{where}`; delete the rows "
                f"at once (`{model}.objects.filter(pk__in=ids).delete()`, or `qs.delete()`)")
    new = isinstance(source, cst.Call) and isinstance(source.func, (cst.Name, cst.Attribute)) \
        and ev.is_model_class(source.func, ctx)
    if new:
        return (f"`{name}.{method}()` inserts one row per iteration of `{where}`; collect the new "
                f"objects and insert them with one `{model}.objects.bulk_create(objs)`")
    return (f"`{name}.{method}()` writes one row per iteration of `{where}`; change the objects in "
            f"the loop and save them with one `{model}.objects.bulk_update(objs, [fields])` "
            "(or one `qs.update(...)` when every row gets the same values)")


def _instance_model(source: cst.BaseExpression, ctx: Context) -> str:
    source = ev.unwrap_await(source)
    if isinstance(source, cst.Subscript):
        source = source.value
    if isinstance(source, cst.Call):
        if ctx.qualified_name(source.func) in kb.DJANGO_INSTANCE_SHORTCUTS and source.args:
            return dotted_name(source.args[0].value) or "Model"
        label = ev.model_label(source, ctx)
        if label != "Model":
            return label
    if isinstance(source, (cst.ListComp, cst.GeneratorExp)):
        return _instance_model(source.elt, ctx)
    if isinstance(source, (cst.List, cst.Tuple)) and source.elements:
        return _instance_model(source.elements[0].value, ctx)
    if isinstance(source, cst.Name):
        values = ctx.assigned_values(source.value)
        if values:
            return _instance_model(values[-1], ctx)
    return "Model"


def _queryset_model(node: cst.BaseExpression, ctx: Context) -> str:
    if isinstance(node, cst.Name):
        values = ctx.assigned_values(node.value)
        return _queryset_model(values[-1], ctx) if values else "Model"
    return ev.model_label(node, ctx)


def _related_write(call: cst.Call, method: str, loop: LoopFrame, ctx: Context) -> str | None:
    """``post.tags.add(tag)`` per iteration, ``post`` visibly a model object."""
    manager = receiver(call)
    if not (isinstance(manager, cst.Attribute) and isinstance(manager.value, cst.Name)):
        return None
    owner = manager.value.value
    bound = loop_bound_names(ctx)
    if owner in bound:
        if _instance_source(owner, loop, ctx) is None:
            return None
        through = f"{_instance_model(_instance_source(owner, loop, ctx), ctx)}.{manager.attr.value}.through"
        return (f"`{owner}.{manager.attr.value}.{method}()` runs once per iteration of "
                f"`{describe_loop(loop, ctx)}`; write the links at once with "
                f"`{through}.objects.bulk_create([...])` (or `.filter(...).delete()`)")
    if not ev.is_model_instance(manager.value, ctx):
        return None
    items = "*objs"
    node = loop.node
    if isinstance(node, (cst.For, cst.CompFor)) and len(call.args) == 1 \
            and names_read(call.args[0].value) <= loop.targets:
        shown = ev.short_code(node.iter, ctx, 30)
        items = f"*{shown}" if shown and isinstance(node.iter, (cst.Name, cst.Attribute)) else "*objs"
    return (f"`{owner}.{manager.attr.value}.{method}()` runs once per iteration of "
            f"`{describe_loop(loop, ctx)}`; pass them all in one call: "
            f"`{owner}.{manager.attr.value}.{method}({items})`")


def _transaction_end(call: cst.Call, method: str, loop: LoopFrame, ctx: Context) -> str | None:
    """``session.commit()`` / ``conn.commit()`` / ``session.flush()`` per iteration; not under
    an ``if`` (a periodic commit every N rows) or in a ``try`` (per-item error isolation)."""
    if call.args and method == "commit":
        return None  # ``commit(message)``: not a database transaction
    if not ev.is_transaction_handle(receiver(call), ctx):
        return None
    if _guarded_in_loop(loop, ctx):
        return None
    shown = ev.short_code(call.func, ctx, 30) or method
    if method == "flush":
        return (f"`{shown}()` runs once per iteration of `{describe_loop(loop, ctx)}`, one round "
                "trip per row; flush (or commit) once after the loop")
    return (f"`{shown}()` runs once per iteration of `{describe_loop(loop, ctx)}`: one transaction "
            "and one durable log flush per row; commit once after the loop")


def _guarded_in_loop(loop: LoopFrame, ctx: Context) -> bool:
    """An ``if`` or ``try`` between the loop and the call (``ctx.parents`` is the path)."""
    inside = False
    for parent in ctx.parents:
        if parent is loop.node:
            inside = True
        elif inside and isinstance(parent, (cst.If, cst.Try, cst.TryStar, cst.IfExp)):
            return True
    return False


def _per_model_or_group(call: cst.Call, loop: LoopFrame, ctx: Context) -> bool:
    """``for model in models: model.objects.all().delete()`` (a table per pass) and
    ``for status, ids in groups.items(): filter(pk__in=ids).update(...)`` (a batch per
    group): neither is one write per row."""
    root = manager_root(call)
    if root is not None and names_read(root) & loop_bound_names(ctx):
        return True
    for link in chain_calls(call):
        for arg in link.args:
            keyword = arg.keyword.value if arg.keyword is not None else ""
            if keyword.endswith("__in") and not isinstance(arg.value, (cst.List, cst.Tuple, cst.Set)) \
                    and names_read(arg.value) & loop.targets:
                return True
    return False


def _per_model_or_group_value(name: str, loop: LoopFrame, ctx: Context) -> bool:
    values = ctx.assigned_values(name)
    return bool(values) and all(isinstance(v, cst.Call) and _per_model_or_group(v, loop, ctx)
                                for v in values)


def _statement_varies(statement: cst.BaseExpression, loop: LoopFrame, bound: set[str], ctx: Context) -> bool:
    """The statement itself changes per pass: it is the loop item (``for sql in statements``),
    or its table / constructor comes from the loop (``for t in tables: t.delete()``). Values
    bound into it (``update(User).where(User.id == row["id"])``) do not count: that is the
    same statement per row."""
    if isinstance(statement, cst.Name) and statement.value in bound:
        if any(statement.value in frame.targets for frame in ctx.loops) or loop.body is None:
            return True
        values = ev.assigned_in(loop.body, statement.value, ctx)
        return not values or any(_skeleton_names(v) & bound for v in values)
    return bool(_skeleton_names(statement) & bound)


def _skeleton_names(node: cst.BaseExpression) -> set[str]:
    """Names a statement's shape depends on: the constructor call and what its methods hang
    off, not the arguments of ``.where(...)`` / ``.values(...)`` clauses."""
    node = ev.unwrap_await(node)
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute):
            return _skeleton_names(node.func.value)
        return names_read(node)
    if isinstance(node, (cst.Attribute, cst.Subscript)):
        return _skeleton_names(node.value)
    return names_read(node)


def _inserts(statement: cst.BaseExpression | None) -> bool:
    if statement is None:
        return False
    text = chain_name(statement)  # ``insert(T).returning(T.id)`` as ``insert().returning()``
    return text is not None and "insert" in text.lower()
