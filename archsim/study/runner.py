"""Runs a sweep's tasks on a backend, writing each result to the store the moment it arrives.

Backends:

* ``local`` (default): a process pool on this machine's cores (``spawn`` workers: torch and SimPy state is never
  forked). The parent writes each finished result at once; killing the sweep loses only the tasks in flight. Each
  worker exits within :data:`PARENT_POLL_S` of its parent's death, however the parent died: a SIGTERM or SIGKILL
  reaches only the parent, and the pool's own shutdown never runs then.
* ``serial``: in this process, one task after another (debugging, profiling).
* ``ray``: remote tasks on a Ray cluster (``pip install 'archsim[ray]'``); ``address=None`` starts a local Ray
  instance with ``workers`` CPUs, ``address="auto"`` or ``"ray://host:10001"`` joins a cluster. Results come back
  to the driver, which writes them to its store as they finish, as with ``local``.

Tasks already in the store are skipped before anything starts, so a rerun resumes. ``stop_after`` stops the sweep
after that many newly computed tasks (the test hook that stands in for a kill).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

from archsim.cpus import usable_cpus

from .evaluate import execute
from .store import ResultStore

BACKENDS = ("local", "serial", "ray")
#: seconds between a pool worker's checks that its parent is still alive
PARENT_POLL_S = 0.5


class SweepStopped(Exception):
    """Raised when ``stop_after`` tasks have been computed (results so far are in the store)."""


@dataclass
class RunStats:
    total: int
    skipped: int
    computed: int


Progress = Callable[[dict], None]


def outstanding(tasks: list[dict], store: ResultStore) -> tuple[int, list[dict]]:
    """The number of distinct tasks in ``tasks`` and those of them that ``store`` lacks (each task file is read
    once)."""
    seen: set[str] = set()
    pending = []
    for t in tasks:
        if t["key"] not in seen and not store.has(t["key"]):
            pending.append(t)
        seen.add(t["key"])
    return len(seen), pending


def run_tasks(tasks: list[dict], store: ResultStore, backend: str = "local", workers: int | None = None,
              on_done: Progress | None = None, stop_after: int | None = None,
              ray_address: str | None = None, todo: tuple[int, list[dict]] | None = None) -> RunStats:
    """Compute every task of ``tasks`` that ``store`` lacks; ``on_done(result)`` after each stored result.
    ``todo``: what :func:`outstanding` said of ``tasks`` and ``store``, where the caller asked already."""
    if backend not in BACKENDS:
        raise ValueError(f"--backend: unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    total, pending = outstanding(tasks, store) if todo is None else todo
    stats = RunStats(total=total, skipped=total - len(pending), computed=0)
    if not pending:
        return stats
    workers = workers or usable_cpus()
    budget = len(pending) if stop_after is None else max(0, min(stop_after, len(pending)))

    def finish(result: dict) -> None:
        store.put(result["key"], result)
        stats.computed += 1
        if on_done:
            on_done(result)

    if backend == "serial" or (backend == "local" and (workers == 1 or budget == 1)):
        spare = spare_core(1)
        for t in pending[:budget]:
            finish(execute(dict(t, spare_core=spare)))
    elif backend == "local":
        spare = spare_core(min(workers, budget))
        _run_pool([dict(t, spare_core=spare) for t in pending], workers, budget, finish)
    else:
        _run_ray(pending, workers, budget, finish, ray_address)
    if stats.computed < len(pending):
        raise SweepStopped(f"stopped after {stats.computed} of {len(pending)} tasks (--stop-after); rerun to resume")
    return stats


def spare_core(side_by_side: int) -> bool:
    """Whether each of ``side_by_side`` tasks running at once on this machine may take a second core: the accuracy
    harness's injection worker thread (the same bits either way; docs/performance.md). Only where the cores this
    process may use number at least twice the tasks (``--workers 1`` on two or more cores, say): with as many tasks
    as cores, the cores are busy with tasks. Ray's tasks ask for one CPU each and never get it."""
    return 2 * side_by_side <= usable_cpus()


def _drive(pending: list[dict], slots: int, budget: int, submit, wait_any, finish) -> None:
    """Keep at most ``slots`` of the first ``budget`` pending tasks in flight, submitting one as each finishes.

    ``submit(task) -> handle``; ``wait_any(handles) -> (results, remaining handles)`` blocks until one finishes."""
    queue = list(reversed(pending[:budget]))
    inflight = []
    while queue and len(inflight) < slots:
        inflight.append(submit(queue.pop()))
    while inflight:
        results, inflight = wait_any(inflight)
        for res in results:
            finish(res)
            if queue:
                inflight.append(submit(queue.pop()))


def _exit_with_parent(parent: int, poll_s: float = PARENT_POLL_S) -> None:
    """Pool-worker initializer: a daemon thread that ends this process as soon as its parent ``parent`` is gone
    (the worker is then re-parented, so ``getppid`` changes). ``os._exit``: the task in flight is abandoned, as its
    result has nowhere to go."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The ``local`` backend's pool: ``spawn`` workers that exit with this process."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _run_pool(pending: list[dict], workers: int, budget: int, finish) -> None:
    def wait_any(handles):
        done, rest = wait(handles, return_when=FIRST_COMPLETED)
        return [f.result() for f in done], list(rest)

    with worker_pool(min(workers, budget)) as pool:
        _drive(pending, workers, budget, lambda t: pool.submit(execute, t), wait_any, finish)


def _run_ray(pending: list[dict], workers: int, budget: int, finish, address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'archsim[ray]'") from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(execute)

        def wait_any(refs):
            done, rest = ray.wait(refs, num_returns=1)
            return [ray.get(r) for r in done], list(rest)

        slots = max(1, int(ray.cluster_resources().get("CPU", workers)))
        _drive(pending, slots, budget, remote.remote, wait_any, finish)
    finally:
        if started:
            ray.shutdown()
