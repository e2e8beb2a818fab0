"""Import time: wall time of a fresh ``python -c "import X"`` process, median of alternating runs.

* ``openai_client``: the package in generated/ (a snapshot of it, on PYTHONPATH);
* ``openai``: OpenAI's official SDK (``import openai``), the reference of the targets;
* ``httpx, pydantic``: the floor, since the emitted client depends on both;
* ``openai_full``: a package generated from the full OpenAI description (288 operations), import
  plus client construction (``openai_full.OpenAIFull(api_key=...)``); reused from bench_generate.py
  within run_all.py, else generated here first. If sdkforge cannot generate it, that row says
  "not available" and why;
* ``python -c pass`` and ``import openai`` + ``openai.OpenAI(...)``, for information.

The processes run in a clean virtualenv (.bench-venv/import-env: httpx, pydantic, openai and
their dependencies only; see requirements-import.txt). Bytecode caching is on and every package is byte-compiled first (installed packages are by pip),
so no contender pays for compiling. Targets: openai_client <= 0.35x ``import openai``;
openai_full import + construction <= 0.5x ``import openai``.

    python3 benchmarks/bench_import.py [--json PATH]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

c.reexec_in_bench_venv()

RUNS = 3 if c.quick() else 15
TARGET_SMALL = 0.35
TARGET_BIG = 0.5


def big_package() -> tuple[Path | None, str]:
    """The directory holding ``openai_full/``, or None and why not."""
    out = c.full_spec_output()
    if (out / c.FULL_PACKAGE / "__init__.py").is_file():
        return out, ""
    failed = out.parent / "FAILED"  # left by bench_generate.py in the same run
    if failed.is_file():
        return None, f"sdkforge generate failed on the full OpenAI file: {failed.read_text().strip()}"
    if not c.OPENAI_SPEC.is_file():
        return None, f"{c.OPENAI_SPEC} not found"
    print(f"import: generating {c.FULL_PACKAGE} from {c.OPENAI_SPEC} ...", flush=True)
    run = c.run_process(c.sdkforge_cmd(c.OPENAI_SPEC, out, c.FULL_PACKAGE, c.FULL_CLIENT), env=c.child_env(), cwd=out.parent)
    if run.returncode != 0:
        return None, f"sdkforge generate failed on the full OpenAI file: {run.first_error_line}"
    return out, ""


IMPORT_PYTHON = str(c.IMPORT_VENV / "bin" / "python")


def stmt_process(stmt: str) -> list[str]:
    code = f"import time as _t\n_s = _t.perf_counter()\n{stmt}\nprint(_t.perf_counter() - _s)"
    return [IMPORT_PYTHON, "-c", code]


def main() -> list[c.Row]:
    snapshot = c.snapshot_generated()
    big_dir, big_reason = big_package()
    paths = [snapshot] + ([big_dir] if big_dir else [])
    env = c.child_env(pythonpath=paths)
    for path in paths:
        subprocess.run([IMPORT_PYTHON, "-m", "compileall", "-q", "-j", "0", str(path)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    contenders = {
        "python -c pass": "pass",
        "httpx, pydantic": "import httpx, pydantic",
        "openai": "import openai",
        "openai + OpenAI()": f"import openai; openai.OpenAI(api_key={c.API_KEY!r})",
        "openai_client": "import openai_client",
        "openai_client + OpenAI()": f"import openai_client; openai_client.OpenAI(api_key={c.API_KEY!r})",
    }
    if big_dir:
        contenders[f"{c.FULL_PACKAGE} + {c.FULL_CLIENT}()"] = (
            f"import {c.FULL_PACKAGE}; {c.FULL_PACKAGE}.{c.FULL_CLIENT}(api_key={c.API_KEY!r})")
    names = list(contenders)
    failures: dict[str, str] = {}
    for name in names:  # warm-up (also writes any missing bytecode), and a check that it works
        run = c.run_process(stmt_process(contenders[name]), env=env)
        if run.returncode != 0:
            failures[name] = run.first_error_line if "Error" not in run.stderr else run.stderr.strip().splitlines()[-1]
    names = [n for n in names if n not in failures]
    wall: dict[str, list[float]] = {n: [] for n in names}
    inner: dict[str, list[float]] = {n: [] for n in names}
    for round_no in range(RUNS):
        for name in c.rotated(names, round_no):
            run = c.run_process(stmt_process(contenders[name]), env=env)
            if run.returncode != 0:
                raise RuntimeError(f"{name}: {run.stderr.strip()}")
            wall[name].append(run.seconds)
            inner[name].append(float(run.stdout.strip().splitlines()[-1]))
    med = {n: c.median(wall[n]) for n in names}
    med_inner = {n: c.median(inner[n]) for n in names}
    openai = med["openai"]
    print(f"import: median of {RUNS} fresh processes per contender, alternating; {c.python_description()}")
    c.print_table(["statement", "process wall", "import itself", "ratio to import openai"],
                  [[n, c.fmt_seconds(med[n]), c.fmt_seconds(med_inner[n]), f"{med[n] / openai:.2f}x"] for n in names])
    for name, why in failures.items():
        print(f"  {name}: FAILED: {why}")
    measure = f"median wall time of a fresh `python -c` process in a clean virtualenv, {RUNS} alternating runs"
    refs = {"import openai": c.fmt_seconds(openai), "import httpx, pydantic": c.fmt_seconds(med["httpx, pydantic"])}
    rows = []
    if "openai_client" in med:
        rows.append(c.Row("import", "import", measure + ": `import openai_client`", c.fmt_seconds(med["openai_client"]),
                          refs, ratio=med["openai_client"] / openai, ratio_of="import openai",
                          target=f"<= {TARGET_SMALL}x import openai", target_op="<=", target_value=TARGET_SMALL,
                          note=f"inside the process: import openai_client {c.fmt_seconds(med_inner['openai_client'])}, "
                               f"import openai {c.fmt_seconds(med_inner['openai'])}; "
                               f"`python -c pass` {c.fmt_seconds(med['python -c pass'])}"))
    else:
        rows.append(c.unavailable("import", "import", measure, failures.get("openai_client", "?"),
                                  f"<= {TARGET_SMALL}x import openai", "<=", TARGET_SMALL))
    big_name = f"{c.FULL_PACKAGE} + {c.FULL_CLIENT}()"
    big_measure = measure + f": `import {c.FULL_PACKAGE}` + client construction (full OpenAI file)"
    if big_name in med:
        rows.append(c.Row("import-big", "import, big spec", big_measure, c.fmt_seconds(med[big_name]),
                          {"import openai": c.fmt_seconds(openai),
                           "import openai + OpenAI()": c.fmt_seconds(med["openai + OpenAI()"])},
                          ratio=med[big_name] / openai, ratio_of="import openai",
                          target=f"<= {TARGET_BIG}x import openai", target_op="<=", target_value=TARGET_BIG))
    else:
        rows.append(c.unavailable("import-big", "import, big spec", big_measure, failures.get(big_name, big_reason),
                                  f"<= {TARGET_BIG}x import openai", "<=", TARGET_BIG,
                                  refs={"import openai": c.fmt_seconds(openai)}))
    return rows


if __name__ == "__main__":
    result = main()
    c.print_rows(result)
    c.write_rows(result, c.json_arg(sys.argv))
