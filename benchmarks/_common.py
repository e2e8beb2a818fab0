"""Shared helpers of the benchmarks: the benchmark virtualenv, timing, results, printing.

Every benchmark script runs inside ``.bench-venv`` (made from ``benchmarks/requirements.txt``
plus sdkforge installed editable from this repository). A script started with any other
Python creates or refreshes that virtualenv and re-executes itself there, so
``python3 benchmarks/bench_request.py`` works from a fresh clone.

Results are rows (``Row``) that each script prints and, with ``--json PATH``, writes for
``run_all.py`` to collect into one table.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "benchmarks"
BENCH_VENV = REPO / ".bench-venv"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
IMPORT_REQUIREMENTS = BENCH_DIR / "requirements-import.txt"
IMPORT_VENV = BENCH_VENV / "import-env"  # see requirements-import.txt for why a second one
STAMP = BENCH_VENV / ".bench-stamp"
SMALL_SPEC = REPO / "spec" / "openapi.yaml"
OPENAI_SPEC = Path(os.environ.get("BENCH_OPENAI_SPEC", REPO.parent / "shared" / "specs" / "openai" / "openapi.yaml"))
if not OPENAI_SPEC.is_file():  # the shared corpus sits beside the clone (/work/shared next to /work/main)
    OPENAI_SPEC = Path("/work/shared/specs/openai/openapi.yaml")
API_KEY = "sk-bench-not-a-real-key"
TIME_BIN = Path("/usr/bin/time")


# -- the benchmark virtualenv ----------------------------------------------------------------


def venv_bin(name: str) -> Path:
    return BENCH_VENV / "bin" / name


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, IMPORT_REQUIREMENTS, REPO / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv(quiet: bool = False) -> float:
    """Create or refresh ``.bench-venv``; returns the seconds it took (0 if it was up to date)."""
    wanted = _wanted_stamp()
    if venv_bin("python").exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return 0.0
    started = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    if not venv_bin("python").exists():
        say(f"bench: creating {BENCH_VENV.relative_to(REPO)} with {sys.executable} ({sys.version.split()[0]})")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    say(f"bench: installing {REQUIREMENTS.relative_to(REPO)} and sdkforge (editable) into {BENCH_VENV.name}, "
        f"{IMPORT_REQUIREMENTS.relative_to(REPO)} into {IMPORT_VENV.relative_to(REPO)}")
    pip = [str(venv_bin("python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    if not (IMPORT_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(IMPORT_VENV)], check=True)
    subprocess.run([str(IMPORT_VENV / "bin" / "python"), *pip[1:], "-r", str(IMPORT_REQUIREMENTS)], check=True)
    STAMP.write_text(wanted + "\n")
    return time.perf_counter() - started


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == BENCH_VENV.resolve()


def reexec_in_bench_venv() -> None:
    """Run the calling script with the benchmark virtualenv's Python (creating it if needed)."""
    if in_bench_venv():
        return
    ensure_venv()
    python = str(venv_bin("python"))
    os.execv(python, [python, *sys.argv])


def child_env(pythonpath: Optional[Sequence[Path]] = None, **extra: str) -> dict[str, str]:
    """Environment of measured child processes.

    Bytecode caching is on (as for any user): ``PYTHONDONTWRITEBYTECODE`` (set on these
    machines) would make every import of a non-installed module compile from source.
    Nothing points at a real API.
    """
    env = dict(os.environ)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME",
                 "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_LOG", "OPENAI_CLIENT_LOG", "VIRTUAL_ENV"):
        env.pop(name, None)
    # Tools find their helpers (openapi-python-client runs `ruff`) as in an activated virtualenv.
    env["PATH"] = os.pathsep.join([str(BENCH_VENV / "bin"), env.get("PATH", "")])
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env.update(extra)
    return env


# -- time budget -----------------------------------------------------------------------------


def quick() -> bool:
    """``BENCH_QUICK=1``: fewer repetitions, for a smoke test of the scripts themselves."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


def deadline() -> float:
    """Wall-clock time (``time.time()``) after which scripts stop optional repetitions."""
    value = os.environ.get("BENCH_DEADLINE")
    return float(value) if value else float("inf")


def past_deadline() -> bool:
    return time.time() > deadline()


_OWN_SCRATCH: list[Path] = []


def workdir(name: str) -> Path:
    """A scratch directory: under ``BENCH_WORKDIR`` when run_all.py shares one (it removes it),
    else under a temporary directory of this process, removed when the process exits."""
    base = os.environ.get("BENCH_WORKDIR")
    if not base:
        if not _OWN_SCRATCH:
            _OWN_SCRATCH.append(Path(tempfile.mkdtemp(prefix="sdkforge-bench-")))
            atexit.register(shutil.rmtree, _OWN_SCRATCH[0], ignore_errors=True)
        base = str(_OWN_SCRATCH[0])
    path = Path(base) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- measuring -------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def rotated(items: Sequence[Any], shift: int) -> list[Any]:
    """``items`` rotated by ``shift``: each round starts with a different contender."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


@dataclasses.dataclass
class ProcessRun:
    seconds: float  # wall time of the whole process
    returncode: int
    stdout: str
    stderr: str
    max_rss_kb: Optional[int]  # peak resident set size of the largest single process, if measured
    tree_pss_kb: Optional[int] = None  # sampled peak PSS of the process and its descendants, summed

    @property
    def first_error_line(self) -> str:
        text = self.stderr or self.stdout
        marker = "Traceback (most recent call last):"
        if marker in text:  # a crash: the exception line, not the traceback's header
            for line in text[text.rindex(marker) + len(marker):].splitlines():
                if line.strip() and not line[:1].isspace():
                    return "crash: " + line.strip()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(("Command exited", "Command terminated"))
                 and ": warning:" not in line and not line.lower().startswith("warning")] or lines
        return lines[0] if lines else f"exit status {self.returncode}"


def run_process(cmd: Sequence[str], *, env: Mapping[str, str], cwd: Optional[Path] = None,
                measure_rss: bool = False, timeout: float = 600) -> ProcessRun:
    """Run ``cmd`` to completion; wall time measured around it. With ``measure_rss``: peak RSS
    of the largest process (/usr/bin/time, else getrusage) and sampled peak PSS of the tree."""
    rss_file = None
    full_cmd = list(cmd)
    if measure_rss:
        if TIME_BIN.exists():
            fd, rss_file = tempfile.mkstemp(prefix="bench-rss-")
            os.close(fd)
            full_cmd = [str(TIME_BIN), "-f", "%M", "-o", rss_file, *full_cmd]
        else:  # ru_maxrss of the only child of a small wrapper process
            wrapper = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
                       "print('BENCH_MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
                       "sys.exit(rc)")
            full_cmd = [sys.executable, "-c", wrapper, *full_cmd]
    started = time.perf_counter()
    proc = subprocess.Popen(full_cmd, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = _TreeMemory(proc.pid) if measure_rss else None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        if sampler is not None:
            sampler.stop()
    seconds = time.perf_counter() - started
    max_rss: Optional[int] = None
    if rss_file is not None:
        try:
            text = Path(rss_file).read_text().split()
            max_rss = int(text[-1]) if text else None
        except (OSError, ValueError):
            max_rss = None
        finally:
            os.unlink(rss_file)
    elif measure_rss:
        kept = []
        for line in stderr.splitlines():
            if line.startswith("BENCH_MAXRSS "):
                max_rss = int(line.split()[1])
            else:
                kept.append(line)
        stderr = "\n".join(kept)
    return ProcessRun(seconds, proc.returncode, stdout, stderr, max_rss,
                      sampler.peak_kb if sampler is not None and sampler.peak_kb else None)


class _TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants (e.g. a formatting process pool)
    every 0.2 s: the sum of their PSS (proportional set size, so pages shared after ``fork`` count
    once), from /proc/PID/smaps_rollup. ``peak_kb`` stays 0 where /proc cannot tell."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.2):
            total = sum(self._pss_kb(pid) for pid in self._tree())
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def _tree(self) -> list[int]:
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    todo.extend(int(child) for child in children.read_text().split())
                except (OSError, ValueError):
                    pass
        return found

    @staticmethod
    def _pss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0


# -- results ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One line of the final table: our figure, the references, the ratio and the target."""

    key: str  # stable id, e.g. "import"
    what: str  # e.g. "import"
    measure: str  # what the figure is, e.g. "median wall time of a fresh `python -c 'import X'`"
    ours: Optional[str]  # formatted figure, None when not available
    refs: dict[str, str] = dataclasses.field(default_factory=dict)  # reference name -> formatted figure
    ratio: Optional[float] = None
    ratio_of: str = ""  # which reference the ratio is against
    target: str = ""  # e.g. "<= 0.35x openai"
    target_op: str = ""  # "<=" or ">="; "" = informational
    target_value: Optional[float] = None  # compared with ratio (or with `value` when absolute)
    value: Optional[float] = None  # raw figure for absolute targets (e.g. MB)
    note: str = ""

    @property
    def status(self) -> str:
        if not self.target_op:
            return "info"
        if self.ours is None:
            return "n/a"
        measured = self.ratio if self.ratio is not None else self.value
        if measured is None or self.target_value is None:
            return "n/a"
        ok = measured <= self.target_value if self.target_op == "<=" else measured >= self.target_value
        return "met" if ok else "MISSED"


def unavailable(key: str, what: str, measure: str, reason: str, target: str = "", target_op: str = "",
                target_value: Optional[float] = None, refs: Optional[dict[str, str]] = None) -> Row:
    reason = reason if len(reason) <= 240 else reason[:237] + "..."
    return Row(key, what, measure, None, dict(refs or {}), target=target, target_op=target_op,
               target_value=target_value, note=f"not available: {reason}")


def write_rows(rows: Sequence[Row], path: Optional[str]) -> None:
    if path:
        Path(path).write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) + "\n")


def read_rows(path: Path) -> list[Row]:
    return [Row(**item) for item in json.loads(path.read_text())]


def json_arg(argv: Sequence[str]) -> Optional[str]:
    """The value of ``--json PATH`` in ``argv``, if given."""
    args = list(argv)
    if "--json" in args:
        index = args.index("--json")
        if index + 1 < len(args):
            return args[index + 1]
    return None


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(ratio: Optional[float]) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: Any = None) -> None:
    out = out or sys.stdout
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)), file=out)
    out.flush()


def print_rows(rows: Sequence[Row]) -> None:
    table = []
    for r in rows:
        refs = "; ".join(f"{k} {v}" for k, v in r.refs.items()) or "-"
        table.append([r.what, r.ours if r.ours is not None else "n/a", refs,
                      fmt_ratio(r.ratio) + (f" of {r.ratio_of}" if r.ratio is not None and r.ratio_of else ""),
                      r.target or "-", r.status])
    print()
    print_table(["what", "sdkforge", "references", "ratio", "target", "status"], table)
    notes = [r for r in rows if r.note]
    for r in notes:
        print(f"  [{r.what}] {r.note}")
    sys.stdout.flush()


def python_description() -> str:
    return f"Python {sys.version.split()[0]} ({sys.implementation.name})"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class BenchServer:
    """``_server.py`` in its own process; ``base_url`` ends in ``/v1`` like the real API's."""

    def __init__(self, n_events: int = 20_000) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "_server.py"), str(n_events)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.close()
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()  # the server stops when its standard input closes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "BenchServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def snapshot_generated(package: str = "openai_client") -> Path:
    """A copy of ``generated/<package>`` taken now, so a teammate's regeneration mid-run cannot
    change what is measured. Returns the directory to put on ``sys.path``/``PYTHONPATH``."""
    target = workdir("generated-snapshot")
    remove_tree(target / package)
    shutil.copytree(REPO / "generated" / package, target / package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def sdkforge_cmd(spec: Path, out: Path, package: str, client_name: str) -> list[str]:
    """``sdkforge generate`` with every setting on the command line (run it where no
    pyproject.toml is, so that this repository's ``[tool.sdkforge]`` does not apply)."""
    return [str(venv_bin("sdkforge")), "generate", "--spec", str(spec), "--out", str(out),
            "--package", package, "--client-name", client_name]


FULL_PACKAGE, FULL_CLIENT = "openai_full", "OpenAIFull"


def full_spec_output() -> Path:
    """The ``--out`` where bench_generate.py leaves a package generated from the full OpenAI file,
    for bench_import.py to reuse (within one run_all.py run, which shares BENCH_WORKDIR)."""
    return workdir("full-spec-output") / "out"
