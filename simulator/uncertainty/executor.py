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


class Pool:
    """Local worker processes (fork where the platform has it: the modules are loaded once)."""

    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def map(self, fn: Callable, *iterables) -> list:
        return list(self._pool.map(fn, *iterables))

    def close(self) -> None:
        self._pool.shutdown()


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
