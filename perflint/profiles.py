"""Measured weights from profiles the user already has.

A static score guesses where time goes; a profile from production or a load test
knows. ``load_profile`` reads three formats people already produce and turns each
into the same thing, a ``FunctionHeat``: for every profiled function, the share
of total time (or samples) spent inside it, callees included:

* cProfile/pstats dumps (``python -m cProfile -o out.prof``): marshal data, read
  with ``pstats.Stats`` (marshal builds values, it never runs code; nothing here
  unpickles). Share = cumulative time / total time.
* speedscope JSON (``py-spy record -f speedscope``, and other exporters):
  "sampled" profiles (share = weight of the samples whose stack holds the
  function) and "evented" profiles (share = time the function is on the stack).
* collapsed stacks (``py-spy record -f raw``, Brendan Gregg's folded format,
  ``a;b;c 12``); py-spy frames read ``function (path/to/file.py:123)``.

In the sample formats a stack counts once for a function however many times the
function appears in it (recursion), so shares stay in [0, 1].

Profiles come from another machine (absolute paths, or py-spy's paths shortened
to the package) and name functions by their last component (pstats' ``co_name``)
or by ``co_qualname`` (py-spy on Python 3.11+). ``FunctionHeat.share_of`` matches
a project file by the longest common trailing path components and a function by
its last name component, taking the maximum when several match.
"""

from __future__ import annotations

import json
import math
import pstats
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

FORMATS = ("pstats", "speedscope", "collapsed")
EXPECTED = ("a cProfile/pstats dump (python -m cProfile -o FILE), speedscope JSON "
            "(py-spy record -f speedscope) or collapsed stacks (py-spy record -f raw: 'a;b;c 12' lines)")
MODULE_FRAME = "<module>"  # what profilers call module-level code; share_of(path, "") looks it up
_Key = tuple[str, str, int | None]  # (path, name, first line) of a profiled function


class ProfileError(Exception):
    """A profile perflint cannot read; the message names the file and what was expected."""


@dataclass(frozen=True)
class ProfiledFunction:
    """One function as the profile names it, with its inclusive share of the total."""

    path: str  # as recorded, with ``/`` separators (absolute, or shortened by py-spy)
    name: str  # ``co_name`` (pstats) or a dotted qualified name (py-spy on 3.11+)
    line: int | None  # first line where the format records it (pstats); samples carry the current line
    share: float  # in [0, 1]


_ByName = dict[str, list[ProfiledFunction]]  # last name component -> functions of one file


@dataclass(frozen=True)
class FunctionHeat:
    """Measured inclusive shares of a profile, looked up by project path and qualname."""

    source: str  # the profile file, for messages
    format: str  # one of FORMATS
    functions: tuple[ProfiledFunction, ...] = ()
    total: float = 0.0  # seconds (pstats, speedscope time units) or samples the shares divide

    def share_of(self, path: str, qualname: str) -> float:
        """Inclusive share in [0, 1] of ``qualname`` (``Repo.get_user``, ``handler``;
        ``""`` for module-level code) defined in ``path`` (project-relative posix path,
        ``shop/app.py``); 0.0 when the profile never saw it.

        The profile files that share the longest run of trailing path components with
        ``path`` are the candidates; that run must cover the file name and its parent
        directory, unless one side has no parent directory (a profile that recorded
        ``app.py`` only, or a project file at the root). Within them, functions match
        on the last name component, and qualified profile names must agree with
        ``qualname`` on the components both have. Ties take the maximum."""
        key = (path, qualname)
        cache = self._cache
        if key not in cache:
            cache[key] = self._lookup(path, qualname)
        return cache[key]

    def _lookup(self, path: str, qualname: str) -> float:
        project = path_parts(path)
        if not project:
            return 0.0
        best, chosen = 0, []
        for profile_parts, by_name in self._files.get(project[-1], ()):
            tail = common_tail(profile_parts, project)
            if tail < min(2, len(profile_parts), len(project)):
                continue
            if tail > best:
                best, chosen = tail, [by_name]
            elif tail == best:
                chosen.append(by_name)
        wanted = name_parts(qualname) or (MODULE_FRAME,)
        return max((function.share for by_name in chosen for function in by_name.get(wanted[-1], ())
                    if names_agree(name_parts(function.name), wanted)), default=0.0)

    @cached_property
    def _files(self) -> dict[str, list[tuple[tuple[str, ...], _ByName]]]:
        """File name -> [(path components, last name component -> functions)], built once."""
        grouped: dict[tuple[str, ...], _ByName] = defaultdict(lambda: defaultdict(list))
        for function in self.functions:
            parts, names = path_parts(function.path), name_parts(function.name)
            if parts and names:
                grouped[parts][names[-1]].append(function)
        files: dict[str, list[tuple[tuple[str, ...], _ByName]]] = defaultdict(list)
        for parts, by_name in grouped.items():
            files[parts[-1]].append((parts, dict(by_name)))
        return dict(files)

    @cached_property
    def _cache(self) -> dict[tuple[str, str], float]:
        return {}


def path_parts(path: str) -> tuple[str, ...]:
    """``/srv/app/shop/app.py`` -> ``('srv', 'app', 'shop', 'app.py')``; Windows separators too."""
    return tuple(part for part in path.replace("\\", "/").split("/") if part not in ("", "."))


def common_tail(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    """How many trailing components two paths share."""
    count = 0
    for a, b in zip(reversed(left), reversed(right)):
        if a != b:
            break
        count += 1
    return count


def name_parts(name: str) -> tuple[str, ...]:
    """``outer.<locals>.inner`` -> ``('outer', 'inner')``: perflint's qualnames have no ``<locals>``."""
    return tuple(part for part in name.split(".") if part and part != "<locals>")


def names_agree(profiled: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """The components both names have are equal (``get_user`` agrees with ``Repo.get_user``,
    ``Cache.get_user`` does not)."""
    common = min(len(profiled), len(wanted))
    return common > 0 and profiled[-common:] == wanted[-common:]


# -- loading -------------------------------------------------------------------------

def load_profile(path: str | Path) -> FunctionHeat:
    """Detect the format of ``path`` and read it; raises ProfileError, never anything else."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as error:
        raise ProfileError(f"{source}: cannot read profile: {error.strerror or error}") from None
    if not data.strip():
        raise ProfileError(f"{source}: empty file; expected {EXPECTED}")
    if data[:2] == b"\x1f\x8b":
        raise ProfileError(f"{source}: gzip-compressed; decompress it first (expected {EXPECTED})")
    text = _as_text(data)
    if text is None:
        return _load_pstats(source)
    if text.lstrip()[:1] in ("{", "["):
        return _load_speedscope(source, text)
    return _load_collapsed(source, text)


def _as_text(data: bytes) -> str | None:
    """The file as text, or None if it is binary (marshal data always holds NUL bytes:
    its integers are four little-endian bytes)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _heat(source: Path, format: str, inclusive: dict[_Key, float],
          total: float) -> FunctionHeat:
    """Shares from inclusive amounts; a zero total (nothing measured) gives zero shares."""
    functions = tuple(
        ProfiledFunction(path, name, line, min(1.0, max(0.0, amount / total)) if total > 0 else 0.0)
        for (path, name, line), amount in inclusive.items()
    )
    return FunctionHeat(str(source), format, functions, total)


# -- pstats --------------------------------------------------------------------------

def _load_pstats(source: Path) -> FunctionHeat:
    """cProfile dump: ``{(file, first line, co_name): (cc, nc, tt, ct, callers)}``."""
    try:
        stats = pstats.Stats(str(source))
    except Exception as error:  # noqa: BLE001 - marshal and pstats raise anything from EOFError to KeyError
        raise ProfileError(f"{source}: binary file that is not a cProfile/pstats dump "
                           f"({type(error).__name__}: {error}); expected {EXPECTED}") from None
    raw: Any = stats.stats  # type: ignore[attr-defined]  # pstats documents the dict, typeshed does not
    inclusive: dict[_Key, float] = {}
    total = 0.0
    for key, value in raw.items():
        if not _pstats_entry_ok(key, value):
            raise ProfileError(f"{source}: malformed pstats entry {key!r}; expected "
                               "(file, line, function) -> (cc, nc, tt, ct, callers)")
        filename, line, name = key
        total += value[2]
        inclusive[(filename.replace("\\", "/"), name, line)] = float(value[3])
    return _heat(source, "pstats", inclusive, total)


def _pstats_entry_ok(key: Any, value: Any) -> bool:
    return (isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str)
            and isinstance(key[1], int) and isinstance(key[2], str)
            and isinstance(value, tuple) and len(value) == 5
            and all(_is_number(v) for v in value[:4]))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- speedscope ----------------------------------------------------------------------

TIME_UNITS = {"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0}


def _load_speedscope(source: Path, text: str) -> FunctionHeat:
    """https://www.speedscope.app/file-format-schema.json: shared frames, then one
    profile per thread (py-spy), each sampled or evented. Time units are turned into
    seconds so threads recorded in different units add up."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProfileError(f"{source}: invalid JSON ({error}); expected {EXPECTED}") from None
    if not isinstance(document, dict) or "profiles" not in document or "shared" not in document:
        raise ProfileError(f"{source}: JSON, but not a speedscope profile (no 'shared' and 'profiles'; "
                           "py-spy writes one with -f speedscope)")
    keys = _speedscope_frames(source, document["shared"])
    profiles = document["profiles"]
    if not isinstance(profiles, list):
        raise ProfileError(f"{source}: speedscope 'profiles' must be a list")
    inclusive: dict[_Key, float] = defaultdict(float)
    total = 0.0
    for number, profile in enumerate(profiles):
        where = f"{source}: speedscope profile {number}"
        if not isinstance(profile, dict):
            raise ProfileError(f"{where}: expected an object")
        scale = TIME_UNITS.get(str(profile.get("unit", "none")), 1.0)
        if profile.get("type") == "sampled":
            amounts, profile_total = _sampled(where, profile, keys)
        elif profile.get("type") == "evented":
            amounts, profile_total = _evented(where, profile, keys)
        else:
            raise ProfileError(f"{where}: type {profile.get('type')!r}; expected 'sampled' or 'evented'")
        total += profile_total * scale
        for key, amount in amounts.items():
            inclusive[key] += amount * scale
    return _heat(source, "speedscope", inclusive, total)


def _speedscope_frames(source: Path, shared: Any) -> list[_Key]:
    """Frame index -> (file, name, None): py-spy's ``line`` is where the sample was taken,
    not where the function starts, so lines would split one function into many."""
    frames = shared.get("frames") if isinstance(shared, dict) else None
    if not isinstance(frames, list):
        raise ProfileError(f"{source}: speedscope 'shared.frames' must be a list")
    keys = []
    for index, frame in enumerate(frames):
        if not isinstance(frame, dict) or not isinstance(frame.get("name"), str):
            raise ProfileError(f"{source}: speedscope frame {index} needs a string 'name'")
        file = frame.get("file")
        keys.append(((file if isinstance(file, str) else "").replace("\\", "/"), frame["name"], None))
    return keys


def _frame_index(where: str, value: Any, count: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
        raise ProfileError(f"{where}: frame index {value!r} is not one of the {count} shared frames")
    return value


def _sampled(where: str, profile: dict[str, Any], keys: list[_Key]) -> tuple[dict[_Key, float], float]:
    """Weight of the samples whose stack holds each function, and the total weight.
    py-spy writes one frame per (function, line), so a stack can hold a function
    under several frame indices: a set of functions per stack counts each once."""
    samples = profile.get("samples")
    if not isinstance(samples, list) or not all(isinstance(stack, list) for stack in samples):
        raise ProfileError(f"{where}: 'samples' must be a list of frame-index lists")
    weights = profile.get("weights")
    if weights is None:
        weights = [1.0] * len(samples)
    if not isinstance(weights, list) or len(weights) != len(samples) or not all(map(_is_number, weights)):
        raise ProfileError(f"{where}: 'weights' must be a list of numbers, one per sample")
    by_stack: dict[frozenset[int], float] = defaultdict(float)  # many samples repeat a stack
    for stack, weight in zip(samples, weights):
        by_stack[frozenset(_frame_index(where, index, len(keys)) for index in stack)] += weight
    amounts: dict[_Key, float] = defaultdict(float)
    for frames, weight in by_stack.items():
        for key in {keys[index] for index in frames}:
            amounts[key] += weight
    return amounts, float(sum(weights))


def _evented(where: str, profile: dict[str, Any], keys: list[_Key]) -> tuple[dict[_Key, float], float]:
    """Time each function spends on the stack, and the profile's duration. A function
    open several times at once (recursion) counts from its outermost open to the
    matching close."""
    events = profile.get("events")
    if not isinstance(events, list):
        raise ProfileError(f"{where}: 'events' must be a list")
    start, end = profile.get("startValue"), profile.get("endValue")
    if not (_is_number(start) and _is_number(end)):
        raise ProfileError(f"{where}: 'startValue' and 'endValue' must be numbers")
    stack = _OpenFrames(keys)
    last = start
    for number, event in enumerate(events):
        if not isinstance(event, dict) or event.get("type") not in ("O", "C") or not _is_number(event.get("at")):
            raise ProfileError(f"{where}: event {number} must be {{'type': 'O'|'C', 'at': number, 'frame': index}}")
        at, frame = event["at"], _frame_index(where, event.get("frame"), len(keys))
        if at < last:
            raise ProfileError(f"{where}: event {number} at {at} comes before the previous one ({last})")
        last = at
        if event["type"] == "O":
            stack.open(frame, at)
        elif not stack.close(frame, at):
            raise ProfileError(f"{where}: event {number} closes frame {frame}, which is not the innermost open frame")
    stack.close_all(max(end, last))  # frames still open when recording stopped
    return stack.amounts, float(max(end, last) - start)


class _OpenFrames:
    """The evented stack, with how many times each function is open on it."""

    def __init__(self, keys: list[_Key]) -> None:
        self.keys = keys
        self.frames: list[int] = []
        self.depth: dict[_Key, int] = defaultdict(int)
        self.opened: dict[_Key, float] = {}
        self.amounts: dict[_Key, float] = defaultdict(float)

    def open(self, frame: int, at: float) -> None:
        key = self.keys[frame]
        self.frames.append(frame)
        self.depth[key] += 1
        self.opened.setdefault(key, at)

    def close(self, frame: int, at: float) -> bool:
        """False if ``frame`` is not the innermost open frame (the file is malformed)."""
        if not self.frames or self.frames[-1] != frame:
            return False
        self.frames.pop()
        key = self.keys[frame]
        self.depth[key] -= 1
        if self.depth[key] == 0:
            self.amounts[key] += at - self.opened.pop(key)
        return True

    def close_all(self, at: float) -> None:
        while self.frames:
            self.close(self.frames[-1], at)


# -- collapsed stacks ----------------------------------------------------------------

_FOLDED_LINE = re.compile(r"^(?:(?P<stack>.*?)\s+)?(?P<count>\d+(?:\.\d+)?)\s*$")
_PYSPY_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _load_collapsed(source: Path, text: str) -> FunctionHeat:
    """``frame;frame;frame count`` per line, root first. A line with a count and no
    frames (py-spy writes them for empty stacks) adds to the total only."""
    inclusive: dict[_Key, float] = defaultdict(float)
    total = 0.0
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _FOLDED_LINE.match(line)
        if match is None:
            what = "not a recognised profile" if not seen else "malformed collapsed stack"
            raise ProfileError(f"{source}: line {number}: {what}: {_clip(line)!r}; expected {EXPECTED}")
        seen += 1
        count = float(match.group("count"))
        total += count
        for key in set(_folded_frames(match.group("stack") or "")):
            inclusive[key] += count
    if not inclusive:
        raise ProfileError(f"{source}: no stack frames, only counts; expected {EXPECTED}")
    return _heat(source, "collapsed", inclusive, total)


def _folded_frames(stack: str) -> Iterable[_Key]:
    """py-spy's ``name (file:line)`` frames give a file; other tools' bare names do not."""
    for frame in stack.split(";"):
        if not frame:
            continue
        match = _PYSPY_FRAME.match(frame)
        if match is None:
            yield "", frame, None
        else:
            yield match.group("file").replace("\\", "/"), match.group("name"), None


def _clip(line: str, width: int = 80) -> str:
    return line if len(line) <= width else line[:width] + "..."
