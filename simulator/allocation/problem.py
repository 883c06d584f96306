r"""The allocation problem's data, computed in numpy from the projection's own response.

Everything the Pyomo model needs is here as arrays: which clusters and years can be funded,
the pipeline segments, and every target and limit as a row ``const + Σ_(c,s) G[c,s]·u[c,s]``
in the effective mobilised investment u (亿元). The fund coefficients G are the linear forms
of :mod:`simulator.linear` pushed through the response Jacobian::

    ∂R[c,t]/∂u[c,s] = K[c,t,s]   (revenue kernel, the projection's recurrence on impulses)
    ∂I[c,t]/∂u[c,s] = δ_ts        ∂TI[c,t]/∂u[c,s] = θ_c·δ_ts

so the model predicts exactly what :func:`simulator.projection.project` computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import response
from ..core.linear import LinearForm, TargetRow, cluster_forms, indicator_form, target_row
from ..core.projection import Projection, available, project
from ..core.targets import TargetSpec, required, values_at
from ..scenario.arrays import ScenarioArrays

#: coefficients below this (relative to the row's largest) count as "the fund cannot move it"
MOVABLE_TOLERANCE = 1e-12


@dataclass
class Row:
    """``const + Σ coef·u[c,s]`` over fundable clusters c and fund years s (indices into the
    problem's ``clusters`` and ``years``)."""

    const: float
    c: np.ndarray
    s: np.ndarray
    coef: np.ndarray

    @property
    def movable(self) -> bool:
        return bool(np.any(np.abs(self.coef) > MOVABLE_TOLERANCE * max(1.0, abs(self.const))))


@dataclass
class TargetData:
    spec: TargetSpec
    required: float
    row: Row | None  # level and ratio targets: σ·(row − rhs) + norm·s ≥ 0
    rhs: float
    norm: float
    cluster_rows: list[Row] | None  # count targets: each member's indicator
    movable: bool
    shortfall_bound: float  # an upper bound on its relative shortfall (for big-M)


@dataclass
class LimitData:
    name: str  # new_land_limit, energy_cap, energy_intensity_limit
    year: int
    row: Row  # row ≤ rhs
    rhs: float
    unit_kind: str


@dataclass
class AllocationProblem:
    arrays: ScenarioArrays
    reference: Projection  # no-fund projection
    clusters: np.ndarray  # fundable cluster indices
    years: np.ndarray  # fund-year indices
    kernel: np.ndarray  # K[c, t, s] over all clusters and years
    targets: list[TargetData]
    limits: list[LimitData]


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
    const = float(form.evaluate(reference.primary)[0])
    if not keys:
        return Row(const, np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    coef = np.bincount(inverse, weights=np.concatenate(values))
    nonzero = coef != 0
    unique, coef = unique[nonzero], coef[nonzero]
    return Row(const, unique // len(years), unique % len(years), coef)


def build_problem(a: ScenarioArrays, specs: list[TargetSpec]) -> AllocationProblem:
    reference = project(a)
    factor = {k: v[0] for k, v in reference.factor.items()}
    clusters = np.flatnonzero(a.fundable)
    years = np.flatnonzero(a.fund_years)
    kernel = response.revenue_kernel(a)
    raw_max = (
        a.leverage[:, None] * a.category_factor.max() * a.share_max[:, None] * a.budget[None, :]
    )
    u_max = response.effective_investment(raw_max, a)[np.ix_(clusters, years)]

    def row_of(form: LinearForm) -> Row:
        return fund_row(form, a, kernel, reference, clusters, years)

    targets = []
    for spec in specs:
        base = values_at(reference, spec)[:, 0] if spec.kind != "count" else np.zeros(1)
        req = float(required(spec, base)[0])
        if spec.kind == "count":
            rows = [row_of(f) for f in cluster_forms(spec, factor)]
            movable = any(r.movable for r in rows)
            targets.append(TargetData(spec, req, None, req, max(abs(req), 1.0), rows, movable, 1.0))
            continue
        tr: TargetRow = target_row(spec, req, factor, reference)
        row = row_of(tr.form)
        worst = spec.sense * (tr.rhs - row.const) + np.sum(
            np.maximum(0.0, -spec.sense * row.coef) * u_max[row.c, row.s]
        )
        targets.append(
            TargetData(
                spec, req, row, tr.rhs, tr.norm, None, row.movable, max(0.0, worst) / tr.norm
            )
        )

    limits = []
    with_land = np.flatnonzero(available(a, "land"))
    with_energy = np.flatnonzero(available(a, "energy"))
    for t in range(1, a.n_years):
        year = int(a.years[t])
        if not np.isnan(a.new_land_limit[t]):
            form = indicator_form("new_land", with_land, t, factor)
            limits.append(
                LimitData("new_land_limit", year, row_of(form), a.new_land_limit[t], "land")
            )
        if not np.isnan(a.energy_cap[t]):
            form = indicator_form("energy", with_energy, t, factor)
            limits.append(LimitData("energy_cap", year, row_of(form), a.energy_cap[t], "energy"))
        if not np.isnan(a.energy_intensity_limit[t]):
            form = indicator_form("energy", with_energy, t, factor).add(
                indicator_form("value_added", with_energy, t, factor), -a.energy_intensity_limit[t]
            )
            limits.append(LimitData("energy_intensity_limit", year, row_of(form), 0.0, "intensity"))
    return AllocationProblem(a, reference, clusters, years, kernel, targets, limits)
