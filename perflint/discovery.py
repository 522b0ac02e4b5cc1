"""Find the .py and .sql files to check: paths, excludes and .gitignore files."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".eggs", "*.egg-info", "__pycache__",
    "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".perflint_cache",
    "site-packages", "__pypackages__", "build", "dist",
)
SUFFIXES = (".py", ".sql")


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute, as found (a str: Path objects cost on the warm path)
    display: str  # relative to the working directory when below it, posix separators

    def read_bytes(self) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read()


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


class _Pattern:
    """One .gitignore line. Paths are plain posix strings: discovery is most of a warm
    run, and ``pathlib`` objects made per entry and per pattern were most of discovery."""

    def __init__(self, line: str, base: str) -> None:
        self.negated = line.startswith("!")
        if self.negated:
            line = line[1:]
        self.directory_only = line.endswith("/")
        line = line.rstrip("/")
        self.anchored = "/" in line
        line = line.lstrip("/")
        self.base_prefix = _posix(base).rstrip("/") + "/"  # the .gitignore's directory
        self.regex = re.compile(_glob_to_regex(line))

    def matches(self, path: str, name: str, is_dir: bool) -> bool:
        """``path``: absolute, posix separators; ``name``: its last part."""
        if self.directory_only and not is_dir:
            return False
        if not path.startswith(self.base_prefix):
            return False
        if self.anchored:
            return self.regex.fullmatch(path[len(self.base_prefix):]) is not None
        return self.regex.fullmatch(name) is not None


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            if end == -1:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append(pattern[i:end + 1].replace("[!", "[^"))
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _read_gitignore(directory: str) -> list[_Pattern]:
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        patterns.append(_Pattern(line.replace("\\#", "#"), directory))
    return patterns


def _ignored(patterns: list[_Pattern], path: str, name: str, is_dir: bool) -> bool:
    verdict = False
    for pattern in patterns:
        if pattern.matches(path, name, is_dir):
            verdict = not pattern.negated
    return verdict


def _git_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


class Discoverer:
    def __init__(self, excludes: tuple[str, ...], respect_gitignore: bool, cwd: Path) -> None:
        self.excludes = DEFAULT_EXCLUDES + tuple(e.rstrip("/") for e in excludes)
        # One compiled alternation instead of fnmatch per pattern per entry: discovery
        # is on the warm path, where it is most of the run.
        self._exclude_regex = re.compile("|".join(fnmatch.translate(p) for p in self.excludes))
        self.respect_gitignore = respect_gitignore
        self.cwd = cwd
        self._cwd_prefix = str(cwd).rstrip(os.sep) + os.sep

    def _excluded(self, path: Path) -> bool:
        """A pattern matches an entry's name or its path relative to the working directory.
        The walk does not enter excluded directories; a path given explicitly that lies
        inside one is still checked (as ruff and flake8 do)."""
        return self._excluded_text(path.name, display_path(path, self.cwd))

    def _excluded_text(self, name: str, relative: str) -> bool:
        match = self._exclude_regex.match
        return match(name) is not None or match(relative) is not None

    def _inherited_gitignores(self, directory: Path) -> list[_Pattern]:
        if not self.respect_gitignore:
            return []
        root = _git_root(directory)
        if root is None:
            return _read_gitignore(str(directory))
        chain = [directory, *directory.parents]
        patterns: list[_Pattern] = []
        for parent in reversed(chain[: chain.index(root) + 1]):
            patterns.extend(_read_gitignore(str(parent)))
        return patterns

    def discover(self, paths: list[Path]) -> tuple[list[SourceFile], list[str]]:
        """Files to check in a stable order, and the given paths that do not exist."""
        found: dict[str, SourceFile] = {}
        missing: list[str] = []
        for given in paths:
            path = (self.cwd / given).resolve() if not given.is_absolute() else given
            if path.is_file():
                # A file named explicitly is checked even if excludes would skip it.
                found.setdefault(str(path), SourceFile(str(path), display_path(path, self.cwd)))
            elif path.is_dir():
                outside = not (str(path) + os.sep).startswith(self._cwd_prefix)
                for full, relative in self._walk(path):
                    display = Path(full).as_posix() if outside else relative
                    found.setdefault(full, SourceFile(full, display))
            else:
                missing.append(str(given))
        return sorted(found.values(), key=lambda f: f.display), missing

    def _walk(self, top: Path) -> list[tuple[str, str]]:
        """(absolute path, path relative to the working directory) of each file."""
        results: list[tuple[str, str]] = []
        start = str(top)
        stack: list[tuple[str, list[_Pattern]]] = [(start, self._inherited_gitignores(top))]
        prefix = self._cwd_prefix
        while stack:
            directory, patterns = stack.pop()
            if directory != start and self.respect_gitignore:
                patterns = patterns + _read_gitignore(directory)
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if not is_dir and not entry.name.endswith(SUFFIXES):
                    continue
                full = entry.path
                relative = full.removeprefix(prefix)
                if os.sep != "/":
                    relative = relative.replace(os.sep, "/")
                if self._excluded_text(entry.name, relative):
                    continue
                if patterns and _ignored(patterns, _posix(full), entry.name, is_dir):
                    continue
                if is_dir:
                    if not entry.is_symlink():
                        stack.append((full, patterns))
                else:
                    results.append((full, relative))
        return results
