r"""Sampled futures: latent draws → a :class:`~simulator.core.future.Future` for samples
[start, stop) of a run.

**Latent draws.** Two blocks per future n:

- the *macro* block — one coordinate per copula driver (``COPULA_DRIVERS``: the common growth
  shift, the leverage and lag regimes, each factor's level and drift) and one per plan year
  (the common year shocks) — from scrambled Sobol' points (``scipy.stats.qmc``), turned into
  normal scores z = Φ⁻¹(u) and correlated by the Gaussian copula z̃ = L·z (L·Lᵀ = the
  scenario's correlation matrix);
- the *cluster* block (cluster components, annual noise, base-level errors) from a PCG64
  generator per block of :data:`BLOCK` futures, seeded by
  ``SeedSequence(seed, spawn_key=(1, block))``.

Future n's draws depend only on (seed, n): never on the batch a run cuts, nor the worker that
computes it, so any split of a run gives the same numbers bit for bit.

**Shocks** (sd σ, normal score z): normal σ·z; uniform σ·√3·(2Φ(z) − 1); lognormal (levels)
exp(s·z − s²/2) − 1 with s² = ln(1 + σ²) — each has mean 0 and sd σ. AR(1) series (year
shocks, noise) are built on the normal scores, z_t = φ·z_(t−1) + √(1−φ²)·e_t, then shaped, so
each year keeps its marginal distribution.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import qmc  # here, not in the function: forked workers inherit it loaded

from ..core.future import Future
from ..scenario.uncertainty import BASE_LEVELS, COPULA_DRIVERS, FOLLOW_REVENUE
from .spec import Spread, UncertaintySpec

#: futures per block of the cluster block's generator (and the unit of reproducibility)
BLOCK = 256
_EPS = 1e-12


def shock(z: np.ndarray, s: Spread) -> np.ndarray:
    """Mean-0 deviations with sd ``s.sd`` from standard normal scores ``z``."""
    if s.sd == 0:
        return np.zeros_like(z)
    if s.distribution == "uniform":
        return s.sd * np.sqrt(3.0) * (2.0 * ndtr(z) - 1.0)
    if s.distribution == "lognormal":
        v = np.log1p(s.sd**2)
        return np.expm1(np.sqrt(v) * z - v / 2.0)
    return s.sd * z


def ar1(e: np.ndarray, phi: float) -> np.ndarray:
    """A stationary AR(1) of unit variance along the last axis from iid normal scores ``e``."""
    z = np.empty_like(e)
    if z.shape[-1] == 0:
        return z
    z[..., 0] = e[..., 0]
    k = np.sqrt(1.0 - phi**2)
    for t in range(1, e.shape[-1]):
        z[..., t] = phi * z[..., t - 1] + k * e[..., t]
    return z


def _sobol(d: int, seed: int, start: int, stop: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0,))))
    try:
        engine = qmc.Sobol(d, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        engine = qmc.Sobol(d, scramble=True, seed=rng)
    if start:
        engine.fast_forward(start)
    with warnings.catch_warnings():  # balance needs n a power of 2; any n is still valid QMC
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(stop - start)


def _blocks(d: int, seed: int, key: int, start: int, stop: int) -> np.ndarray:
    """Standard normals (stop − start, d), a fixed generator per block of BLOCK futures."""
    first, last = start // BLOCK, (stop - 1) // BLOCK
    parts = []
    for b in range(first, last + 1):
        seq = np.random.SeedSequence(seed, spawn_key=(key, b))
        parts.append(np.random.Generator(np.random.PCG64(seq)).standard_normal((BLOCK, d)))
    out = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return out[start - first * BLOCK : stop - first * BLOCK]


def latent(spec: UncertaintySpec, n_clusters: int, n_plan_years: int, seed: int, start, stop):
    """Normal scores: (macro (n, drivers + years), cluster (n, c·(1 + years + base levels)))."""
    d_macro = len(COPULA_DRIVERS) + n_plan_years
    if spec.method == "sobol":
        u = np.clip(_sobol(d_macro, seed, start, stop), _EPS, 1.0 - _EPS)
        macro = ndtri(u)
    else:
        macro = _blocks(d_macro, seed, 0, start, stop)
    cluster = _blocks(n_clusters * (1 + n_plan_years + len(BASE_LEVELS)), seed, 1, start, stop)
    return macro, cluster


def _regime(z: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Index of the regime each normal score falls in (inverse CDF of the categorical)."""
    edges = np.cumsum(probabilities)[:-1]
    return np.searchsorted(edges, ndtr(z), side="right")


def future(spec: UncertaintySpec, n_clusters: int, n_years: int, seed: int, start: int, stop: int):
    """Futures [start, stop) of a run with ``seed``: a :class:`Future` over (n, c, t), t
    including the base year (index 0, never shocked)."""
    macro, cluster = latent(spec, n_clusters, n_years - 1, seed, start, stop)
    return from_latent(spec, n_clusters, n_years, macro, cluster)


def latent_groups(spec: UncertaintySpec, n_clusters: int, n_plan_years: int) -> dict[str, list]:
    """Column indices of the latent draws (macro columns first, then the cluster block) that
    belong to each independent driver group — the groups of the sensitivity indices. Only
    groups with some spread are listed."""
    c, tp, k = n_clusters, n_plan_years, len(COPULA_DRIVERS)
    col = {name: i for i, name in enumerate(COPULA_DRIVERS)}
    off = k + tp  # first column of the cluster block
    groups: dict[str, list] = {}
    if spec.macro.sd or spec.year.sd:
        groups["macro growth"] = [col["macro"], *range(k, k + tp)]
    if spec.cluster.sd or spec.noise.sd:
        groups["cluster growth"] = list(range(off, off + c + c * tp))
    if np.any(spec.leverage_multipliers[spec.leverage_probabilities > 0] != 1.0):
        groups["leverage"] = [col["leverage"]]
    if np.any(spec.delays[spec.delay_probabilities > 0] != 0):
        groups["lag"] = [col["lag"]]
    for f in sorted(set(spec.factor_level) | set(spec.factor_drift)):
        cols = [col[f"{f}.level"], col[f"{f}.drift"]]
        if spec.factor_level.get(f, Spread(0.0)).sd or spec.factor_drift.get(f, Spread(0.0)).sd:
            groups[f.replace("_", " ")] = cols
    base = off + c + c * tp
    levels = [
        base + i * c + j
        for i, f in enumerate(BASE_LEVELS)
        if spec.base_levels.get(f, Spread(0.0)).sd > 0
        for j in range(c)
    ]
    if levels:
        groups["base levels"] = levels
    return groups


def from_latent(
    spec: UncertaintySpec, n_clusters: int, n_years: int, macro: np.ndarray, cluster: np.ndarray
) -> Future:
    """A :class:`Future` from normal scores: ``macro`` (n, drivers + plan years) and
    ``cluster`` (n, c·(1 + plan years + base levels)), laid out as :func:`latent` draws them."""
    n, c, tp = macro.shape[0], n_clusters, n_years - 1
    k = len(COPULA_DRIVERS)
    # the Gaussian copula (einsum: no multithreaded BLAS call for a k × k product)
    z = np.einsum("nk,jk->nj", macro[:, :k], spec.copula_factor)
    driver = {name: z[:, i] for i, name in enumerate(COPULA_DRIVERS)}

    year = shock(ar1(macro[:, k:], spec.year_ar1), spec.year)  # (n, tp)
    zeta = shock(cluster[:, :c], spec.cluster)  # (n, c)
    eps = cluster[:, c : c + c * tp].reshape(n, c, tp)
    noise = shock(ar1(eps, spec.noise_ar1), spec.noise)
    shift = np.zeros((n, c, n_years))
    shift[:, :, 1:] = (
        shock(driver["macro"], spec.macro)[:, None, None] + year[:, None, :] + zeta[..., None]
    ) + noise

    base = cluster[:, c + c * tp :].reshape(n, len(BASE_LEVELS), c)
    base_scale = {
        f: 1.0 + shock(base[:, i], spec.base_levels[f])
        for i, f in enumerate(BASE_LEVELS)
        if f in spec.base_levels and spec.base_levels[f].sd > 0
    }
    if "revenue" in base_scale:  # a cluster's size: its land, tax and employment follow
        base_scale.update({f: base_scale["revenue"] for f in FOLLOW_REVENUE})
    t = np.arange(n_years)
    factor_scale = {}
    for f in set(spec.factor_level) | set(spec.factor_drift):
        level = shock(driver[f"{f}.level"], spec.factor_level.get(f, Spread(0.0)))
        drift = shock(driver[f"{f}.drift"], spec.factor_drift.get(f, Spread(0.0)))
        factor_scale[f] = (1.0 + level)[:, None] * (1.0 + drift)[:, None] ** t
    return Future(
        n=n,
        growth_shift={d: shift for d in spec.growth_drivers},
        base_scale=base_scale,
        factor_scale=factor_scale,
        leverage_scale=spec.leverage_multipliers[
            _regime(driver["leverage"], spec.leverage_probabilities)
        ],
        delay=spec.delays[_regime(driver["lag"], spec.delay_probabilities)],
    )
