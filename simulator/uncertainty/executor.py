"""Where batches run: in this process, in local worker processes, or on a Dask cluster — one
interface (``map(fn, *iterables) → list`` in order), chosen by ``--workers`` / ``--scheduler``.

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
    def map(self, fn: Callable, *iterables) -> list:
        return list(map(fn, *iterables))


#: the job a worker process was started with (set in the worker by :func:`_install`)
_SHARED = None


def _install(job) -> None:
    global _SHARED
    _SHARED = job


def _call_shared(fn: Callable, *args):
    return fn(_SHARED, *args)


class Pool:
    """Local worker processes (fork where the platform has it: the modules are loaded once).
    When every task shares one job (a Monte Carlo run), the workers are started with it, so
    each task sends only its sample range."""

    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._job = None

    def _start(self, job=None) -> ProcessPoolExecutor:
        if self._pool is None or job is not self._job:
            self.close()
            init = {} if job is None else {"initializer": _install, "initargs": (job,)}
            self._pool = ProcessPoolExecutor(self._workers, mp_context=self._context, **init)
            self._job = job
        return self._pool

    def map(self, fn: Callable, first, *iterables) -> list:
        first = list(first)
        if first and all(x is first[0] for x in first):
            pool = self._start(first[0])
            return list(pool.map(_call_shared, [fn] * len(first), *iterables))
        return list(self._start().map(fn, first, *iterables))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class Dask:
    """An existing ``dask.distributed`` cluster at ``address``."""

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

    def map(self, fn: Callable, first, *iterables) -> list:
        first = list(first)
        if first and all(x is first[0] for x in first):  # one job for every batch: send it once
            shared = self._client.scatter(first[0], broadcast=True)
            first = [shared] * len(first)
        futures = self._client.map(fn, first, *iterables, pure=False)
        return self._client.gather(futures)

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def executor(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """The executor for ``--workers N`` (local processes) or ``--scheduler ADDRESS`` (Dask);
    serial when neither is given (or one worker)."""
    if scheduler:
        ex = Dask(scheduler)
    elif workers and workers > 1:
        ex = Pool(min(workers, os.cpu_count() or workers))
    else:
        yield Serial()
        return
    try:
        yield ex
    finally:
        ex.close()
