"""``[tool.perflint]`` configuration: read, validated (unknown keys are errors), merged with CLI options."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from perflint.registry import all_codes, expand_codes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIDENCE_ORDER = {"low": 0, "medium": 1, "high": 2}
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
DIALECTS = ("postgres", "mysql", "sqlite", "tsql", "oracle", "bigquery", "snowflake", "duckdb",
            "redshift", "trino", "spark", "clickhouse")


class ConfigError(Exception):
    """A configuration problem, reported as a usage error (exit code 2)."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    dialect: str | None = None
    schema: tuple[str, ...] = ()
    extra_sinks: tuple[str, ...] = ()
    entry_point_decorators: tuple[str, ...] = ()
    connection_factories: tuple[str, ...] = ()  # PFL205: more connect functions (dotted names)
    blocking_calls: tuple[str, ...] = ()  # PFL303: more blocking functions (dotted names)
    http_clients: tuple[str, ...] = ()  # PFL304: more HTTP client classes (dotted names)
    query_methods: tuple[str, ...] = ()  # PFL201/PFL204: more ORM query methods (method names)
    min_confidence: str = "low"
    small_literal_max: int = 16
    deep_offset: int = 1000  # PFL107: a literal OFFSET at least this large
    cache_dir: str = ".perflint_cache"
    source: str = "defaults"  # where it was read from, for messages

    def enabled_codes(self) -> frozenset[str]:
        from perflint.registry import rule_class

        if self.select:
            codes = expand_codes(self.select)
        else:
            codes = {code for code in all_codes() if _default_enabled(code, rule_class)}
        codes |= expand_codes(self.extend_select)
        codes -= expand_codes(self.ignore)
        return frozenset(codes)

    def schema_paths(self, cwd: Path) -> list[Path]:
        """``schema`` entries as paths: relative ones are taken from the directory of the
        pyproject.toml that named them (from ``cwd`` for the command line)."""
        base = Path(self.source).parent if self.source.endswith(".toml") else cwd
        return [Path(entry) if Path(entry).is_absolute() else base / entry for entry in self.schema]

    def analysis_key(self) -> str:
        """Hash of everything that changes what one file's analysis produces."""
        relevant = {
            "codes": sorted(self.enabled_codes()),
            "dialect": self.dialect,
            "extra_sinks": self.extra_sinks,
            "entry_point_decorators": self.entry_point_decorators,
            "connection_factories": self.connection_factories,
            "blocking_calls": self.blocking_calls,
            "http_clients": self.http_clients,
            "query_methods": self.query_methods,
            "small_literal_max": self.small_literal_max,
            "deep_offset": self.deep_offset,
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _default_enabled(code: str, rule_class: Any) -> bool:
    # Only PFL902 is off by default; avoid importing rule modules to learn that.
    return code not in _OFF_BY_DEFAULT


_OFF_BY_DEFAULT = frozenset({"PFL902"})

# TOML key -> (Config field, expected type)
_KEYS: dict[str, tuple[str, type]] = {
    "select": ("select", list),
    "extend-select": ("extend_select", list),
    "ignore": ("ignore", list),
    "per-file-ignores": ("per_file_ignores", dict),
    "exclude": ("exclude", list),
    "extend-exclude": ("extend_exclude", list),
    "respect-gitignore": ("respect_gitignore", bool),
    "dialect": ("dialect", str),
    "schema": ("schema", list),
    "extra-sinks": ("extra_sinks", list),
    "entry-point-decorators": ("entry_point_decorators", list),
    "connection-factories": ("connection_factories", list),
    "blocking-calls": ("blocking_calls", list),
    "http-clients": ("http_clients", list),
    "query-methods": ("query_methods", list),
    "min-confidence": ("min_confidence", str),
    "small-literal-max": ("small_literal_max", int),
    "deep-offset": ("deep_offset", int),
    "cache-dir": ("cache_dir", str),
}


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """Read ``[tool.perflint]`` from ``path`` or the nearest pyproject.toml above ``start``."""
    pyproject = path if path is not None else find_pyproject((start or Path.cwd()).resolve())
    if pyproject is None:
        return Config()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {pyproject}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject} is not valid TOML: {error}") from None
    tool = data.get("tool")
    table = tool.get("perflint") if isinstance(tool, dict) else None
    if table is None:
        return Config(source=str(pyproject))
    return config_from_table(table, str(pyproject))


def config_from_table(table: dict[str, Any], source: str) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.perflint] must be a table")
    values: dict[str, Any] = {"source": source}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.perflint] (known keys: {known})")
        name, expected = _KEYS[key]
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            raise ConfigError(f"{source}: [tool.perflint] {key} must be a {expected.__name__}, "
                              f"not {type(value).__name__}")
        if expected is list:
            if not all(isinstance(item, str) for item in value):
                raise ConfigError(f"{source}: [tool.perflint] {key} must be a list of strings")
            value = tuple(value)
        if key == "per-file-ignores":
            value = _per_file_ignores(value, source)
        values[name] = value
    config = Config(**values)
    return validate(config)


def _per_file_ignores(value: dict[str, Any], source: str) -> dict[str, tuple[str, ...]]:
    result: dict[str, tuple[str, ...]] = {}
    for pattern, codes in value.items():
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{source}: per-file-ignores[{pattern!r}] must be a list of codes")
        result[pattern] = tuple(codes)
    return result


def validate(config: Config) -> Config:
    try:
        for selectors in (config.select, config.extend_select, config.ignore,
                          *config.per_file_ignores.values()):
            expand_codes(selectors)
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}") from None
    if config.min_confidence not in CONFIDENCE_ORDER:
        raise ConfigError(f"{config.source}: min-confidence must be one of low, medium, high")
    if config.dialect is not None and config.dialect not in DIALECTS:
        raise ConfigError(f"{config.source}: unknown dialect {config.dialect!r} "
                          f"(known: {', '.join(DIALECTS)})")
    if config.small_literal_max < 0:
        raise ConfigError(f"{config.source}: small-literal-max must be >= 0")
    if config.deep_offset < 1:
        raise ConfigError(f"{config.source}: deep-offset must be >= 1")
    for name in config.query_methods:
        if not name.isidentifier():
            raise ConfigError(f"{config.source}: query-methods entries are method names "
                              f"(`get_active`, `published`), not {name!r}")
    for key, names in (("blocking-calls", config.blocking_calls), ("http-clients", config.http_clients),
                       ("connection-factories", config.connection_factories)):
        for name in names:
            if not _DOTTED_NAME.fullmatch(name):
                raise ConfigError(f"{config.source}: {key} entries are dotted names "
                                  f"(module.function or module.Class), not {name!r}")
    return config


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Apply CLI options (None means "not given")."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if not given:
        return config
    validate(Config(source="command line", **given))  # blame the option, not pyproject.toml
    return replace(config, **given)
