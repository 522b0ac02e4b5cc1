#!/usr/bin/env python3
"""perflint speed benchmark: one command, pinned real corpora, pinned competitors.

    python benchmarks/run.py                       # django corpus, 3 rounds (slow tools 1)
    python benchmarks/run.py --corpus all          # django, then the async corpus
    python benchmarks/run.py --quick               # smoke test: 1 round, fewer tools
    python benchmarks/run.py --skip pylint,fixit   # or --only perflint,libcst,ruff

Standard library only. What it does, in order:
  1. downloads the pinned wheels (pip download, sha256 checked) and unpacks their .py files
     under benchmarks/.corpus/<corpus>/ (and a quarter corpus: every 4th file);
  2. creates one virtualenv per competitor under benchmarks/.venvs/ from
     benchmarks/requirements/*.txt, and one for our perflint (pip install of this repo);
  3. measures every tool round-robin (one round = every measurement once), records wall
     seconds, CPU seconds (user+sys of the child and its reaped descendants, from os.wait4)
     and peak RSS (ru_maxrss of that rusage) per run, medians per measurement;
  4. prints the table and the target ratios, writes benchmarks/results/<corpus>-<date>.json,
     benchmarks/results/latest.json and benchmarks/results/latest.md.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CORPUS_ROOT = BENCH / ".corpus"
VENV_ROOT = BENCH / ".venvs"
DOWNLOADS = BENCH / ".downloads"
RESULTS = BENCH / "results"
REQUIREMENTS = BENCH / "requirements"

# --------------------------------------------------------------------------------------------
# Pins
# --------------------------------------------------------------------------------------------

# pip download flags that make the chosen wheel independent of the machine running the harness
# (the compiled wheels of aiohttp, websockets and asyncpg: only their .py files are used).
WHEEL_TAG_FLAGS = [
    "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
    "--abi", "cp311", "--platform", "manylinux_2_28_x86_64",
]

# (distribution, version, wheel file name, sha256)
CORPORA = {
    "django": {
        "description": "Django 5.2.19 (the whole wheel): a large synchronous web framework + ORM",
        "wheels": [
            ("django", "5.2.19", "django-5.2.19-py3-none-any.whl",
             "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00"),
        ],
        # the file the one-changed-file measurement appends a comment to
        "changed_file": "django/db/models/query.py",
    },
    "async": {
        "description": "async-heavy libraries: servers, clients, event-loop frameworks, async "
                       "database drivers (see README for why each)",
        "wheels": [
            ("aiohttp", "3.14.5",
             "aiohttp-3.14.5-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64."
             "manylinux_2_28_x86_64.whl",
             "50a195903119008fe9cc68710535eb37f556ffffd6a7759afe70a2c145587045"),
            ("trio", "0.35.0", "trio-0.35.0-py3-none-any.whl",
             "9a062a029487c1bdbcc1b2543b729a0bde857ce478b1512c84f391f628e0c5c9"),
            ("anyio", "4.16.0", "anyio-4.16.0-py3-none-any.whl",
             "c66ae634e0b8228396b801741beb3294326d4b6102f7bba4041c0dfb58c29026"),
            ("websockets", "17.4",
             "websockets-17.4-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64."
             "manylinux_2_5_x86_64.whl",
             "cebad8f4796248b91fc2168515e507e5cb6b663a32befd09f3b1e7920acdcb1a"),
            ("starlette", "1.10.0", "starlette-1.10.0-py3-none-any.whl",
             "478c0ab3b4ced6e82719849c118fa406f0278a3499c1a898cd15cd31bdc38ce4"),
            ("httpx", "0.28.1", "httpx-0.28.1-py3-none-any.whl",
             "d909fcccc110f8c7faf814ca82a9a4d816bc5a6dbfea25d6591d6985b8ba59ad"),
            ("httpcore", "1.0.9", "httpcore-1.0.9-py3-none-any.whl",
             "2d400746a40668fc9dec9810239072b40b4484b640a8c38fd654a024c7a1bf55"),
            ("uvicorn", "0.54.0", "uvicorn-0.54.0-py3-none-any.whl",
             "505bdb0f318731d45f1f712071fc781a8981f6847a31c902c9f5e652d4f67faf"),
            ("asyncpg", "0.32.0",
             "asyncpg-0.32.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64."
             "manylinux_2_28_x86_64.whl",
             "968c570c5913b7ce0995953d7239bd2367142d1af4359f87699f7a6ca75c4382"),
            ("aiosqlite", "0.22.1", "aiosqlite-0.22.1-py3-none-any.whl",
             "21c002eb13823fad740196c5a2e9d8e62f6243bd9e7e4a1f87fb5e44ecb4fceb"),
            ("aiobotocore", "3.10.0", "aiobotocore-3.10.0-py3-none-any.whl",
             "de0ccbcb82b6b0009f1b6667f48442e9d0432f9b8bfe6172fa51777cbea89d03"),
        ],
        "changed_file": "aiohttp/client.py",
    },
}

# One venv per competitor, each from a fully pinned requirements file.
VENVS = {
    "flake8": "flake8.txt",
    "pylint": "pylint-perflint.txt",
    "fixit": "fixit.txt",
    "ruff": "ruff.txt",
    "libcst": "libcst.txt",
}

# Anthony Shaw's pylint plugin's messages (perflint 0.8.1). The harness reads them from the
# installed package; this list is only the fallback.
PYLINT_PERFLINT_FALLBACK_IDS = [
    "W8101", "W8102", "W8201", "W8202", "R8203", "W8204", "W8205", "W8301", "W8401", "W8402",
    "W8403",
]

TOOLS = ["libcst", "perflint", "flake8", "pylint", "fixit", "ruff"]
SLOW = {"fixit"}  # measured --slow-rounds times (default 1): ~270 CPU-s per run on django
QUICK = {"libcst", "libcst-quarter", "perflint-cold-j1", "perflint-cold-j2", "perflint-floor-j2",
         "perflint-warm", "perflint-changed", "perflint-cold-j1-quarter", "flake8-j2", "ruff"}

DIAGNOSTIC = {"perflint-floor-j2"}  # perflint's pipeline cut down, not perflint: no target
TARGETS = {  # the targets
    "cpu_vs_libcst_floor": 1.5,
    "wall_vs_flake8_j2": 0.75,
    "wall_vs_pylint_perflint_j2": 0.2,
    "warm_wall_vs_ruff": 2.0,
    "changed_file_wall_s": 1.5,
    "peak_rss_mb": 300.0,
    "linearity_tolerance": 0.20,
}

CHANGE_MARK = b"\n# perflint-benchmark: one changed file "

# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def iter_py_files(root: Path):
    """Sorted .py files under root, skipping dot-directories (same walk as floor_parse.py)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath) / name


def count_tree(root: Path) -> tuple[int, int]:
    files = lines = 0
    for p in iter_py_files(root):
        files += 1
        lines += p.read_bytes().count(b"\n")
    return files, lines


def run_quiet(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def median(xs):
    return statistics.median(xs) if xs else None


# --------------------------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------------------------

# Written at each corpus root: marks it as its own project so that no tool picks up the
# configuration of the repository the corpus happens to sit in (perflint's own pyproject.toml
# excludes "benchmarks"), and fixit/trailrunner stop their config search here.
CORPUS_PYPROJECT = """\
# Written by benchmarks/run.py: isolates the benchmark corpus from the enclosing repository.
[tool.perflint]

[tool.fixit]
root = true
"""


def download_wheel(dist: str, version: str, filename: str, sha: str) -> Path:
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    target = DOWNLOADS / filename
    if not target.exists():
        log(f"downloading {dist}=={version}")
        r = run_quiet([sys.executable, "-m", "pip", "download", "--no-deps", *WHEEL_TAG_FLAGS,
                       "--disable-pip-version-check", "-d", str(DOWNLOADS), f"{dist}=={version}"])
        if r.returncode != 0:
            raise SystemExit(f"pip download {dist}=={version} failed:\n{r.stdout}")
        if not target.exists():
            got = sorted(p.name for p in DOWNLOADS.glob(f"{dist}-{version}-*.whl"))
            raise SystemExit(f"pip download {dist}=={version} produced {got}, expected {filename}")
    actual = sha256_file(target)
    if actual != sha:
        raise SystemExit(f"sha256 mismatch for {filename}: pinned {sha}, got {actual}")
    return target


def prepare_corpus(name: str) -> dict:
    spec = CORPORA[name]
    root = CORPUS_ROOT / name
    quarter = CORPUS_ROOT / f"{name}-quarter"
    manifest_path = CORPUS_ROOT / f"{name}.manifest.json"
    pins = [[d, v, f, s] for d, v, f, s in spec["wheels"]]
    backup = CORPUS_ROOT / f"{name}.changed-file.orig"
    if backup.exists():  # an interrupted one-changed-file run: put the file back
        target = root / spec["changed_file"]
        log(f"restoring {target} from an interrupted run")
        shutil.copyfile(backup, target)
        backup.unlink()
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("pins") == pins and root.is_dir() and quarter.is_dir():
            return manifest
    log(f"preparing corpus {name!r} in {root}")
    for d in (root, quarter):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    wheels = []
    for dist, version, filename, sha in spec["wheels"]:
        whl = download_wheel(dist, version, filename, sha)
        n = 0
        with zipfile.ZipFile(whl) as z:
            for info in z.infolist():
                rel = info.filename
                if not rel.endswith(".py") or ".dist-info/" in rel or ".data/" in rel:
                    continue
                if rel.startswith("/") or ".." in Path(rel).parts:
                    continue
                dest = root / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(z.read(info))
                n += 1
        wheels.append({"dist": dist, "version": version, "file": filename, "sha256": sha,
                       "py_files": n})
    files = list(iter_py_files(root))
    for i, p in enumerate(files):  # every 4th file, same relative layout
        if i % 4 == 0:
            dest = quarter / p.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
    for d in (root, quarter):
        (d / "pyproject.toml").write_text(CORPUS_PYPROJECT)
    f_all, l_all = count_tree(root)
    f_q, l_q = count_tree(quarter)
    changed = root / spec["changed_file"]
    if not changed.is_file():
        raise SystemExit(f"changed_file {spec['changed_file']} missing from corpus {name}")
    manifest = {
        "name": name, "description": spec["description"], "pins": pins, "wheels": wheels,
        "files": f_all, "lines": l_all, "quarter_files": f_q, "quarter_lines": l_q,
        "changed_file": spec["changed_file"],
        "changed_file_sha256": sha256_file(changed),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    log(f"corpus {name}: {f_all} files, {l_all} lines; quarter: {f_q} files, {l_q} lines")
    return manifest


# --------------------------------------------------------------------------------------------
# virtualenvs
# --------------------------------------------------------------------------------------------


def venv_python(name: str) -> Path:
    return VENV_ROOT / name / "bin" / "python"


def venv_bin(name: str, exe: str) -> Path:
    return VENV_ROOT / name / "bin" / exe


def pip_freeze(name: str) -> list[str]:
    r = run_quiet([str(venv_python(name)), "-m", "pip", "freeze", "--all",
                   "--disable-pip-version-check"])
    skip = ("pip==", "setuptools==")
    return [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(skip)]


def ensure_venv(name: str, req_file: str) -> dict:
    req = REQUIREMENTS / req_file
    stamp_value = hashlib.sha256(req.read_bytes() + sys.version.encode()).hexdigest()
    vdir = VENV_ROOT / name
    stamp = vdir / ".bench-stamp"
    if not (stamp.exists() and stamp.read_text() == stamp_value and venv_python(name).exists()):
        log(f"creating venv {vdir} from {req.relative_to(REPO)}")
        if vdir.exists():
            shutil.rmtree(vdir)
        subprocess.run([sys.executable, "-m", "venv", str(vdir)], check=True)
        r = run_quiet([str(venv_python(name)), "-m", "pip", "install", "-q",
                       "--disable-pip-version-check", "-r", str(req)])
        if r.returncode != 0:
            raise SystemExit(f"installing {req} failed:\n{r.stdout}")
        stamp.write_text(stamp_value)
    return {"requirements": str(req.relative_to(REPO)), "freeze": pip_freeze(name)}


def ensure_perflint_venv(reinstall: bool) -> dict:
    """Install this repository (non-editable) into its own venv. Returns info with 'ok'."""
    vdir = VENV_ROOT / "perflint"
    info: dict = {"source": str(REPO), "ok": False}
    if not venv_python("perflint").exists():
        log(f"creating venv {vdir}")
        subprocess.run([sys.executable, "-m", "venv", str(vdir)], check=True)
        reinstall = True
    if reinstall or not venv_bin("perflint", "perflint").exists():
        log(f"installing perflint from {REPO} (non-editable)")
        r = run_quiet([str(venv_python("perflint")), "-m", "pip", "install", "-q",
                       "--disable-pip-version-check", "--force-reinstall", "--no-deps", str(REPO)])
        if r.returncode == 0:  # dependencies, without touching already satisfied ones
            r = run_quiet([str(venv_python("perflint")), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", str(REPO)])
        if r.returncode != 0:
            info["error"] = "pip install of the repository failed:\n" + r.stdout[-3000:]
            return info
    r = run_quiet([str(venv_python("perflint")), "-c",
                   "import perflint, perflint.cli; print(getattr(perflint, '__version__', '?'))"],
                  cwd=tempfile.gettempdir())
    if r.returncode != 0:
        info["error"] = "`import perflint.cli` failed:\n" + r.stdout[-3000:]
        return info
    info["version"] = r.stdout.strip().splitlines()[-1]
    exe = venv_bin("perflint", "perflint")
    if not exe.exists():
        info["error"] = f"no console script {exe}"
        return info
    r = run_quiet([str(exe), "check", "--help"], cwd=tempfile.gettempdir())
    if r.returncode != 0:
        info["error"] = "`perflint check --help` failed:\n" + r.stdout[-3000:]
        return info
    missing = [o for o in ("--no-cache", "--jobs", "--exit-zero", "--format", "--output")
               if o not in r.stdout]
    if missing:
        info["error"] = f"`perflint check` lacks options the harness relies on: {missing}"
        return info
    info["freeze"] = pip_freeze("perflint")
    info["git"] = git_describe()
    info["ok"] = True
    return info


def git_describe() -> dict:
    out = {}
    r = run_quiet(["git", "-C", str(REPO), "rev-parse", "HEAD"])
    out["commit"] = r.stdout.strip() if r.returncode == 0 else None
    r = run_quiet(["git", "-C", str(REPO), "status", "--porcelain", "--", "perflint", "rules",
                   "pyproject.toml"])
    out["dirty"] = bool(r.stdout.strip()) if r.returncode == 0 else None
    return out


def pylint_perflint_ids() -> tuple[list[str], str]:
    code = (
        "import json, perflint\n"
        "from pylint.lint import PyLinter\n"
        "l = PyLinter(); perflint.register(l)\n"
        "ids = sorted({m for c in l.get_checkers() if type(c).__module__.startswith('perflint')"
        " for m in getattr(c, 'msgs', {})})\n"
        "print(json.dumps(ids))\n"
    )
    r = run_quiet([str(venv_python("pylint")), "-c", code], cwd=tempfile.gettempdir())
    try:
        ids = json.loads(r.stdout.strip().splitlines()[-1])
        if ids:
            return ids, "read from the installed perflint package"
    except Exception:
        pass
    return PYLINT_PERFLINT_FALLBACK_IDS, "fallback list (could not read the installed package)"


# --------------------------------------------------------------------------------------------
# running one command
# --------------------------------------------------------------------------------------------


def tool_env(venv: str, home: Path) -> dict:
    vbin = VENV_ROOT / venv / "bin"
    env = {
        "PATH": f"{vbin}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(VENV_ROOT / venv),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
        "NO_COLOR": "1",
    }
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return env


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def system_busy_s() -> float | None:
    """CPU seconds all CPUs spent busy since boot (from /proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _CLK_TCK


def wait_idle(max_wait: float, threshold: float = 0.25, window: float = 0.5) -> float:
    """Wait (up to max_wait seconds) until the machine's busy CPU over `window` is below
    `threshold` cores. Returns the seconds waited."""
    if max_wait <= 0 or system_busy_s() is None:
        return 0.0
    t0 = time.perf_counter()
    while True:
        b0 = system_busy_s()
        time.sleep(window)
        if (system_busy_s() - b0) / window < threshold:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 >= max_wait:
            return time.perf_counter() - t0


NICE = 0  # --nice: scheduling priority of the measured tools (negative needs root)
IDLE_WAIT = 0.0  # --idle-wait: seconds to wait for an idle machine before each timed run


def _set_priority():  # runs in the child between fork and exec
    if NICE:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def run_measured(argv, cwd: Path, env: dict, out_prefix: Path, timeout: float) -> dict:
    """Run argv once; wall from perf_counter, CPU and peak RSS from os.wait4's rusage
    (the child plus every descendant it reaped)."""
    stdout_path = out_prefix.with_suffix(".stdout")
    stderr_path = out_prefix.with_suffix(".stderr")
    before = os.times()
    busy_before = system_busy_s()
    load_before = os.getloadavg()[0]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err, start_new_session=True,
                             preexec_fn=_set_priority if NICE else None)
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    except BaseException:  # e.g. Ctrl-C: the child runs in its own session, take it down too
        kill()
        raise
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    try:  # stragglers the tool left behind in its session
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    after = os.times()
    busy_after = system_busy_s()
    cpu = ru.ru_utime + ru.ru_stime
    own = (after.user - before.user) + (after.system - before.system)
    other = None
    if busy_before is not None and busy_after is not None:
        # CPU the rest of the machine used meanwhile: busy time minus the tool and the harness
        other = max(0.0, (busy_after - busy_before) - cpu - own)
    return {
        "rc": p.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        # cross-check: RUSAGE_CHILDREN delta of this process (same number unless something
        # else was reaped meanwhile)
        "cpu_children_delta_s": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "peak_rss_mb": ru.ru_maxrss / 1024.0,  # Linux: KiB
        "timed_out": timed_out.is_set(),
        "other_cpu_s": other,  # noise: CPU seconds used by other processes during the run
        "loadavg1_before": load_before,
        "stdout": str(stdout_path),
        "stderr": str(stderr_path),
    }


# --------------------------------------------------------------------------------------------
# validators: did the tool do its job, or crash? -> (ok, findings, note)
# --------------------------------------------------------------------------------------------


def _read(path: str, limit: int = 50_000_000) -> str:
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", "replace")


def _tail(text: str, n: int = 600) -> str:
    return text[-n:].strip()


def validate_floor(run, ctx):
    if run["rc"] != 0:
        return False, None, f"exit {run['rc']}: {_tail(_read(run['stderr']))}"
    try:
        data = json.loads(_read(run["stdout"]).strip().splitlines()[-1])
    except Exception:
        return False, None, "no JSON summary on stdout"
    if data["files"] != ctx["files"]:
        return False, None, f"parsed {data['files']} files, corpus has {ctx['files']}"
    note = f"libcst {data['libcst_version']}"
    if data["errors"]:
        note += f"; {data['errors']} files failed to parse: {data['error_samples']}"
    return True, data["errors"], note


def validate_perflint(run, ctx):
    if run["rc"] not in (0, 1):  # --exit-zero: 0; 1 tolerated (noted); 2 = usage/internal error
        return False, None, f"exit {run['rc']}: {_tail(_read(run['stderr']))}"
    try:
        data = json.loads(_read(ctx["output_file"]))
    except Exception as exc:
        return False, None, (f"exit {run['rc']} but --output is not JSON ({exc}): "
                             f"{_tail(_read(run['stderr']))}")
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        return False, None, "JSON output has no findings list"
    notes = []
    if run["rc"] == 1:
        notes.append("exit 1 despite --exit-zero")
    stats = data.get("stats") or {}
    checked = None
    for key in ("files", "files_checked", "files_analyzed", "python_files", "checked_files"):
        if isinstance(stats.get(key), int):
            checked = stats[key]
            break
    if checked is not None and checked < ctx["files"]:
        notes.append(f"stats say {checked} files checked, corpus has {ctx['files']}")
    expect = ctx.get("expect_analysed")  # warm: 0 files re-analysed, one changed file: 1
    if expect is not None and isinstance(stats.get("analysed"), int) and stats["analysed"] > expect:
        notes.append(f"cache: {stats['analysed']} files re-analysed, expected {expect}")
    if data.get("errors"):
        notes.append(f"{len(data['errors'])} errors reported")
    return True, len(data["findings"]), "; ".join(notes)


FLAKE8_LINE = re.compile(r"^.+:\d+:\d+: [A-Z]+\d+ ", re.M)


def validate_flake8(run, ctx):
    err = _read(run["stderr"])
    if run["rc"] not in (0, 1) or "Traceback (most recent call last)" in err:
        return False, None, f"exit {run['rc']}: {_tail(err)}"
    out = _read(run["stdout"])
    n = len(FLAKE8_LINE.findall(out))
    if run["rc"] == 1 and n == 0:
        return False, None, f"exit 1 without findings: {_tail(err or out)}"
    return True, n, ""


PYLINT_LINE = re.compile(r"^.+:\d+:\d+: [CRWEFI]\d{4}: ", re.M)


def validate_pylint(run, ctx):
    # pylint's exit status is a bit mask: 1 fatal, 2 error, 4 warning, 8 refactor,
    # 16 convention, 32 usage error. Findings of the perflint plugin set 4 and/or 8.
    err = _read(run["stderr"])
    rc = run["rc"]
    out = _read(run["stdout"])
    if rc < 0 or rc & 1 or rc & 32 or "Traceback (most recent call last)" in err:
        fatal = re.findall(r"^.+: F\d{4}.*$", out, re.M)[:3]
        return False, None, f"exit {rc}: {fatal or _tail(err or out)}"
    n = len(PYLINT_LINE.findall(out))
    if rc and n == 0:
        return False, None, f"exit {rc} without findings: {_tail(err or out)}"
    return True, n, ""


def validate_fixit(run, ctx):
    # fixit lint: 0 clean, 1 lint errors found; anything else (or a traceback) is a failure
    err = _read(run["stderr"])
    out = _read(run["stdout"])
    if run["rc"] not in (0, 1) or "Traceback (most recent call last)" in err + out:
        return False, None, f"exit {run['rc']}: {_tail(err or out)}"
    m = re.search(r"(\d+) files? checked", err + out)
    n = len(re.findall(r"^.+@\d+:\d+ ", out, re.M))
    note = ""
    if m:
        note = f"{m.group(1)} files checked"
        if int(m.group(1)) < ctx["files"]:
            note += f" (corpus has {ctx['files']})"
    return True, n, note


def validate_ruff(run, ctx):
    err = _read(run["stderr"])
    if run["rc"] not in (0, 1):
        return False, None, f"exit {run['rc']}: {_tail(err)}"
    out = _read(run["stdout"])
    n = len(re.findall(r"^.+:\d+:\d+: [A-Z]+\d+", out, re.M))
    if run["rc"] == 1 and n == 0:
        return False, None, f"exit 1 without findings: {_tail(err or out)}"
    return True, n, ""


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------


class Measurement:
    def __init__(self, mid, tool, jobs, venv, argv, validate, cwd, corpus_dir, files, lines,
                 rounds, output_file=None, prime=False, change=None):
        self.id = mid
        self.tool = tool
        self.jobs = jobs
        self.venv = venv
        self.argv = [str(a) for a in argv]
        self.validate = validate
        self.cwd = cwd
        self.corpus_dir = corpus_dir
        self.files = files
        self.lines = lines
        self.rounds = rounds
        self.output_file = output_file
        self.prime = prime          # run once untimed first (warm cache)
        self.change = change        # (path, backup) for the one-changed-file measurement
        self.runs: list[dict] = []
        self.discarded: list[dict] = []  # noisy runs redone under --retry-noisy
        self.retries_left = 0
        self.prime_run: dict | None = None
        self.notes: list[str] = []
        self.failed = False

    def summary(self) -> dict:
        ok = [r for r in self.runs if r["ok"]]
        return {
            "id": self.id, "tool": self.tool, "jobs": self.jobs, "argv": self.argv,
            "cwd": str(self.cwd), "corpus_dir": str(self.corpus_dir), "files": self.files,
            "lines": self.lines, "rounds_planned": self.rounds, "rounds_ok": len(ok),
            "status": "failed" if self.failed or not ok else "ok",
            "wall_s_median": median([r["wall_s"] for r in ok]),
            "cpu_s_median": median([r["cpu_s"] for r in ok]),
            "peak_rss_mb_median": median([r["peak_rss_mb"] for r in ok]),
            "peak_rss_mb_max": max((r["peak_rss_mb"] for r in ok), default=None),
            "findings": ok[-1]["findings"] if ok else None,
            # the busiest the rest of the machine was during a timed run, in cores
            "noise_cores_max": max((r["other_cpu_s"] / r["wall_s"] for r in ok
                                    if r.get("other_cpu_s") is not None and r["wall_s"] > 0),
                                   default=None),
            "notes": sorted(set(self.notes)),
            "prime_run": self.prime_run,
            "runs": self.runs,
            "discarded_noisy_runs": self.discarded,
        }


def pylint_argv(scratch: Path, ids: list[str], jobs: int, target: Path,
                excluded: list[str] = ()) -> list:
    rc = scratch / "empty-pylintrc"
    rc.write_text("")
    argv = [venv_bin("pylint", "pylint"), f"--rcfile={rc}", "--persistent=n", "--score=n",
            "--recursive=y", "--load-plugins=perflint", "--disable=all",
            "--enable=" + ",".join(ids), "--output-format=text", "-j", str(jobs)]
    if excluded:
        # no backslashes: pylint rewrites each ignore-paths pattern through PureWindowsPath,
        # which turns regex escapes into slashes
        def literal(text):
            return "".join(c if c.isalnum() or c in "/_" else f"[{c}]" for c in text)

        argv.append("--ignore-paths=" + ",".join(
            "^" + literal(str(target / rel)) + "$" for rel in excluded))
    return argv + [target]


PYLINT_FATAL = re.compile(r"^(.+?):\d+:\d+: F\d{4}: ", re.M)


def pylint_crash_probe(corpus: str, manifest: dict, ids: list[str], scratch: Path,
                       timeout: float) -> dict:
    """Anthony Shaw's perflint 0.8.1 crashes on some valid code (e.g. `for a, *b in x`):
    pylint -j1 reports such a file as F0002 astroid-error and goes on, pylint -j2 aborts the
    whole run. One untimed pylint -j1 run finds those files (cached per corpus and pins);
    the timed pylint runs exclude them with --ignore-paths, and the results say so."""
    root = CORPUS_ROOT / corpus
    cache = CORPUS_ROOT / f"{corpus}.pylint-probe.json"
    key = hashlib.sha256(json.dumps([manifest["pins"], ids]).encode()
                         + (REQUIREMENTS / VENVS["pylint"]).read_bytes()).hexdigest()
    if cache.exists():
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            return data
    log(f"{corpus}: probing which files crash the pylint perflint plugin (untimed pylint -j1)")
    d = scratch / corpus / "pylint-probe"
    d.mkdir(parents=True, exist_ok=True)
    run = run_measured(pylint_argv(scratch, ids, 1, root), d, tool_env("pylint", scratch / "home"),
                       d / "probe", timeout)
    out = _read(run["stdout"])
    crashed = sorted({os.path.relpath(m.group(1), root) for m in PYLINT_FATAL.finditer(out)})
    data = {"key": key, "rc": run["rc"], "crashed_files": crashed,
            "probe_wall_s": run["wall_s"]}
    cache.write_text(json.dumps(data, indent=2))
    if crashed:
        log(f"{corpus}: pylint perflint plugin crashes on {len(crashed)} files: {crashed}")
    return data


def build_measurements(corpus: str, manifest: dict, args, scratch: Path, perflint_ok: bool,
                       pylint_ids: list[str], pylint_excluded: list[str]) -> list[Measurement]:
    root = CORPUS_ROOT / corpus
    quarter = CORPUS_ROOT / f"{corpus}-quarter"
    files, lines = manifest["files"], manifest["lines"]
    qfiles, qlines = manifest["quarter_files"], manifest["quarter_lines"]
    R, S = args.rounds, args.slow_rounds
    ms: list[Measurement] = []

    def cwd(name):
        d = scratch / corpus / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def add(mid, tool, jobs, venv, argv, validate, target=root, nfiles=files, nlines=lines,
            output_file=None, **kw):
        rounds = S if mid in SLOW else R
        rounds = args.tool_rounds.get(venv, rounds)
        rounds = args.tool_rounds.get(mid, rounds)
        run_dir = kw.pop("cwd", None) or cwd(mid)
        ms.append(Measurement(mid, tool, jobs, venv, argv, validate, run_dir, target, nfiles,
                              nlines, rounds, output_file=output_file, **kw))

    floor = BENCH / "floor_parse.py"
    add("libcst", "libcst parse (floor)", 1, "libcst",
        [venv_python("libcst"), floor, root], validate_floor)
    add("libcst-quarter", "libcst parse (floor), quarter corpus", 1, "libcst",
        [venv_python("libcst"), floor, quarter], validate_floor, target=quarter, nfiles=qfiles,
        nlines=qlines)

    if perflint_ok:
        pf = venv_bin("perflint", "perflint")

        def pf_argv(jobs, cache, target, out):
            a = [pf, "check"] + ([] if cache else ["--no-cache"])
            return a + ["--jobs", str(jobs), "--exit-zero", "--format", "json", "--output", out,
                        target]

        for j in (1, 2):
            d = cwd(f"perflint-cold-j{j}")
            add(f"perflint-cold-j{j}", "perflint cold", j, "perflint",
                pf_argv(j, False, root, d / "out.json"), validate_perflint, cwd=d,
                output_file=d / "out.json")
        # Diagnostic, not a target: the same pipeline with each file only parsed (see
        # pipeline_floor.py); what is left of target 2b's budget for the analysis.
        d = cwd("perflint-floor-j2")
        add("perflint-floor-j2", "perflint pipeline, LibCST parse only (diagnostic)", 2,
            "perflint", [venv_python("perflint"), BENCH / "pipeline_floor.py",
                         *pf_argv(2, False, root, d / "out.json")[1:]],
            validate_perflint, cwd=d, output_file=d / "out.json")
        d = cwd("perflint-cold-j1-quarter")
        add("perflint-cold-j1-quarter", "perflint cold, quarter corpus", 1, "perflint",
            pf_argv(1, False, quarter, d / "out.json"), validate_perflint, cwd=d,
            output_file=d / "out.json", target=quarter, nfiles=qfiles, nlines=qlines)
        d = cwd("perflint-warm")
        add("perflint-warm", "perflint warm (cache)", 2, "perflint",
            pf_argv(2, True, root, d / "out.json"), validate_perflint, cwd=d,
            output_file=d / "out.json", prime=True)
        d = cwd("perflint-changed")
        add("perflint-changed", "perflint warm, one changed file", 2, "perflint",
            pf_argv(2, True, root, d / "out.json"), validate_perflint, cwd=d,
            output_file=d / "out.json", prime=True,
            change=(root / manifest["changed_file"],
                    CORPUS_ROOT / f"{corpus}.changed-file.orig"))

    for j in (1, 2):
        add(f"flake8-j{j}", "flake8", j, "flake8",
            [venv_bin("flake8", "flake8"), "--isolated", "--jobs", str(j), root], validate_flake8)

    for j in (1, 2):
        add(f"pylint-j{j}", "pylint+perflint plugin", j, "pylint",
            pylint_argv(scratch, pylint_ids, j, root, pylint_excluded), validate_pylint)

    add("fixit", "fixit lint (default rules)", "all cores", "fixit",
        [venv_bin("fixit", "fixit"), "lint", root], validate_fixit)
    add("ruff", "ruff PERF,ASYNC", "all cores", "ruff",
        [venv_bin("ruff", "ruff"), "check", "--isolated", "--select", "PERF,ASYNC", "--no-cache",
         "--output-format", "concise", root], validate_ruff)

    def selected(m: Measurement) -> bool:
        names = {m.id, m.venv}
        if args.only and not names & args.only:
            return False
        if args.skip and names & args.skip:
            return False
        if args.quick and m.id not in QUICK:
            return False
        return True

    return [m for m in ms if selected(m)]


def do_run(m: Measurement, label: str, env: dict, timeout: float, counter: list,
           apply_change: bool = True) -> dict:
    counter[0] += 1
    if m.output_file and Path(m.output_file).exists():
        Path(m.output_file).unlink()
    changed_info = None
    change = m.change if apply_change else None
    if change:
        path, backup = change
        shutil.copyfile(path, backup)  # restored in finally, or at the next start if killed
        nonce = f"{os.getpid()}-{counter[0]}-{time.time_ns()}".encode()
        with open(path, "ab") as f:  # new content every time: never a cache hit
            f.write(CHANGE_MARK + nonce + b"\n")
        changed_info = str(path.relative_to(m.corpus_dir))
    try:
        waited = wait_idle(IDLE_WAIT) if label != "prime" else 0.0
        run = run_measured(m.argv, m.cwd, env, m.cwd / f"{label}-{counter[0]}", timeout)
        run["idle_wait_s"] = waited
    finally:
        if change:
            shutil.copyfile(change[1], change[0])
            change[1].unlink()
    if run["timed_out"]:
        ok, findings, note = False, None, f"timed out after {timeout:.0f} s"
    else:
        expect = None
        if m.prime and label != "prime":
            expect = 1 if change else 0
        ok, findings, note = m.validate(run, {"files": m.files, "expect_analysed": expect,
                                              "output_file": str(m.output_file or "")})
    run.update({"ok": ok, "findings": findings, "note": note, "label": label})
    if changed_info:
        run["changed_file"] = changed_info
    if note:
        m.notes.append(note if ok else f"FAILED: {note}")
    return run


def measure_corpus(corpus: str, manifest: dict, args, perflint_info: dict, pylint_ids,
                   scratch: Path) -> dict:
    probe = None
    ms = build_measurements(corpus, manifest, args, scratch, perflint_info.get("ok", False),
                            pylint_ids, [])
    if any(m.venv == "pylint" for m in ms) and not args.no_pylint_probe:
        probe = pylint_crash_probe(corpus, manifest, pylint_ids, scratch, args.timeout)
    excluded = probe["crashed_files"] if probe else []
    if excluded:
        ms = build_measurements(corpus, manifest, args, scratch, perflint_info.get("ok", False),
                                pylint_ids, excluded)
    for m in ms:
        if m.id == "ruff":  # untimed: does ruff's file discovery see the whole corpus?
            r = run_quiet([str(venv_bin("ruff", "ruff")), "check", "--isolated", "--show-files",
                           str(m.corpus_dir)], cwd=m.cwd, env=tool_env("ruff", scratch / "home"))
            seen = sum(1 for ln in r.stdout.splitlines() if ln.strip().endswith(".py"))
            if seen != m.files:
                m.notes.append(f"ruff --show-files lists {seen} .py files, corpus has {m.files}")
        if m.venv == "pylint" and excluded:
            m.notes.append(f"{len(excluded)} files excluded (--ignore-paths) because the "
                           f"perflint plugin crashes on them: {', '.join(excluded)}")
    home = scratch / "home"
    envs = {m.id: tool_env(m.venv, home) for m in ms}
    for m in ms:
        m.retries_left = args.retry_noisy if m.id not in SLOW else min(args.retry_noisy, 1)
    counter = [0]
    # one-time, untimed: fill the caches of the warm measurements
    for m in ms:
        if m.prime:
            log(f"{corpus}: priming {m.id} (fills the cache, not timed)")
            r = do_run(m, "prime", envs[m.id], args.timeout, counter, apply_change=False)
            m.prime_run = {k: r[k] for k in ("rc", "wall_s", "cpu_s", "peak_rss_mb", "ok", "note")}
            cache = m.cwd / ".perflint_cache"
            if not r["ok"]:
                m.failed = True
                m.notes.append(f"FAILED: priming run failed: {r['note']}")
            elif not cache.exists():
                where = [str(p) for p in (m.corpus_dir / ".perflint_cache",) if p.exists()]
                m.notes.append("no .perflint_cache/ in the cwd after the priming run"
                               + (f"; found {where[0]}" if where else ""))
    max_rounds = max((m.rounds for m in ms), default=0)
    for rnd in range(max_rounds):
        for m in ms:  # round-robin: every measurement once per round
            if rnd >= m.rounds or m.failed:
                continue
            log(f"{corpus}: round {rnd + 1}/{m.rounds} {m.id}")
            r = do_run(m, f"round{rnd + 1}", envs[m.id], args.timeout, counter)
            while (r["ok"] and m.retries_left > 0 and r.get("other_cpu_s") is not None
                   and r["other_cpu_s"] / max(r["wall_s"], 1e-9) > NOISE_WARN):
                # --retry-noisy: keep the noisy run in the JSON, out of the median, and redo it
                m.retries_left -= 1
                r["discarded_as_noisy"] = True
                m.discarded.append(r)
                log(f"    noisy run discarded (other {r['other_cpu_s']:.1f} s in "
                    f"{r['wall_s']:.1f} s wall), retrying")
                r = do_run(m, f"round{rnd + 1}-retry", envs[m.id], args.timeout, counter)
            m.runs.append(r)
            status = "ok" if r["ok"] else "FAILED"
            noise = (f"  other {r['other_cpu_s']:.1f} s" if r.get("other_cpu_s") is not None
                     else "")
            if r.get("idle_wait_s", 0) >= 1:
                noise += f"  (waited {r['idle_wait_s']:.0f} s for idle)"
            log(f"    wall {r['wall_s']:.2f} s  cpu {r['cpu_s']:.2f} s  "
                f"rss {r['peak_rss_mb']:.0f} MB  rc {r['rc']}{noise}  {status}"
                + (f"  ({r['note'][:200]})" if r["note"] else ""))
            if not r["ok"]:
                m.failed = True  # a crashed tool is reported as failed, not re-timed
    measurements = {m.id: m.summary() for m in ms}
    j1, j2 = measurements.get("pylint-j1"), measurements.get("pylint-j2")
    if j1 and j2 and j1["findings"] and j2["findings"] == 2 * j1["findings"]:
        # pylint 3's parallel workers register --load-plugins checkers a second time: every
        # plugin message comes out twice and the plugin does its work twice
        j2["notes"].append(f"{j2['findings']} messages = 2 x pylint -j1's {j1['findings']}: "
                           "pylint -jN runs the plugin's checkers twice in each worker")
    return {
        "corpus": corpus, "manifest": manifest, "measurements": measurements,
        "ratios": compute_ratios(measurements, manifest),
        "perflint_skipped": None if perflint_info.get("ok") else perflint_info.get("error"),
        "pylint_probe": probe,
    }


# --------------------------------------------------------------------------------------------
# ratios
# --------------------------------------------------------------------------------------------


def compute_ratios(ms: dict, manifest: dict) -> list[dict]:
    def val(mid, key):
        m = ms.get(mid)
        if not m or m["status"] != "ok":
            return None
        return m[key]

    def ratio(a, b):
        return a / b if a is not None and b else None

    def paired(a, b, key):
        """Median of per-round ratios a/b. Round-robin runs a and b minutes apart in every
        round, so pairing them cancels the machine's slow drift better than a ratio of
        medians; None unless both have a successful run in the same rounds."""
        ma, mb = ms.get(a), ms.get(b)
        if not ma or not mb or ma["status"] != "ok" or mb["status"] != "ok":
            return None
        ra = {r["label"].split("-")[0]: r for r in ma["runs"] if r["ok"]}
        rb = {r["label"].split("-")[0]: r for r in mb["runs"] if r["ok"]}
        common = sorted(set(ra) & set(rb))
        if len(common) < 2:
            return None
        return median([ra[k][key] / rb[k][key] for k in common if rb[k][key]])

    out = []

    def add(key, title, value, target, op, detail, unit="", pair=None):
        if value is None:
            verdict = "n/a"
        elif op == "diagnostic":  # no goal of its own; shown against the target it explains
            verdict = "-"
        elif op == "<=":
            verdict = "pass" if value <= target else "fail"
        else:  # "within": |value - 1| <= target
            verdict = "pass" if abs(value - 1) <= target else "fail"
        out.append({"key": key, "title": title, "value": value, "target": target, "op": op,
                    "unit": unit, "verdict": verdict, "detail": detail,
                    "paired_median": paired(*pair) if pair else None})

    add("cpu_vs_libcst_floor", "1. perflint cold jobs=1 CPU / libcst parse CPU",
        ratio(val("perflint-cold-j1", "cpu_s_median"), val("libcst", "cpu_s_median")),
        TARGETS["cpu_vs_libcst_floor"], "<=", "perflint-cold-j1 cpu / libcst cpu",
        pair=("perflint-cold-j1", "libcst", "cpu_s"))
    add("wall_vs_flake8_j2", "2a. perflint cold jobs=2 wall / flake8 -j2 wall",
        ratio(val("perflint-cold-j2", "wall_s_median"), val("flake8-j2", "wall_s_median")),
        TARGETS["wall_vs_flake8_j2"], "<=", "perflint-cold-j2 wall / flake8-j2 wall",
        pair=("perflint-cold-j2", "flake8-j2", "wall_s"))
    add("wall_vs_pylint_perflint_j2", "2b. perflint cold jobs=2 wall / pylint+perflint -j2 wall",
        ratio(val("perflint-cold-j2", "wall_s_median"), val("pylint-j2", "wall_s_median")),
        TARGETS["wall_vs_pylint_perflint_j2"], "<=", "perflint-cold-j2 wall / pylint-j2 wall",
        pair=("perflint-cold-j2", "pylint-j2", "wall_s"))
    add("floor_wall_vs_pylint_perflint_j2",
        "2b floor, no goal: perflint parse-only jobs=2 wall / pylint -j2 wall",
        ratio(val("perflint-floor-j2", "wall_s_median"), val("pylint-j2", "wall_s_median")),
        TARGETS["wall_vs_pylint_perflint_j2"], "diagnostic",
        "perflint-floor-j2 wall / pylint-j2 wall: what 2b leaves for the analysis",
        pair=("perflint-floor-j2", "pylint-j2", "wall_s"))
    add("warm_wall_vs_ruff", "3. perflint warm wall / ruff wall",
        ratio(val("perflint-warm", "wall_s_median"), val("ruff", "wall_s_median")),
        TARGETS["warm_wall_vs_ruff"], "<=", "perflint-warm wall / ruff wall",
        pair=("perflint-warm", "ruff", "wall_s"))
    add("changed_file_wall_s", "4. one changed file, wall seconds",
        val("perflint-changed", "wall_s_median"), TARGETS["changed_file_wall_s"], "<=",
        "perflint-changed wall median", unit="s")
    rss = [ms[m]["peak_rss_mb_max"] for m in ms
           if m.startswith("perflint-") and m not in DIAGNOSTIC and ms[m]["status"] == "ok"]
    add("peak_rss_mb", "5. perflint peak RSS (largest single process, any perflint run)",
        max(rss) if rss else None, TARGETS["peak_rss_mb"], "<=",
        "max ru_maxrss over all perflint runs", unit="MB")
    full = val("perflint-cold-j1", "cpu_s_median")
    quarter = val("perflint-cold-j1-quarter", "cpu_s_median")
    full_k = full / (manifest["lines"] / 1000) if full is not None else None
    quarter_k = quarter / (manifest["quarter_lines"] / 1000) if quarter is not None else None
    f_floor = val("libcst", "cpu_s_median")
    q_floor = val("libcst-quarter", "cpu_s_median")
    floor_lin = None
    if f_floor and q_floor:
        floor_lin = (q_floor / manifest["quarter_lines"]) / (f_floor / manifest["lines"])
    add("linearity", "6. linearity: CPU per 1k lines, quarter corpus / whole corpus",
        ratio(quarter_k, full_k), TARGETS["linearity_tolerance"], "within",
        {"whole_cpu_ms_per_kline": full_k * 1000 if full_k else None,
         "quarter_cpu_ms_per_kline": quarter_k * 1000 if quarter_k else None,
         "libcst_floor_same_ratio": floor_lin})
    lin_pair = paired("perflint-cold-j1-quarter", "perflint-cold-j1", "cpu_s")
    if lin_pair is not None:  # per-round CPU ratio, scaled to per-line
        out[-1]["paired_median"] = lin_pair * manifest["lines"] / manifest["quarter_lines"]
    return out


# --------------------------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------------------------


def fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def table_rows(result: dict) -> list[list[str]]:
    rows = []
    for m in result["measurements"].values():
        rows.append([
            m["id"], m["tool"], str(m["jobs"]), f"{m['rounds_ok']}/{m['rounds_planned']}",
            fmt(m["wall_s_median"]), fmt(m["cpu_s_median"]), fmt(m["peak_rss_mb_max"], 0),
            "-" if m["findings"] is None else str(m["findings"]),
            fmt(m.get("noise_cores_max")), m["status"],
        ])
    return rows


HEADER = ["measurement", "tool", "jobs", "rounds", "wall s (median)", "CPU s (median)",
          "peak RSS MB", "findings", "noise", "status"]
NOISE_WARN = 0.25  # cores of other activity during a timed run that make its timing suspect


def ratio_value(r):
    if r["value"] is None:
        return "-"
    return f"{r['value']:.2f}{' ' + r['unit'] if r['unit'] else ''}"


def ratio_target(r):
    if r["op"] == "within":
        return f"1 ± {r['target']:.0%}"
    if r["op"] == "diagnostic":
        return f"(2b's goal: <= {r['target']})"
    return f"<= {r['target']}{' ' + r['unit'] if r['unit'] else ''}"


def noisy_measurements(result: dict) -> list[str]:
    return [m["id"] for m in result["measurements"].values()
            if (m.get("noise_cores_max") or 0) > NOISE_WARN]


def print_text(result: dict) -> None:
    man = result["manifest"]
    print()
    print(f"== corpus {result['corpus']}: {man['files']} files, {man['lines']} lines "
          f"(quarter: {man['quarter_files']} files, {man['quarter_lines']} lines)")
    rows = [HEADER] + table_rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for k, r in enumerate(rows):
        print("  ".join(c.rjust(w) if 3 <= i <= 8 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    for m in result["measurements"].values():
        for n in m["notes"]:
            print(f"  note {m['id']}: {n[:400]}")
    if result["perflint_skipped"]:
        print(f"  perflint rows SKIPPED: {result['perflint_skipped'].splitlines()[0]}")
    noisy = noisy_measurements(result)
    if noisy:
        print(f"  WARNING: other processes used > {NOISE_WARN} cores during {', '.join(noisy)}:"
              " those timings are suspect (column 'noise'); rerun on an idle machine")
    print()
    print("targets:")
    for r in result["ratios"]:
        pair = (f"  (paired per round: {r['paired_median']:.2f})"
                if r.get("paired_median") is not None else "")
        print(f"  {r['title']:<66} {ratio_value(r):>10}  target {ratio_target(r):<12} "
              f"{r['verdict'].upper()}{pair}")
    lin = next(r for r in result["ratios"] if r["key"] == "linearity")["detail"]
    if lin.get("libcst_floor_same_ratio"):
        print(f"  (libcst floor's own quarter/whole CPU-per-line ratio: "
              f"{lin['libcst_floor_same_ratio']:.2f})")


def markdown(doc: dict) -> str:
    out = ["# perflint benchmark: latest results", ""]
    meta = doc["meta"]
    out.append(f"Run {meta['started']} on {meta['machine']['cpus']} CPUs, Python "
               f"{meta['machine']['python']}, {meta['options']['rounds']} rounds "
               f"({meta['options']['slow_rounds']} for {', '.join(sorted(SLOW))}). "
               f"Total harness time {meta['duration_s']:.0f} s. Command: `{meta['command']}`.")
    pf = meta.get("perflint") or {}
    if pf.get("ok"):
        git = pf.get("git") or {}
        out.append(f"perflint {pf.get('version')} from commit {git.get('commit') or 'none'}"
                   f"{' + uncommitted changes' if git.get('dirty') else ''}.")
    out.append("")
    out.append("Medians over the successful timed runs. `noise`: cores used by other processes "
               "during the worst timed run of the row (> 0.25 makes it suspect). `all cores`: the "
               "tool parallelises on its own. Peak RSS is the largest single process. "
               "See benchmarks/README.md.")
    out.append("")
    for res in doc["corpora"].values():
        man = res["manifest"]
        out.append(f"## {res['corpus']}: {man['files']} files, {man['lines']} lines")
        out.append("")
        out.append("| " + " | ".join(HEADER) + " |")
        out.append("|" + "|".join("---" for _ in HEADER) + "|")
        for r in table_rows(res):
            out.append("| " + " | ".join(r) + " |")
        out.append("")
        if res["perflint_skipped"]:
            out.append(f"perflint rows skipped: `{res['perflint_skipped'].splitlines()[0]}`")
            out.append("")
        noisy = noisy_measurements(res)
        if noisy:
            out.append(f"**Warning:** other processes used more than {NOISE_WARN} cores during "
                       f"{', '.join(noisy)}; those timings are suspect.")
            out.append("")
        notes = [(m["id"], n) for m in res["measurements"].values() for n in m["notes"]]
        if notes:
            out.extend(f"- {mid}: {n[:300]}" for mid, n in notes)
            out.append("")
        out.append("| target | value | goal | verdict | paired per round |")
        out.append("|---|---|---|---|---|")
        for r in res["ratios"]:
            pair = fmt(r.get("paired_median"))
            out.append(f"| {r['title']} | {ratio_value(r)} | {ratio_target(r)} | {r['verdict']} "
                       f"| {pair} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="perflint speed benchmark (see benchmarks/README.md)")
    p.add_argument("--corpus", choices=["django", "async", "all"], default="django")
    p.add_argument("--rounds", type=int, default=3, help="rounds for fast tools (default 3)")
    p.add_argument("--slow-rounds", type=int, default=1,
                   help=f"rounds for the slow tools {sorted(SLOW)} (default 1)")
    p.add_argument("--only", default="", help="comma list of tools or measurement ids to run "
                   f"(tools: {','.join(TOOLS)})")
    p.add_argument("--skip", default="", help="comma list of tools or measurement ids to skip")
    p.add_argument("--tool-rounds", default="",
                   help="per tool or measurement id rounds, e.g. fixit=2,pylint-j1=1 "
                        "(overrides --rounds/--slow-rounds)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 round, no pylint/fixit/flake8-j1")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run (default 1800)")
    p.add_argument("--no-reinstall", action="store_true",
                   help="reuse the installed perflint instead of reinstalling it from the repo")
    p.add_argument("--no-pylint-probe", action="store_true",
                   help="do not exclude the files the pylint perflint plugin crashes on "
                        "(pylint -j2 then aborts and is reported as failed)")
    p.add_argument("--nice", type=int, default=0,
                   help="run the measured tools at this nice value; on a shared machine a "
                        "negative value (root) such as -10 shields them from background load")
    p.add_argument("--idle-wait", type=float, default=0.0, metavar="SECONDS",
                   help="before each timed run wait up to SECONDS for the rest of the machine "
                        "to use < 0.25 cores (for shared machines; default 0: don't wait)")
    p.add_argument("--retry-noisy", type=int, default=0, metavar="N",
                   help=f"redo a timed run during which other processes used > {NOISE_WARN} "
                        "cores, up to N times per measurement (1 for the slow tools); the "
                        "discarded runs stay in the JSON (default 0)")
    p.add_argument("--keep-scratch", action="store_true",
                   help="keep the temporary working dirs (tool outputs) and print their path")
    a = p.parse_args(argv)
    a.only = {t.strip() for t in a.only.split(",") if t.strip()}
    a.skip = {t.strip() for t in a.skip.split(",") if t.strip()}
    tool_rounds = {}
    for item in filter(None, (t.strip() for t in a.tool_rounds.split(","))):
        name, _, n = item.partition("=")
        if not n.isdigit() or int(n) < 1:
            p.error(f"--tool-rounds: expected NAME=N with N >= 1, got {item!r}")
        tool_rounds[name.strip()] = int(n)
    a.tool_rounds = tool_rounds
    if a.quick:
        a.rounds = a.slow_rounds = 1
        a.tool_rounds = {}
    if a.rounds < 1 or a.slow_rounds < 1:
        p.error("--rounds and --slow-rounds must be >= 1")
    return a


def wants(args, tool: str) -> bool:
    if args.only and tool not in args.only and not any(o.startswith(tool + "-") for o in args.only):
        return False
    return tool not in args.skip


def main(argv=None) -> int:
    global NICE, IDLE_WAIT
    args = parse_args(argv)
    NICE = args.nice
    IDLE_WAIT = args.idle_wait
    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    corpora = ["django", "async"] if args.corpus == "all" else [args.corpus]

    manifests = {c: prepare_corpus(c) for c in corpora}

    venvs = {}
    for name, req in VENVS.items():
        if wants(args, name) or (name == "libcst"):
            venvs[name] = ensure_venv(name, req)
    pylint_ids, ids_source = (pylint_perflint_ids() if "pylint" in venvs
                              else (PYLINT_PERFLINT_FALLBACK_IDS, "not used"))

    perflint_info: dict = {"ok": False, "error": "skipped by --only/--skip"}
    if wants(args, "perflint"):
        perflint_info = ensure_perflint_venv(reinstall=not args.no_reinstall)
        if not perflint_info["ok"]:
            log("perflint is not installable/importable: its rows are SKIPPED. Reason:\n  "
                + perflint_info["error"].replace("\n", "\n  "))
    if perflint_info.get("ok"):
        pf_libcst = [x for x in perflint_info.get("freeze", []) if x.lower().startswith("libcst==")]
        floor_libcst = [x for x in venvs.get("libcst", {}).get("freeze", [])
                        if x.lower().startswith("libcst==")]
        if pf_libcst != floor_libcst:
            log(f"WARNING: perflint venv has {pf_libcst}, the floor venv has {floor_libcst}")

    scratch = Path(tempfile.mkdtemp(prefix="perflint-bench-"))
    if not args.keep_scratch:
        atexit.register(shutil.rmtree, scratch, True)
    else:
        log(f"scratch dir (kept): {scratch}")

    results = {}
    for c in corpora:
        results[c] = measure_corpus(c, manifests[c], args, perflint_info, pylint_ids, scratch)
        print_text(results[c])

    duration = time.perf_counter() - t_start
    doc = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "duration_s": duration,
            "command": "python benchmarks/run.py "
                       + " ".join(sys.argv[1:] if argv is None else argv),
            "options": {"corpus": args.corpus, "rounds": args.rounds,
                        "slow_rounds": args.slow_rounds, "slow_measurements": sorted(SLOW),
                        "tool_rounds": args.tool_rounds,
                        "only": sorted(args.only), "skip": sorted(args.skip),
                        "quick": args.quick, "timeout_s": args.timeout, "nice": args.nice,
                        "idle_wait_s": args.idle_wait, "retry_noisy": args.retry_noisy},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "machine": platform.machine()},
            "targets": TARGETS,
            "venvs": venvs,
            "perflint": perflint_info,
            "pylint_perflint_message_ids": {"ids": pylint_ids, "source": ids_source},
            "method": {
                "wall": "time.perf_counter around Popen .. os.wait4",
                "cpu": "ru_utime + ru_stime from os.wait4 of the child: the child and every "
                       "descendant it reaped (worker processes included)",
                "peak_rss": "ru_maxrss from the same rusage: the largest single process in "
                            "the tree (not the sum over workers), in MB (KiB / 1024)",
                "median": "median over the successful timed runs of a measurement",
            },
        },
        "corpora": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    date = started.strftime("%Y-%m-%d")
    stem = f"{args.corpus}-{date}" + ("-quick" if args.quick else "")
    text = json.dumps(doc, indent=2, default=str)
    (RESULTS / f"{stem}.json").write_text(text)
    if args.quick:  # a smoke test does not replace the latest real results
        log(f"wrote {RESULTS / (stem + '.json')} (--quick: latest.* left alone) "
            f"(total {duration:.0f} s)")
    else:
        (RESULTS / "latest.json").write_text(text)
        (RESULTS / "latest.md").write_text(markdown(doc))
        log(f"wrote {RESULTS / (stem + '.json')}, latest.json, latest.md "
            f"(total {duration:.0f} s)")
    failed = [f"{c}:{m}" for c, r in results.items() for m, s in r["measurements"].items()
              if s["status"] != "ok"]
    if failed:
        log(f"failed measurements: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
