r"""The target ledger: required, projected, gap and met for every target, and its linear form.

A target j has an indicator over a scope S (a cluster, a group or the jurisdiction), a year
t_j, a sense σ_j (+1 for ≥, −1 for ≤) and a required level r_j fixed by the plan — a level,
or a growth rate turned into a level from the base year: r_j = X_S(t₀)·(1+g)^(t_j−t₀).

**Linear form.** Extensive indicators are linear in the primary flows, so a target reads
``σ_j·(lhs_j − r_j) ≥ 0`` with ``lhs_j = Σ coef·P``. A ratio target N/D ≷ r becomes
``σ_j·(N − r·D) ≥ 0``. Its **relative shortfall** is::

    s_j = max(0, σ_j·(r_j·D_j − N_j)) / (|r_j|·D_j⁰)       (D ≡ 1 for a level target)

with D⁰ the denominator without any fund, so s_j is the exact relative miss of a level target,
and of a ratio target it is exact without funds and linear in them. A count target ("5
clusters over 1000亿") has s_j = max(0, r_j − count)/r_j. The weighted shortfall
Σ_j w_j s_j is the optimiser's default objective; :func:`shortfalls` evaluates it for any
projection so that any allocation can be scored on the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import indicators
from ..scenario.arrays import ScenarioArrays
from ..scenario.schema import Scenario, Target
from ..units import DISPLAY, display_factor, factor
from .projection import Projection, cluster_values, scope_values

#: relative tolerance for "met": a target missed by less than a millionth counts as met, and
#: its shortfall is 0. Looser than the solver's feasibility tolerance (1e-7 on rows scaled to
#: relative terms), so what the optimiser meets the projection meets too.
MET_TOLERANCE = 1e-6


@dataclass(frozen=True)
class TargetSpec:
    """A target compiled to indices and canonical numbers."""

    id: str
    name: str
    indicator: str
    scope: str
    members: np.ndarray  # cluster indices
    t: int  # year index of the deadline
    first_t: int  # year index of the earliest year (== t unless a year range)
    sense: int  # +1 for ≥, −1 for ≤
    kind: str  # "level" | "ratio" | "count"
    weight: float
    hard: bool
    level: float | None  # required level when given as a level (canonical)
    growth: float | None  # required CAGR when given as a growth rate
    stretch_level: float | None
    stretch_growth: float | None
    threshold: float | None  # count targets: indicator threshold (canonical)
    unit_kind: str  # kind of the required level (count for count targets)
    provenance: str


def _pair(q, f: float) -> tuple[float, float | None]:
    v = [x * f for x in q.values()]
    return v[0], (v[1] if len(v) > 1 else None)


def compile_targets(s: Scenario, a: ScenarioArrays) -> list[TargetSpec]:
    out = []
    for t in s.targets:
        out.append(_compile(t, s, a))
    return out


def _compile(t: Target, s: Scenario, a: ScenarioArrays) -> TargetSpec:
    members = np.array([a.cluster_ids.index(m) for m in _members(s, t.scope)])
    years = t.year if isinstance(t.year, list) else [t.year, t.year]
    kind_ = indicators.kind(t.indicator)
    level = growth = stretch_level = stretch_growth = threshold = None
    if t.count_over is not None:
        kind, unit_kind = "count", "count"
        threshold = t.count_over.values()[0] * factor(t.count_over.unit, kind_)
        level, stretch_level = _pair(t.level, factor(t.level.unit, "count"))
        provenance = t.level.provenance
    else:
        kind = "ratio" if t.indicator in indicators.RATIOS else "level"
        unit_kind = kind_
        if t.level is not None:
            level, stretch_level = _pair(t.level, factor(t.level.unit, kind_))
            provenance = t.level.provenance
        else:
            growth, stretch_growth = _pair(t.growth, factor(t.growth.unit, "growth"))
            provenance = t.growth.provenance
    return TargetSpec(
        id=t.id,
        name=t.name or t.id,
        indicator=t.indicator,
        scope=t.scope,
        members=members,
        t=a.year_index(years[1]),
        first_t=a.year_index(years[0]),
        sense=1 if t.sense == ">=" else -1,
        kind=kind,
        weight=t.weight,
        hard=t.hard,
        level=level,
        growth=growth,
        stretch_level=stretch_level,
        stretch_growth=stretch_growth,
        threshold=threshold,
        unit_kind=unit_kind,
        provenance=provenance,
    )


def _members(s: Scenario, scope: str) -> list[str]:
    from ..scenario.checks import cluster_ids_in

    members = cluster_ids_in(s, scope)
    assert members is not None
    return members


# --------------------------------------------------------------------------- evaluation


def values_at(p: Projection, spec: TargetSpec) -> np.ndarray:
    """(n, t) projected values of the target's indicator over its scope (counts for count)."""
    if spec.kind == "count":
        per_cluster = cluster_values(p, spec.indicator)[:, spec.members, :]
        return (per_cluster >= spec.threshold * (1 - MET_TOLERANCE)).sum(axis=1).astype(float)
    return scope_values(p, spec.indicator, spec.members)


def required(spec: TargetSpec, base: np.ndarray, stretch: bool = False) -> np.ndarray:
    """Required level (n,) given the base-year values ``base`` (n,) of the scope."""
    n_years = spec.t  # years since the base year
    if stretch:
        if spec.stretch_level is not None:
            return np.full_like(base, spec.stretch_level)
        if spec.stretch_growth is not None:
            return base * (1 + spec.stretch_growth) ** n_years
        return np.full_like(base, np.nan)
    if spec.level is not None:
        return np.full_like(base, spec.level)
    return base * (1 + spec.growth) ** n_years


@dataclass(frozen=True)
class Ledger:
    """Per target (rows) and sample (columns, n): required, projected, gap, met, shortfall."""

    specs: list[TargetSpec]
    required: np.ndarray  # (j, n) canonical
    projected: np.ndarray  # (j, n)
    met: np.ndarray  # (j, n) bool
    stretch_required: np.ndarray  # (j, n), NaN where no stretch level
    stretch_met: np.ndarray  # (j, n) bool
    shortfall: np.ndarray  # (j, n) relative shortfall s_j (linear form)
    first_met: np.ndarray  # (j, n) year index when first met within the target's years, −1

    @property
    def gap(self) -> np.ndarray:
        """projected − required, in the target's unit (canonical)."""
        return self.projected - self.required


def ledger(p: Projection, specs: list[TargetSpec], reference: Projection | None = None) -> Ledger:
    """Evaluate every target on projection ``p``.

    ``reference`` is the no-fund projection that fixes the denominators D⁰ of ratio targets'
    relative shortfalls (defaults to ``p`` itself).
    """
    reference = reference or p
    n = p.n_samples
    rows = {k: np.full((len(specs), n), np.nan) for k in ("req", "proj", "sreq", "short")}
    met = np.zeros((len(specs), n), dtype=bool)
    smet = np.zeros((len(specs), n), dtype=bool)
    first = np.full((len(specs), n), -1)
    for j, spec in enumerate(specs):
        path = values_at(p, spec)
        base = values_at(reference, spec)[:, 0] if spec.kind != "count" else np.zeros(n)
        req = required(spec, base)
        sreq = required(spec, base, stretch=True)
        proj = path[:, spec.t]
        rows["req"][j], rows["proj"][j], rows["sreq"][j] = req, proj, sreq
        met[j] = _meets(proj, req, spec.sense)
        smet[j] = _meets(proj, sreq, spec.sense)
        window = _meets(path[:, spec.first_t : spec.t + 1], req[:, None], spec.sense)
        first[j] = np.where(window.any(axis=1), spec.first_t + window.argmax(axis=1), -1)
        rows["short"][j] = np.where(met[j], 0.0, relative_shortfall(p, spec, req, reference))
    return Ledger(specs, rows["req"], rows["proj"], met, rows["sreq"], smet, rows["short"], first)


def _meets(value, req, sense: int):
    tol = MET_TOLERANCE * np.maximum(np.abs(req), 1e-12)
    return sense * (value - req) >= -tol


def scale(required_level: np.ndarray) -> np.ndarray:
    """Normaliser of a relative shortfall: |r| (1 where r is 0, e.g. no new land)."""
    return np.where(np.abs(required_level) > 1e-12, np.abs(required_level), 1.0)


def relative_shortfall(
    p: Projection, spec: TargetSpec, req: np.ndarray, reference: Projection
) -> np.ndarray:
    """s_j per sample (see the module docstring)."""
    if spec.kind == "count":
        count = values_at(p, spec)[:, spec.t]
        return np.maximum(0.0, spec.sense * (req - count)) / scale(req)
    if spec.kind == "ratio":
        r = indicators.RATIOS[spec.indicator]
        num = scope_values(p, r.numerator, spec.members)[:, spec.t]
        den = scope_values(p, r.denominator, spec.members)[:, spec.t]
        den0 = scope_values(reference, r.denominator, spec.members)[:, spec.t]
        return np.maximum(0.0, spec.sense * (req * den - num)) / (scale(req) * den0)
    value = scope_values(p, spec.indicator, spec.members)[:, spec.t]
    return np.maximum(0.0, spec.sense * (req - value)) / scale(req)


def weighted_shortfall(led: Ledger, include: np.ndarray | None = None) -> np.ndarray:
    """Σ_j w_j s_j per sample over the targets in ``include`` (all by default)."""
    w = np.array([s.weight for s in led.specs])
    if include is not None:
        w = w * include
    return w @ np.nan_to_num(led.shortfall) if len(w) else np.zeros(led.shortfall.shape[1])


def display(spec: TargetSpec, value):
    """Canonical → the planner's display unit for this target; returns (value, unit)."""
    return value * display_factor(spec.unit_kind), DISPLAY[spec.unit_kind]
