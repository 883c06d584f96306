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
    position = {cid: i for i, cid in enumerate(a.cluster_ids)}
    return [_compile(t, a, position) for t in s.targets]


def _compile(t: Target, a: ScenarioArrays, position: dict[str, int]) -> TargetSpec:
    members = a.groups[t.scope] if t.scope in a.groups else np.array([position[t.scope]])
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


def _paths(p: Projection, spec: TargetSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """(numerator, denominator) paths (n, t) of a target's indicator over its scope; the
    denominator is None for level and count targets (the value is the numerator)."""
    if spec.kind == "ratio":
        r = indicators.RATIOS[spec.indicator]
        return (
            scope_values(p, r.numerator, spec.members),
            scope_values(p, r.denominator, spec.members),
        )
    return values_at(p, spec), None


def ledger(p: Projection, specs: list[TargetSpec], reference: Projection | None = None) -> Ledger:
    """Evaluate every target on projection ``p``.

    ``reference`` is the no-fund projection that fixes the denominators D⁰ of ratio targets'
    relative shortfalls (defaults to ``p`` itself). The scope values are read per target; the
    rest is vectorised over targets × samples × years.
    """
    reference = reference or p
    n, nt, nj = p.n_samples, len(p.years), len(specs)
    path = np.full((nj, n, nt), np.nan)
    den = np.ones((nj, n))  # the ratio's denominator in the target year (1 otherwise)
    den0 = np.ones((nj, n))
    base = np.zeros((nj, n))
    for j, spec in enumerate(specs):
        num_p, den_p = _paths(p, spec)
        if den_p is None:
            path[j] = num_p
            if spec.kind != "count":
                base[j] = num_p[:, 0] if reference is p else values_at(reference, spec)[:, 0]
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            path[j] = num_p / den_p
        num_r, den_r = (num_p, den_p) if reference is p else _paths(reference, spec)
        den[j], den0[j] = den_p[:, spec.t], den_r[:, spec.t]
        with np.errstate(divide="ignore", invalid="ignore"):
            base[j] = num_r[:, 0] / den_r[:, 0]
    req = np.stack([required(s, base[j]) for j, s in enumerate(specs)]) if nj else base
    sreq = (
        np.stack([required(s, base[j], stretch=True) for j, s in enumerate(specs)]) if nj else base
    )
    t = np.array([s.t for s in specs], dtype=int)
    first_t = np.array([s.first_t for s in specs], dtype=int)
    sense = np.array([s.sense for s in specs], dtype=float)[:, None]
    proj = path[np.arange(nj), :, t] if nj else base
    met = _meets(proj, req, sense)
    smet = _meets(proj, sreq, sense)
    years = np.arange(nt)
    in_window = (years >= first_t[:, None]) & (years <= t[:, None])  # (j, t)
    window = _meets(path, req[:, :, None], sense[:, :, None]) & in_window[:, None, :]
    first = np.where(window.any(axis=2), window.argmax(axis=2), -1)
    short = _shortfall(specs, proj, req, sense, den, den0)
    short = np.where(met, 0.0, short)
    return Ledger(specs, req, proj, met, sreq, smet, short, first)


def _meets(value, req, sense):
    tol = MET_TOLERANCE * np.maximum(np.abs(req), 1e-12)
    return sense * (value - req) >= -tol


def _shortfall(specs, proj, req, sense, den, den0) -> np.ndarray:
    """s_j per target and sample (see the module docstring): ``proj`` is the value (the ratio
    N/D for a ratio target, so N = proj·D)."""
    with np.errstate(invalid="ignore"):
        numerator = np.where(np.isfinite(proj), proj, 0.0) * den
        return np.maximum(0.0, sense * (req * den - numerator)) / (scale(req) * den0)


def scale(required_level: np.ndarray) -> np.ndarray:
    """Normaliser of a relative shortfall: |r| (1 where r is 0, e.g. no new land)."""
    return np.where(np.abs(required_level) > 1e-12, np.abs(required_level), 1.0)


def weighted_shortfall(led: Ledger, include: np.ndarray | None = None) -> np.ndarray:
    """Σ_j w_j s_j per sample over the targets in ``include`` (all by default)."""
    w = np.array([s.weight for s in led.specs])
    if include is not None:
        w = w * include
    return w @ np.nan_to_num(led.shortfall) if len(w) else np.zeros(led.shortfall.shape[1])


def display(spec: TargetSpec, value):
    """Canonical → the planner's display unit for this target; returns (value, unit)."""
    return value * display_factor(spec.unit_kind), DISPLAY[spec.unit_kind]
