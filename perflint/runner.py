"""The pipeline: discover -> read & hash -> (cache | parse + one traversal per file, in
a process pool) -> project graph -> rank -> filter -> sort. Reporters format the result."""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perflint.analyze import (
    FileResult,
    analyze_bytes,
    collection_paused,
    make_finding,
    one_file_without_collection,
)
from perflint.cache import ResultCache, code_version, file_key, project_key
from perflint.config import CONFIDENCE_ORDER, Config
from perflint.discovery import Discoverer, SourceFile, display_path
from perflint.findings import FileError, Finding
from perflint.registry import expand_codes
from perflint.schema import build_schema, decide_schema_checks


@dataclass
class RunResult:
    findings: list[Finding]
    errors: list[FileError]
    stats: dict[str, Any] = field(default_factory=dict)
    missing_paths: list[str] = field(default_factory=list)  # given (paths, schema paths), absent
    summaries: list[Any] = field(default_factory=list)  # FileSummary of every file, when asked for


@dataclass(frozen=True)
class RunOptions:
    paths: tuple[Path, ...] = (Path("."),)
    jobs: int | None = None  # None: one per core
    use_cache: bool = True
    cwd: Path = field(default_factory=Path.cwd)
    sort: str = "score"  # "score" | "location"
    keep_summaries: bool = False  # `perflint graph`: the project's summaries, not only findings
    measured: Any = None  # perflint.measured.Measured: profiles that weigh the ranking


# -- worker side --------------------------------------------------------------------------
_WORKER_STATE: dict[str, Any] = {}


def _init_worker(config: Config) -> None:
    from perflint.rulepack import RulePack

    _WORKER_STATE["config"] = config
    _WORKER_STATE["pack"] = RulePack.for_codes(config.enabled_codes())


def _init_pool_worker(config: Config, python: bool) -> None:
    """A pool process parses files until it ends: one parsing session for all of them."""
    _init_worker(config)
    if python:
        from perflint.cstparse import parsing_session

        _WORKER_STATE["session"] = session = parsing_session()
        session.__enter__()  # left open: the process ends with the pool


def _has_python(paths: list[str]) -> bool:
    return any(not path.endswith(".sql") for path in paths)


def _analyze_job(job: tuple[str, bytes]) -> dict[str, Any]:
    display, data = job
    with one_file_without_collection():
        try:
            result = analyze_bytes(display, data, _WORKER_STATE["config"], _WORKER_STATE["pack"])
            return {"result": result.to_json()}
        except Exception as error:  # noqa: BLE001 - a perflint bug must cost one file, not the run
            return {"error": f"internal error while analysing: {type(error).__name__}: {error}"}


OutputHandler = Callable[[int, dict[str, Any]], None]


def _analyze_serial(jobs: list[tuple[str, bytes]], config: Config, handle: OutputHandler) -> None:
    _init_worker(config)
    if not _has_python([display for display, _ in jobs]):
        for index, job in enumerate(jobs):  # .sql alone: LibCST is not even imported
            handle(index, _analyze_job(job))
        return
    from perflint.cstparse import parsing_session

    with parsing_session():
        for index, job in enumerate(jobs):
            handle(index, _analyze_job(job))


def _analyze_parallel(jobs: list[tuple[str, bytes]], config: Config, workers: int,
                      handle: OutputHandler, meanwhile: Callable[[], None]) -> None:
    """Each job's output to ``handle`` (with the job's index) as the workers deliver them;
    ``meanwhile`` runs in this process while they start on the first files."""
    # Biggest files first so no worker is left with a giant file at the end; outputs
    # are handed on with their job's index, so what is built from them does not
    # depend on scheduling.
    # Imported here: a warm run never starts a pool and should not pay for these imports.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1]))
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    if method == "fork":
        # The rule modules (and LibCST with them) are imported once here and inherited by
        # every worker, instead of once per worker and again by the project phase (whose
        # findings need the rules' metadata).
        _init_worker(config)
    context = multiprocessing.get_context(method)
    chunksize = max(1, len(jobs) // (workers * 16))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_init_pool_worker,
                             initargs=(config, _has_python([display for display, _ in jobs]))) as pool:
        outputs = pool.map(_analyze_job, [jobs[i] for i in order], chunksize=chunksize)
        meanwhile()
        for position, output in enumerate(outputs):
            handle(order[position], output)


# -- main process ------------------------------------------------------------------------
def run(config: Config, options: RunOptions) -> RunResult:
    # No automatic collection during the run: it keeps every file's results, a few hundred
    # thousand containers, none in a cycle, and each full collection walked them all again
    # (four per cold Django run, 0.4 s of CPU). Files' own cycles are collected after each
    # file (``analyze.one_file_without_collection``); pool workers inherit this when they fork.
    with collection_paused():
        return _run(config, options)


def _run(config: Config, options: RunOptions) -> RunResult:
    started = time.perf_counter()
    discoverer = Discoverer(config.exclude + config.extend_exclude, config.respect_gitignore,
                            options.cwd)
    files, missing = discoverer.discover(list(options.paths))
    errors = [FileError(path, "no such file or directory") for path in missing]
    # DDL named in the configuration (or --schema) is read for the schema, not reported on.
    schema_files, schema_missing = Discoverer((), False, options.cwd).discover(
        config.schema_paths(options.cwd))
    schema_missing = [display_path(Path(path), options.cwd) for path in schema_missing]
    errors.extend(FileError(path, "schema path not found") for path in schema_missing)
    missing = missing + schema_missing  # a usage error (exit 2), like a missing path argument
    reported = {source.display for source in files}
    files = files + [s for s in schema_files if s.display.endswith(".sql") and s.display not in reported]
    config_key = config.analysis_key()
    enabled = config.enabled_codes()

    contents: list[tuple[SourceFile, bytes, str]] = []
    unreadable: list[Finding] = []
    for source in files:
        try:
            data = source.read_bytes()
        except OSError as error:
            # A bad file is a finding, not a crash and not a silent skip.
            if "PFL901" in enabled:
                unreadable.append(make_finding("PFL901", f"cannot read file: {error.strerror or error}",
                                               source.display, 1, 1))
            continue
        contents.append((source, data, file_key(source.display, data, config_key)))

    cache = ResultCache(options.cwd / config.cache_dir) if options.use_cache else None
    measured_key = options.measured.key if options.measured else ""
    whole_key = project_key([key for _, _, key in contents], config_key + measured_key)
    cached_project = _decode_project(cache.get("project", whole_key)) \
        if cache and not options.keep_summaries else None
    stats: dict[str, Any] = {"files": len(contents), "analysed": 0, "cached": 0}

    summaries: list[Any] = []
    if cached_project is not None:
        findings, cached_errors = cached_project
        errors.extend(cached_errors)
        stats["cached"] = len(contents)
    else:
        findings, file_errors, summaries = _analyze_project(contents, config, options, cache, stats,
                                                            [s.display for s in schema_files])
        findings = [f for f in findings if f.path in reported]
        errors.extend(file_errors)
        if cache:
            cache.put("project", whole_key, {
                "findings": [f.to_json() for f in findings],
                "errors": [e.to_json() for e in file_errors],
            })

    findings = _filter(findings + unreadable, config)
    if options.sort == "location":
        findings.sort(key=Finding.sort_key_location)
    else:
        findings.sort(key=lambda f: (-f.score, *f.sort_key_location()))
    stats["findings"] = len(findings)
    by_code: dict[str, int] = {}
    for finding in findings:
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    stats["by_code"] = dict(sorted(by_code.items()))
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return RunResult(findings, errors, stats, missing, summaries)


def _decode_project(value: Any) -> tuple[list[Finding], list[FileError]] | None:
    """A cached project result, or None for a missing, corrupt or foreign entry (which
    is then recomputed and rewritten)."""
    if value is None:
        return None
    try:
        return ([Finding.from_json(item) for item in value["findings"]],
                [FileError(**item) for item in value["errors"]])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _analyze_project(contents: list[tuple[SourceFile, bytes, str]], config: Config,
                     options: RunOptions, cache: ResultCache | None, stats: dict[str, Any],
                     schema_order: list[str]) -> tuple[list[Finding], list[FileError], list[Any]]:
    results: list[FileResult | None] = [None] * len(contents)
    errors: list[FileError] = []
    missing: list[int] = []
    for index, (source, _data, key) in enumerate(contents):
        cached = cache.get("file", key) if cache else None
        if cached is not None:
            try:
                results[index] = FileResult.from_json(cached)
                continue
            except (KeyError, TypeError, ValueError):
                pass  # an entry from an incompatible layout: recompute
        missing.append(index)
    stats["cached"] = len(contents) - len(missing)
    stats["analysed"] = len(missing)

    jobs = [(contents[i][0].display, contents[i][1]) for i in missing]
    failed: dict[int, FileError] = {}

    def handle(job_index: int, output: dict[str, Any]) -> None:
        # Decoded as the outputs arrive: in a parallel run, while the workers go on.
        index = missing[job_index]
        source, _data, key = contents[index]
        if "error" in output:
            failed[index] = FileError(source.display, output["error"])
            return
        results[index] = result = FileResult.from_json(output["result"])
        _summary(result)  # decoded once, kept with the result
        if cache:
            cache.put("file", key, output["result"])

    workers = options.jobs or os.cpu_count() or 1
    if workers > 1 and len(jobs) >= 2 * workers:
        _analyze_parallel(jobs, config, min(workers, len(jobs)), handle, _import_project_phase)
    else:
        _analyze_serial(jobs, config, handle)
    errors.extend(failed[index] for index in sorted(failed))  # in file order, not arrival order

    project_started = time.perf_counter()
    findings = [finding for result in results if result for finding in result.findings]
    if any(finding.schema_check for finding in findings):
        schema = build_schema([result for result in results if result], schema_order)
        findings = decide_schema_checks(findings, schema)
    sources = {source.display: data for source, data, _key in contents}
    findings = _project_phase(findings, [result for result in results if result], sources,
                              config.enabled_codes(), cache, options.measured)
    # schema, call graph, interprocedural findings, ranking: what the project phase costs
    stats["project_seconds"] = round(time.perf_counter() - project_started, 3)
    summaries = [summary for r in results if r and (summary := _summary(r)) is not None] \
        if options.keep_summaries else []
    return findings, errors, summaries


def _import_project_phase() -> None:
    """The call graph's modules: imported while the workers run, not after them."""
    for module in ("perflint.graph", "perflint.interproc", "perflint.ranking"):
        importlib.import_module(module)


def _project_phase(findings: list[Finding], results: list[FileResult], sources: dict[str, bytes],
                   enabled: frozenset[str], cache: ResultCache | None, measured: Any = None) -> list[Finding]:
    """The call graph's findings (interprocedural PFL201/PFL203) and every finding's score.
    Both depend only on the summaries, so an edit that leaves every summary as it was (a
    comment, a literal, a loop body) reuses the cached heat and sites instead of rebuilding
    the graph; the sites' positions are looked up again in the current sources."""
    from perflint.graph import Heat
    from perflint.interproc import Site, dedupe, site_findings
    from perflint.ranking import score_findings

    graph_key = hashlib.sha256("\n".join(
        [code_version(), ",".join(sorted(enabled)),
         *(r.summary_hash for r in results if r.summary_hash)]).encode()).hexdigest()
    cached = cache.get("graph", graph_key) if cache else None
    heat: dict[str, Heat] | None = None
    sites: list[Site] = []
    if cached is not None:
        try:
            heat = {node: Heat(**value) for node, value in cached["heat"].items()}
            sites = [Site.from_json(site) for site in cached["sites"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            heat = None  # corrupt entry: recompute and rewrite
    if heat is None:
        from perflint.graph import build_call_graph, compute_heat
        from perflint.interproc import find_sites

        summaries = [summary for r in results if (summary := _summary(r)) is not None]
        graph = build_call_graph(summaries)
        heat, sites = compute_heat(graph), find_sites(summaries, graph, enabled)
        if cache:
            cache.put("graph", graph_key, {"heat": {node: asdict(value) for node, value in heat.items()},
                                           "sites": [site.to_json() for site in sites]})
    project = _unsuppressed(site_findings(sites, sources, make_finding), sources)
    findings = dedupe(findings + project)
    score_findings(findings, heat, measured)
    return findings


def _unsuppressed(findings: list[Finding], sources: dict[str, bytes]) -> list[Finding]:
    """The findings the per-file pass did not see, less those a ``# noqa`` covers: one on
    the finding's line, or one that names its code on a later step of its trace. So one
    ``# noqa: PFL303`` on the blocking call in a helper (or on a call leading to it)
    covers every caller that reaches it that way. A bare ``# noqa`` on a step covers only
    that line's own findings: it may sit there for another tool's sake."""
    from perflint.analyze import decode_source
    from perflint.suppression import suppressed

    texts: dict[str, list[str]] = {}

    def line_text(path: str, line: int) -> str:
        lines = texts.get(path)
        if lines is None:
            lines = texts[path] = decode_source(sources.get(path, b"")).splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    return [finding for finding in findings
            if not suppressed(line_text(finding.path, finding.line), finding.code)
            and not any(suppressed(line_text(step.path, step.line), finding.code, bare=False)
                        for step in finding.trace[1:])]


def _summary(result: FileResult) -> Any:
    """The file's summary; None when a tampered cache entry holds one that does not decode
    (the file's findings stand, it just adds nothing to the call graph)."""
    try:
        return result.summary
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _filter(findings: list[Finding], config: Config) -> list[Finding]:
    minimum = CONFIDENCE_ORDER[config.min_confidence]
    ignores = [(pattern, expand_codes(codes)) for pattern, codes in config.per_file_ignores.items()]
    kept = []
    for finding in findings:
        if CONFIDENCE_ORDER.get(finding.confidence, 2) < minimum:
            continue
        if any(finding.code in codes and _path_matches(finding.path, pattern)
               for pattern, codes in ignores):
            continue
        kept.append(finding)
    return kept


def _path_matches(path: str, pattern: str) -> bool:
    return fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.rstrip("/") + "/*")
