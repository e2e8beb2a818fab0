#!/usr/bin/env python3
"""Measure sdkforge on every spec of the public corpus and print the results as a Markdown table.

For each spec under ../shared/specs (or SDKFORGE_SPECS): run the whole `sdkforge generate`
process into a fresh directory (timed, --repeat times, median reported), then in a separate
interpreter import every module of the package, count the methods reachable from the client
and the pydantic models in `<package>.types`, and run mypy (default mode, as tests/test_corpus.py
does). Nothing in the repository is written.

    .venv/bin/python scripts/corpus_table.py [--repeat 3] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(os.environ.get("SDKFORGE_SPECS", ROOT.parent / "shared" / "specs"))
BIN = Path(sys.executable).parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Run in a fresh interpreter with the generated package on sys.path; prints one JSON line.
PROBE = r"""
import importlib, inspect, json, pkgutil, sys
import pydantic
package = sys.argv[1]
result = {"imports": True, "error": "", "methods": 0, "models": 0}
try:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
    types = importlib.import_module(package + ".types")
    names = getattr(types, "__all__", [n for n in dir(types) if not n.startswith("_")])
    result["models"] = sum(1 for n in names if inspect.isclass(getattr(types, n, None))
                           and issubclass(getattr(types, n), pydantic.BaseModel))
    settings = {"api_key": "k"} if "api_key" in inspect.signature(module.Client).parameters else {}
    client = module.Client(base_url="http://127.0.0.1:9", **settings)
    seen = []
    def walk(resource):
        for name, member in inspect.getmembers(type(resource)):
            if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
                continue
            if inspect.isfunction(member):
                seen.append(name)
            elif isinstance(member, property) or type(member).__name__ == "cached_property":
                walk(getattr(resource, name))
    for name, member in inspect.getmembers(type(client)):
        if isinstance(member, property) and not name.startswith("_"):
            walk(getattr(client, name))
    result["methods"] = len(seen)
except Exception as exc:
    result["imports"] = False
    result["error"] = f"{type(exc).__name__}: {exc}"[:300]
print(json.dumps(result))
"""


@dataclass
class Row:
    name: str
    openapi: str
    total: int
    generated: int = 0
    models: int = 0
    imports: bool = False
    mypy: bool = False
    seconds: float = 0.0
    runs: tuple[float, ...] = ()
    warnings: int = 0
    error: str = ""


def spec_file(name: str) -> Path:
    return sorted((SPECS / name).glob("openapi.*"))[0]


def read_document(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml  # noqa: PLC0415

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def measure(name: str, repeat: int, work: Path) -> Row:
    spec = spec_file(name)
    document = read_document(spec)
    total = sum(1 for item in document.get("paths", {}).values() if isinstance(item, dict)
                for method in HTTP_METHODS if method in item)
    row = Row(name, str(document.get("openapi", "?")), total)
    package = name.replace("-", "_").replace(".", "") + "_client"
    out = work / name
    runs: list[float] = []
    for attempt in range(repeat):
        target = out / f"run{attempt}"
        started = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "sdkforge"), "generate", "--spec", str(spec), "--out", str(target), "--package", package],
            cwd=work, capture_output=True, text=True, check=False,  # cwd: no pyproject.toml applies
        )
        runs.append(time.perf_counter() - started)
        if done.returncode != 0:
            row.error = done.stderr.strip().splitlines()[-1][:300]
            return row
        row.warnings = sum(1 for line in done.stderr.splitlines() if ": warning: " in line)
    row.runs = tuple(runs)
    row.seconds = statistics.median(runs)
    generated = out / "run0"
    probe = subprocess.run([sys.executable, "-c", PROBE, package], cwd=generated,
                           capture_output=True, text=True, check=False)
    try:
        found = json.loads(probe.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        found = {"imports": False, "error": probe.stderr.strip()[-300:], "methods": 0, "models": 0}
    row.imports, row.generated, row.models = found["imports"], found["methods"], found["models"]
    row.error = found["error"]
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.10", "--cache-dir", str(work / ".mypy_cache"), package],
        cwd=generated, capture_output=True, text=True, check=False,
    )
    row.mypy = typed.returncode == 0
    if not row.mypy and not row.error:
        row.error = (typed.stdout.strip().splitlines() or ["mypy failed"])[-1][:300]
    return row


def revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "an unknown revision"
    dirty = any(not line.startswith("??") for line in git("status", "--porcelain").splitlines())
    return f"commit {commit}" + (" plus uncommitted changes" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "an unknown CPU"


def table(rows: list[Row], repeat: int) -> str:
    yes = {True: "yes", False: "**no**"}
    lines = [
        f"| spec | OpenAPI | operations generated / total | models | imports | mypy | generation (s, median of {repeat}) | warnings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ops = f"{r.generated} / {r.total}" + ("" if r.generated == r.total else " **(missing)**")
        lines.append(f"| {r.name} | {r.openapi} | {ops} | {r.models} | {yes[r.imports]} | {yes[r.mypy]} | "
                     f"{r.seconds:.1f} | {r.warnings} |")
    problems = [f"- {r.name}: {r.error}" for r in rows if r.error]
    return "\n".join(lines + ([""] + problems if problems else []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="timed generate runs per spec (median reported)")
    parser.add_argument("--only", nargs="*", help="spec folder names (default: all)")
    args = parser.parse_args()
    names = args.only or sorted(p.name for p in SPECS.iterdir() if p.is_dir() and any(p.glob("openapi.*")))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sdkforge-corpus-") as tmp:
        for name in names:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            row = measure(name, args.repeat, Path(tmp))
            print(f"  {row.generated}/{row.total} ops, {row.models} models, imports={row.imports}, mypy={row.mypy}, "
                  f"runs={[round(s, 2) for s in row.runs]}", file=sys.stderr, flush=True)
            rows.append(row)
    print(table(rows, args.repeat))
    print()
    print(f"Measured {date.today().isoformat()} at {revision()} on {cpu_model()} ({platform.machine()}, "
          f"{os.cpu_count()} cores shared with other work), Python {platform.python_version()}, with "
          f"`.venv/bin/python scripts/corpus_table.py --repeat {args.repeat}`.")
    return 0 if all(r.imports and r.mypy and r.generated == r.total for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
