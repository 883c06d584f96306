r"""The allocation problem's data, computed in numpy from the projection's own response.

Everything the Pyomo model needs is here as arrays: which clusters and years can be funded,
the pipeline segments, and every target and limit as a row ``const + Σ_(c,s) G[c,s]·u[c,s]``
in the effective mobilised investment u (亿元). The fund coefficients G are the linear forms
of :mod:`simulator.core.linear` pushed through the response Jacobian::

    ∂R[c,t]/∂u[c,s] = K[c,t,s]   (revenue kernel, the projection's recurrence on impulses)
    ∂I[c,t]/∂u[c,s] = δ_ts        ∂TI[c,t]/∂u[c,s] = θ_c·δ_ts

so the model predicts exactly what :func:`simulator.core.projection.project` computes.

**Sample axis.** A row's constant (the no-fund value) has one entry per sampled future
``const[n]``; its fund coefficients G are shared by all futures. The deterministic model reads
sample 0; a robust model adds one constant per future and keeps one set of coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import response
from ..core.limits import LIMITS, Limit
from ..core.linear import LinearForm, cluster_forms, indicator_form, limit_form, target_row
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


def fund_row(
    form: LinearForm,
    a: ScenarioArrays,
    kernel: np.ndarray,
    reference: Projection,
    clusters: np.ndarray,
    years: np.ndarray,
) -> Row:
    """Push a linear form through the response Jacobian onto u[c, s] (fundable c, fund year s).

    Works on the form's own terms only, so a row costs O(terms × years), not O(clusters).
    """
    position = np.full(a.n_clusters, -1)
    position[clusters] = np.arange(len(clusters))
    keys, values = [], []
    for primary, (c, t, k) in form.terms.items():
        keep = position[c] >= 0
        c, t, k = c[keep], t[keep], k[keep]
        if primary == "revenue":  # ∂R[c,t]/∂u[c,s] = K[c,t,s]
            contrib = k[:, None] * kernel[c, t][:, years]
        else:  # ∂I[c,t]/∂u[c,s] = δ_ts; ∂TI/∂u = θ_c δ_ts
            scale = k if primary == "investment" else k * a.tech_share[c]
            contrib = scale[:, None] * (t[:, None] == years[None, :])
        keys.append(
            np.repeat(position[c], len(years)) * len(years) + np.tile(np.arange(len(years)), len(c))
        )
        values.append(contrib.reshape(-1))
    const = np.asarray(form.evaluate(reference.primary), dtype=float).reshape(-1)
    if not keys:
        return Row(const, np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    coef = np.bincount(inverse, weights=np.concatenate(values))
    nonzero = coef != 0
    unique, coef = unique[nonzero], coef[nonzero]
    return Row(const, unique // len(years), unique % len(years), coef)


def largest_effective(a: ScenarioArrays, clusters, years, budget_ceiling: float | None = None):
    """(c, s) the most effective investment a cluster-year can get [亿元]: its maximum share of
    the largest budget, at the best category's leverage."""
    budget = a.budget if budget_ceiling is None else np.maximum(a.budget, budget_ceiling)
    raw = a.leverage[:, None] * a.category_factor.max() * a.share_max[:, None] * budget[None, :]
    return response.effective_investment(raw, a)[np.ix_(clusters, years)]


def _target(spec, a, reference, factor, row_of, u_max) -> TargetData:
    base = values_at(reference, spec)[:, 0] if spec.kind != "count" else np.zeros(1)
    req = np.asarray(required(spec, base), dtype=float)
    if spec.kind == "count":
        rows = [row_of(f) for f in cluster_forms(spec, factor)]
        movable = any(r.movable for r in rows)
        norm = np.maximum(np.abs(req), 1.0)
        return TargetData(spec, req, None, req, norm, rows, movable, 1.0)
    tr = target_row(spec, float(req[0]), factor, reference)
    row = row_of(tr.form)
    worst = spec.sense * (tr.rhs - row.const[0]) + np.sum(
        np.maximum(0.0, -spec.sense * row.coef) * u_max[row.c, row.s]
    )
    rhs = np.full_like(req, tr.rhs)
    norm = np.full_like(req, tr.norm)
    bound = max(0.0, float(worst)) / tr.norm
    return TargetData(spec, req, row, rhs, norm, None, row.movable, bound)


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

    def row_of(form: LinearForm) -> Row:
        return fund_row(form, a, kernel, reference, clusters, years)

    targets = [_target(spec, a, reference, factor, row_of, u_max) for spec in specs]
    limits = []
    for limit in LIMITS:
        bound = limit.bound(a)
        for t in range(1, a.n_years):
            if not np.isnan(bound[t]):
                form, rhs = limit_form(limit.indicator, limit.members(a), t, factor, bound[t])
                limits.append(LimitData(limit, int(a.years[t]), row_of(form), rhs))
    # fund effect: fund-induced revenue summed over the plan years plus the investment itself
    effect = kernel[clusters][:, :, years].sum(axis=1) + 1.0
    return AllocationProblem(a, reference, clusters, years, kernel, targets, limits, effect)
