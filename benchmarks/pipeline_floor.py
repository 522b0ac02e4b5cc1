"""Diagnostic: perflint's own pipeline with the per-file analysis cut down to the LibCST parse.

Run by benchmarks/run.py with the python of the perflint venv, like the ``perflint`` command:

    python pipeline_floor.py check --no-cache --jobs 2 --exit-zero --format json --output F DIR

Everything perflint does around the analysis stays: start-up, discovery, reading and
hashing, the nesting scan, the process pool, the project phase and the report. Each
Python file is parsed with LibCST exactly as ``perflint check`` parses it (same parsing
session, same fast constructors) and then dropped: no traversal, no rules, no summary.
Its wall time is the least any perflint that LibCST-parses every file can take with the
same job count, whatever its analysis costs; the harness sets it beside target 2b.

It replaces ``perflint.pyfile.analyze_python`` in this process; pool workers inherit
the replacement because perflint forks them, so the script refuses to run where the
``fork`` start method does not exist.
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        sys.exit("pipeline_floor.py needs the fork start method (pool workers must inherit "
                 "the parse-only analysis)")
    from perflint import cli, pyfile
    from perflint.analyze import FileResult

    if not callable(getattr(pyfile, "analyze_python", None)) or not callable(
            getattr(pyfile, "parse_module", None)):
        sys.exit("pipeline_floor.py: perflint.pyfile has no analyze_python/parse_module to "
                 "replace; update the script to this perflint")

    def parse_only(path: str, data: bytes, *_args: object, **_kwargs: object) -> FileResult:
        try:
            pyfile.parse_module(data)
        except Exception:  # noqa: BLE001 - a file the parser rejects costs what it costs
            pass
        return FileResult(path)

    pyfile.analyze_python = parse_only
    sys.argv[0] = "perflint"
    cli.main()


if __name__ == "__main__":
    main()
