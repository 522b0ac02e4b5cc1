"""The floor: parse every .py file under a directory with bare ``libcst.parse_module``.

Run by benchmarks/run.py with the python of the libcst venv, as one subprocess:

    python floor_parse.py CORPUS_DIR

Walks CORPUS_DIR (sorted, skipping dot-directories), reads each file's bytes and parses them
with ``libcst.parse_module``. No metadata, no visitors: this is the least any LibCST-based
linter must pay. Prints one JSON line: {"files", "lines", "errors", "error_samples",
"libcst_version", "parser"}.
"""

import json
import os
import sys


def iter_py_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


def main(argv):
    if len(argv) != 2:
        print("usage: floor_parse.py CORPUS_DIR", file=sys.stderr)
        return 2
    import libcst

    files = lines = errors = 0
    samples = []
    for path in iter_py_files(argv[1]):
        with open(path, "rb") as f:
            data = f.read()
        files += 1
        lines += data.count(b"\n")
        try:
            libcst.parse_module(data)
        except Exception as exc:  # a file the parser rejects is counted, not fatal
            errors += 1
            if len(samples) < 5:
                samples.append(f"{os.path.relpath(path, argv[1])}: {type(exc).__name__}")
    try:
        from importlib.metadata import version

        libcst_version = version("libcst")
    except Exception:
        libcst_version = "unknown"
    print(json.dumps({
        "files": files,
        "lines": lines,
        "errors": errors,
        "error_samples": samples,
        "libcst_version": libcst_version,
        "parser": os.environ.get("LIBCST_PARSER_TYPE", "native (default)"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
