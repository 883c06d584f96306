r"""Response to funds: grants → mobilised investment → effective investment → new revenue.

For cluster c, year t, fund category k (all money in 亿元)::

    raw[c,t]  = Σ_k a_c · φ_k · x[c,t,k]                    mobilised investment
    u[c,t]    = Σ_m β_{c,m} · clip(raw[c,t] − B_{c,m−1}, 0, w_{c,m})   effective (concave)
    ΔR[c,t]   = ρ_c · Σ_l λ_{c,l} · u[c,t−l]                  new revenue capacity arriving in t

``a`` is net additional investment per ¥1 of grant (leverage), ``φ`` the category's factor, ``w``
and ``β`` the pipeline's segment widths and slopes (β non-increasing), ``ρ`` the annual revenue
per ¥1 of new investment and ``λ`` the lag profile. New capacity then grows with its cluster
(:func:`simulator.core.growth.compound`). Mobilised investment ``u`` adds to investment in
year t, and ``θ_c·u`` to 技改 investment.

Everything is a pure function of arrays; the allocation model uses :func:`revenue_kernel` and
:func:`pipeline_segments` so that it predicts exactly what the projection computes.
"""

from __future__ import annotations

import numpy as np

from ..scenario.arrays import ScenarioArrays
from .growth import compound


def mobilised_investment(grant: np.ndarray, a: ScenarioArrays) -> np.ndarray:
    """Gross investment mobilised by grants, before diminishing returns [亿元].

    ``grant``: (..., c, t, k) [亿元] → (..., c, t).
    """
    return np.einsum("...ctk,c,k->...ct", grant, a.leverage, a.category_factor)


def pipeline_segments(a: ScenarioArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower edges (c, m), widths (c, m) with ∞ for the open-ended last one, slopes (c, m))."""
    nc = a.n_clusters
    widths = np.concatenate([a.pipeline_widths, np.full((nc, 1), np.inf)], axis=1)
    edges = np.concatenate([np.zeros((nc, 1)), np.cumsum(a.pipeline_widths, axis=1)], axis=1)
    return edges, widths, a.pipeline_slopes


def effective_investment(raw: np.ndarray, a: ScenarioArrays) -> np.ndarray:
    """Concave piecewise-linear pipeline: (..., c, t) mobilised → effective [亿元].

    Segments filled in order give f(x) = Σ_m β_m·clip(x − e_m, 0, w_m). As the slopes never
    rise (the scenario's schema checks it), f is concave with f(0) = 0 and equals the lowest of
    its pieces' lines, f(x) = min_m (f(e_m) + β_m·(x − e_m)) for x ≥ 0: one pass per segment
    over (..., c, t), no (..., c, t, m) array."""
    edges, _, slopes = pipeline_segments(a)
    reach = pipeline_reach(a)
    x = np.maximum(raw, 0.0)
    out = None
    for m in range(slopes.shape[1]):
        line = (reach[:, m] - slopes[:, m] * edges[:, m])[:, None] + slopes[:, m, None] * x
        out = line if out is None else np.minimum(out, line)
    return out


def pipeline_reach(a: ScenarioArrays) -> np.ndarray:
    """f(e_m) (c, m): the effective investment when segments 0…m−1 are full [亿元]."""
    edges, _, slopes = pipeline_segments(a)
    return np.concatenate(
        [np.zeros((a.n_clusters, 1)), np.cumsum(np.diff(edges, axis=1) * slopes[:, :-1], axis=1)],
        axis=1,
    )


def pipeline_steps(
    a: ScenarioArrays, scales: np.ndarray, most: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps of mobilised investment I ∈ [0, most] on which every pipeline f(λ·I), λ in
    ``scales`` (s,), is linear: its kinks e_m/λ for every λ, cut at ``most`` (c,) [亿元].

    Returns (lengths (c, K) [亿元], slopes (s, c, K) [1]): step k of cluster c is ``lengths[c,
    k]`` long, and on it f(λ_s·I) rises by ``slopes[s, c, k]`` per 亿元 of I. Steps of zero
    length (kinks that coincide, or lie beyond ``most``) come last. The slopes are differences
    of :func:`effective_investment` itself at the steps' ends."""
    scales = np.asarray(scales, dtype=float)
    edges, _, _ = pipeline_segments(a)
    most = np.asarray(most, dtype=float)
    kinks = [edges[:, 1:] / lam for lam in scales if lam > 0]
    ends = np.concatenate([np.zeros((a.n_clusters, 1)), *kinks, most[:, None]], axis=1)
    ends = np.sort(np.clip(ends, 0.0, most[:, None]), axis=1)
    lengths = np.diff(ends, axis=1)
    rise = np.diff(np.stack([effective_investment(lam * ends, a) for lam in scales]), axis=2)
    tiny = lengths <= 1e-12 * np.maximum(most, 1.0)[:, None]
    slopes = np.where(tiny, 0.0, rise / np.where(tiny, 1.0, lengths))
    lengths = np.where(tiny, 0.0, lengths)
    last = np.argsort(tiny, axis=1, kind="stable")  # zero-length steps to the end, in order
    lengths = np.take_along_axis(lengths, last, axis=1)
    slopes = np.take_along_axis(slopes, np.broadcast_to(last, slopes.shape), axis=2)
    return lengths, slopes


def mobilised_for(u: np.ndarray, a: ScenarioArrays) -> np.ndarray:
    """The least mobilised investment that gives effective investment ``u`` (..., c, t) [亿元]:
    the inverse of :func:`effective_investment` filling segments in order (its smallest
    pre-image where a slope is 0). ``u`` above what the pipeline can give is clipped to it."""
    edges, widths, slopes = pipeline_segments(a)
    before = pipeline_reach(a)  # the same f(e_m) effective_investment reaches
    # segment m holds u when before[m] < u (the first segment also holds u = 0)
    inside = (u[..., None] > before[:, None, :]) | (np.arange(widths.shape[1]) == 0)
    m = inside.shape[-1] - 1 - np.argmax(inside[..., ::-1], axis=-1)  # last segment reached
    take = lambda arr: np.take_along_axis(  # noqa: E731
        np.broadcast_to(arr[:, None, :], (*u.shape, arr.shape[1])), m[..., None], axis=-1
    )[..., 0]
    slope = take(slopes)
    within = np.where(slope > 0, (u - take(before)) / np.where(slope > 0, slope, 1.0), 0.0)
    return take(edges) + np.minimum(within, take(widths))


def revenue_additions(u: np.ndarray, a: ScenarioArrays) -> np.ndarray:
    """New revenue capacity arriving each year from effective investment ``u`` (..., c, t)."""
    add = np.zeros_like(u, dtype=float)
    n_t = u.shape[-1]
    for lag in range(min(a.lag.shape[1], n_t)):  # a handful of lag years
        add[..., lag:] += a.lag[:, lag, None] * u[..., : n_t - lag]
    return a.revenue_per_investment[:, None] * add


def revenue_kernel(a: ScenarioArrays, revenue_growth: np.ndarray | None = None) -> np.ndarray:
    """K[c, t, s]: revenue in year t per 亿元 of effective investment in year s.

    Computed by running the projection's own recurrence on unit impulses, so that
    ``revenue = no_fund_revenue + einsum('cts,cs->ct', K, u)`` holds exactly.
    """
    g = a.growth["revenue"] if revenue_growth is None else revenue_growth
    nc, nt = a.n_clusters, a.n_years
    impulses = np.broadcast_to(np.eye(nt), (nc, nt, nt))  # [c, s, t]
    additions = revenue_additions(impulses.transpose(1, 0, 2), a).transpose(1, 0, 2)
    paths = compound(np.zeros((nc, nt)), g[:, None, :], additions)  # [c, s, t]
    return paths.transpose(0, 2, 1)


def grant_array(a: ScenarioArrays, grant: np.ndarray | None) -> np.ndarray:
    """A (c, t, k) grant array [亿元]; zeros when ``grant`` is None. A (c, t) array is accepted
    when the fund has no categories."""
    shape = (a.n_clusters, a.n_years, len(a.category_ids))
    if grant is None:
        return np.zeros(shape)
    grant = np.asarray(grant, dtype=float)
    if grant.ndim == 2 and shape[2] == 1:
        grant = grant[:, :, None]
    if grant.shape != shape:
        raise ValueError(f"grant has shape {grant.shape}, expected {shape} (cluster, year, use)")
    return grant
