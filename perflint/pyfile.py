"""Python files: one LibCST parse, one traversal, SQL from the sinks, positions for reports."""

from __future__ import annotations

import ast

import libcst as cst

from perflint.analyze import FileResult, decode_source, finish, make_finding
from perflint.config import Config
from perflint.context import Context
from perflint.cstparse import parse_module
from perflint.cstutil import dotted_name
from perflint.findings import Finding
from perflint.knowledge import Knowledge
from perflint.positions import node_spans
from perflint.queries import classify_call, sql_of_call
from perflint.rulepack import RulePack
from perflint.sqlcheck import check_sql
from perflint.summary_builder import SummaryBuilder
from perflint.traversal import Dispatcher, Walker

PARSE_ERROR = "PFL901"


class FactCollector:
    """The engine's own visitor: call sites for the call graph, and SQL handed to sinks."""

    def __init__(self) -> None:
        # literal node id -> (text, literal node); a literal is checked once however
        # many sinks it reaches (``execute(text(SQL))``, a constant used twice).
        self.sql_uses: dict[int, tuple[str, cst.BaseExpression, str, int]] = {}

    def visit_Call(self, node: cst.Call, ctx: Context) -> None:
        callee = dotted_name(node.func)
        if callee is not None:
            ctx.summary.add_call(callee, len(ctx.loops))
        query = classify_call(node, ctx)
        if query is not None:
            ctx.summary.mark_query()
        sql = sql_of_call(node, ctx)
        if sql is not None:
            self.sql_uses.setdefault(id(sql[1]), (*sql, ctx.frame.qualname, len(ctx.loops)))


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


def analyze_python(path: str, data: bytes, config: Config, pack: RulePack) -> FileResult:
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
    except Exception as error:  # libcst raises a few other types on odd input (encodings, nul bytes)
        if PARSE_ERROR in pack.codes:
            result.findings.append(_parse_error(path, f"cannot parse Python: {type(error).__name__}: {error}"))
        return result

    knowledge = Knowledge().with_extra_sinks(list(config.extra_sinks))
    builder = SummaryBuilder(path)
    ctx = Context(path, module, knowledge, config, builder)
    collector = FactCollector()
    rules = pack.python_rules_for(text)
    walker = Walker(ctx, Dispatcher([collector, *rules]))
    try:
        walker.run(module)
    except RecursionError:
        if PARSE_ERROR in pack.codes:
            result.findings.append(_parse_error(path, "cannot analyse: code nested too deeply"))
        return result

    dialect = config.dialect or ctx.dialect_hint or "postgres"
    sql_rules = pack.sql_rules() if collector.sql_uses else []
    sql_reports: list[tuple[str, str, cst.CSTNode, str, int]] = []
    for text_sql, literal, function, depth in collector.sql_uses.values():
        for code, message in check_sql(text_sql, dialect, sql_rules, pack.codes):
            sql_reports.append((code, message, literal, function, depth))

    nodes = [report.node for report in ctx.reports] + [use[2] for use in sql_reports]
    spans = node_spans(module, nodes)
    findings: list[Finding] = []
    for report in ctx.reports:
        span = spans[id(report.node)]
        extra = dict(report.extra)
        findings.append(make_finding(
            report.rule.code, report.message, path, span.line, span.column + 1,
            span.end_line, span.end_column + 1, function=report.function,
            loop_depth=report.loop_depth, **extra))
    for code, message, node, function, depth in sql_reports:
        span = spans[id(node)]
        findings.append(make_finding(code, message, path, span.line, span.column + 1,
                                     span.end_line, span.end_column + 1, function=function,
                                     loop_depth=depth))
    result.findings = finish(path, text, findings)
    result.set_summary(builder.summary)
    return result
