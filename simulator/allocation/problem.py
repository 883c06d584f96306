r"""The allocation problem's data, computed in numpy from the projection's own response.

Everything the Pyomo model needs is here as arrays: which clusters and years can be funded,
the pipeline segments, and every target and limit as a row ``const + Σ_(c,s) G[c,s]·u[c,s]``
in the effective mobilised investment u (亿元). The fund coefficients G are the linear forms
of :mod:`simulator.core.linear` pushed through the response Jacobian::

    ∂R[c,t]/∂u[c,s] = K[c,t,s]   (revenue kernel, the projection's recurrence on impulses)
    ∂I[c,t]/∂u[c,s] = δ_ts        ∂TI[c,t]/∂u[c,s] = θ_c·δ_ts        ∂F[c,t]/∂u[c,s] = 0

so the model predicts exactly what :func:`simulator.core.projection.project` computes.

**Sample axis.** A row's constant (the no-fund value) has one entry per sampled future
``const[n]``; its fund coefficients G are shared by all futures. The deterministic model reads
sample 0; a robust model adds one constant per future and keeps one set of coefficients.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import indicators
from ..core import response
from ..core.limits import LIMITS, Limit
from ..core.linear import (
    PRIMARIES,
    LinearForm,
    cluster_forms,
    indicator_form,
    limit_form,
    target_row,
    year_on_year_rows,
)
from ..core.projection import Projection, project
from ..core.targets import TargetSpec, required, values_at
from ..scenario.arrays import ScenarioArrays

#: coefficients below this (relative to the row's largest term) count as "the fund cannot move it"
MOVABLE_TOLERANCE = 1e-12


@dataclass
class Row:
    """``const[n] + Σ coef·u[c,s]`` over fundable clusters c and fund years s (indices into the
    problem's ``clusters`` and ``years``); ``const`` has one entry per sampled future."""

    const: np.ndarray  # (n,)
    c: np.ndarray
    s: np.ndarray
    coef: np.ndarray

    @property
    def movable(self) -> bool:
        scale = max(1.0, float(np.abs(self.const).max()))
        return bool(np.any(np.abs(self.coef) > MOVABLE_TOLERANCE * scale))


@dataclass
class TargetData:
    spec: TargetSpec
    required: np.ndarray  # (n,) required level (canonical)
    row: Row | None  # level and ratio targets: σ·(row − rhs)/norm + s ≥ 0
    rhs: np.ndarray  # (n,)
    norm: np.ndarray  # (n,) the relative shortfall's denominator
    cluster_rows: list[Row] | None  # count targets: each member's indicator
    movable: bool
    shortfall_bound: float  # an upper bound on its relative shortfall (for big-M)
    #: year-on-year targets: (year index t, row of X(t) − r_t·X(t−1), norm) for each plan year
    #: up to the target year, each σ·row/norm + s ≥ 0 (``row`` is then None)
    yearly: list[tuple[int, Row, float]] | None = None
    #: count_between: each member's largest indicator value any allocation reaches (big-M)
    cluster_max: np.ndarray | None = None


@dataclass
class LimitData:
    limit: Limit
    year: int
    row: Row  # row ≤ rhs
    rhs: float

    @property
    def name(self) -> str:
        return self.limit.name


@dataclass
class AllocationProblem:
    arrays: ScenarioArrays
    reference: Projection  # no-fund projection (n samples)
    clusters: np.ndarray  # fundable cluster indices
    years: np.ndarray  # fund-year indices
    kernel: np.ndarray  # K[c, t, s] over all clusters and years
    targets: list[TargetData]
    limits: list[LimitData]
    effect: np.ndarray  # (fundable c, fund s) weight of u in the fund-effect aim [亿元/亿元]

    @property
    def n_samples(self) -> int:
        return self.reference.n_samples


def fund_rows(
    forms: list[LinearForm],
    a: ScenarioArrays,
    kernel: np.ndarray,
    reference: Projection,
    clusters: np.ndarray,
    years: np.ndarray,
) -> list[Row]:
    """Push linear forms through the response Jacobian onto u[c, s] (fundable c, fund year s),
    all at once: one pass of numpy over every form's terms, O(terms × fund years)."""
    nf, ny = len(clusters), len(years)
    position = np.full(a.n_clusters, -1)
    position[clusters] = np.arange(nf)
    parts = {p: ([], [], [], []) for p in PRIMARIES}
    for owner, form in enumerate(forms):
        for primary, (c, t, k) in form.terms.items():
            bucket = parts[primary]
            for store, x in zip(bucket, (np.full(len(c), owner), c, t, k), strict=True):
                store.append(x)
    consts = np.zeros((len(forms), reference.n_samples))
    keys, values = [], []
    for primary, (owner, c, t, k) in parts.items():
        if not owner:
            continue
        owner, c, t, k = (np.concatenate(x) for x in (owner, c, t, k))
        for n in range(reference.n_samples):  # the no-fund value of each form, per future
            np.add.at(consts[:, n], owner, k * reference.primary[primary][n, c, t])
        if primary == "firms":  # ∂F/∂u = 0: the fund does not move the number of firms
            continue
        keep = position[c] >= 0
        owner, c, t, k = owner[keep], c[keep], t[keep], k[keep]
        if primary == "revenue":  # ∂R[c,t]/∂u[c,s] = K[c,t,s]
            contrib = k[:, None] * kernel[c, t][:, years]
        else:  # ∂I[c,t]/∂u[c,s] = δ_ts; ∂TI/∂u = θ_c δ_ts
            scale = k if primary == "investment" else k * a.tech_share[c]
            contrib = scale[:, None] * (t[:, None] == years[None, :])
        cell = (owner * nf + position[c])[:, None] * ny + np.arange(ny)[None, :]
        keys.append(cell.reshape(-1))
        values.append(contrib.reshape(-1))
    if keys:
        unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
        coef = np.bincount(inverse, weights=np.concatenate(values))
        nonzero = coef != 0
        unique, coef = unique[nonzero], coef[nonzero]
    else:
        unique, coef = np.zeros(0, np.int64), np.zeros(0)
    owner = unique // (nf * ny)
    bounds = np.searchsorted(owner, np.arange(len(forms) + 1))
    return [
        Row(consts[i], (unique[lo:hi] // ny) % nf, unique[lo:hi] % ny, coef[lo:hi])
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]


def largest_effective(a: ScenarioArrays, clusters, years, budget_ceiling: float | None = None):
    """(c, s) the most effective investment a cluster-year can get [亿元]: its maximum share of
    the largest budget, at the best category's leverage."""
    budget = a.budget if budget_ceiling is None else np.maximum(a.budget, budget_ceiling)
    raw = a.leverage[:, None] * a.category_factor.max() * a.share_max[:, None] * budget[None, :]
    return response.effective_investment(raw, a)[np.ix_(clusters, years)]


def _forms(spec: TargetSpec, required_level: float, factor, reference):
    """The target's linear forms: one per member cluster for a count target, else one."""
    if spec.kind == "count":
        return cluster_forms(spec, factor), None
    if spec.form == "year_on_year":
        yearly = year_on_year_rows(spec, factor, reference)
        return [tr.form for _, tr in yearly], yearly
    tr = target_row(spec, required_level, factor, reference)
    if spec.kind == "ratio":  # and its denominator alone, to tell whether the ratio can move
        r = indicators.RATIOS[spec.indicator]
        return [tr.form, indicator_form(r.denominator, spec.members, spec.t, factor)], tr
    return [tr.form], tr


def ratio_can_move(row: Row, den: Row, required: float, n_years: int) -> bool:
    """Can the fund change the ratio N/D at all? Not when every fund coefficient of N is the
    no-fund ratio ρ⁰ times D's (all funded clusters carry the same share): the row N − r·D then
    moves only by (ρ⁰ − r)·ΔD, the scale of the scope, which is no progress on the ratio."""
    d0 = float(den.const[0])
    if not den.movable or d0 == 0:
        return row.movable
    rho0 = (float(row.const[0]) + required * d0) / d0
    expected = dict(
        zip(
            (den.c * n_years + den.s).tolist(), ((rho0 - required) * den.coef).tolist(), strict=True
        )
    )
    got = dict(zip((row.c * n_years + row.s).tolist(), row.coef.tolist(), strict=True))
    keys = set(expected) | set(got)
    scale = max([abs(v) for v in expected.values()] + [1e-300])
    return any(abs(got.get(k, 0.0) - expected.get(k, 0.0)) > 1e-9 * scale for k in keys)


def _target(spec, req, tr, rows, u_max) -> TargetData:
    if spec.kind == "count":
        movable = any(r.movable for r in rows)
        norm = np.maximum(np.abs(req), 1.0)
        most = np.array(
            [r.const[0] + np.sum(np.maximum(r.coef, 0.0) * u_max[r.c, r.s]) for r in rows]
        )
        return TargetData(spec, req, None, req, norm, rows, movable, 1.0, cluster_max=most)
    if spec.form == "year_on_year":  # tr: [(t, TargetRow)], one per row
        yearly = [(t, row, y.norm) for (t, y), row in zip(tr, rows, strict=True)]
        bound = max(_worst_shortfall(spec, 0.0, row, norm, u_max) for _, row, norm in yearly)
        zero = np.zeros_like(req)
        norm = np.full_like(req, yearly[-1][2])
        movable = any(row.movable for _, row, _ in yearly)
        return TargetData(spec, req, None, zero, norm, None, movable, bound, yearly)
    row = rows[0]
    worst = spec.sense * (tr.rhs - row.const[0]) + np.sum(
        np.maximum(0.0, -spec.sense * row.coef) * u_max[row.c, row.s]
    )
    rhs = np.full_like(req, tr.rhs)
    norm = np.full_like(req, tr.norm)
    bound = max(0.0, float(worst)) / tr.norm
    movable = row.movable
    if spec.kind == "ratio":
        movable = ratio_can_move(row, rows[1], float(req[0]), u_max.shape[1])
    return TargetData(spec, req, row, rhs, norm, None, movable, bound)


def _worst_shortfall(spec: TargetSpec, rhs: float, row: Row, norm: float, u_max) -> float:
    """The largest relative shortfall of σ·(row − rhs)/norm over allocations up to u_max."""
    worst = spec.sense * (rhs - row.const[0]) + np.sum(
        np.maximum(0.0, -spec.sense * row.coef) * u_max[row.c, row.s]
    )
    return max(0.0, float(worst)) / norm


def build_problem(
    a: ScenarioArrays, specs: list[TargetSpec], budget_ceiling: float | None = None
) -> AllocationProblem:
    """Targets, limits and the fund effect as rows on u. ``budget_ceiling`` [亿元/yr] is the
    largest annual budget the model will be solved with (a sweep), for the big-M bounds."""
    reference = project(a)
    factor = {k: v[0] for k, v in reference.factor.items()}
    clusters = np.flatnonzero(a.fundable)
    years = np.flatnonzero(a.fund_years)
    kernel = response.revenue_kernel(a)
    u_max = largest_effective(a, clusters, years, budget_ceiling)

    required_levels, forms, owners, built = [], [], [], []
    for i, spec in enumerate(specs):
        base = values_at(reference, spec)[:, 0] if spec.kind != "count" else np.zeros(1)
        req = np.asarray(required(spec, base), dtype=float)
        if spec.form == "year_on_year":  # the target year's step without the fund
            req = spec.step_rate(spec.t) * values_at(reference, spec)[:, spec.t - 1]
        spec_forms, tr = _forms(spec, float(req[0]), factor, reference)
        required_levels.append(req)
        built.append(tr)
        forms += spec_forms
        owners += [i] * len(spec_forms)
    limit_keys = []
    for limit in LIMITS:
        bound = limit.bound(a)
        for t in range(1, a.n_years):
            if not np.isnan(bound[t]):
                form, rhs = limit_form(limit.indicator, limit.members(a), t, factor, bound[t])
                forms.append(form)
                owners.append(-1)
                limit_keys.append((limit, int(a.years[t]), rhs))
    rows = fund_rows(forms, a, kernel, reference, clusters, years)
    owners = np.asarray(owners)
    targets = [
        _target(
            spec,
            required_levels[i],
            built[i],
            [rows[k] for k in np.flatnonzero(owners == i)],
            u_max,
        )
        for i, spec in enumerate(specs)
    ]
    limit_rows = [rows[k] for k in np.flatnonzero(owners == -1)]
    limits = [
        LimitData(lim, year, row, rhs)
        for (lim, year, rhs), row in zip(limit_keys, limit_rows, strict=True)
    ]
    # fund effect: fund-induced revenue summed over the plan years plus the investment itself
    effect = kernel[clusters][:, :, years].sum(axis=1) + 1.0
    return AllocationProblem(a, reference, clusters, years, kernel, targets, limits, effect)
