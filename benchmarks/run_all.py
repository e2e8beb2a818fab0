"""Run every benchmark and print one table of figures against the targets of issue 7.

    make bench                      # or: python3 benchmarks/run_all.py
    python3 benchmarks/run_all.py --quick           # fewer repetitions: checks the scripts run
    python3 benchmarks/run_all.py --markdown FILE   # also write the table as Markdown

Creates or refreshes the benchmark virtualenv (.bench-venv, from benchmarks/requirements.txt
plus sdkforge from this repository), then runs bench_generate.py, bench_import.py,
bench_request.py and bench_streaming.py one after the other, each in its own process with the
benchmark virtualenv's Python. A script that fails leaves "not available" rows; the others run.
Never part of the test suite: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

# script, rows it produces (key, label, target), time budget for optional repetitions (s), hard timeout (s)
SCRIPTS = [
    ("bench_generate.py", [("gen-small", "generation, small", "<= 1.0x openapi-python-client"),
                           ("gen-full", "generation, full OpenAI file", "<= 1.0x openapi-python-client"),
                           ("memory", "memory", "<= 500 MB"),
                           ("regen", "regeneration", "<= 0.25x the cold run")], 420, 780),
    ("bench_import.py", [("import", "import", "<= 0.35x import openai"),
                         ("import-big", "import, big spec", "<= 0.5x import openai")], 150, 300),
    ("bench_request.py", [("request", "request overhead", "<= 1.15x bare httpx")], 90, 240),
    ("bench_streaming.py", [("streaming", "streaming", ">= 0.7x bare httpx")], 90, 240),
]
ORDER = ["import", "import-big", "request", "streaming", "gen-small", "gen-full", "regen", "memory"]


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
            f"{c.python_description()}; load average {load}")


def markdown(rows: list[c.Row], header: str) -> str:
    lines = [header, "", "| what | sdkforge | references | ratio | target | status |", "|---|---|---|---|---|---|"]
    for r in rows:
        refs = "; ".join(f"{k} {v}" for k, v in r.refs.items()) or "-"
        ratio = c.fmt_ratio(r.ratio) + (f" of {r.ratio_of}" if r.ratio is not None and r.ratio_of else "")
        lines.append(f"| {r.what} | {r.ours if r.ours is not None else 'n/a'} | {refs} | {ratio} | {r.target or '-'} | {r.status} |")
    lines.append("")
    lines += [f"- {r.what}: {r.measure}" + (f". {r.note}" if r.note else "") for r in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test, not figures)")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--only", nargs="*", metavar="SCRIPT", help="run only these scripts (e.g. bench_request.py)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    started = time.time()
    print(f"bench: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {machine()}", flush=True)
    setup = c.ensure_venv()
    print(f"bench: virtualenv {c.BENCH_VENV.name} " + (f"made in {setup:.0f} s" if setup else "up to date"), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="sdkforge-bench-"))
    rows: dict[str, c.Row] = {}
    crashed = []
    try:
        for script, produces, budget, timeout in SCRIPTS:
            if args.only and script not in args.only:
                continue
            print(f"\n=== {script} ===", flush=True)
            out = scratch / (script + ".json")
            env = dict(os.environ, BENCH_WORKDIR=str(scratch), BENCH_DEADLINE=str(time.time() + budget))
            if args.quick:
                env["BENCH_QUICK"] = "1"
            t0 = time.time()
            try:
                proc = subprocess.run([str(c.venv_bin("python")), str(c.BENCH_DIR / script), "--json", str(out)],
                                      env=env, timeout=timeout)
                failed = f"{script} exited with status {proc.returncode}" if proc.returncode else ""
            except subprocess.TimeoutExpired:
                failed = f"{script} did not finish within {timeout} s"
            print(f"=== {script}: {time.time() - t0:.0f} s ===", flush=True)
            if not failed and out.exists():
                for row in c.read_rows(out):
                    rows[row.key] = row
            else:
                crashed.append(script)
                for key, what, target in produces:
                    op, value = target.split()[0], float(target.split()[1].rstrip("x"))
                    rows[key] = c.unavailable(key, what, "", failed or f"{script} wrote no results", target, op, value)
    finally:
        if args.keep:
            print(f"bench: scratch directory kept: {scratch}")
        else:
            c.remove_tree(scratch)
    ordered = [rows[k] for k in ORDER if k in rows]
    elapsed = time.time() - started
    print(f"\n=== summary ({elapsed / 60:.1f} min in all{', --quick: not figures to quote' if args.quick else ''}) ===")
    print(f"{machine()}")
    print("Ratios are medians measured side by side in this run; other work on the machine adds noise.")
    c.print_rows(ordered)
    counts = {s: sum(1 for r in ordered if r.status == s) for s in ("met", "MISSED", "n/a")}
    print(f"\n{counts['met']} met, {counts['MISSED']} missed, {counts['n/a']} not available")
    if args.markdown:
        header = (f"Measured {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} with `make bench` "
                  f"({elapsed / 60:.1f} min); {machine()}.")
        args.markdown.write_text(markdown(ordered, header))
        print(f"bench: table written to {args.markdown}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
