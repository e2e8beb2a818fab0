"""Generation: whole-process wall time of the generators, peak memory, and regeneration.

Every run is a fresh process writing into a fresh directory (and, for sdkforge, with a fresh
cache: ``SDKFORGE_CACHE_DIR`` and ``XDG_CACHE_HOME`` point into the run's own directory, so a run
is cold unless it is meant to be warm); contenders alternate.

* small: ``sdkforge generate`` on spec/openapi.yaml vs ``openapi-python-client generate`` (with
  its default ruff post-hooks) on the same file;
* full OpenAI file (``/work/shared/specs/openai/openapi.yaml``, 288 operations): sdkforge vs
  openapi-python-client vs datamodel-code-generator alone (models only, with its default
  formatters black + isort, and once with ``--no-formatters``);
* regeneration: the first (cold) sdkforge run on the full file reads a copy of it; then one field
  of the copy is changed (a schema description) and the same command runs again (same output
  directory and cache), compared with the median of the cold runs; then, for the record, an
  operation's description is changed and it runs once more (the schemas are unchanged, so the
  models come from the cache);
* peak memory of sdkforge on the full file: RSS of the largest process (``/usr/bin/time``, else
  ``getrusage``) and the sampled PSS of its whole process tree (sdkforge's worker processes).

A row whose generator fails says "not available" with the first error line; the run goes on.
Targets: small and full <= 1.0x openapi-python-client; regeneration <= 0.25x the cold run;
peak RSS <= 500 MB.

    python3 benchmarks/bench_generate.py [--json PATH]
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

c.reexec_in_bench_venv()

RUNS_SMALL = 1 if c.quick() else 5
RUNS_FULL = 1 if c.quick() else 3
TARGET_SMALL = TARGET_FULL = 1.0
TARGET_REGEN = 0.25
TARGET_RSS_MB = 500.0
SEE_FULL_ROW = "sdkforge cannot generate the full OpenAI file (see the generation row)"
SKIPS_MARKER = "WARNING parsing"  # openapi-python-client: one per operation/schema it skips


class Runner:
    def __init__(self) -> None:
        self.root = c.workdir("generate")
        self.counter = 0

    def fresh(self, label: str) -> Path:
        self.counter += 1
        path = self.root / f"{self.counter:03d}-{label}"
        path.mkdir(parents=True)
        return path

    def sdkforge(self, spec: Path, package: str, client: str, out: Path | None = None,
                 cache: Path | None = None) -> tuple[c.ProcessRun, Path]:
        run_dir = self.fresh("sdkforge")
        out = out or run_dir / "out"
        cache = cache or run_dir / "cache"  # a fresh cache: the run is cold
        env = c.child_env(SDKFORGE_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(cache))
        # Always the same working directory: the file headers name the spec by its path relative to
        # it, so running elsewhere would change every file (and defeat the formatting cache).
        return c.run_process(c.sdkforge_cmd(spec, out, package, client), env=env, cwd=self.root, measure_rss=True), out

    def opc(self, spec: Path) -> c.ProcessRun:
        run_dir = self.fresh("opc")
        cmd = [str(c.venv_bin("openapi-python-client")), "generate", "--path", str(spec),
               "--output-path", str(run_dir / "out"), "--meta", "none"]
        return c.run_process(cmd, env=c.child_env(), cwd=run_dir, measure_rss=True)

    def dcg(self, spec: Path, formatters: bool) -> c.ProcessRun:
        run_dir = self.fresh("dcg")
        cmd = [str(c.venv_bin("datamodel-codegen")), "--input", str(spec), "--input-file-type", "openapi",
               "--output", str(run_dir / "models.py"), "--output-model-type", "pydantic_v2.BaseModel",
               *(["--formatters", "black", "isort"] if formatters else ["--no-formatters"])]
        return c.run_process(cmd, env=c.child_env(), cwd=run_dir, measure_rss=True)


def mb(kb: int | None) -> str:
    return "?" if kb is None else f"{kb / 1024:.0f} MB"


def describe(name: str, runs: list[c.ProcessRun]) -> str:
    ok = [r for r in runs if r.returncode == 0]
    if not ok:
        return f"{name}: failed ({runs[0].first_error_line})" if runs else f"{name}: not run"
    return (f"{name}: median {c.fmt_seconds(c.median(r.seconds for r in ok))} over {len(ok)} run(s), "
            f"peak RSS {mb(max((r.max_rss_kb or 0) for r in ok) or None)} (largest process), "
            f"{mb(max((r.tree_pss_kb or 0) for r in ok) or None)} (PSS of the process tree)")


def edit_one_field(text: str) -> str:
    """Append words to the first plain one-line ``description`` under ``components``."""
    start = text.index("\ncomponents:\n")
    pattern = re.compile(r"^(\s+description: [A-Za-z][^\n#:]*)$", re.M)
    match = pattern.search(text, start)
    if match is None:
        raise RuntimeError("no plain description under components to edit")
    return text[: match.end()] + " Edited for the regeneration benchmark." + text[match.end():]


def edit_one_operation(text: str) -> str:
    """Append words to the first plain one-line ``description`` under ``paths`` (the schemas stay
    as they were, so the models stage's cache applies)."""
    start = text.index("\npaths:\n")
    end = text.index("\ncomponents:\n")
    # An operation's own description (path, method, then its keys: six spaces) goes into a docstring.
    match = re.compile(r"^(      description: [A-Za-z][^\n#:]*)$", re.M).search(text, start, end)
    if match is None:
        raise RuntimeError("no plain description under paths to edit")
    return text[: match.end()] + " Edited for the regeneration benchmark." + text[match.end():]


def small(runner: Runner) -> list[c.Row]:
    print(f"generate: warm-up and small spec ({c.SMALL_SPEC.relative_to(c.REPO)}) ...", flush=True)
    runner.sdkforge(c.SMALL_SPEC, "openai_client", "OpenAI")  # warm-up: bytecode, file cache
    runner.opc(c.SMALL_SPEC)
    ours: list[c.ProcessRun] = []
    theirs: list[c.ProcessRun] = []
    kept_cache = runner.fresh("small-cache")  # the first cold run fills it; the warm runs reuse it
    for round_no in range(RUNS_SMALL):
        for name in c.rotated(["sdkforge", "opc"], round_no):
            if name == "sdkforge":
                ours.append(runner.sdkforge(c.SMALL_SPEC, "openai_client", "OpenAI",
                                            cache=kept_cache if round_no == 0 else None)[0])
            else:
                theirs.append(runner.opc(c.SMALL_SPEC))
    warm = [runner.sdkforge(c.SMALL_SPEC, "openai_client", "OpenAI", cache=kept_cache)[0] for _ in range(RUNS_SMALL)]
    print("  " + describe("sdkforge (cold)", ours) + "\n  " + describe("sdkforge (warm cache)", warm) + "\n  "
          + describe("openapi-python-client", theirs), flush=True)
    measure = f"whole-process wall time on spec/openapi.yaml, median of {RUNS_SMALL}"
    target: dict[str, Any] = dict(target=f"<= {TARGET_SMALL}x openapi-python-client", target_op="<=", target_value=TARGET_SMALL)
    if any(r.returncode for r in ours):
        bad = next(r for r in ours if r.returncode)
        return [c.unavailable("gen-small", "generation, small", measure, f"sdkforge: {bad.first_error_line}", **target)]
    opc_ok = [r.seconds for r in theirs if r.returncode == 0]
    ours_s = c.median(r.seconds for r in ours)
    if not opc_ok:
        return [c.Row("gen-small", "generation, small", measure, c.fmt_seconds(ours_s),
                      {"openapi-python-client": f"failed: {theirs[0].first_error_line}"}, **target)]
    note = ""
    if all(r.returncode == 0 for r in warm):
        warm_s = c.median(r.seconds for r in warm)
        note = (f"a second run on the unchanged spec (warm caches: formatting and models) takes {c.fmt_seconds(warm_s)}, "
                f"{warm_s / c.median(opc_ok):.2f}x openapi-python-client")
    return [c.Row("gen-small", "generation, small", measure + " (cold: fresh cache each run)", c.fmt_seconds(ours_s),
                  {"openapi-python-client": c.fmt_seconds(c.median(opc_ok))},
                  ratio=ours_s / c.median(opc_ok), ratio_of="openapi-python-client", note=note, **target)]


@dataclasses.dataclass
class Kept:
    """The first successful sdkforge run on the full file: the cold run of the regeneration row."""

    run: c.ProcessRun
    spec: Path  # the copy of the OpenAI file it read
    out: Path
    cache: Path
    cold_median: float = 0.0  # of all the (cold) sdkforge runs on the full file


def full(runner: Runner) -> tuple[list[c.Row], str, Kept | None]:
    """Rows for the full OpenAI file; why sdkforge cannot generate it ("" if it can); its first run."""
    measure = f"whole-process wall time on the full OpenAI file ({c.OPENAI_SPEC.stat().st_size / 1e6:.2f} MB)"
    # sdkforge reads a copy (the regeneration row edits it later); the others read the original.
    spec_copy = c.full_spec_output().parent / "openapi.yaml"
    shutil.copyfile(c.OPENAI_SPEC, spec_copy)
    spec_copy.chmod(0o644)
    ours: list[c.ProcessRun] = []
    opc: list[c.ProcessRun] = []
    dcg: list[c.ProcessRun] = []
    dcg_plain: list[c.ProcessRun] = []
    failure = ""
    kept: Kept | None = None
    last_round = 0.0
    for round_no in range(RUNS_FULL):
        if round_no and time.time() + last_round > c.deadline():  # another round would overrun the budget
            print(f"  (time budget: {round_no} round(s) instead of {RUNS_FULL})", flush=True)
            break
        round_started = time.time()
        print(f"generate: full OpenAI file, round {round_no + 1}/{RUNS_FULL} ...", flush=True)
        for name in c.rotated(["sdkforge", "opc", "dcg"], round_no):
            if name == "sdkforge" and not failure:
                if kept is None:
                    out, cache = c.full_spec_output(), c.full_spec_output().parent / "cache"
                    run, _ = runner.sdkforge(spec_copy, c.FULL_PACKAGE, c.FULL_CLIENT, out=out, cache=cache)
                    if run.returncode == 0:
                        kept = Kept(run, spec_copy, out, cache)
                else:
                    run, out = runner.sdkforge(spec_copy, c.FULL_PACKAGE, c.FULL_CLIENT)
                    c.remove_tree(out.parent)  # keep the disk use small
                ours.append(run)
                if run.returncode != 0:
                    failure = (f"{run.first_error_line} (sdkforge exits {run.returncode} after {run.seconds:.1f} s, "
                               f"peak RSS {mb(run.max_rss_kb)})")
            elif name == "opc":
                opc.append(runner.opc(c.OPENAI_SPEC))
            elif name == "dcg":
                dcg.append(runner.dcg(c.OPENAI_SPEC, formatters=True))
                if round_no == 0:
                    dcg_plain.append(runner.dcg(c.OPENAI_SPEC, formatters=False))
        last_round = time.time() - round_started
    for name, runs in (("sdkforge", ours), ("openapi-python-client", opc), ("datamodel-codegen (black, isort)", dcg),
                       ("datamodel-codegen (no formatters)", dcg_plain)):
        print("  " + describe(name, runs), flush=True)
    refs: dict[str, str] = {}
    opc_ok = [r for r in opc if r.returncode == 0]
    if opc_ok:
        skipped = sum(r.stderr.count(SKIPS_MARKER) + r.stdout.count(SKIPS_MARKER) for r in opc_ok[:1])
        refs["openapi-python-client"] = c.fmt_seconds(c.median(r.seconds for r in opc_ok)) + (
            f" ({skipped} parse warnings)" if skipped else "")
    elif opc:
        refs["openapi-python-client"] = f"failed: {opc[0].first_error_line}"
    for label, runs in (("datamodel-codegen", dcg), ("datamodel-codegen, no formatters", dcg_plain)):
        ok = [r for r in runs if r.returncode == 0]
        if ok:
            refs[label] = c.fmt_seconds(c.median(r.seconds for r in ok))
    rss_refs = {name: mb(max(r.max_rss_kb or 0 for r in ok)) for name, ok in
                (("datamodel-codegen", [r for r in dcg if r.returncode == 0]), ("openapi-python-client", opc_ok)) if ok}
    tree_kb = max(r.tree_pss_kb or 0 for r in ours) or None
    target_full: dict[str, Any] = dict(target=f"<= {TARGET_FULL}x openapi-python-client", target_op="<=", target_value=TARGET_FULL)
    target_rss: dict[str, Any] = dict(target=f"<= {TARGET_RSS_MB:.0f} MB", target_op="<=", target_value=TARGET_RSS_MB)
    rss_measure = ("peak memory of `sdkforge generate` on the full OpenAI file: RSS of the largest process "
                   "(/usr/bin/time); the target is checked against the larger of that and the sampled peak PSS "
                   "of the whole process tree (sdkforge's worker processes included)")
    if failure:
        (c.full_spec_output().parent / "FAILED").write_text(failure + "\n")  # bench_import.py need not try again
        return [c.unavailable("gen-full", "generation, full OpenAI file", measure, failure, refs=refs, **target_full),
                c.unavailable("memory", "memory", rss_measure, SEE_FULL_ROW, refs=rss_refs, **target_rss)], failure, None
    ours_s = c.median(r.seconds for r in ours)
    rss_kb = max(r.max_rss_kb or 0 for r in ours) or None
    rows = [c.Row("gen-full", "generation, full OpenAI file", f"{measure}, median of {len(ours)}", c.fmt_seconds(ours_s),
                  refs, ratio=ours_s / c.median(r.seconds for r in opc_ok) if opc_ok else None,
                  ratio_of="openapi-python-client", **target_full)]
    if rss_kb is None:
        rows.append(c.unavailable("memory", "memory", rss_measure, "peak RSS could not be measured", refs=rss_refs, **target_rss))
    else:
        value = max(rss_kb, tree_kb or 0) / 1024
        rows.append(c.Row("memory", "memory", rss_measure, mb(rss_kb) + (f" (tree {mb(tree_kb)} PSS)" if tree_kb else ""),
                          rss_refs, value=value, **target_rss))
    return rows, "", dataclasses.replace(kept, cold_median=ours_s) if kept else None


def regeneration(runner: Runner, failure: str, kept: Kept | None) -> list[c.Row]:
    measure = ("second run after one field changed in a copy of the full OpenAI file (same output directory "
               "and cache), vs the cold first run")
    target: dict[str, Any] = dict(target=f"<= {TARGET_REGEN}x the cold run", target_op="<=", target_value=TARGET_REGEN)
    if failure or kept is None:
        return [c.unavailable("regen", "regeneration", measure, SEE_FULL_ROW, **target)]
    print("generate: regeneration (one field changed, second run) ...", flush=True)
    before = {p: p.read_bytes() for p in kept.out.rglob("*.py")}
    kept.spec.write_text(edit_one_field(kept.spec.read_text(encoding="utf-8")), encoding="utf-8")
    warm, _ = runner.sdkforge(kept.spec, c.FULL_PACKAGE, c.FULL_CLIENT, out=kept.out, cache=kept.cache)
    if warm.returncode != 0:
        return [c.unavailable("regen", "regeneration", measure, f"second run: {warm.first_error_line}", **target)]
    after = {p: p.read_bytes() for p in kept.out.rglob("*.py")}
    changed = sum(1 for p in after if before.get(p) != after[p]) + sum(1 for p in before if p not in after)
    cold = kept.run.seconds
    print(f"  cold {c.fmt_seconds(cold)} (median of cold runs {c.fmt_seconds(kept.cold_median)}), "
          f"after the edit {c.fmt_seconds(warm.seconds)} ({changed} of {len(after)} files changed)")
    # For the record, not the target: an edit that leaves the schemas alone (the models stage's
    # cache applies; the schema edit above makes datamodel-code-generator run again).
    kept.spec.write_text(edit_one_operation(kept.spec.read_text(encoding="utf-8")), encoding="utf-8")
    operation_edit, _ = runner.sdkforge(kept.spec, c.FULL_PACKAGE, c.FULL_CLIENT, out=kept.out, cache=kept.cache)
    also = ""
    if operation_edit.returncode == 0:
        also = (f"; after a further edit of an operation's description (schemas unchanged: the models come "
                f"from the cache) {c.fmt_seconds(operation_edit.seconds)}, "
                f"{operation_edit.seconds / kept.cold_median:.2f}x the cold runs")
        print(f"  after an operation edit {c.fmt_seconds(operation_edit.seconds)}")
    return [c.Row("regen", "regeneration", measure + " (one second run)", c.fmt_seconds(warm.seconds),
                  {"cold runs (median)": c.fmt_seconds(kept.cold_median), "this output's cold run": c.fmt_seconds(cold)},
                  ratio=warm.seconds / kept.cold_median, ratio_of="cold runs",
                  note=f"the edit (a schema description) changed {changed} of {len(after)} generated .py files{also}",
                  **target)]


def main() -> list[c.Row]:
    runner = Runner()
    rows = small(runner)
    if not c.OPENAI_SPEC.is_file():
        reason = f"{c.OPENAI_SPEC} not found"
        return rows + [c.unavailable(key, what, "", reason) for key, what in
                       (("gen-full", "generation, full OpenAI file"), ("regen", "regeneration"), ("memory", "memory"))]
    full_rows, failure, kept = full(runner)
    return rows + full_rows + regeneration(runner, failure, kept)


if __name__ == "__main__":
    result = main()
    c.print_rows(result)
    c.write_rows(result, c.json_arg(sys.argv))
