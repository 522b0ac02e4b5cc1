"""The command line: ``perflint check``, ``perflint rules``, ``perflint explain``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from perflint import __version__
from perflint.config import ConfigError, load_config, with_overrides

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    items = tuple(item.strip() for value in values for item in value.split(",") if item.strip())
    return items or None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perflint")
def cli() -> None:
    """perflint: find costly patterns in Python services and the SQL they run."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help="Only these codes or prefixes (comma-separated).")
@click.option("--extend-select", multiple=True, help="Add codes to the selection (e.g. PFL902).")
@click.option("--ignore", multiple=True, help="Skip these codes or prefixes.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: cores].")
@click.option("--no-cache", is_flag=True, help="Analyse every file; do not read or write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Cache directory [default: .perflint_cache].")
@click.option("--sort", type=click.Choice(["score", "location"]), default="score", show_default=True)
@click.option("--min-confidence", type=click.Choice(["low", "medium", "high"]))
@click.option("--dialect", help="SQL dialect (default: guessed from the driver, else postgres).")
@click.option("--schema", "schema_paths", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="DDL (.sql file or directory) describing the database, for PFL109/PFL113; repeatable.")
@click.option("--profile", "profiles", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A profile that weighs the ranking (cProfile/pstats, py-spy speedscope JSON or "
                   "collapsed stacks); repeatable.")
@click.option("--pg-stat-statements", "pg_stat_statements", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV export of pg_stat_statements that weighs SQL findings; repeatable.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pyproject.toml to read [tool.perflint] from.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
def check(paths: tuple[Path, ...], select: tuple[str, ...], extend_select: tuple[str, ...],
          ignore: tuple[str, ...], output_format: str, output: Path | None, jobs: int | None,
          no_cache: bool, cache_dir: str | None, sort: str, min_confidence: str | None,
          dialect: str | None, schema_paths: tuple[Path, ...], profiles: tuple[Path, ...],
          pg_stat_statements: tuple[Path, ...], config_path: Path | None, exit_zero: bool) -> None:
    """Check PATHS (default: the current directory) for performance anti-patterns."""
    from perflint.reporters import REPORTERS
    from perflint.runner import RunOptions, run

    try:
        config = load_config(config_path)
        # --select replaces the configured selection; --ignore and --extend-select add
        # to the configured lists (as ruff does).
        extra_ignore, extra_select = _split(ignore), _split(extend_select)
        config = with_overrides(
            config, select=_split(select),
            extend_select=config.extend_select + extra_select if extra_select else None,
            ignore=config.ignore + extra_ignore if extra_ignore else None,
            min_confidence=min_confidence, dialect=dialect, cache_dir=cache_dir,
            schema=config.schema + tuple(str(p.resolve()) for p in schema_paths) if schema_paths else None)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    measured = None
    if profiles or pg_stat_statements:
        from perflint.measured import Measured
        from perflint.profiles import ProfileError

        try:
            measured = Measured.load(profiles, pg_stat_statements)
        except ProfileError as error:
            raise click.UsageError(str(error)) from None
    options = RunOptions(paths=paths or (Path("."),), jobs=jobs, use_cache=not no_cache,
                         cwd=Path.cwd(), sort=sort, measured=measured)
    result = run(config, options)
    color = output is None and output_format == "text" and sys.stdout.isatty() \
        and "NO_COLOR" not in os.environ
    report = REPORTERS[output_format](result, color)
    if output is not None:
        try:
            output.write_text(report, encoding="utf-8")
        except OSError as error:
            click.echo(f"perflint: cannot write {output}: {error.strerror or error}", err=True)
            sys.exit(EXIT_ERROR)
    else:
        click.echo(report, nl=False)
    for error in result.errors:
        click.echo(f"perflint: {error.path}: {error.message}", err=True)
    if result.missing_paths:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.findings and not exit_zero else EXIT_CLEAN)


@cli.command(name="graph")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--entry", help="Only what this entry point (function name or dotted id) reaches.")
@click.option("--format", "output_format", type=click.Choice(["json", "dot"]), default="json",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: cores].")
@click.option("--no-cache", is_flag=True, help="Analyse every file; do not read or write the cache.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def graph(paths: tuple[Path, ...], entry: str | None, output_format: str, output: Path | None,
          jobs: int | None, no_cache: bool, config_path: Path | None) -> None:
    """Show the project call graph and the hot paths behind the findings of PATHS."""
    from perflint.graphview import graph_report
    from perflint.runner import RunOptions, run

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    result = run(config, RunOptions(paths=paths or (Path("."),), jobs=jobs, use_cache=not no_cache,
                                    cwd=Path.cwd(), keep_summaries=True))
    for error in result.errors:
        click.echo(f"perflint: {error.path}: {error.message}", err=True)
    if result.missing_paths:
        sys.exit(EXIT_ERROR)
    report = graph_report(result.summaries, result.findings, output_format, entry)
    if output is not None:
        output.write_text(report, encoding="utf-8")
    else:
        click.echo(report, nl=False)


@cli.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, default state and summary."""
    from perflint.registry import all_rule_classes

    for rule in all_rule_classes():
        state = "" if rule.default_enabled else " (off by default)"
        click.echo(f"{rule.code}  {rule.name:<24} {rule.severity:<8} {rule.summary}{state}")


@cli.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of rule CODE (e.g. PFL201)."""
    from perflint.registry import all_codes, rule_class

    given, code = code, code.strip().upper()
    if code not in all_codes():
        # Accept the kebab-case name too.
        from perflint.registry import all_rule_classes

        by_name = {rule.name: rule.code for rule in all_rule_classes()}
        if code.lower() not in by_name:
            raise click.UsageError(f"unknown rule {given!r} (see `perflint rules`)")
        code = by_name[code.lower()]
    rule = rule_class(code)
    click.echo(f"{rule.code} {rule.name} ({rule.severity}, confidence {rule.confidence})\n")
    click.echo(rule.documentation())


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001  # pragma: no cover - last resort: a clear message, exit 2
        click.echo(f"perflint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
