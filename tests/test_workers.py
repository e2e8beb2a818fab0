"""The worker processes that overlap the pipeline's stages: results and errors come back as if
the work had been done here, ``SDKFORGE_JOBS=0`` works without them, and a busy pool nobody
waits for is stopped rather than waited for."""

from __future__ import annotations

import os
import time

import pytest

from generator import workers
from generator.errors import SpecError, SpecProblem


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
