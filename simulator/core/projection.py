r"""Projection of every cluster and year, vectorised over (sample, cluster, year).

Primary flows (the only things funds move)::

    R[n,c,t]  = R[n,c,t−1]·(1 + g_R[n,c,t]) + ΔR_fund[c,t]          revenue        [亿元]
    I[n,c,t]  = I₀[c]·Π(1 + g_I) + u[c,t]                            investment     [亿元/yr]
    TI[n,c,t] = TI₀[c]·Π(1 + g_TI) + θ_c·u[c,t]                      技改 investment [亿元/yr]
    F[n,c,t]  = F₀[c]·Π(1 + g_F)                                     规上 firms [个] (no fund term)

Factor paths (independent of funds), each a base-year level times its cumulative growth::

    va_rate             = va₀·Π(1 + g_va)                            [1]
    land_per_revenue    = 1 / (R₀/L₀ · Π(1 + g_rpm))                 [亩/亿元]
    energy_per_revenue  = va_rate · e₀·Π(1 + g_e)                    [万tce/亿元]
    tax_rate            = T₀/R₀ · Π(1 + g_tax)                       [1]
    employment_per_rev. = va_rate / (va₀R₀/N₀ · Π(1 + g_prod))       [万人/亿元]
    rd_share, new_product_share, export_share, profit_share
                        = s₀·Π(1 + g_s)                              [1] (shares of revenue)
    hightech_output_share = s₀·Π(1 + g_s)                            [1] (share of output)
    hightech_va_per_revenue     = hightech_va_share · va_rate        [1] (share of VA × VA rate)
    digital_core_va_per_revenue = digital_core_va_share · va_rate    [1]

Every extensive indicator is a factor times a primary flow (:mod:`simulator.indicators`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import indicators
from ..scenario.arrays import ScenarioArrays
from . import response
from .future import Future
from .growth import compound, cumulative


@dataclass(frozen=True)
class Projection:
    """Projected paths, all (n, c, t) in canonical units."""

    years: np.ndarray
    cluster_ids: tuple[str, ...]
    primary: dict[str, np.ndarray]  # revenue, investment, tech_investment, firms (Paths: lazy)
    factor: dict[str, np.ndarray]  # va_rate, land_per_revenue, …
    grant: np.ndarray  # (c, t, k) [亿元]
    mobilised: np.ndarray  # (c, t), or (n, c, t) with a future: before diminishing returns [亿元]
    effective: np.ndarray  # (c, t), or (n, c, t) with a future: effective mobilised [亿元]
    #: scope sums already computed: (indicator, members) → (n, t), read-only (a projection
    #: never changes, so a sum is computed once however many targets and limits read it)
    sums: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_samples(self) -> int:
        return self.primary["revenue"].shape[0]


#: baseline shares that are factor paths of their own (base level × cumulative drift)
SHARE_PATHS = (
    "rd_share",
    "new_product_share",
    "export_share",
    "profit_share",
    "hightech_va_share",
    "hightech_output_share",
    "digital_core_va_share",
)


class Paths(dict):
    """Factor paths computed when first read (a Monte Carlo batch reads only the few its targets
    use). Iterating, ``items()``, ``keys()``, ``values()`` or ``len()`` compute them all, so it
    behaves as the full dict everywhere.

    A maker receives the :class:`Paths` it fills (for the paths it is built from) rather than
    closing over it: no reference cycle, so a projection's arrays are freed as soon as it is
    dropped even with the cyclic collector off (the CLI turns it off) — a Monte Carlo run keeps
    bounded memory however many batches it projects."""

    def __init__(self, makers: dict):
        super().__init__()
        self._makers = makers

    def __missing__(self, key):
        if key not in self._makers:
            raise KeyError(key)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self[key] = self._makers[key](self)
        return value

    def _all(self) -> None:
        for key in self._makers:
            self[key]

    def __contains__(self, key) -> bool:
        return key in self._makers

    def __iter__(self):
        self._all()
        return super().__iter__()

    def __len__(self) -> int:
        return len(self._makers)

    def keys(self):
        self._all()
        return super().keys()

    def values(self):
        self._all()
        return super().values()

    def items(self):
        self._all()
        return super().items()

    def get(self, key, default=None):
        return self[key] if key in self._makers else default


def factor_paths(
    a: ScenarioArrays,
    growth: dict[str, np.ndarray],
    baseline: dict[str, np.ndarray] | None = None,
    future: Future | None = None,
) -> Paths:
    """Fund-independent factor paths (n, c, t); NaN where the baseline is missing; each computed
    when first read (:class:`Paths`).

    ``baseline`` (each (c,) or (n, c)) defaults to the scenario's; ``future`` scales the VA rate,
    tax rate, revenue per mu, energy intensity and productivity paths (:class:`Future`)."""
    b = a.baseline if baseline is None else baseline
    scale = (lambda f: 1.0) if future is None else future.scale

    def level(base, driver: str, scaled: str | None = None):
        path = base[..., None] * cumulative(growth[driver])
        return path if scaled is None else path * scale(scaled)

    def va_rate(_):
        return level(b["va_rate"], "va_rate", "va_rate")

    def intensity():
        return level(b["energy_intensity"], "energy_intensity", "energy_intensity")

    def productivity():
        return level(b["va_rate"] * b["revenue"] / b["employment"], "productivity", "productivity")

    makers = {
        "va_rate": va_rate,
        "land_per_revenue": lambda _: (
            1.0 / level(b["revenue"] / b["land"], "revenue_per_mu", "revenue_per_mu")
        ),
        "energy_per_revenue": lambda paths: paths["va_rate"] * intensity(),
        "tax_rate": lambda _: level(b["tax"] / b["revenue"], "tax_rate", "tax_rate"),
        "employment_per_revenue": lambda paths: paths["va_rate"] / productivity(),
        **{sh: (lambda _, sh=sh: level(b[sh], sh)) for sh in SHARE_PATHS},
        # cross-cutting classifications of value added: share of VA × VA per revenue
        "hightech_va_per_revenue": lambda paths: paths["hightech_va_share"] * paths["va_rate"],
        "digital_core_va_per_revenue": lambda paths: (
            paths["digital_core_va_share"] * paths["va_rate"]
        ),
    }
    return Paths(makers)


def project(
    a: ScenarioArrays,
    grant: np.ndarray | None = None,
    growth: dict[str, np.ndarray] | None = None,
    future: Future | None = None,
    factors: Paths | None = None,
) -> Projection:
    """Project every cluster and year, with the fund response to ``grant`` (c, t[, k]) [亿元].

    ``growth`` overrides the scenario's growth arrays, each (n, c, t) or (c, t); ``future``
    perturbs the scenario's inputs for a batch of sampled futures (:class:`Future`). Without
    either there is one sample. Revenue is the no-fund path plus the fund's new capacity::

        R[n,c,t] = R₀·Π(1 + g_R) + Σ_s K[c,t,s]·u[n,c,s − delay]

    where the new capacity grows at the growth ``growth`` gives (the scenario's own under a
    future), so ``revenue_kernel`` is its exact linear form. ``factors`` are the factor paths
    of another projection of the same scenario, growth and future (they do not depend on the
    fund), to be shared instead of computed again.
    """
    g = {k: np.asarray(v, dtype=float) for k, v in (growth or a.growth).items()}
    fund_growth = g["revenue"]
    if future is None:
        g = {k: _samples(v) for k, v in g.items()}
    else:  # each driver's sampled growth, when first read
        given = g
        g = Paths({k: (lambda _, k=k: _samples(future.growth_of(k, given[k]))) for k in given})
    b = a.baseline if future is None else future.baseline(a.baseline)
    x = response.grant_array(a, grant)
    raw = response.mobilised_investment(x, a)
    if not raw.any():  # no fund: nothing mobilised, in every future (no (n, c, t) work)
        u = np.zeros_like(raw)
        revenue = compound(b["revenue"], g["revenue"])
    else:
        raw, u, added = _fund(a, raw, fund_growth, future)
        revenue = compound(b["revenue"], g["revenue"]) + added
    primary = Paths(
        {
            "revenue": lambda _: _samples(revenue),
            "investment": lambda _: _flow(b["investment"], g["investment"], u),
            "tech_investment": lambda _: _flow(
                b["tech_investment"], g["tech_investment"], a.tech_share[:, None] * u
            ),
            # the number of 规上 firms: net entry only, the fund does not move it
            "firms": lambda _: _samples(b["firms"][..., None] * cumulative(g["firms"])),
        }
    )
    if factors is None:
        factors = factor_paths(a, g, b, future)
    return Projection(a.years, a.cluster_ids, primary, factors, x, raw, u)


def _fund(a: ScenarioArrays, raw: np.ndarray, fund_growth: np.ndarray, future: Future | None):
    """(mobilised, effective, new revenue) [亿元] of mobilised investment ``raw`` (c, t): the
    new revenue capacity grows at ``fund_growth``. Under a future each is (n, c, t), but it
    depends on the future only through its leverage multiplier and delay — a few regimes — so
    it is computed once per regime met and gathered (the same numbers as future by future)."""

    def response_to(mobilised, delay=None):
        u = response.effective_investment(mobilised, a)
        arriving = u if not delay else _delayed(u, np.array([delay]))[0]
        additions = response.revenue_additions(arriving, a)
        return mobilised, u, compound(np.zeros(a.n_clusters), fund_growth, additions)

    if future is None:
        return response_to(raw)
    n = future.n
    scale = np.ones(n) if future.leverage_scale is None else future.leverage_scale
    if np.ndim(fund_growth) == 3:  # growth given per sample: future by future
        mobilised = scale[:, None, None] * raw
        u = response.effective_investment(mobilised, a)
        additions = response.revenue_additions(_delayed(u, future.delay), a)
        return mobilised, u, compound(np.zeros(a.n_clusters), fund_growth, additions)
    delay = np.zeros(n, dtype=int) if future.delay is None else future.delay
    scales, by_scale = np.unique(scale, return_inverse=True)
    delays, by_delay = np.unique(delay, return_inverse=True)
    regimes, which = np.unique(
        by_scale.ravel() * len(delays) + by_delay.ravel(), return_inverse=True
    )
    per_regime = [
        response_to(scales[r // len(delays)] * raw, int(delays[r % len(delays)])) for r in regimes
    ]
    return tuple(np.stack(arrays)[which.ravel()] for arrays in zip(*per_regime, strict=True))


def _samples(values: np.ndarray) -> np.ndarray:
    """(n, c, t): a (c, t) path as one sample."""
    return values if values.ndim == 3 else values[None]


def _flow(base: np.ndarray, growth: np.ndarray, added: np.ndarray) -> np.ndarray:
    """An investment flow: base·Π(1 + g) + the fund's addition (n, c, t) [亿元]; NaN for the
    clusters without a baseline."""
    missing = np.isnan(base)
    flow = np.nan_to_num(base)[..., None] * cumulative(growth) + added
    if missing.any():
        flow = np.where(missing[..., None], np.nan, flow)
    return _samples(flow)


def _delayed(u: np.ndarray, delay: np.ndarray | None) -> np.ndarray:
    """u[n,c,t − delay[n]] (0 before the delay): investment whose revenue arrives later."""
    if delay is None or not np.any(delay):
        return u
    u = np.broadcast_to(u, (len(delay), *u.shape[-2:]))
    out = np.zeros_like(u)
    for d in np.unique(delay):
        rows = delay == d
        if d == 0:
            out[rows] = u[rows]
        elif d < u.shape[-1]:
            out[rows, :, d:] = u[rows, :, :-d]
    return out


# --------------------------------------------------------------------------- indicators


def cluster_values(p: Projection, indicator: str) -> np.ndarray:
    """(n, c, t) values of ``indicator`` for every cluster (NaN where undefined)."""
    if indicator in indicators.EXTENSIVE:
        e = indicators.EXTENSIVE[indicator]
        base = p.primary[e.primary]
        return base if e.factor is None else p.factor[e.factor] * base
    if indicator in indicators.CHANGES:
        level = cluster_values(p, indicators.CHANGES[indicator].base)
        out = np.full_like(level, np.nan)
        out[..., 1:] = np.diff(level, axis=-1)
        return out
    r = indicators.RATIOS[indicator]
    with np.errstate(divide="ignore", invalid="ignore"):
        return cluster_values(p, r.numerator) / cluster_values(p, r.denominator)


def scope_values(p: Projection, indicator: str, members: np.ndarray) -> np.ndarray:
    """(n, t) values of ``indicator`` over the clusters ``members`` (sums; ratios of sums)."""
    if indicator in indicators.EXTENSIVE:
        key = (indicator, np.asarray(members).tobytes())
        if key not in p.sums:
            e = indicators.EXTENSIVE[indicator]
            pick = _contiguous(members)  # a slice is a view; a list of clusters is a copy
            base = p.primary[e.primary][:, pick, :]
            values = base if e.factor is None else p.factor[e.factor][:, pick, :] * base
            p.sums[key] = sum_over_clusters(values)
            p.sums[key].flags.writeable = False
        return p.sums[key]
    if indicator in indicators.CHANGES:
        level = scope_values(p, indicators.CHANGES[indicator].base, members)
        out = np.full_like(level, np.nan)
        out[..., 1:] = np.diff(level, axis=-1)
        return out
    r = indicators.RATIOS[indicator]
    with np.errstate(divide="ignore", invalid="ignore"):
        return scope_values(p, r.numerator, members) / scope_values(p, r.denominator, members)


#: below this many (sample, year) cells a scope sum is left to numpy (one call per cluster
#: would cost more than it saves)
LOOP_CELLS = 512


def sum_over_clusters(values: np.ndarray) -> np.ndarray:
    """Σ_c values[n, c, t] → (n, t), adding the clusters in order: the same sums as
    ``values.sum(axis=1)`` (numpy adds a strided axis in order too), two to three times
    faster on (sample, cluster, year) batches; a single projection is summed by numpy."""
    if values.shape[1] == 0 or values.shape[0] * values.shape[2] < LOOP_CELLS:
        return values.sum(axis=1)
    out = values[:, 0, :].copy()
    for c in range(1, values.shape[1]):
        out += values[:, c, :]
    return out


def _contiguous(members: np.ndarray):
    """``members`` as a slice when they are consecutive clusters in order (else as given)."""
    m = np.asarray(members)
    if m.ndim == 1 and len(m) and np.array_equal(m, np.arange(m[0], m[0] + len(m))):
        return slice(int(m[0]), int(m[0]) + len(m))
    return m


def available(a: ScenarioArrays, indicator: str) -> np.ndarray:
    """(c,) bool: which clusters have the baselines ``indicator`` needs."""
    ok = np.ones(a.n_clusters, dtype=bool)
    for need in indicators.needs(indicator):
        ok &= ~np.isnan(a.baseline[need])
    return ok
