"""Python files: one LibCST parse, one traversal, SQL from the sinks, positions for reports."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from perflint import knowledge as kb
from perflint.analyze import FileResult, LineStarts, decode_source, finish, make_finding
from perflint.clients import blocking_call, is_offloaded
from perflint.config import Config
from perflint.context import Context, LoopFrame
from perflint.cstparse import parse_module
from perflint.cstutil import chain_name, dotted_name, names_read, target_names
from perflint.findings import Finding
from perflint.knowledge import DEFAULT_DIALECT_FALLBACKS, Knowledge
from perflint.literalpos import literal_parts, locate
from perflint.ormmodels import MODEL_CANDIDATE, ModelCollector
from perflint.positions import Span, node_spans
from perflint.queries import (
    QueryCall,
    classify_call,
    has_dynamic_table,
    manager_root,
    sql_argument,
    sql_of_call,
    wildcard_params,
)
from perflint.rulebase import SqlContext
from perflint.rulepack import RulePack
from perflint.rules.db.evidence import steps_through_offsets
from perflint.rules.loops import multiplying_loop
from perflint.sqlcheck import SqlProblem, check_sql
from perflint.summary_builder import SummaryBuilder
from perflint.suppression import suppressed
from perflint.traversal import Dispatcher, Walker

PARSE_ERROR = "PFL901"


@dataclass(frozen=True)
class SqlUse:
    """SQL text a sink runs: where its literal is, and what the call binds to it."""

    text: str
    literal: cst.BaseExpression
    function: str
    loop_depth: int
    wildcard_params: frozenset[str]


class FactCollector:
    """The engine's own visitor: call sites for the call graph, and SQL handed to sinks."""

    def __init__(self) -> None:
        # literal node id -> use; a literal is checked once however many sinks it
        # reaches (``execute(text(SQL))``, a constant used twice): the first (outermost) wins.
        self.sql_uses: dict[int, SqlUse] = {}
        self._main_guards = 0  # inside ``if __name__ == "__main__":`` at module level
        self._test_names: dict[int, frozenset[str]] = {}  # ``if`` node id -> names its test reads
        # ``if`` node id -> optional parameters its body / its else branch need (see _required)
        self._if_needs: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        # function node id -> top-level statement id -> names tested by the early returns above it
        self._early_returns: dict[int, dict[int, frozenset[str]]] = {}

    def visit_Global(self, node: cst.Global, ctx: Context) -> None:
        ctx.summary.add_declared([item.name.value for item in node.names])

    def visit_Nonlocal(self, node: cst.Nonlocal, ctx: Context) -> None:
        ctx.summary.add_declared([item.name.value for item in node.names])

    def visit_AugAssign(self, node: cst.AugAssign, ctx: Context) -> None:
        _record_fill(node.target, ctx)

    def visit_AnnAssign(self, node: cst.AnnAssign, ctx: Context) -> None:
        if node.value is not None:
            _record_fill(node.target, ctx)

    def visit_Assign(self, node: cst.Assign, ctx: Context) -> None:
        for target in node.targets:
            _record_fill(target.target, ctx)
        # ``svc = PricingService(...)``: what later ``svc.method()`` calls resolve to; any
        # other value bound to the name (``None`` aside: nothing is called on it) makes it
        # ambiguous.
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            constructor = dotted_name(node.value.func) if isinstance(node.value, cst.Call) else None
            if constructor is not None and constructor.rpartition(".")[2][:1].isupper():
                ctx.summary.add_instance(node.targets[0].target.value, constructor)
            elif not (isinstance(node.value, cst.Name) and node.value.value == "None"):
                ctx.summary.add_instance(node.targets[0].target.value, None)

    def visit_If(self, node: cst.If, ctx: Context) -> None:
        if ctx.function is None and _is_main_guard(node.test):
            self._main_guards += 1
        elif ctx.function is not None and ctx.summary.current_optional:
            # what each branch needs of the optional parameters, unless rebound before here
            # (``x = x or default`` no longer holds what the caller passed)
            usable = set(ctx.summary.current_optional) - set(ctx.function.assignments)
            if usable:
                self._if_needs[id(node)] = (_only(_required(node.test, True), usable),
                                            _only(_required(node.test, False), usable))

    def leave_If(self, node: cst.If, ctx: Context) -> None:
        if ctx.function is None and _is_main_guard(node.test):
            self._main_guards -= 1

    def _entry_refs(self, node: cst.Call, callee: str | None, ctx: Context) -> None:
        if callee is None:
            return
        if self._main_guards and ctx.function is None:
            ctx.summary.add_entry_ref(callee, "cli")
        # routes are registered at module level (``urlpatterns``), or in an app factory /
        # blueprint helper (``def register_rules(bp): bp.add_url_rule("/", view_func=search)``:
        # there only the ``add_*`` methods, ``path``/``url`` inside a function may be anything)
        method = callee.rpartition(".")[2]
        if method in kb.ROUTE_REGISTRATIONS and (ctx.function is None or method.startswith("add_")):
            for position, arg in enumerate(node.args):
                named = arg.keyword is not None and arg.keyword.value in kb.ROUTE_VIEW_KEYWORDS
                if named or (arg.keyword is None and position == 1):
                    view = dotted_name(arg.value)
                    if view is not None:
                        ctx.summary.add_entry_ref(view, "handler")

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        callee = dotted_name(node.func)
        self._entry_refs(node, callee, ctx)
        index = 0
        if callee is None:
            # ``Order.objects.filter(...).first()``: recorded as ``Order.objects.filter().first``,
            # never resolved to a project function, but the function's query all the same
            callee = chain_name(node.func)
        if callee is not None:
            # Whether the loop runs per input item is PFL201's question; the call graph asks
            # it of every call in a loop, for the query a callee may run further down.
            # (a loop over chunks or batches, or a call made when the buffer is full, runs
            # once per batch: the batched form already, as the local rules judge it)
            loop = multiplying_loop(ctx, ctx.knowledge, allow_while=False) if ctx.loops else None
            multiplying = loop is not None and not _iterates_batches(loop) and not _per_batch(ctx)
            in_handler, guards, needs = self._conditions(ctx) if ctx.function is not None \
                else (False, frozenset(), frozenset())
            positional, keywords, forwards = _argument_shape(node, ctx)
            index = ctx.summary.add_call(callee, len(ctx.loops), multiplying, in_handler, guards, needs,
                                         positional, keywords, forwards)
            owner, _, method = callee.rpartition(".")
            if method in _FILLING_METHODS and owner.isidentifier():
                ctx.summary.add_fill(owner)  # ``_seen.add(key)``, ``_cache.setdefault(k, v)``
        query = classify_call(node, ctx)
        if query is not None:
            effect = "write" if query.is_write else "query"
            own = callee is not None and _own_statement(node, query, ctx)
            ctx.summary.mark_query(effect, (callee, index) if own else None)
        elif callee is not None and ctx.function is not None and not ctx.function.is_async \
                and blocking_call(node, ctx, follow_clients=False) is not None and not is_offloaded(ctx):
            # a sync function that blocks: an async caller blocks the event loop through it
            ctx.summary.mark_effect("block", (callee, index))
        sql = sql_of_call(node, ctx)
        if sql is not None and id(sql[1]) not in self.sql_uses:
            self.sql_uses[id(sql[1])] = SqlUse(sql[0], sql[1], ctx.frame.qualname, len(ctx.loops),
                                               wildcard_params(node, ctx))


    def _conditions(self, ctx: Context) -> tuple[bool, frozenset[str], frozenset[str]]:
        """Whether the call being visited sits in an ``except`` handler of its function;
        the names read by the tests of the ``if`` statements it runs behind (its branches,
        not its test) and of the early returns (``if x: return ...``) above it; and the
        names those tests require truthy ("x") or not None ("x?") for it to run."""
        function = ctx.function
        assert function is not None
        parents = ctx.parents
        in_handler = False
        names: set[str] = set()
        needs: set[str] = set()
        child: cst.CSTNode | None = None
        position = len(parents) - 1
        while position >= 0:
            node = parents[position]
            if node is function.node:
                break
            # exact type checks: isinstance against LibCST's ABC-based classes costs a
            # metaclass call, and this walk runs for every call of every function
            kind = type(node)
            if kind is cst.If and child is not None and child is not node.test:
                tested = self._test_names.get(id(node))
                if tested is None:
                    tested = self._test_names[id(node)] = frozenset(names_read(node.test))
                names |= tested
                branches = self._if_needs.get(id(node))
                if branches is not None:
                    needs |= branches[0] if child is node.body else branches[1]
            elif (kind is cst.ExceptHandler or kind is cst.ExceptStarHandler) and child is node.body:
                in_handler = True
            child = node
            position -= 1
        # parents[position] is the function, then its body block, then the top-level statement
        if position >= 0 and position + 2 < len(parents) and isinstance(function.node, cst.FunctionDef):
            early = self._early_returns.get(id(function.node))
            if early is None:
                early = self._early_returns[id(function.node)] = _early_return_tests(function.node)
            tested, required = early.get(id(parents[position + 2]), (frozenset(), frozenset()))
            names |= tested
            if required and ctx.summary.current_optional:
                needs |= _only(required, set(ctx.summary.current_optional) - set(function.assignments))
        return in_handler, frozenset(names), frozenset(needs)


def _iterates_batches(loop: LoopFrame) -> bool:
    """Each pass handles a batch: ``for chunk in ...`` / ``for batch in ...``, a loop over
    ``chunked(ids, 500)`` / ``batched(...)`` / ``self._get_chunks(qs)``, or over the offsets
    of ``range(0, len(ids), size)``. (Not ``for i in qs[:batch_size]``: its items are rows.)"""
    node = loop.node
    if not isinstance(node, (cst.For, cst.CompFor)):
        return False
    names = [name.lower() for name in target_names(node.target)]
    if isinstance(node.iter, cst.Call):
        names.append((chain_name(node.iter.func) or "").lower())
    return any(word in name for name in names for word in kb.BATCH_LOOP_WORDS) or steps_through_offsets(loop)


def _per_batch(ctx: Context) -> bool:
    """The call runs once per batch of the innermost loop's items, not per item: under
    ``if len(buffer) >= size:`` (a buffer flushed when full: pretix's bulk-create flushes)
    or ``if n % size == 0:`` in the loop's body."""
    loop = ctx.loops[-1]
    child: cst.CSTNode | None = None
    for node in reversed(ctx.parents):
        if node is loop.node or node is loop.body or node is ctx.frame.node:
            return False
        if isinstance(node, cst.If) and child is node.body and _batch_test(node.test):
            return True
        child = node
    return False


def _batch_test(test: cst.BaseExpression) -> bool:
    """``len(buf) >= size`` / ``len(buf) > 999`` / ``len(buf) == size`` / ``n % size == 0``
    (also as one side of an ``and``); a size of 0 or 1 is no batch."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _batch_test(test.left) or _batch_test(test.right)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    left, right = test.left, target.comparator
    if isinstance(target.operator, cst.Equal) and isinstance(left, cst.BinaryOperation) \
            and isinstance(left.operator, cst.Modulo) and isinstance(right, cst.Integer) and right.value == "0":
        return not (isinstance(left.right, cst.Integer) and int(left.right.value, 0) <= 1)
    if not isinstance(target.operator, (cst.GreaterThan, cst.GreaterThanEqual, cst.Equal)):
        return False
    is_len = isinstance(left, cst.Call) and isinstance(left.func, cst.Name) and left.func.value == "len"
    return is_len and not (isinstance(right, cst.Integer) and int(right.value, 0) <= 1)


# ``N.add(x)`` and the like: the function stores into N (a cache when N outlives the call).
_FILLING_METHODS = frozenset({"add", "append", "appendleft", "extend", "update", "setdefault", "insert",
                              "__setitem__"})


def _record_fill(target: cst.BaseExpression, ctx: Context) -> None:
    """``N[k] = v`` stores into N; ``N = v`` too when N is declared global (settled later)."""
    if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
        ctx.summary.add_fill(target.value.value)
    elif isinstance(target, cst.Name):
        ctx.summary.add_fill(target.value)


def _early_return_tests(function: cst.FunctionDef) -> dict[int, tuple[frozenset[str], frozenset[str]]]:
    """Top-level statement id -> the names read by the tests of the ``if <test>: return ...``
    statements before it (the statement runs only when none of them returned), and the
    names those tests require truthy or not None (``if not size: return``: "size")."""
    result: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
    if not isinstance(function.body, cst.IndentedBlock):
        return result
    seen: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    for statement in function.body.body:
        if seen:
            result[id(statement)] = (seen, required)
        if isinstance(statement, cst.If) and statement.orelse is None and _only_returns(statement.body):
            seen = seen | names_read(statement.test)
            required = required | _required(statement.test, False)
    return result


def _required(test: cst.BaseExpression, outcome: bool) -> frozenset[str]:
    """Names that must be truthy ("x") or not None ("x?") for ``test`` to come out
    ``outcome``: ``size`` -> {"size"} when true; ``x is None`` -> {"x?"} when false;
    ``isinstance(seat, str)`` -> {"seat?"} when true; through ``not``, ``and``, ``or``."""
    if isinstance(test, cst.Name):
        return frozenset({test.value}) if outcome and test.value not in ("True", "False", "None") else frozenset()
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _required(test.expression, not outcome)
    if isinstance(test, cst.BooleanOperation):
        left, right = _required(test.left, outcome), _required(test.right, outcome)
        both = isinstance(test.operator, cst.And) == outcome  # ``a and b`` true, ``a or b`` false
        return left | right if both else left & right
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        target = test.comparisons[0]
        if isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            not_none = isinstance(target.operator, (cst.IsNot, cst.NotEqual))
            if isinstance(target.operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)) and not_none == outcome:
                return frozenset({test.left.value + "?"})
        return frozenset()
    if outcome and isinstance(test, cst.Call) and isinstance(test.func, cst.Name) \
            and test.func.value == "isinstance" and test.args and isinstance(test.args[0].value, cst.Name):
        return frozenset({test.args[0].value.value + "?"})
    return frozenset()


def _only(needs: frozenset[str], names: set[str]) -> frozenset[str]:
    """The needs (``x`` / ``x?``) on ``names``."""
    return frozenset(need for need in needs if need.rstrip("?") in names)


def _argument_shape(call: cst.Call, ctx: Context) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """How many arguments a call passes by position (-1 with ``*args``), the keywords it
    names ("**" for ``**kwargs``), and which of them hand on an optional parameter of the
    calling function unchanged ("attach=attach", "2=size" for the third positional): a
    caller of the caller that leaves it out leaves it out here too."""
    positional = 0
    keywords: list[str] = []
    forwards: list[str] = []
    optional = ctx.summary.current_optional if ctx.function is not None else {}
    for arg in call.args:
        if arg.star == "*":
            positional = -1
            continue
        if arg.star == "**":
            keywords.append("**")
            continue
        slot = arg.keyword.value if arg.keyword is not None else str(positional)
        if optional and isinstance(arg.value, cst.Name) and arg.value.value in optional \
                and positional >= 0 and arg.value.value not in ctx.function.assignments:
            forwards.append(f"{slot}={arg.value.value}")
        if arg.keyword is not None:
            # ``seat=None`` gives what leaving it out gives when the default is None (and
            # for a parameter without that default it changes nothing perflint weighs)
            if not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                keywords.append(arg.keyword.value)
        elif positional >= 0:
            positional += 1
    return positional, tuple(keywords), tuple(forwards)


def _only_returns(block: cst.BaseSuite) -> bool:
    lines = block.body if isinstance(block, cst.IndentedBlock) else [block]
    return len(lines) == 1 and isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)) \
        and len(lines[0].body) == 1 and isinstance(lines[0].body[0], cst.Return)


def _own_statement(call: cst.Call, query: QueryCall, ctx: Context) -> bool:
    """The statement is the function's own, so calling the function repeats it: not DDL,
    and neither its SQL, its table nor its model comes from the function's parameters
    (``def execute(self, sql)`` runs whatever each caller passes: a schema editor's
    statements, not one query repeated)."""
    if query.is_ddl:
        return False
    function = ctx.function
    if function is None or not isinstance(function.node, cst.FunctionDef):
        return True
    params = function.node.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params,
                                    params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)}
    names.discard("self")
    names.discard("cls")
    if query.opaque_sql is not None and names_read(query.opaque_sql) & names:
        return False
    argument = sql_argument(call)
    if query.sql_text is not None and argument is not None and has_dynamic_table(query.sql_text) \
            and names_read(argument) & names:
        return False
    root = manager_root(call) if query.kind == "orm" else None
    return not (root is not None and names_read(root) & names)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = {cst.Module([]).code_for_node(test.left).strip("'\" "),
             cst.Module([]).code_for_node(target.comparator).strip("'\" ")}
    return sides == {"__name__", "__main__"}


def _parse_error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return make_finding(PARSE_ERROR, message, path, max(line, 1), max(column, 1))


def _syntax_error_finding(path: str, data: bytes, error: cst.ParserSyntaxError) -> Finding:
    """LibCST's error position is often the token after the mistake; CPython's compiler
    (parse only, nothing runs) pinpoints it, so ask it for the position when it agrees."""
    try:
        ast.parse(data)
    except SyntaxError as syntax_error:
        if syntax_error.lineno:
            return _parse_error(path, f"cannot parse Python: {syntax_error.msg}",
                                syntax_error.lineno, syntax_error.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        pass
    first = str(error.message).splitlines()[0] if error.message else "syntax error"
    return _parse_error(path, f"cannot parse Python: {first}", error.raw_line, error.raw_column + 1)


def _sql_finding(path: str, problem: SqlProblem, use: SqlUse, spans: dict[int, Span]) -> Finding:
    """At the offending fragment inside the literal when it can be mapped, else at the literal."""
    span = spans[id(use.literal)]
    line, column, end_line, end_column = span.line, span.column, span.end_line, span.end_column
    parts = literal_parts(use.literal)
    if parts is not None and problem.offset is not None:
        start = locate(parts, spans, problem.offset)
        end = locate(parts, spans, max((problem.end_offset or problem.offset + 1) - 1, problem.offset))
        if start is not None:
            line, column = start
            end_line, end_column = (end[0], end[1] + 1) if end is not None else start
    return make_finding(problem.code, problem.message, path, line, column + 1, end_line,
                        end_column + 1, function=use.function, loop_depth=use.loop_depth,
                        schema_check=problem.schema_check.to_json() if problem.schema_check else None,
                        sql=use.text,
                        **({"confidence": problem.confidence} if problem.confidence else {}))


def analyze_python(path: str, data: bytes, config: Config, pack: RulePack,
                   line_starts: LineStarts | None = None) -> FileResult:
    text = decode_source(data)
    result = FileResult(path)
    try:
        module = parse_module(data)
    except cst.ParserSyntaxError as error:
        if PARSE_ERROR in pack.codes:
            result.findings.append(_syntax_error_finding(path, data, error))
        return result
    except (RecursionError, MemoryError):
        if PARSE_ERROR in pack.codes:
            result.findings.append(_parse_error(path, "cannot parse Python: nested too deeply"))
        return result
    except Exception as error:  # noqa: BLE001 - libcst raises other types on odd input (encodings, nul bytes)
        if PARSE_ERROR in pack.codes:
            result.findings.append(_parse_error(path, f"cannot parse Python: {type(error).__name__}: {error}"))
        return result

    knowledge = (Knowledge().with_extra_sinks(list(config.extra_sinks))
                 .with_blocking_calls(list(config.blocking_calls))
                 .with_http_clients(list(config.http_clients))
                 .with_connection_factories(list(config.connection_factories))
                 .with_query_methods(list(config.query_methods)))
    builder = SummaryBuilder(path)
    ctx = Context(path, module, knowledge, config, builder)
    collector = FactCollector()
    # Model classes are recorded for the project phase (which joins them with the code
    # that uses them, often in another file); only files that can define one are watched.
    models = ModelCollector() if MODEL_CANDIDATE.search(text) else None
    rules = pack.python_rules_for(text)
    walker = Walker(ctx, Dispatcher([collector, *([models] if models else []), *rules]))
    try:
        walker.run(module)
    except RecursionError:
        if PARSE_ERROR in pack.codes:
            result.findings.append(_parse_error(path, "cannot analyse: code nested too deeply"))
        return result

    dialect = config.dialect or ctx.dialect_hint or "postgres"
    # Neither configured nor told by a driver import: PostgreSQL is a guess, and text
    # it cannot read may be another dialect's (MySQL's ``DATABASE()``, SQLite's ``[t]``).
    guessed = not (config.dialect or ctx.dialect_hint)
    sql_rules = pack.sql_rules() if collector.sql_uses else []
    sql_reports: list[tuple[SqlProblem, SqlUse]] = []
    for use in collector.sql_uses.values():
        sql_context = SqlContext(dialect, config.deep_offset, use.wildcard_params)
        fallbacks = tuple(name for name, marker in DEFAULT_DIALECT_FALLBACKS
                          if guessed and marker.search(use.text))
        for problem in check_sql(use.text, sql_context, sql_rules, pack.codes, fallbacks):
            sql_reports.append((problem, use))

    nodes: list[cst.CSTNode] = [report.node for report in ctx.reports]
    nodes.extend(anchor for report in ctx.reports for anchor in report.extra.get("lines_of", {}).values())
    for _problem, use in sql_reports:
        nodes.append(use.literal)
        nodes.extend(literal_parts(use.literal) or ())
    tops: dict[int, cst.CSTNode] = {}
    for report in ctx.reports:
        if report.top is not None:
            tops[id(report.node)] = report.top
            for anchor in report.extra.get("lines_of", {}).values():
                tops.setdefault(id(anchor), report.top)  # else the module is generated
    spans = node_spans(module, nodes, tops, text, line_starts)
    findings: list[Finding] = []
    for report in ctx.reports:
        span = spans[id(report.node)]
        extra = dict(report.extra)
        message = report.message
        # ``lines_of={"queryset": node}``: "{queryset}" in the message becomes that node's line
        for key, anchor in extra.pop("lines_of", {}).items():
            message = message.replace("{" + key + "}", str(spans[id(anchor)].line))
        findings.append(make_finding(
            report.rule.code, message, path, span.line, span.column + 1,
            span.end_line, span.end_column + 1, function=report.function,
            loop_depth=report.loop_depth, **extra))
    lines = text.splitlines()
    for problem, use in sql_reports:
        literal = spans[id(use.literal)]
        # A noqa comment cannot sit inside a triple-quoted string: one on the line where the
        # literal starts or ends covers the findings inside it (flake8 reads it there too).
        if not any(0 < n <= len(lines) and suppressed(lines[n - 1], problem.code)
                   for n in {literal.line, literal.end_line}):
            findings.append(_sql_finding(path, problem, use, spans))
    result.findings = finish(path, text, findings)
    result.set_summary(builder.finish())
    if models is not None:
        result.schema_records = models.records
    return result
