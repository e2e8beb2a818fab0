"""Worker processes for the CPU-heavy stages, so that they overlap on the machine's cores.

``generate()`` hands validation, the models stage and black to these workers and keeps lowering
and rendering for itself. What a stage returns does not depend on which process ran it: the
output is the same with or without workers.

Two pools, forked once per process and kept (a test session or an editor integration that
generates many times pays the fork and the imports once):

- ``MODELS``: one worker that imports datamodel-code-generator as soon as it starts (its first
  run costs ~0.46 s, mostly imports), so that the models stage, the longest task, never waits for
  that; afterwards it formats like the others;
- ``GENERAL``: the other workers (at least one): validation and black.

``SDKFORGE_JOBS`` sets the number of workers (default on Linux: one per core; any number from 1
makes at least the two above); ``0`` runs every task in this process, the default elsewhere and
on one core. Workers are forked: a program that
calls ``generate()`` from several threads should set ``SDKFORGE_JOBS=0``.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

MODELS = "models"
GENERAL = "general"
ANY = "any"  # whichever pool has less work queued


class _Pool:
    def __init__(self, name: str, size: int, niceness: int = 0) -> None:
        self.name = name
        self.size = size
        self.pid = os.getpid()  # a forked child must not use its parent's pools
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=size, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
            initargs=(niceness, os.getpid()))
        self.submitted: weakref.WeakKeyDictionary[Future[Any], float] = weakref.WeakKeyDictionary()  # -> cost

    def submit(self, function: Callable[..., T], *args: Any, cost: float = 1.0) -> Future[T]:
        future = self.executor.submit(function, *args)
        self.submitted[future] = cost
        _tasks[future] = (self, function, args)
        return future

    def healthy(self) -> bool:
        """Its manager thread and every worker still alive (the executor notices a dead worker
        and fails the tasks; this also covers the case where nothing is left to notice it)."""
        manager = getattr(self.executor, "_executor_manager_thread", None)
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        return (_pools.get(self.name) is self and manager is not None and manager.is_alive()
                and all(process.is_alive() for process in processes))

    def load(self) -> float:
        """The cost of the tasks not done yet, per worker."""
        return sum(cost for future, cost in list(self.submitted.items()) if not future.done()) / self.size

    def busy(self) -> list[Future[Any]]:
        return [future for future in list(self.submitted.keys()) if not future.done()]

    def stop(self, kill: bool) -> None:
        if self.pid != os.getpid():
            return
        if kill:
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                process.kill()
        self.executor.shutdown(wait=not kill, cancel_futures=True)


_pools: dict[str, _Pool] = {}
_GENERAL_NICENESS = 5
_HEALTH_CHECK_SECONDS = 2.0
# What each task was, to do it here if its worker is lost.
_tasks: weakref.WeakKeyDictionary[Future[Any], tuple[_Pool, Callable[..., Any], tuple[Any, ...]]] = weakref.WeakKeyDictionary()


def jobs() -> int:
    """How many worker processes to use (0: none, work in this process)."""
    configured = os.environ.get("SDKFORGE_JOBS", "").strip()
    if configured:
        try:
            return max(0, int(configured))
        except ValueError:
            pass
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        # Spawned workers would import everything again (slower than working here), and fork is
        # unsafe on macOS (system libraries): there, SDKFORGE_JOBS=N asks for workers explicitly.
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 else 0


def parallel() -> bool:
    return jobs() > 0


def submit(function: Callable[..., T], *args: Any, pool: str = GENERAL, cost: float = 1.0) -> Future[T]:
    """Run ``function(*args)`` in a worker of ``pool`` (in this process, at once, without workers).

    ``ANY`` picks the pool with the least ``cost`` of unfinished tasks per worker. Functions and
    arguments travel by pickle: module-level functions and plain data only."""
    if not _start():
        done: Future[T] = Future()
        try:
            done.set_result(function(*args))
        except Exception as exc:  # kept for .result(), as a worker's exception would be
            done.set_exception(exc)
        return done
    chosen = _pools[pool] if pool != ANY else min(_pools.values(), key=_Pool.load)
    try:
        return chosen.submit(function, *args, cost=cost)
    except concurrent.futures.process.BrokenProcessPool:
        shutdown(kill=True)  # a worker died (killed, out of memory): start afresh once
        _start()
        return _pools[chosen.name].submit(function, *args, cost=cost)


def result(future: Future[T]) -> T:
    """``future.result()``; if the worker it ran on is lost (killed, crashed, out of memory), the
    task is done again here: a lost worker costs time, never the generation."""
    while True:
        try:
            return future.result(timeout=_HEALTH_CHECK_SECONDS)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the task's own TimeoutError
            task = _tasks.get(future)
            if task is None or task[0].healthy():
                continue
        except concurrent.futures.process.BrokenProcessPool:
            task = _tasks.get(future)
            if task is None:
                raise
        shutdown(kill=True)  # what is left of the pools; the next submit starts new ones
        _, function, args = task
        value: T = function(*args)
        return value


def warm_up() -> None:
    """Start the workers now (they import their libraries while this process reads the spec)."""
    _start()


def settle(timeout: float) -> None:
    """Give unfinished tasks (those nobody waits for after an error) ``timeout`` seconds, then
    stop the workers if they are still busy; idle workers are kept for the next ``generate()``."""
    unfinished = [future for pool in _pools.values() for future in pool.busy()]
    if unfinished:
        _, still_running = concurrent.futures.wait(unfinished, timeout=timeout)
        if still_running:
            shutdown(kill=True)


def shutdown(kill: bool = False) -> None:
    """Stop the workers; ``kill`` stops them in the middle of a task (on an error or Ctrl-C,
    nobody waits for a result any more)."""
    pools = list(_pools.values())
    _pools.clear()
    for pool in pools:
        pool.stop(kill)


def _start() -> bool:
    """Make the pools if there are none (or ``SDKFORGE_JOBS`` changed); False: no workers."""
    size = jobs()
    if size == 0:
        return False
    general = max(1, size - 1)
    current = _pools.get(GENERAL)
    if current is not None and (current.pid != os.getpid() or current.size != general):
        shutdown()
    if not _pools:
        _pools[MODELS] = _Pool(MODELS, 1)
        # Lower priority: while the models stage runs, what the general workers do (formatting
        # a provisional rendering) is not on the way to the result, the models stage is.
        _pools[GENERAL] = _Pool(GENERAL, general, niceness=_GENERAL_NICENESS)
        # Fork every worker before either pool starts its threads: a child forked while another
        # thread holds a lock can deadlock (CPython refuses it within one pool: gh-90622).
        for pool in _pools.values():
            launch = getattr(pool.executor, "_launch_processes", None)
            if launch is not None:
                launch()
        _pools[MODELS].submit(_prepare_models_worker)
        for _ in range(general):
            _pools[GENERAL].submit(_prepare_general_worker)
    return True


def _start_worker(niceness: int, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the main process handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)


def _die_with(parent: int) -> None:
    """A worker waits on its task queue forever: if the main process is killed (SIGKILL gives it
    no chance to stop its workers), the kernel must stop them (Linux: PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


def _prepare_models_worker() -> None:
    from . import models

    models.warm_up()


def _prepare_general_worker() -> None:
    import openapi_pydantic  # noqa: F401  (~0.2 s: the conformance check)

    from . import format, validate  # noqa: F401


atexit.register(shutdown)
