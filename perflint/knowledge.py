"""What perflint knows about libraries, as tables rather than scattered string checks.

Every table here can be extended from ``[tool.perflint]`` (see config.py), so a
team's own helpers can be taught without a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# Methods that execute the SQL string given as their first argument (or keyword).
# Name -> True when the method name alone is distinctive enough to trust; generic
# names (``execute``, ``fetch``) also need a database-looking receiver or a SQL literal.
SQL_SINK_METHODS: dict[str, bool] = {
    # DB-API / Django cursor / SQLAlchemy connection / asyncpg / aiosqlite
    "execute": False,
    "executemany": True,
    "executescript": True,
    # asyncpg
    "fetch": False,
    "fetchrow": True,
    "fetchval": True,
    # encode/databases
    "fetch_all": True,
    "fetch_one": True,
    "fetch_val": True,
    "execute_many": True,
    # SQLAlchemy
    "exec_driver_sql": True,
    # Django
    "raw": False,
    "extra": False,
}

# Plain functions whose first argument is SQL text.
SQL_SINK_FUNCTIONS: frozenset[str] = frozenset(
    {"text", "read_sql", "read_sql_query", "pandas.read_sql", "pd.read_sql", "pd.read_sql_query",
     "sqlalchemy.text", "sa.text"}
)

# Driver modules -> the SQL dialect their queries are written in (when the configuration
# names none): the first such import in a file decides.
DRIVER_DIALECTS: dict[str, str] = {
    "sqlite3": "sqlite", "aiosqlite": "sqlite", "pymysql": "mysql", "MySQLdb": "mysql",
    "aiomysql": "mysql", "mysql": "mysql", "asyncmy": "mysql", "psycopg2": "postgres",
    "psycopg": "postgres", "asyncpg": "postgres", "pyodbc": "tsql", "cx_Oracle": "oracle",
    "oracledb": "oracle", "duckdb": "duckdb", "snowflake": "snowflake", "sqlite_utils": "sqlite",
    "pysqlite3": "sqlite", "sqlean": "sqlite", "apsw": "sqlite",
}
# Drivers also recognised when re-exported by the project (``from .utils import sqlite3``):
# names no module of another kind plausibly has (not ``mysql`` or ``snowflake``).
REEXPORTED_DRIVERS: frozenset[str] = frozenset(DRIVER_DIALECTS) - {"mysql", "snowflake"}
# Dialects tried, in order, when no dialect is configured or told by an import and the
# text does not parse as PostgreSQL, each only for text that shows that dialect's syntax
# (lenient dialects read garbage too).
DEFAULT_DIALECT_FALLBACKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mysql", re.compile(r"`\w+`|\bDATABASE\(\)|\bON\s+DUPLICATE\s+KEY\b|\bENGINE\s*=|\bAUTO_INCREMENT\b",
                         re.IGNORECASE)),
    # ``[name]`` quoting (not ``ARRAY[1]``, ``col[1]``, ``::int[]``), SQLite-only statements
    ("sqlite", re.compile(r"(?<![\w\])])\[[A-Za-z_][^\[\]]*\]|\bPRAGMA\b|\bINSERT\s+OR\s+(?:REPLACE|IGNORE)\b",
                          re.IGNORECASE)),
)

# Keyword names under which sinks accept the SQL text.
SQL_KEYWORDS: frozenset[str] = frozenset({"query", "sql", "statement", "operation", "stmt"})

# Statement builders (SQLAlchemy Core ``t.insert()``, ``update(T)``, ``delete(T)``) and
# words in a statement variable's name (``delete_stmt``) that mark an opaque statement
# as a write: PFL203's, not a read repeated per row.
WRITE_STATEMENT_WORDS: frozenset[str] = frozenset({"insert", "update", "delete", "upsert"})

# System catalogs: metadata whose size follows the schema, not the data. A query that
# reads only these (introspection, provisioning) does not grow with the application.
CATALOG_SCHEMAS: frozenset[str] = frozenset(
    {"information_schema", "pg_catalog", "sys", "mysql", "performance_schema", "sqlite_temp"}
)
CATALOG_TABLES: frozenset[str] = frozenset(
    {"dual", "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_sequence"}
)
CATALOG_TABLE_PREFIXES: tuple[str, ...] = ("pg_", "v$", "gv$")
# Oracle data dictionary views: USER_/ALL_/DBA_ + one of these.
ORACLE_DICTIONARY_VIEWS: frozenset[str] = frozenset(
    {"tables", "views", "constraints", "cons_columns", "tab_columns", "tab_cols", "indexes",
     "ind_columns", "ind_expressions", "sequences", "synonyms", "mviews", "objects",
     "tab_comments", "col_comments", "triggers", "tablespaces", "users", "db_links",
     "part_tables", "tab_identity_cols", "tab_partitions", "lobs", "procedures", "source",
     "dependencies", "role_privs", "tab_privs", "sys_privs", "tab_statistics",
     "ind_statistics", "tab_modifications", "recyclebin", "queues", "scheduler_jobs"}
)


def is_catalog_table(name: str, schema: str = "") -> bool:
    name = name.lower()
    if schema.lower() in CATALOG_SCHEMAS or name in CATALOG_TABLES:
        return True
    if name.startswith(CATALOG_TABLE_PREFIXES):
        return True
    prefix, _, rest = name.partition("_")
    return prefix in ("user", "all", "dba") and rest in ORACLE_DICTIONARY_VIEWS


# Methods that take many parameter sets in one call: a batch, never per-row work.
BATCH_METHODS: frozenset[str] = frozenset({"executemany", "execute_many", "copy_records_to_table"})

# Receiver names (last component of the object a method is called on) that look
# like a database handle. Matched case-insensitively, also as a suffix after "_".
DB_RECEIVER_NAMES: frozenset[str] = frozenset(
    {"cursor", "cur", "c", "conn", "connection", "con", "db", "database", "session", "sess",
     "engine", "tx", "txn", "transaction", "pool", "dbconn", "pg", "asyncpg", "sqlite", "cnx"}
)

# Django: ``X.objects.<...>.<terminal>()`` runs a query when the terminal is one of these.
_DJANGO_SYNC_TERMINALS = frozenset(
    {"get", "first", "last", "count", "exists", "aggregate", "in_bulk", "earliest", "latest",
     "get_or_create", "update_or_create", "create", "update", "delete", "bulk_create",
     "bulk_update", "contains", "explain"}
)
_DJANGO_SYNC_WRITES = frozenset(
    {"create", "update", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
)
# Django 4.1+ has an ``a``-prefixed async twin of every terminal (``aget``, ``acount``...).
DJANGO_QUERY_TERMINALS: frozenset[str] = _DJANGO_SYNC_TERMINALS | {f"a{m}" for m in _DJANGO_SYNC_TERMINALS}
DJANGO_WRITE_TERMINALS: frozenset[str] = _DJANGO_SYNC_WRITES | {f"a{m}" for m in _DJANGO_SYNC_WRITES}
# Lazy queryset builders: iterating / list()-ing them runs the query.
DJANGO_QUERYSET_BUILDERS: frozenset[str] = frozenset(
    {"all", "filter", "exclude", "order_by", "values", "values_list", "select_related",
     "prefetch_related", "annotate", "distinct", "only", "defer", "using", "raw", "alias",
     "reverse", "select_for_update", "complex_filter", "iterator", "dates", "datetimes", "none",
     "union", "intersection", "difference"}
)
DJANGO_MANAGER_ATTRS: frozenset[str] = frozenset({"objects", "_default_manager", "_base_manager"})

# SQLAlchemy session methods that run a query, and Query terminals.
SQLALCHEMY_SESSION_QUERY_METHODS: frozenset[str] = frozenset({"execute", "scalars", "scalar", "get"})
SQLALCHEMY_QUERY_TERMINALS: frozenset[str] = frozenset(
    {"all", "first", "one", "one_or_none", "scalar", "count", "get",
     # Flask-SQLAlchemy's query helpers
     "first_or_404", "get_or_404", "one_or_404", "paginate"}
)
# Methods of a loaded ORM object that read from the database, distinctive by name alone.
ORM_INSTANCE_QUERY_METHODS: frozenset[str] = frozenset(
    {"refresh_from_db", "arefresh_from_db", "fetch_related"}
)
SESSION_RECEIVER_NAMES: frozenset[str] = frozenset({"session", "db", "db_session", "sess", "s"})

# --- ORM models, querysets and eager loading (perflint/ormmodels.py, perflint/querysets.py) --
# Django relation fields (the constructor's last name) -> relation kind. "generic" is a
# GenericForeignKey (one object, any model); a GenericRelation holds many, like an M2M.
DJANGO_RELATION_FIELDS: dict[str, str] = {
    "ForeignKey": "fk", "OneToOneField": "o2o", "ManyToManyField": "m2m",
    "GenericForeignKey": "generic", "GenericRelation": "generic_many",
    "ParentalKey": "fk", "ParentalManyToManyField": "m2m",  # django-modelcluster (Wagtail)
    "TreeForeignKey": "fk", "TreeOneToOneField": "o2o", "TreeManyToManyField": "m2m",  # mptt
}
# Packages those fields (and model fields in general) come from: a constructor's
# qualified name must start with one of these to count (never a look-alike name).
DJANGO_FIELD_PACKAGES: tuple[str, ...] = ("django.", "modelcluster.", "mptt.")
DJANGO_MODEL_BASES: frozenset[str] = frozenset(
    {"django.db.models.Model", "django.db.models.base.Model"}
)
# Relation kinds whose attribute holds one object (reading it runs a query unless the
# queryset joined it in) and kinds whose attribute is a related manager (its calls run one).
TO_ONE_RELATIONS: frozenset[str] = frozenset({"fk", "o2o", "reverse_o2o", "generic"})
TO_MANY_RELATIONS: frozenset[str] = frozenset({"m2m", "reverse_fk", "generic_many"})
# SQLAlchemy: ``relationship()`` and friends (qualified names; Flask-SQLAlchemy's
# ``db.relationship`` is matched by last name on the ``db`` whose ``db.Model`` the class extends).
SQLALCHEMY_RELATIONSHIP_FUNCTIONS: frozenset[str] = frozenset(
    {"sqlalchemy.orm.relationship", "sqlalchemy.orm.relation", "sqlalchemy.orm.dynamic_loader"}
)
SQLALCHEMY_RELATIONSHIP_NAMES: frozenset[str] = frozenset({"relationship", "relation", "dynamic_loader"})
SQLALCHEMY_MODEL_MARKERS: frozenset[str] = frozenset({"__tablename__", "__table__"})
SQLALCHEMY_DECLARATIVE_BASES: frozenset[str] = frozenset(
    {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
     "sqlalchemy.orm.MappedAsDataclass"}
)
# ``lazy=`` settings under which reading the attribute runs a query per object, and the
# one whose attribute is a query object (``book.tags.filter(...)``, like a Django manager).
SQLALCHEMY_LAZY_ON_ACCESS: frozenset[str] = frozenset({"select"})
SQLALCHEMY_LAZY_QUERY_OBJECT: frozenset[str] = frozenset({"dynamic"})

# Eager loading. Django queryset methods that load relations with the rows:
DJANGO_EAGER_METHODS: frozenset[str] = frozenset({"select_related", "prefetch_related"})
DJANGO_PREFETCH_CLASS = "Prefetch"
DJANGO_PREFETCH_FUNCTION = "prefetch_related_objects"  # on rows already fetched
# SQLAlchemy loader options that settle a relation up front: loaded with the rows, or
# made to raise / load nothing on access (no query per object either way).
SQLALCHEMY_EAGER_OPTIONS: frozenset[str] = frozenset(
    {"joinedload", "selectinload", "subqueryload", "immediateload", "contains_eager",
     "raiseload", "noload", "selectin_polymorphic"}
)
# Options that only name a path to chain further options on (``defaultload(A.b).joinedload(B.c)``).
SQLALCHEMY_PATH_OPTIONS: frozenset[str] = frozenset({"defaultload", "Load", "lazyload"})
# Queryset / Query methods whose rows are not model objects (dicts, tuples, scalars).
DJANGO_NON_MODEL_ROWS: frozenset[str] = frozenset({"values", "values_list", "dates", "datetimes"})
# SQLAlchemy: methods of a Query or select() that keep yielding the same entity.
SQLALCHEMY_QUERY_BUILDERS: frozenset[str] = frozenset(
    {"filter", "filter_by", "where", "order_by", "options", "join", "outerjoin", "limit", "offset",
     "distinct", "group_by", "having", "execution_options", "yield_per", "enable_eagerloads",
     "populate_existing", "with_for_update", "autoflush", "correlate", "select_from",
     "join_from", "params", "slice", "unique", "all", "fetchall", "scalars", "partitions"}
)
SQLALCHEMY_SELECT_FUNCTIONS: frozenset[str] = frozenset(
    {"sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select",
     "sqlalchemy.sql.expression.select", "sqlmodel.select"}
)
# Related-manager calls (``book.tags.all()``) that a ``prefetch_related("tags")`` cache
# serves, and the ones that run a new query even then (``book.tags.filter(...)``).
RELATED_MANAGER_CACHED_METHODS: frozenset[str] = frozenset(
    {"all", "count", "exists", "first", "last", "acount", "aexists", "afirst", "alast"}
)
RELATED_MANAGER_WRITE_METHODS: frozenset[str] = frozenset(
    {"add", "remove", "set", "clear", "create", "get_or_create", "update_or_create",
     "aadd", "aremove", "aset", "aclear", "acreate", "aget_or_create", "aupdate_or_create",
     "update", "delete", "bulk_create", "bulk_update", "aupdate", "adelete"}
)
# Functions that materialise an iterable (``list(qs)``): where a queryset is evaluated.
EVALUATING_FUNCTIONS: frozenset[str] = frozenset({"list", "tuple", "set", "sorted", "len", "bool"})
# Model instance methods that write the object (a per-row write is PFL203's, whatever the
# model's override of them also reads).
MODEL_WRITE_METHODS: frozenset[str] = frozenset({"save", "delete", "asave", "adelete", "update"})

# --- Unpaginated fetches in request handlers (PFL204) ---------------------------------------
# Filters that bound the rows by themselves: Django lookups (the part after the last
# ``__``) for a range or a set of keys, and keyword names that pick one row.
BOUNDING_LOOKUPS: frozenset[str] = frozenset(
    {"gt", "gte", "lt", "lte", "range", "in", "year", "month", "day", "week", "week_day",
     "quarter", "date", "time", "hour", "iso_year", "iso_week_day"}
)
KEY_LOOKUPS: frozenset[str] = frozenset({"pk", "id", "pk__exact", "id__exact"})
# Methods that return every row of the SQL query they run (or follow).
ALL_ROWS_SQL_METHODS: frozenset[str] = frozenset({"fetch_all", "fetch", "fetchall", "all"})
# What turns data into a response (qualified names through the imports)...
RESPONSE_FUNCTIONS: frozenset[str] = frozenset(
    {"django.shortcuts.render", "django.shortcuts.render_to_response",
     "django.http.JsonResponse", "django.http.response.JsonResponse",
     "django.template.response.TemplateResponse", "django.template.loader.render_to_string",
     "rest_framework.response.Response", "flask.jsonify", "flask.json.jsonify",
     "flask.render_template", "flask.make_response", "quart.jsonify", "quart.render_template",
     "fastapi.responses.JSONResponse", "fastapi.responses.ORJSONResponse",
     "fastapi.responses.UJSONResponse", "starlette.responses.JSONResponse",
     "fastapi.encoders.jsonable_encoder", "sanic.response.json", "aiohttp.web.json_response"}
)
# ...and by method name on a template engine (``templates.TemplateResponse(...)``).
RESPONSE_METHODS: frozenset[str] = frozenset({"TemplateResponse", "render_template"})
# Calls that page the rows: a paginator, DRF's paginate_queryset, Flask-SQLAlchemy's paginate.
PAGINATION_CALLS: frozenset[str] = frozenset(
    {"Paginator", "paginate_queryset", "get_paginated_response", "paginate", "get_page",
     "islice", "fetchmany", "paginate_query", "apaginate"}
)
# Class attributes of a view that page what it lists.
PAGINATION_ATTRS: frozenset[str] = frozenset({"paginate_by", "pagination_class"})
# Generic views that render every row of ``queryset`` / ``model`` unless paginated.
DJANGO_LIST_VIEWS: frozenset[str] = frozenset(
    {"django.views.generic.ListView", "django.views.generic.list.ListView",
     "django.views.generic.list.BaseListView", "django.views.generic.list.MultipleObjectMixin"}
)
DRF_LIST_VIEWS: frozenset[str] = frozenset(
    {"rest_framework.generics.ListAPIView", "rest_framework.generics.ListCreateAPIView",
     "rest_framework.viewsets.ModelViewSet", "rest_framework.viewsets.ReadOnlyModelViewSet",
     "rest_framework.mixins.ListModelMixin"}
)
# Functions that reduce rows to one value (``sum(r["x"] for r in rows)``): the rows do
# not reach the response.
ROW_REDUCERS: frozenset[str] = frozenset({"len", "sum", "min", "max", "any", "all", "next", "bool", "count"})

# Awaited methods whose calls must stay in order (streams, queues, locks) or that
# pace a loop on purpose: an await of these in a loop is not a missed gather.
ORDERED_AWAIT_METHODS: frozenset[str] = frozenset(
    {"send", "send_bytes", "send_text", "send_json", "sendall", "writelines", "drain",
     "join", "receive", "receive_text", "receive_bytes", "receive_json", "recv",
     "readline", "readexactly", "readuntil", "acquire", "release", "wait", "wait_for",
     "commit", "rollback", "flush", "close", "aclose", "cancel", "publish", "ack", "nack",
     # file / stream operations: one position, one buffer
     "read", "readany", "readchunk", "readinto", "write", "write_eof", "seek", "tell", "truncate"}
)
# Awaited methods that run SQL by their name (``execute``, ``execute_query``,
# ``execute_insert``, ``_run_sql``) even when the receiver does not look like a database.
DATABASE_AWAIT_PREFIXES: tuple[str, ...] = ("execute", "executemany", "executescript")
DATABASE_AWAIT_WORDS: frozenset[str] = frozenset({"sql", "fetchall", "fetchone", "fetchrow",
                                                  "fetchval", "fetchmany"})
RATE_LIMIT_CALLS: frozenset[str] = frozenset(
    {"asyncio.sleep", "sleep", "anyio.sleep", "trio.sleep", "trio.sleep_until", "time.sleep"}
)
# Substrings of a ``with`` / ``async with`` context name that mark a limiter.
RATE_LIMIT_CONTEXT_WORDS: tuple[str, ...] = ("limit", "throttle", "semaphore", "rate", "bucket")

# --- Async and I/O (PFL302-PFL304, perflint/clients.py) ---------------------------------
# Functions that send one HTTP request per call (qualified names, resolved through imports).
HTTP_REQUEST_FUNCTIONS: frozenset[str] = frozenset(
    {"requests.get", "requests.post", "requests.put", "requests.patch", "requests.delete",
     "requests.head", "requests.options", "requests.request",
     "httpx.get", "httpx.post", "httpx.put", "httpx.patch", "httpx.delete", "httpx.head",
     "httpx.options", "httpx.request", "httpx.stream",
     "urllib.request.urlopen", "urllib.request.urlretrieve", "urllib3.request"}
)
# HTTP client classes (constructors and annotation types) -> whether their requests are
# awaited. Extendable with ``http-clients`` (async-ness unknown: None).
HTTP_CLIENTS: dict[str, bool | None] = {
    "requests.Session": False, "requests.session": False, "requests.sessions.Session": False,
    "httpx.Client": False, "httpx.AsyncClient": True, "aiohttp.ClientSession": True,
    "urllib3.PoolManager": False, "urllib3.HTTPConnectionPool": False,
    "urllib3.HTTPSConnectionPool": False, "urllib3.connection_from_url": False,
    "http.client.HTTPConnection": False, "http.client.HTTPSConnection": False,
}
# Methods of an HTTP client that send a request (``conn.getresponse()`` of http.client
# only reads the answer to the ``request`` before it: one round trip, one finding).
HTTP_REQUEST_METHODS: frozenset[str] = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream",
     "urlopen"}
)
# Requests that only read: two of them may run in either order (PFL302).
HTTP_READ_METHODS: frozenset[str] = frozenset({"get", "head", "options"})

# Client objects other than HTTP ones (qualified constructor / class) -> what they talk to,
# and whether their calls are awaited. Sync ones block the event loop in ``async def``.
CLIENT_CLASSES: dict[str, tuple[str, bool]] = {
    "sqlite3.connect": ("db", False), "sqlite3.Connection": ("db", False),
    "sqlite3.Cursor": ("db", False),
    "psycopg2.connect": ("db", False), "psycopg2.extensions.connection": ("db", False),
    "psycopg2.extensions.cursor": ("db", False),
    "psycopg.connect": ("db", False), "psycopg.Connection": ("db", False),
    "psycopg.Connection.connect": ("db", False), "psycopg.Cursor": ("db", False),
    "pymysql.connect": ("db", False), "pymysql.Connect": ("db", False),
    "pymysql.connections.Connection": ("db", False), "pymysql.cursors.Cursor": ("db", False),
    "MySQLdb.connect": ("db", False), "MySQLdb.Connect": ("db", False),
    "redis.Redis": ("redis", False), "redis.StrictRedis": ("redis", False),
    "redis.from_url": ("redis", False), "redis.Redis.from_url": ("redis", False),
    "redis.StrictRedis.from_url": ("redis", False), "redis.client.Redis": ("redis", False),
    "redis.asyncio.Redis": ("redis", True), "redis.asyncio.StrictRedis": ("redis", True),
    "redis.asyncio.from_url": ("redis", True), "redis.asyncio.Redis.from_url": ("redis", True),
    "redis.asyncio.client.Redis": ("redis", True), "aioredis.Redis": ("redis", True),
    "aioredis.from_url": ("redis", True), "aioredis.Redis.from_url": ("redis", True),
    "pathlib.Path": ("path", False), "pathlib.PosixPath": ("path", False),
    "pathlib.WindowsPath": ("path", False),
}
# (kind, attribute or method) -> the kind of object it returns without doing I/O itself:
# ``conn.cursor()``, ``r.pipeline()``, ``path.parent``, ``path.with_suffix(".json")``.
CLIENT_DERIVED: dict[tuple[str, str], str] = {
    ("db", "cursor"): "db", ("redis", "pipeline"): "redis-pipeline",
    **{("path", name): "path" for name in ("parent", "joinpath", "with_suffix", "with_name",
                                           "with_stem", "resolve", "absolute", "expanduser")},
}
# kind -> its methods that do I/O; "*" stands for every public method that is neither in
# CLIENT_DERIVED nor in CLIENT_LOCAL_METHODS (a redis client: each command is a round trip).
CLIENT_IO_METHODS: dict[str, frozenset[str]] = {
    "db": frozenset({"execute", "executemany", "executescript", "fetchone", "fetchall",
                     "fetchmany", "commit", "rollback", "callproc", "copy_expert", "copy_from",
                     "copy_to", "scroll"}),
    "redis": frozenset({"*"}),
    "redis-pipeline": frozenset({"execute"}),
    "path": frozenset({"read_text", "write_text", "read_bytes", "write_bytes", "open"}),
    "http": HTTP_REQUEST_METHODS,
}
CLIENT_LOCAL_METHODS: frozenset[str] = frozenset(
    {"pubsub", "lock", "register_script", "get_encoder", "get_connection_kwargs", "monitor",
     "close"}  # ``close()`` drops the pool's sockets: no round trip
)
# Redis commands that only read (PFL302: two reads may run in either order).
REDIS_READ_METHODS: frozenset[str] = frozenset(
    {"get", "mget", "exists", "ttl", "pttl", "type", "strlen", "getrange", "hget", "hmget",
     "hgetall", "hexists", "hkeys", "hvals", "hlen", "lrange", "lindex", "llen", "smembers",
     "sismember", "smismember", "scard", "zrange", "zrevrange", "zrangebyscore", "zscore",
     "zrank", "zcard", "zcount", "xrange", "xrevrange", "xlen", "pfcount", "getbit", "bitcount"}
)

# Calls that block the event loop when made in ``async def`` (PFL303): qualified name ->
# kind (the key of BLOCKING_REPLACEMENTS). Sync clients' methods come from the tables
# above. Extendable with ``blocking-calls`` (kind "custom").
BLOCKING_CALLS: dict[str, str] = {
    "time.sleep": "sleep",
    **{name: "http" for name in HTTP_REQUEST_FUNCTIONS},
    "sqlite3.connect": "db", "psycopg2.connect": "db", "psycopg.connect": "db",
    "psycopg.Connection.connect": "db", "pymysql.connect": "db", "pymysql.Connect": "db",
    "MySQLdb.connect": "db", "MySQLdb.Connect": "db",
    "subprocess.run": "subprocess", "subprocess.call": "subprocess",
    "subprocess.check_call": "subprocess", "subprocess.check_output": "subprocess",
    "subprocess.getoutput": "shell", "subprocess.getstatusoutput": "shell",
    "os.system": "shell", "os.popen": "shell",
    "io.open": "file", "codecs.open": "file",
}
# Builtins that block (only while the name is not imported or rebound).
BLOCKING_BUILTINS: dict[str, str] = {"open": "file"}
# kind -> what to use instead, for messages.
BLOCKING_REPLACEMENTS: dict[str, str] = {
    "sleep": "`await asyncio.sleep(...)`",
    "http": "an async client (`httpx.AsyncClient` / `aiohttp`) and `await` it",
    "file": "`aiofiles`, or `await asyncio.to_thread(...)`",
    "path": "`aiofiles`, or `await asyncio.to_thread(...)`",
    "db": "an async driver (`asyncpg` / `aiosqlite` / `aiomysql`), or `await asyncio.to_thread(...)`",
    "subprocess": "`await asyncio.create_subprocess_exec(...)`",
    "shell": "`await asyncio.create_subprocess_shell(...)`",
    "redis": "`redis.asyncio` (the same API, awaited)",
    "redis-pipeline": "`redis.asyncio` (the same API, awaited)",
    "custom": "`await asyncio.to_thread(...)`",
}
# Kinds whose blocking is usually short (a local file): reported with medium confidence.
SHORT_BLOCKING_KINDS: frozenset[str] = frozenset({"file", "path"})
# Calls that run their arguments in a worker thread: a blocking call inside them does not
# block the event loop (qualified names; ``run_in_executor`` by method name).
OFFLOAD_CALLS: frozenset[str] = frozenset(
    {"asyncio.to_thread", "anyio.to_thread.run_sync", "trio.to_thread.run_sync",
     "starlette.concurrency.run_in_threadpool", "fastapi.concurrency.run_in_threadpool",
     "asgiref.sync.sync_to_async"}
)
OFFLOAD_METHODS: frozenset[str] = frozenset({"run_in_executor"})
# Clocks: a loop that reads one around its request measures latency, sequential on
# purpose (PFL304).
CLOCK_CALLS: frozenset[str] = frozenset(
    {"time.time", "time.perf_counter", "time.monotonic", "time.time_ns", "time.perf_counter_ns",
     "time.monotonic_ns", "timeit.default_timer"}
)
# ``async with conn.transaction()`` / ``session.begin()``: statements inside stay in order.
TRANSACTION_METHODS: frozenset[str] = frozenset({"transaction", "begin", "begin_nested", "atomic"})

# ``with self.subTest(...)`` (unittest) / ``with subtests.test(...)`` (pytest-subtests):
# a loop whose body opens one of these runs test scenarios, not per-row work.
TEST_CASE_CONTEXTS: frozenset[str] = frozenset({"subTest", "subtest"})

# Wrappers that do not change which collection a loop runs over.
ITERATION_WRAPPERS: frozenset[str] = frozenset(
    {"enumerate", "reversed", "sorted", "list", "tuple", "iter", "set", "frozenset"}
)

# Functions whose call on a generator inside a loop is itself an inner loop.
CONSUMING_FUNCTIONS: frozenset[str] = frozenset({"any", "all", "next", "sum", "min", "max"})

# A literal collection at most this long is "small": looping over it is bounded.
SMALL_LITERAL_LEN = 16


@dataclass(frozen=True)
class Knowledge:
    """The tables above, plus what the user's configuration adds."""

    sql_sink_methods: dict[str, bool] = field(default_factory=lambda: dict(SQL_SINK_METHODS))
    sql_sink_functions: frozenset[str] = SQL_SINK_FUNCTIONS
    db_receiver_names: frozenset[str] = DB_RECEIVER_NAMES
    connection_factories: dict[str, str] = field(default_factory=lambda: dict(CONNECTION_FACTORIES))
    blocking_calls: dict[str, str] = field(default_factory=lambda: dict(BLOCKING_CALLS))
    http_clients: dict[str, bool | None] = field(default_factory=lambda: dict(HTTP_CLIENTS))
    query_methods: frozenset[str] = frozenset()  # the team's own ORM query methods

    def with_query_methods(self, names: list[str]) -> Knowledge:
        """``query-methods``: custom manager / queryset / Query methods that run a query
        (``Book.objects.get_active(pk)``, ``session.query(Book).published()``); on a manager
        chain they also count as links (``Book.objects.published().count()``)."""
        return replace(self, query_methods=self.query_methods | frozenset(names))

    def with_connection_factories(self, names: list[str]) -> Knowledge:
        """``connection-factories``: the team's own connect helpers (``myapp.db.connect``);
        each call opens a new connection (PFL205)."""
        factories = dict(self.connection_factories)
        for name in names:
            factories.setdefault(name, "custom")
        return replace(self, connection_factories=factories)

    def with_extra_sinks(self, names: list[str]) -> Knowledge:
        methods = dict(self.sql_sink_methods)
        functions = set(self.sql_sink_functions)
        for name in names:
            if name.startswith("."):
                methods[name[1:]] = True
            else:
                functions.add(name)
        return replace(self, sql_sink_methods=methods, sql_sink_functions=frozenset(functions))

    def with_blocking_calls(self, names: list[str]) -> Knowledge:
        """``blocking-calls``: the team's own sync helpers (``myapp.legacy.fetch_report``)."""
        calls = dict(self.blocking_calls)
        for name in names:
            calls.setdefault(name, "custom")
        return replace(self, blocking_calls=calls)

    def with_http_clients(self, names: list[str]) -> Knowledge:
        """``http-clients``: the team's client classes (``myapp.api.ApiClient``); each
        ``get/post/...`` on an instance is one request, awaited or not."""
        clients = dict(self.http_clients)
        for name in names:
            clients.setdefault(name, None)
        return replace(self, http_clients=clients)

# Decorators that mark entry points, by the last component of their dotted name.
# HTTP route decorators need a receiver (``app.get``, ``router.post``, ``bp.route``).
HTTP_ROUTE_DECORATORS: frozenset[str] = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route",
     "websocket", "websocket_route"}
)
HANDLER_DECORATORS: frozenset[str] = frozenset({"api_view", "action", "require_http_methods",
                                                "login_required", "csrf_exempt"})
TASK_DECORATORS: frozenset[str] = frozenset({"task", "shared_task", "periodic_task", "actor", "job"})
CLI_DECORATORS: frozenset[str] = frozenset({"command", "group"})
# Django signal receivers (``@receiver(post_save, sender=Order)``, pretix's
# ``@receiver(signal=periodic_task)`` cron jobs): the framework calls them, no project code
# does, so they start paths of their own.
SIGNAL_DECORATORS: frozenset[str] = frozenset({"receiver"})
# Decorators that memoise a function: calling it again does not run its body (or its
# query) again, so the call graph does not carry effects through it.
CACHING_DECORATORS: frozenset[str] = frozenset(
    {"lru_cache", "cache", "cached", "memoize", "memoized", "cached_property", "alru_cache", "ttl_cache"}
)
# Calls that register a view by reference (Django ``path("x/", views.orders)``, Flask
# ``app.add_url_rule(rule, view_func=f)``, Starlette ``Route("/", endpoint)``): the function
# named is a request handler. Keyword under which the view may be passed.
ROUTE_REGISTRATIONS: frozenset[str] = frozenset(
    {"path", "re_path", "url", "add_url_rule", "add_api_route", "add_route", "Route", "WebSocketRoute"}
)
ROUTE_VIEW_KEYWORDS: frozenset[str] = frozenset({"view", "view_func", "endpoint", "route"})
# Class bases whose methods are request handlers (Django/DRF class-based views).
VIEW_BASE_SUFFIXES: tuple[str, ...] = ("View", "APIView", "ViewSet", "Handler", "Resource")
# (Named apart from DICT_VIEW_METHODS, the dict views ``keys/values/items`` of the algorithmic rules.)
VIEW_HANDLER_METHODS: frozenset[str] = frozenset({"get", "post", "put", "patch", "delete", "list",
                                                  "retrieve", "create", "update", "destroy"})


def entry_kind(decorators: tuple[str, ...]) -> str | None:
    """"handler", "task", "cli" or "signal" for a function's decorator names, else None."""
    for name in decorators:
        head, _, last = name.rpartition(".")
        if last in HTTP_ROUTE_DECORATORS and head:
            return "handler"
        if last in HANDLER_DECORATORS:
            return "handler"
    for name in decorators:
        last = name.rpartition(".")[2]
        if last in TASK_DECORATORS:
            return "task"
        if last in CLI_DECORATORS:
            return "cli"
        if last in SIGNAL_DECORATORS:
            return "signal"
    return None

# Loop items named as callables that are run in turn (``for hook in hooks: await
# run_hook(hook)``): the last "_" part of the loop variable, lowercased. Hooks, signals and
# middleware run in the order they were registered; that order is the contract.
DISPATCHED_ITEM_WORDS: frozenset[str] = frozenset(
    {"hook", "callback", "cb", "handler", "listener", "middleware", "plugin", "receiver",
     "subscriber", "observer", "finalizer", "finaliser", "cleanup", "teardown"}
)
# Receivers (last name, lowercased, substring) whose awaited operations must stay in order.
ORDERED_RECEIVER_WORDS: tuple[str, ...] = (
    "queue", "stream", "writer", "reader", "websocket", "socket", "channel", "lock", "pipe",
)
# Receivers (last name, lowercased, whole or after the last "_") that are one database
# connection: it runs one operation at a time (asyncpg raises "another operation is in
# progress", aiosqlite queues them on its thread), so awaiting its methods in turn is all
# the code can do (``await conn.load_extension(e)``, ``await self._protocol.close_statement(s)``).
# Not pools, engines or sessions of unknown kind: those can hand out several connections.
CONNECTION_HANDLE_NAMES: frozenset[str] = frozenset(
    {"conn", "connection", "con", "cnx", "dbconn", "transaction", "tx", "txn"}
)
SINGLE_CONNECTION_RECEIVERS: frozenset[str] = CONNECTION_HANDLE_NAMES | {"cursor", "cur", "protocol"}

# Words in a loop's target or iterable that say each pass handles a batch, not a row
# (``for chunk in chunked(ids, 500)``): a query per batch is already the batched form.
BATCH_LOOP_WORDS: tuple[str, ...] = ("chunk", "batch")

# --- Database access from Python (PFL203, PFL205-PFL207, rules/db/) -------------------------
# Calls that open a new connection, engine, pool or client (qualified names, resolved
# through imports) -> what they open: "db" (a connection to a database server), "db_pool"
# (a pool or engine: several connections), "file_db" (an embedded database: cheap to
# open), "redis", "http". Extendable with ``connection-factories`` (kind "custom").
CONNECTION_FACTORIES: dict[str, str] = {
    **{name: "db" for name in (
        "psycopg2.connect", "psycopg.connect", "psycopg.Connection.connect",
        "psycopg.AsyncConnection.connect", "pymysql.connect", "pymysql.Connect",
        "MySQLdb.connect", "MySQLdb.Connect", "mysql.connector.connect", "asyncpg.connect",
        "aiomysql.connect", "aiopg.connect", "pyodbc.connect", "cx_Oracle.connect",
        "oracledb.connect")},
    **{name: "db_pool" for name in (
        "asyncpg.create_pool", "aiomysql.create_pool", "aiopg.create_pool",
        "psycopg_pool.ConnectionPool", "psycopg_pool.AsyncConnectionPool",
        "psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool",
        "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine", "databases.Database",
        "pymongo.MongoClient", "motor.motor_asyncio.AsyncIOMotorClient")},
    **{name: "file_db" for name in ("sqlite3.connect", "aiosqlite.connect", "duckdb.connect")},
    **{name: "redis" for name in (
        "redis.Redis", "redis.StrictRedis", "redis.from_url", "redis.Redis.from_url",
        "redis.StrictRedis.from_url", "redis.RedisCluster", "redis.cluster.RedisCluster",
        "redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.from_url",
        "redis.asyncio.Redis.from_url", "redis.asyncio.RedisCluster", "aioredis.Redis",
        "aioredis.from_url", "aioredis.Redis.from_url", "aioredis.create_redis_pool")},
    **{name: "http" for name in (
        "requests.Session", "requests.session", "httpx.Client", "httpx.AsyncClient",
        "aiohttp.ClientSession", "urllib3.PoolManager")},
}
# Kinds whose connection runs SQL and has a ``commit()`` (PFL203 follows them).
SQL_CONNECTION_KINDS: frozenset[str] = frozenset({"db", "file_db", "custom"})
# Kinds worth a finding when a plain function (no handler, no loop) opens one per call:
# network round trips and handshakes. Opening an embedded database or an HTTP session
# per call is reported only per request or per iteration.
PER_CALL_COSTLY_KINDS: frozenset[str] = frozenset({"db", "db_pool", "redis", "custom"})
# Keyword arguments that hand the new client an existing pool: cheap to create per call.
SHARED_POOL_KEYWORDS: frozenset[str] = frozenset({"connection_pool", "connector", "pool"})
# Database names that make a fresh, private database on purpose.
PRIVATE_DATABASES: frozenset[str] = frozenset({":memory:", ""})
# Code that runs once per process (or per test), by decorator (last name) or function
# name: startup hooks, cached factories, CLI mains, app factories, test setup.
ONCE_DECORATORS: frozenset[str] = frozenset(
    {"on_event", "on_startup", "before_first_request", "before_app_first_request",
     "before_serving", "listener", "lru_cache", "cache", "cached", "cached_property",
     "memoize", "singleton", "fixture", "setup", "on_after_configure", "worker_process_init"}
)
ONCE_FUNCTION_NAMES: frozenset[str] = frozenset(
    {"main", "lifespan", "startup", "on_startup", "create_app", "make_app", "app_factory",
     "init_app", "ready", "setup", "setUp", "setUpClass", "setUpTestData", "setup_method",
     "setup_class", "setup_module", "__init__", "__enter__", "__aenter__", "__post_init__",
     "handle", "run", "cli", "connect", "reconnect"}
)
ONCE_FUNCTION_PREFIXES: tuple[str, ...] = ("init_", "setup_", "configure", "_init", "_setup",
                                           "_connect", "test")
# ``Depends(get_db)`` (FastAPI): the function named in it runs on every request.
PER_REQUEST_DEPENDENCIES: frozenset[str] = frozenset(
    {"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"}
)
# Redis clients: constructors and annotation types, plus calls that return a client.
REDIS_CLIENT_SOURCES: frozenset[str] = frozenset(
    {name for name, kind in CONNECTION_FACTORIES.items() if kind == "redis"}
    | {name for name, (kind, _) in CLIENT_CLASSES.items() if kind == "redis"}
    | {"redis.client.Redis", "redis.client.StrictRedis", "redis.asyncio.client.Redis",
       "redis.asyncio.client.StrictRedis", "django_redis.get_redis_connection"}
)
# Redis methods that walk the whole keyspace in one blocking command (PFL206), and the
# raw command names ``execute_command("KEYS", ...)`` sends.
REDIS_KEYSPACE_METHODS: frozenset[str] = frozenset({"keys"})
REDIS_KEYSPACE_COMMANDS: frozenset[str] = frozenset({"KEYS"})
REDIS_RAW_COMMAND_METHODS: frozenset[str] = frozenset({"execute_command"})
# Django models: a class imported from a module with this component is a model class
# (``from shop.models import Order``), as is a class with a DJANGO_MODEL_BASES base;
# model classes from calls.
MODELS_MODULE = "models"
MODEL_CLASS_FACTORIES: frozenset[str] = frozenset(
    {"django.contrib.auth.get_user_model", "django.apps.apps.get_model"}
)
# Queryset methods returning one model instance; ones returning (instance, created);
# shortcuts taking the model class first.
DJANGO_INSTANCE_GETTERS: frozenset[str] = frozenset(
    {"get", "create", "first", "last", "latest", "earliest"}
)
DJANGO_PAIR_GETTERS: frozenset[str] = frozenset({"get_or_create", "update_or_create"})
DJANGO_INSTANCE_SHORTCUTS: frozenset[str] = frozenset({"django.shortcuts.get_object_or_404"})
# Lazy querysets (no ``raw()``: a RawQuerySet has neither ``count()`` nor ``exists()``),
# and those whose rows are model instances (``values()`` rows are dicts).
DJANGO_LAZY_QUERYSETS: frozenset[str] = DJANGO_QUERYSET_BUILDERS - {"raw"}
DJANGO_INSTANCE_QUERYSETS: frozenset[str] = DJANGO_LAZY_QUERYSETS - {
    "values", "values_list", "dates", "datetimes"}
# Writes of one row per call on a model instance, and per-object related manager writes.
DJANGO_INSTANCE_WRITES: frozenset[str] = frozenset({"save", "delete", "asave", "adelete"})
DJANGO_RELATED_ROW_WRITES: frozenset[str] = frozenset({"add", "remove", "aadd", "aremove"})
# SQLAlchemy ``Query.update()/.delete()`` (bulk statements, one per call).
SQLALCHEMY_QUERY_WRITES: frozenset[str] = frozenset({"update", "delete"})
# Ending a transaction (or flushing the unit of work) is one round trip, and for a commit
# one durable log write: per iteration, they make each row its own transaction.
TRANSACTION_END_METHODS: frozenset[str] = frozenset({"commit", "flush"})
SESSION_CLASSES: frozenset[str] = frozenset(
    {"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.ext.asyncio.AsyncSession",
     "sqlmodel.Session", "sqlmodel.ext.asyncio.session.AsyncSession"}
)
SESSION_FACTORIES: frozenset[str] = frozenset(
    {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.scoped_session",
     "sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.async_scoped_session"}
)
TRANSACTION_HANDLE_TYPES: frozenset[str] = SESSION_CLASSES | frozenset(
    {"sqlalchemy.engine.Connection", "sqlalchemy.Connection", "sqlite3.Connection",
     "psycopg2.extensions.connection", "psycopg.Connection", "psycopg.AsyncConnection",
     "pymysql.connections.Connection", "aiosqlite.Connection"}
)
# Names of a session / connection, for receivers whose value the code does not show
# (``self.session``, an unannotated parameter). Never ``db``: ``databases.Database``,
# Flask-SQLAlchemy's ``db`` and many clients share it.
SESSION_HANDLE_NAMES: frozenset[str] = frozenset({"session", "db_session", "dbsession", "sess"})
# Methods a database session has and an HTTP client's session (requests, aiohttp, httpx)
# has not: a ``session`` the code calls them on is a database session.
DB_SESSION_ONLY_METHODS: frozenset[str] = frozenset(
    {"execute", "scalars", "scalar", "query", "add", "add_all", "commit", "flush", "refresh",
     "begin", "begin_nested", "rollback", "merge", "expunge"}
)
TRANSACTION_HANDLE_NAMES: frozenset[str] = SESSION_HANDLE_NAMES | CONNECTION_HANDLE_NAMES | {"db_conn"}
# Calls (method name) whose items are the application's models or apps: a loop over them
# runs once per table, as often as the schema has tables, not once per row.
SCHEMA_ITERABLE_METHODS: frozenset[str] = frozenset({"get_models", "get_app_configs"})
# A model's lists of columns and relations, by the attribute that holds them
# (``model._meta.fields``, ``model._meta.get_fields()``, ``Model.__table__.columns``):
# as many items as the schema has, not as the data. Iterating one is bounded.
SCHEMA_LISTS: dict[str, frozenset[str]] = {
    "_meta": frozenset({"fields", "get_fields", "concrete_fields", "local_fields",
                        "local_concrete_fields", "many_to_many", "local_many_to_many",
                        "related_objects", "private_fields"}),
    "__table__": frozenset({"columns", "c", "constraints", "indexes", "foreign_keys"}),
    "__mapper__": frozenset({"columns", "relationships", "attrs", "column_attrs"}),
}

# --- What a name holds (PFL402-PFL407, rules/algo/shapes.py) --------------------------
# Kinds of collection the algorithmic rules tell apart: only "list" (and for some rules
# "str"/"bytes"/"tuple") can be slow where the rules look; everything else keeps them quiet.
# Callables (builtins when not rebound, imported functions by qualified name) -> the kind
# of object they return.
CONSTRUCTOR_SHAPES: dict[str, str] = {
    "list": "list", "sorted": "list", "set": "set", "frozenset": "frozenset", "dict": "dict",
    "tuple": "tuple", "str": "str", "repr": "str", "chr": "str", "format": "str",
    "bytes": "bytes", "bytearray": "bytearray", "range": "range",
    "int": "number", "float": "number", "len": "number", "abs": "number", "round": "number",
    "collections.deque": "deque", "collections.defaultdict": "dict",
    "collections.OrderedDict": "dict", "collections.Counter": "dict",
    "re.split": "list", "re.findall": "list", "shlex.split": "list", "os.listdir": "list",
    "glob.glob": "list", "os.path.split": "tuple", "os.path.splitext": "tuple",
    "os.path.join": "str",
}
# Constructors above whose first positional argument is their content: the result holds
# as many items as it (``defaultdict(list)`` takes a factory instead).
COPYING_CONSTRUCTORS: frozenset[str] = frozenset(
    {"list", "sorted", "tuple", "set", "frozenset", "dict", "collections.deque",
     "collections.Counter", "collections.OrderedDict"}
)
# Methods whose result kind is the same on every receiver that has them (str/bytes
# ``split``, file ``readlines``; dict views only without arguments: ``r.keys("k*")`` is redis).
LIST_RESULT_METHODS: frozenset[str] = frozenset({"split", "rsplit", "splitlines", "readlines"})
DICT_VIEW_METHODS: frozenset[str] = frozenset({"keys", "values", "items"})
# str methods returning str: on a string literal receiver (``", ".join(parts)``).
STR_RESULT_METHODS: frozenset[str] = frozenset(
    {"join", "format", "format_map", "upper", "lower", "casefold", "title", "capitalize",
     "swapcase", "strip", "lstrip", "rstrip", "replace", "center", "ljust", "rjust", "zfill",
     "expandtabs", "removeprefix", "removesuffix", "translate"}
)
# Type annotations (last component of the dotted name) -> kind.
ANNOTATION_SHAPES: dict[str, str] = {
    "list": "list", "List": "list", "set": "set", "Set": "set", "AbstractSet": "set",
    "MutableSet": "set", "frozenset": "frozenset", "FrozenSet": "frozenset", "dict": "dict",
    "Dict": "dict", "Mapping": "dict", "MutableMapping": "dict", "defaultdict": "dict",
    "DefaultDict": "dict", "OrderedDict": "dict", "Counter": "dict", "str": "str",
    "bytes": "bytes", "bytearray": "bytearray", "deque": "deque", "Deque": "deque",
    "tuple": "tuple", "Tuple": "tuple", "range": "range", "int": "number", "float": "number",
}
# Methods that add items to a collection in place: a list display that sees one of these
# grows with whatever feeds it.
GROWING_METHODS: frozenset[str] = frozenset(
    {"append", "extend", "insert", "add", "update", "appendleft", "extendleft", "setdefault"}
)
