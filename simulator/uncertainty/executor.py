"""Where batches run: in this process, in local worker processes, or on a Dask cluster — one
interface, chosen by ``--workers`` / ``--scheduler``: ``map(fn, *iterables) → list`` and
``imap(fn, *iterables)`` (results in order as they come, every task submitted at once, so a
progress bar can move without a barrier between rounds of tasks). ``--workers N`` is N
processes at work: this one and N − 1 forked ones.

Workers receive arrays and seeds (a :class:`~simulator.uncertainty.montecarlo.Job`), never a
solver model. Dask is an optional extra (``pip install -e ".[distributed]"``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

from ..errors import InputError


class Serial:
    #: tasks run in this process's memory (results may be written in place)
    shares_memory = True

    def imap(self, fn: Callable, *iterables) -> Iterator:
        return map(fn, *iterables)

    def map(self, fn: Callable, *iterables) -> list:
        return list(self.imap(fn, *iterables))


#: the job a worker process was started with (set in the worker by :func:`_install`)
_SHARED = None


def _install(job) -> None:
    global _SHARED
    _SHARED = job


def _call_shared(fn: Callable, *args):
    return fn(_SHARED, *args)


class Pool:
    """Local worker processes (fork where the platform has it: the modules are loaded once).
    ``workers`` counts this process: it forks ``workers − 1`` and runs tasks itself while it
    waits, taking them from the end of the list as the forked workers take them from the
    start (a task already handed to a worker is never run twice). The results come back in
    order either way. When every task shares one job (a Monte Carlo run), the workers are
    started with it, so each task sends only its range."""

    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._job = None
        #: forked workers share this process's memory mapped MAP_SHARED before the fork
        self.shares_memory = "fork" in methods

    def _start(self, job=None) -> ProcessPoolExecutor:
        if self._pool is None or job is not self._job:
            self.close()
            init = {} if job is None else {"initializer": _install, "initargs": (job,)}
            self._pool = ProcessPoolExecutor(
                max(1, self._workers - 1), mp_context=self._context, **init
            )
            self._job = job
        return self._pool

    def imap(self, fn: Callable, first, *iterables) -> Iterator:
        first = list(first)
        tasks = list(zip(first, *iterables, strict=True))
        if first and all(x is first[0] for x in first):
            pool = self._start(first[0])
            futures = [pool.submit(_call_shared, fn, *task[1:]) for task in tasks]
        else:
            pool = self._start()
            futures = [pool.submit(fn, *task) for task in tasks]
        return self._in_order(fn, tasks, futures)

    @staticmethod
    def _in_order(fn: Callable, tasks: list, futures: list) -> Iterator:
        """Each task's result in order; while the next one is not back, this process runs
        the last task no worker has started (a pending future it can still cancel)."""
        done_here: dict[int, object] = {}
        last = len(tasks) - 1
        try:
            for i, future in enumerate(futures):
                while i not in done_here and not future.done() and last > i:
                    if futures[last].cancel():
                        done_here[last] = fn(*tasks[last])
                    last -= 1
                yield done_here.pop(i) if i in done_here else future.result()
        finally:
            for future in futures:
                future.cancel()

    def map(self, fn: Callable, first, *iterables) -> list:
        return list(self.imap(fn, first, *iterables))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class Dask:
    """An existing ``dask.distributed`` cluster at ``address``."""

    shares_memory = False

    def __init__(self, address: str):
        try:
            from dask.distributed import Client
        except ImportError:
            raise InputError(
                'needs Dask: pip install -e ".[distributed]" (or use --workers N)',
                field="--scheduler",
            ) from None
        try:
            self._client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach {address}: {exc}", field="--scheduler") from None

    def imap(self, fn: Callable, first, *iterables) -> Iterator:
        first = list(first)
        if first and all(x is first[0] for x in first):  # one job for every batch: send it once
            shared = self._client.scatter(first[0], broadcast=True)
            first = [shared] * len(first)
        futures = self._client.map(fn, first, *iterables, pure=False)
        return (f.result() for f in futures)

    def map(self, fn: Callable, first, *iterables) -> list:
        return list(self.imap(fn, first, *iterables))

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def executor(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """The executor for ``--workers N`` (local processes) or ``--scheduler ADDRESS`` (Dask);
    serial when neither is given, or when N (capped at the machine's cores) is one."""
    local = min(workers or 1, os.cpu_count() or 1)
    if scheduler:
        ex = Dask(scheduler)
    elif local > 1:
        ex = Pool(local)
    else:
        yield Serial()
        return
    try:
        yield ex
    finally:
        ex.close()
