"""Per-file result cache: JSON (never pickle), keyed by content hash, perflint version,
effective configuration and path. Writes are atomic (temp file + rename), so
concurrent runs at worst both write the same entry; unreadable entries are misses."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from perflint import __version__

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by perflint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_LAYOUT = "v1"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The perflint version plus a fingerprint of the installed engine and rule files
    (names, sizes, modification times: stat only, no reading), so that results computed
    by other code, say in an editable install during development, are never reused."""
    import perflint.rules as rules_package  # the catalog only; loaded on every run anyway

    roots = [os.path.dirname(os.path.abspath(__file__)), *rules_package.__path__]
    digest = hashlib.sha256(__version__.encode())
    for root in dict.fromkeys(roots):
        for directory, _dirs, files in sorted(os.walk(root)):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(directory, name))
                    digest.update(f"{directory}/{name}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def file_key(display_path: str, content: bytes, config_key: str) -> str:
    digest = hashlib.sha256()
    for part in (code_version().encode(), config_key.encode(), display_path.encode()):
        digest.update(part)
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


def project_key(file_keys: list[str], config_key: str) -> str:
    digest = hashlib.sha256(f"{code_version()}\0{config_key}\0".encode())
    for key in file_keys:
        digest.update(key.encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / _LAYOUT
        self._prepared = False

    def _prepare(self) -> None:
        if self._prepared:
            return
        self.base.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "# created by perflint\n*\n")):
            marker = self.root / name
            if not marker.exists():
                _atomic_write(marker, text)
        self._prepared = True

    def _entry(self, kind: str, key: str) -> Path:
        return self.base / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> Any | None:
        try:
            with open(self._entry(kind, key), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None  # missing or corrupt: recomputed and rewritten
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return data.get("value")

    def put(self, kind: str, key: str, value: Any) -> None:
        try:
            self._prepare()
            entry = self._entry(kind, key)
            entry.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(entry, json.dumps({"key": key, "value": value}, separators=(",", ":")))
        except OSError:
            pass  # a read-only or full disk must not fail the run


def _atomic_write(path: Path, text: str) -> None:
    import tempfile  # writes happen only on runs that analysed something

    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
