r"""Monte Carlo evaluation of one allocation over sampled futures, in batches (pure numpy).

For every future n (:mod:`.sampling`) the projection runs twice — without the fund and with
the allocation — and the ledger of each gives, per target j, met or not and the projected
value. Over N futures::

    P(met)_j          = (1/N)·Σ_n 1[target j met in future n]
    objective_mean    = (1/N)·Σ_n L_n,       L_n = Σ_j w_j·s_(j,n)   (movable targets)
    objective_cvar90  = mean of the worst 10 % of L_n (the last one in part when 0.1·N is not whole)

(s_(j,n) the relative shortfall of :mod:`simulator.core.targets`, against future n's own
no-fund denominators). Quantiles (p5 … p95 of each target's value and of each indicator's fan)
are exact over the first ``keep`` futures, all of them unless the run is larger than the
memory bound :data:`KEEP_VALUES`.

**Batches.** Futures are cut into batches by index only (:func:`batches`: a size fixed by the
scenario's cells, never by the number of workers); each batch is a pure function of (job,
start, stop), and batch results are merged in index order, so any executor gives the same
numbers bit for bit.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np

from ..core.projection import project
from ..core.targets import TargetSpec, ledger
from ..scenario.arrays import ScenarioArrays
from .sampling import BLOCK, future
from .spec import UncertaintySpec

#: cluster-year cells of one batch (per projected array: 2 MiB of float64, near a core's L2
#: cache), and the most futures in one (so that a large run of a small scenario still splits
#: across workers)
BATCH_CELLS = 2**18
BATCH_SAMPLES = 4096
#: values kept for quantiles (targets + fan rows × futures): 160 MB of float64 at most
KEEP_VALUES = 20_000_000


@dataclass(frozen=True)
class FanKey:
    """An indicator at a target's scope (read through the first target that uses it)."""

    indicator: str
    scope: str
    target: int  # index of a target spec with this indicator and scope


@dataclass(frozen=True)
class Kept:
    """Where batches write the values kept for quantiles, in place: arrays in memory shared
    with forked worker processes (an anonymous shared mapping), so that the largest part of a
    batch's result never travels back through a pipe. Only for executors whose workers share
    this process's memory (:attr:`shares_memory`); a Dask worker returns its values instead."""

    values: np.ndarray  # (j, keep) canonical
    fan: np.ndarray  # (f, keep, t) canonical

    @classmethod
    def shared(cls, n_targets: int, n_fan: int, keep: int, n_years: int) -> Kept:
        def array(shape):
            size = int(np.prod(shape)) * 8
            buffer = mmap.mmap(-1, max(size, 1))  # MAP_SHARED | MAP_ANONYMOUS
            return np.frombuffer(buffer, dtype=float, count=int(np.prod(shape))).reshape(shape)

        return cls(array((n_targets, keep)), array((n_fan, keep, n_years)))


@dataclass(frozen=True)
class Job:
    """Everything a batch needs: arrays and seeds only (picklable; never a solver model)."""

    arrays: ScenarioArrays
    specs: list[TargetSpec]
    spec: UncertaintySpec
    grant: np.ndarray | None  # (c, t, k) [亿元]; None: the fund is not used
    movable: np.ndarray  # (j,) bool: targets in the objective
    fan: list[FanKey]
    seed: int
    samples: int
    keep: int  # futures whose values are kept for quantiles (the first ``keep``)
    kept: Kept | None = None  # write the kept values here instead of returning them


@dataclass
class Batch:
    start: int
    stop: int
    met_no_fund: np.ndarray  # (j,) futures where the target is met without the fund
    met: np.ndarray  # (j,) … with the allocation
    values: np.ndarray  # (j, m) projected values of the kept futures in this batch [canonical]
    fan: np.ndarray  # (f, m, t) indicator values of the kept futures [canonical]
    loss: np.ndarray  # (n,) weighted shortfall L_n with the allocation
    loss_no_fund: np.ndarray  # (n,)


def fan_keys(specs: list[TargetSpec]) -> list[FanKey]:
    seen: dict[tuple[str, str], FanKey] = {}
    for j, s in enumerate(specs):
        seen.setdefault((s.indicator, s.scope), FanKey(s.indicator, s.scope, j))
    return list(seen.values())


def batches(samples: int, a: ScenarioArrays) -> list[tuple[int, int]]:
    """[start, stop) of every batch: a size from the scenario's cells alone, a whole number of
    the sampler's blocks when it holds more than one (a batch then draws no future it does
    not use: :data:`~.sampling.BLOCK`)."""
    size = max(1, min(BATCH_SAMPLES, BATCH_CELLS // (a.n_clusters * a.n_years)))
    if size > BLOCK:
        size = BLOCK * round(size / BLOCK)
    return [(s, min(s + size, samples)) for s in range(0, samples, size)]


def keep_count(samples: int, n_targets: int, n_fan: int, n_years: int) -> int:
    return int(min(samples, max(1, KEEP_VALUES // max(1, n_targets + n_fan * n_years))))


def _loss(led, movable) -> np.ndarray:
    """Σ_j w_j s_(j,n), summed in target order (the same rounding whatever the batch)."""
    w = np.array([s.weight for s in led.specs]) * movable
    return (w[:, None] * np.nan_to_num(led.shortfall)).sum(axis=0)


def run_batch(job: Job, start: int, stop: int) -> Batch:
    a = job.arrays
    f = future(job.spec, a.n_clusters, a.n_years, job.seed, start, stop)
    reference = project(a, None, future=f)
    led0 = ledger(reference, job.specs, first_met=False)
    if job.grant is None:
        p, led = reference, led0
    else:
        p = project(a, job.grant, future=f, factors=reference.factor)
        led = ledger(p, job.specs, reference, first_met=False)
    m = max(0, min(stop, job.keep) - start)
    nt = a.n_years
    fan = np.empty((len(job.fan), m, nt))
    for i, key in enumerate(job.fan):  # the ledger's paths: values_at of each target
        fan[i] = led.paths[key.target, :m]
    values = led.projected[:, :m]
    if job.kept is not None:  # written in place: the batch carries none back
        job.kept.values[:, start : start + m] = values
        job.kept.fan[:, start : start + m] = fan
        values, fan = values[:, :0], fan[:, :0]
    return Batch(
        start,
        stop,
        led0.met.sum(axis=1),
        led.met.sum(axis=1),
        values,
        fan,
        _loss(led, job.movable),
        _loss(led0, job.movable),
    )


@dataclass
class Distribution:
    """The merged result of every batch."""

    samples: int
    p_met_no_fund: np.ndarray  # (j,)
    p_met: np.ndarray  # (j,)
    values: np.ndarray  # (j, keep) canonical
    fan: np.ndarray  # (f, keep, t) canonical
    loss: np.ndarray  # (N,)
    loss_no_fund: np.ndarray  # (N,)

    @property
    def kept(self) -> int:
        return self.values.shape[1]


def merge(parts: list[Batch], samples: int, kept: Kept | None = None) -> Distribution:
    """Every batch's result in index order; the kept values from ``kept`` when the batches
    wrote them there."""
    parts = sorted(parts, key=lambda b: b.start)
    if kept is not None:
        values, fan = kept.values, kept.fan  # the arrays keep their mapping alive
    else:
        values = np.concatenate([b.values for b in parts], axis=1)
        fan = np.concatenate([b.fan for b in parts], axis=1)
    return Distribution(
        samples,
        sum(b.met_no_fund for b in parts) / samples,
        sum(b.met for b in parts) / samples,
        values,
        fan,
        np.concatenate([b.loss for b in parts]),
        np.concatenate([b.loss_no_fund for b in parts]),
    )


#: (1−α)·N within this of a whole number counts as whole (0.1 × 1000 is 100.00000000000001):
#: a rounding guard on a count, not a weight in any model
WHOLE = 1e-9


def cvar(loss: np.ndarray, alpha: float = 0.9) -> float:
    """CVaR_α of the sampled losses: the mean of the worst (1−α) share of them, the last one
    counted in part when m = (1−α)·N is not whole — the minimum of Rockafellar and Uryasev's
    η + Σ_n (L_n − η)⁺ / m, which the robust model's ``cvar_shortfall`` minimises. With m whole
    it is the mean of the worst m. Never below the mean of all."""
    worst = np.sort(np.asarray(loss, dtype=float))[::-1]
    m = (1.0 - alpha) * len(worst)
    whole = min(len(worst), int(np.floor(m + WHOLE)))
    total = worst[:whole].sum()
    part = m - whole
    if part > WHOLE and whole < len(worst):
        total += part * worst[whole]
    return float(total / m)
