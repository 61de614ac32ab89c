"""Running many independent model jobs (retrain ensembles, shadow models, KLOM's runs) on one
of three executors: ``serial`` (in this process), ``local`` (a warm pool of worker processes)
or ``ray`` (``ray.init(address=...)`` for an existing cluster).

Training K small models is compute-bound, so the executors only remove per-model overhead:

- **Data once per worker.** Arrays that every job of a batch holds (the same object, e.g. the
  pool a shadow trains on) are taken out of the jobs and shipped once per worker chunk (Ray:
  once per batch, through the object store), not once per model.
- **Chunks.** The K jobs are split into one contiguous chunk per worker, so a worker gets one
  message, not K.
- **Warm workers.** The local pool is started once per process and reused by later batches;
  its workers import torch and the package when they start, never per model.
- **Same numbers on every executor.** Every job runs with the same torch thread count
  (``threads``, default 1) on every executor, serial included, and carries its own seed, so a
  model is bit-for-bit the one trained alone with that seed and thread count (torch's CPU
  kernels reduce in a different order with a different thread count).
"""

from __future__ import annotations

import atexit
import dataclasses
import queue as queue_mod
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from multiprocessing import get_context
from typing import Any, Callable, Iterator, Optional

import numpy as np

from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn, report

EXECUTORS = ("serial", "local", "ray")

JOBS_RUN: Counter = Counter()  # jobs dispatched in this process, by task (tests count trainings)

_POOL: Optional[ProcessPoolExecutor] = None
_POOL_WORKERS = 0
_POOL_QUEUE: Any = None
_POOL_LOCK = threading.Lock()
_WORKER_QUEUE: Any = None  # in a worker: where per-job progress goes


def check_executor(name: str) -> str:
    """Refuse an unknown executor with the known ones."""
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor '{name}': use serial, local or ray")
    return name


@contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """Run the block with ``n`` torch threads (None: leave as is), restored afterwards."""
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


# -- packing: arrays shared by every job travel once -------------------------------------------
def pack(jobs: list) -> tuple[dict[str, np.ndarray], list]:
    """Move every ndarray field that all (dataclass) jobs hold as the same object into one
    shared dict; the jobs keep ``None`` there. Jobs that are not dataclasses travel as given."""
    if not jobs or not all(dataclasses.is_dataclass(j) and not isinstance(j, type)
                           for j in jobs):
        return {}, list(jobs)
    first = jobs[0]
    shared: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(first):
        value = getattr(first, f.name)
        if isinstance(value, np.ndarray) and all(type(j) is type(first)
                                                 and getattr(j, f.name) is value for j in jobs):
            shared[f.name] = value
    if not shared:
        return {}, list(jobs)
    blank = {k: None for k in shared}
    return shared, [dataclasses.replace(j, **blank) for j in jobs]


def unpack(job: Any, shared: dict[str, np.ndarray]) -> Any:
    """The job with its shared arrays put back."""
    return dataclasses.replace(job, **shared) if shared else job


def run_chunk(fn: Callable, shared: dict[str, np.ndarray], jobs: list,
              threads: Optional[int] = 1, device: Optional[tuple[str, bool]] = None) -> list:
    """Run a chunk of jobs in order (top-level, so pools and Ray can ship it) on ``device``
    (name, mixed precision: the caller's ``unlearn_core.device`` setting); in a pool worker
    each finished job is reported on the pool's progress queue."""
    from unlearn_core.device import use_device

    out = []
    on = use_device(*device) if device and device[0] != "cpu" else nullcontext()
    with torch_threads(threads), on:
        for job in jobs:
            out.append(fn(unpack(job, shared)))
            if _WORKER_QUEUE is not None:
                _WORKER_QUEUE.put(1)
    return out


def chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering ``range(n)``, sizes differing by at
    most one; empty ranges dropped."""
    parts = max(1, min(parts, n))
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


# -- the warm local pool -----------------------------------------------------------------------
def _warm_worker(progress_queue: Any) -> None:
    """Pool initializer: one torch thread, the package imported once, progress queue kept."""
    global _WORKER_QUEUE
    _WORKER_QUEUE = progress_queue
    import torch

    torch.set_num_threads(1)
    from unlearn_core import methods, models  # noqa: F401  (imported once per worker, not per model)


def local_pool(workers: int) -> tuple[ProcessPoolExecutor, Any]:
    """The process's warm pool of ``workers`` processes (started on first use, reused)."""
    global _POOL, _POOL_WORKERS, _POOL_QUEUE
    with _POOL_LOCK:
        if _POOL is None or _POOL_WORKERS != workers:
            _shutdown_locked()
            ctx = get_context("spawn")
            _POOL_QUEUE = ctx.Queue()
            _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                        initializer=_warm_worker, initargs=(_POOL_QUEUE,))
            _POOL_WORKERS = workers
        return _POOL, _POOL_QUEUE


def _shutdown_locked() -> None:
    global _POOL, _POOL_WORKERS, _POOL_QUEUE
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
    if _POOL_QUEUE is not None:
        _POOL_QUEUE.close()
    _POOL, _POOL_WORKERS, _POOL_QUEUE = None, 0, None


def shutdown_pool() -> None:
    """Stop the warm local pool (it restarts on next use)."""
    with _POOL_LOCK:
        _shutdown_locked()


atexit.register(shutdown_pool)


def _drain(q: Any) -> int:
    n = 0
    while True:
        try:
            q.get_nowait()
        except (queue_mod.Empty, OSError, ValueError):
            return n
        n += 1


def _run_local(fn: Callable, shared: dict, jobs: list, workers: int, threads: Optional[int],
               progress: Optional[ProgressFn], task: str,
               device: Optional[tuple[str, bool]] = None) -> list:
    pool, q = local_pool(workers)
    _drain(q)  # stale reports of an earlier, failed batch
    parts = chunks(len(jobs), workers)
    try:
        futures = [pool.submit(run_chunk, fn, shared, jobs[a:b], threads, device)
                   for a, b in parts]
    except BrokenProcessPool:
        shutdown_pool()
        pool, q = local_pool(workers)
        futures = [pool.submit(run_chunk, fn, shared, jobs[a:b], threads, device)
                   for a, b in parts]
    done_jobs, pending = 0, set(futures)
    try:
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            new = _drain(q)
            if new:
                done_jobs = min(len(jobs), done_jobs + new)
                report(progress, task, done_jobs, len(jobs))
        out = []
        for f in futures:
            out.extend(f.result())
    except BrokenProcessPool:
        shutdown_pool()  # a killed worker: the next batch starts a fresh pool
        raise
    if done_jobs < len(jobs):
        report(progress, task, len(jobs), len(jobs))
    return out


def _run_ray(fn: Callable, shared: dict, jobs: list, workers: int, threads: Optional[int],
             ray_address: Optional[str], progress: Optional[ProgressFn], task: str,
             device: Optional[tuple[str, bool]] = None) -> list:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs the 'ray' package (pip install ray)")
    if not ray.is_initialized():
        ray.init(address=ray_address, include_dashboard=False, ignore_reinit_error=True)
    cpus = int(ray.cluster_resources().get("CPU", workers))
    shared_ref = ray.put(shared)  # once per batch: workers on a node read it without copies
    remote = ray.remote(num_cpus=1)(run_chunk)
    parts = chunks(len(jobs), max(workers, cpus))
    refs = [remote.remote(fn, shared_ref, jobs[a:b], threads, device) for a, b in parts]
    out, done = [], 0
    for (a, b), ref in zip(parts, refs):
        out.extend(ray.get(ref))
        done += b - a
        report(progress, task, done, len(jobs))
    return out


def run_jobs(jobs: list, executor: str = "local", workers: int = 2,
             ray_address: Optional[str] = None, progress: Optional[ProgressFn] = None,
             fn: Optional[Callable] = None, task: str = "models",
             threads: Optional[int] = 1) -> list:
    """Run ``fn(job)`` for every job (``fn`` top-level, so processes and Ray can ship it) on
    the serial, local process-pool or Ray executor; results in job order, the same on each.

    Arrays every job holds as the same object travel once per worker; each job runs with
    ``threads`` torch threads on every executor (None: the caller's setting, serial only)."""
    check_executor(executor)
    if fn is None:
        raise ConfigError("run_jobs needs the job function")
    JOBS_RUN[task] += len(jobs)
    if not jobs:
        return []
    shared, packed = pack(jobs)
    if executor == "serial" or (executor == "local" and (len(jobs) <= 1 or workers <= 1)):
        out = []
        with torch_threads(threads):
            for i, job in enumerate(packed):
                out.append(fn(unpack(job, shared)))
                report(progress, task, i + 1, len(jobs))
        return out
    # the caller's device travels with the chunks (a worker has its own context)
    from unlearn_core.device import current_device

    setting = current_device()
    device = (setting.name, setting.mixed_precision)
    if executor == "local":
        return _run_local(fn, shared, packed, workers, threads, progress, task, device)
    return _run_ray(fn, shared, packed, workers, threads, ray_address, progress, task, device)
