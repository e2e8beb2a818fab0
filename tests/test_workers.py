"""The worker processes that overlap the pipeline's stages: results and errors come back as if
the work had been done here, ``SDKFORGE_JOBS=0`` works without them, and a busy pool nobody
waits for is stopped rather than waited for."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import workers
from generator.errors import SpecError, SpecProblem

ROOT = Path(__file__).resolve().parent.parent


def add(a: int, b: int) -> int:
    return a + b


def process_id() -> int:
    return os.getpid()


def fail_with_spec_error(where: str) -> None:
    raise SpecError([SpecProblem("spec.yaml", where, "broken", "fix it", line=3, column=5)])


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def test_jobs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "3")
    assert workers.jobs() == 3
    monkeypatch.setenv("SDKFORGE_JOBS", "0")
    assert workers.jobs() == 0 and not workers.parallel()
    monkeypatch.setenv("SDKFORGE_JOBS", "many")  # not a number: the default
    assert workers.jobs() == (len(os.sched_getaffinity(0)) if len(os.sched_getaffinity(0)) > 1 else 0)


def test_without_workers_tasks_run_here_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "0")
    assert workers.submit(process_id).result() == os.getpid()
    failed = workers.submit(fail_with_spec_error, "#/paths")
    with pytest.raises(SpecError):
        failed.result()


def test_workers_return_results_and_spec_errors_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "2")
    assert workers.submit(add, 2, 3).result() == 5
    assert workers.submit(process_id).result() != os.getpid()
    with pytest.raises(SpecError) as caught:
        workers.submit(fail_with_spec_error, "#/components/schemas/A").result()
    (problem,) = caught.value.problems
    assert (problem.pointer, problem.line, problem.column, problem.message) == ("#/components/schemas/A", 3, 5, "broken")


def test_the_pool_is_kept_between_generations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "1")
    first = workers.submit(process_id).result()
    workers.settle(timeout=1.0)  # nothing is running: the worker stays
    assert workers.submit(process_id).result() == first


def test_a_busy_pool_nobody_waits_for_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "1")
    before = workers.submit(process_id).result()
    workers.submit(sleep, 60)
    started = time.monotonic()
    workers.settle(timeout=0.2)
    assert time.monotonic() - started < 10
    assert workers.submit(process_id).result() != before  # a new worker


_KILLED_PARENT = """
import os, sys, time
from generator import workers
workers.warm_up()
pids = [workers.submit(os.getpid, pool=name).result() for name in (workers.MODELS, workers.GENERAL)]
print(" ".join(map(str, pids)), flush=True)
time.sleep(60)
"""


def test_workers_die_with_a_killed_main_process(tmp_path: Path) -> None:
    """SIGKILL leaves the main process no chance to stop its workers (a CI job cancelled, a
    test killing the CLI): they must not wait on their queues forever."""
    env = {**os.environ, "SDKFORGE_JOBS": "2"}
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_task_whose_worker_is_killed_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDKFORGE_JOBS", "2")
    worker = workers.submit(process_id, pool=workers.MODELS).result()
    slow = workers.submit(sleep_then_add, 30, 2, 3, pool=workers.MODELS)
    time.sleep(0.5)
    os.kill(worker, 9)  # what the out-of-memory killer would do
    started = time.monotonic()
    assert workers.result(slow) == 5  # done again in this process, where it does not sleep
    assert time.monotonic() - started < 45
    assert workers.submit(add, 1, 1).result() == 2  # and the next task gets new workers


def sleep_then_add(seconds: float, a: int, b: int) -> int:
    if multiprocessing.parent_process() is not None:  # in a worker: long enough to be killed
        time.sleep(seconds)
    return a + b


_FORKS = """
import multiprocessing, os, threading
from generator import workers
threads_at_fork = []
real = multiprocessing.context.ForkProcess._Popen
def recording(process):
    threads_at_fork.append(threading.active_count())
    return real(process)
multiprocessing.context.ForkProcess._Popen = staticmethod(recording)
workers.warm_up()
assert workers.submit(os.getpid, pool=workers.GENERAL).result() != os.getpid()
print(threads_at_fork)
"""


def test_every_worker_is_forked_before_any_thread_starts() -> None:
    """A child forked while another thread holds a lock can deadlock: both pools fork their
    workers before either starts its threads."""
    result = subprocess.run([sys.executable, "-c", _FORKS], cwd=ROOT, env={**os.environ, "SDKFORGE_JOBS": "3"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1, 1, 1]"  # the models worker and two general workers
