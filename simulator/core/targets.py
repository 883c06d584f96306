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
clusters over 1000亿") has s_j = max(0, r_j − count)/r_j.

**Context share.** A target with ``of: gdp`` compares a money indicator X_S with the scenario's
GDP path G (fixed, not moved by the fund): projected X_S(t_j)/G_tj, required share r_j, met iff
σ·(X − r_j·G_tj) ≥ 0, and s_j = max(0, σ·(r_j·G_tj − X))/(|r_j|·G_tj) — a ratio target whose
denominator is a constant, so its shortfall is exact; the optimiser's row is the level
X ≥ r_j·G_tj.

**Real basis.** A money target with ``basis: real`` is in base-year prices: its required level is
turned into current prices with the scenario's price index P (``prices.deflator``),
r_j = X_S(t₀)·(1+g)^(t_j−t₀)·P_t/P_0 (a level: r·P_t/P_0), so real growth is tested on real
growth; the ledger stays in current prices and the outputs show real targets in base-year prices
(value·P_0/P_t, :func:`display`).

**Year-on-year.** A growth target with ``form: year_on_year`` asks X(t) ≥ (1+g)·k_t·X(t−1) in
every plan year t up to t_j (k_t = P_t/P_(t−1) for a real target, else 1). Each year is a
ratio X(t)/X(t−1) ≥ r_t with the relative shortfall s_t = max(0, σ(r_t·X(t−1) − X(t)))/
(|r_t|·X⁰(t−1)); the target is met when every year is, and s_j = max_t s_t (the worst year:
"16 % every year" is missed by as much as its worst year misses it, and a max is what the
optimiser can bound linearly, one row per year sharing s_j). The ledger's required and
projected are those of the target year's step, r_t·X(t_j−1) and X(t_j). The weighted shortfall
Σ_j w_j s_j is the optimiser's default objective; :func:`shortfalls` evaluates it for any
projection so that any allocation can be scored on the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    kind: str  # "level" | "ratio" | "count" | "context_share"
    weight: float
    hard: bool
    level: float | None  # required level when given as a level (canonical)
    growth: float | None  # required CAGR when given as a growth rate
    stretch_level: float | None
    stretch_growth: float | None
    threshold: float | None  # count targets: indicator threshold (canonical)
    unit_kind: str  # kind of the required level (count for count targets)
    provenance: str
    basis: str = "nominal"  # "nominal" | "real" (required level in base-year prices)
    form: str = "average"  # growth: "average" (CAGR) | "year_on_year" (every year)
    price: np.ndarray | None = None  # (t,) P_t/P_0 for a real target; None for nominal
    context: np.ndarray | None = None  # (t,) G_t for a context-share target (``of: gdp``)
    threshold_hi: float | None = None  # count_between: the band's upper end (canonical)

    def price_ratio(self, t: int, since: int = 0) -> float:
        """P_t/P_since for a real target (1 for a nominal one)."""
        return 1.0 if self.price is None else float(self.price[t] / self.price[since])

    def step_rate(self, t: int, stretch: bool = False) -> float:
        """Year-on-year: the least growth factor from year t−1 to t, (1+g)·P_t/P_(t−1)."""
        g = self.stretch_growth if stretch else self.growth
        return (1.0 + g) * self.price_ratio(t, t - 1)


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
    threshold_hi = None
    if t.counted_by is not None:
        kind, unit_kind = "count", "count"
        band = [v * factor(t.counted_by.unit, kind_) for v in t.counted_by.values()]
        threshold = band[0]
        threshold_hi = band[1] if t.count_between is not None else None
        level, stretch_level = _pair(t.level, factor(t.level.unit, "count"))
        provenance = t.level.provenance
    elif t.of is not None:  # a money indicator as a share of the context path (GDP)
        kind, unit_kind = "context_share", "share"
        level, stretch_level = _pair(t.level, factor(t.level.unit, "share"))
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
        threshold_hi=threshold_hi,
        unit_kind=unit_kind,
        provenance=provenance,
        basis=t.basis,
        form=t.form,
        price=a.price_index if t.basis == "real" else None,
        context=a.gdp if t.of == "gdp" else None,
    )


# --------------------------------------------------------------------------- evaluation


def values_at(p: Projection, spec: TargetSpec) -> np.ndarray:
    """(n, t) projected values of the target's indicator over its scope (counts for count)."""
    if spec.kind == "count":
        per_cluster = cluster_values(p, spec.indicator)[:, spec.members, :]
        counted = per_cluster >= spec.threshold * (1 - MET_TOLERANCE)
        if spec.threshold_hi is not None:  # a band [low, high], both ends included
            counted &= per_cluster <= spec.threshold_hi * (1 + MET_TOLERANCE)
        return counted.sum(axis=1).astype(float)
    if spec.kind == "context_share":
        return scope_values(p, spec.indicator, spec.members) / spec.context
    return scope_values(p, spec.indicator, spec.members)


def required(spec: TargetSpec, base: np.ndarray, stretch: bool = False) -> np.ndarray:
    """Required level (n,) given the base-year values ``base`` (n,) of the scope."""
    n_years = spec.t  # years since the base year
    prices = spec.price_ratio(spec.t)  # P_t/P_0: a real target in current prices
    if stretch:
        if spec.stretch_level is not None:
            return np.full_like(base, spec.stretch_level * prices)
        if spec.stretch_growth is not None:
            return base * (1 + spec.stretch_growth) ** n_years * prices
        return np.full_like(base, np.nan)
    if spec.level is not None:
        return np.full_like(base, spec.level * prices)
    return base * (1 + spec.growth) ** n_years * prices


def required_all(specs: list[TargetSpec], base: np.ndarray, stretch: bool = False) -> np.ndarray:
    """:func:`required` of every target at once, (j, n) from the base-year values ``base``
    (j, n): the same operations element by element, without a call per target. A target
    without the level asked (no stretch level or growth) gets NaN."""
    prices = np.array([s.price_ratio(s.t) for s in specs])
    level = np.array([s.stretch_level if stretch else s.level for s in specs], dtype=float)
    growth = [s.stretch_growth if stretch else s.growth for s in specs]  # None: not asked
    # (1 + g)^t by Python's pow, as required() computes it (numpy's power rounds differently)
    factor = np.array(
        [np.nan if g is None else (1 + g) ** s.t for g, s in zip(growth, specs, strict=True)]
    )
    grown = base * factor[:, None] * prices[:, None]
    return np.where(np.isnan(level)[:, None], grown, (level * prices)[:, None])


def year_on_year_norm(rate, previous_no_fund):
    """Normaliser of a year's relative shortfall: |r_t|·X⁰(t−1) (|r_t| if X⁰ is not positive)."""
    x0 = np.asarray(previous_no_fund, dtype=float)
    return scale(np.asarray(rate, dtype=float)) * np.where(x0 > 0, x0, 1.0)


def _year_on_year(spec: TargetSpec, path: np.ndarray, reference_path: np.ndarray) -> dict:
    """Every year's step of a year-on-year target: (n,) required and stretch at the target
    year, met and stretch met in every year, and the worst year's relative shortfall."""
    ts = np.arange(1, spec.t + 1)
    sense = float(spec.sense)
    out = {}
    for key, stretch in (("", False), ("stretch_", True)):
        if stretch and spec.stretch_growth is None:
            nan = np.full(path.shape[0], np.nan)
            out.update(stretch_required=nan, stretch_met=np.zeros(path.shape[0], bool))
            continue
        rate = np.array([spec.step_rate(t, stretch) for t in ts])
        req = rate * path[:, ts - 1]
        met = _meets(path[:, ts], req, sense)
        out[key + "required"] = req[:, -1]
        out[key + "met"] = met.all(axis=1)
        if not stretch:
            norm = year_on_year_norm(rate, reference_path[:, ts - 1])
            short = np.maximum(0.0, sense * (req - path[:, ts])) / norm
            out["shortfall"] = np.where(met, 0.0, short).max(axis=1)
    return out


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
    #: (j, n, t) each target's indicator over its scope, every year: :func:`values_at` of the
    #: target (the ratio N/D for a ratio target) [canonical]
    paths: np.ndarray | None = field(default=None, repr=False, compare=False)

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
    if spec.kind == "context_share":  # X / G: G is a constant path, the same with or without funds
        x = scope_values(p, spec.indicator, spec.members)
        return x, np.broadcast_to(spec.context, x.shape)
    return values_at(p, spec), None


def ledger(
    p: Projection,
    specs: list[TargetSpec],
    reference: Projection | None = None,
    *,
    first_met: bool = True,
) -> Ledger:
    """Evaluate every target on projection ``p``.

    ``reference`` is the no-fund projection that fixes the denominators D⁰ of ratio targets'
    relative shortfalls (defaults to ``p`` itself). The scope values are read per target; the
    rest is vectorised over targets × samples × years. ``first_met=False`` skips the year each
    target is first met (−1 everywhere), which Monte Carlo runs do not read.
    """
    reference = reference or p
    n, nt, nj = p.n_samples, len(p.years), len(specs)
    path = np.full((nj, n, nt), np.nan)
    den = np.ones((nj, n))  # the ratio's denominator in the target year (1 otherwise)
    den0 = np.ones((nj, n))
    base = np.zeros((nj, n))
    done = _one_cluster_levels(p, reference, specs, path, base)
    for j, spec in enumerate(specs):
        if done[j]:
            continue
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
    req = required_all(specs, base) if nj else base
    sreq = required_all(specs, base, stretch=True) if nj else base
    t = np.array([s.t for s in specs], dtype=int)
    first_t = np.array([s.first_t for s in specs], dtype=int)
    sense = np.array([s.sense for s in specs], dtype=float)[:, None]
    proj = path[np.arange(nj), :, t] if nj else base
    met = _meets(proj, req, sense)
    smet = _meets(proj, sreq, sense)
    if first_met:
        years = np.arange(nt)
        in_window = (years >= first_t[:, None]) & (years <= t[:, None])  # (j, t)
        window = _meets(path, req[:, :, None], sense[:, :, None]) & in_window[:, None, :]
        first = np.where(window.any(axis=2), window.argmax(axis=2), -1)
    else:
        first = np.full((nj, n), -1)
    short = _shortfall(specs, proj, req, sense, den, den0)
    short = np.where(met, 0.0, short)
    for j, spec in enumerate(specs):
        if spec.form == "year_on_year":
            ref_path = path[j] if reference is p else values_at(reference, spec)
            y = _year_on_year(spec, path[j], ref_path)
            req[j], sreq[j], met[j], smet[j] = (
                y["required"],
                y["stretch_required"],
                y["met"],
                y["stretch_met"],
            )
            short[j] = y["shortfall"]
            first[j] = np.where(met[j], spec.t, -1)
    return Ledger(specs, req, proj, met, sreq, smet, short, first, path)


def _one_cluster_levels(p, reference, specs, path, base) -> np.ndarray:
    """Fill ``path`` and ``base`` for every level target of an extensive indicator over one
    cluster, one gather per indicator (a per-cluster plan has one such target per cluster:
    the same values as :func:`values_at`, without a call per target). (j,) bool: filled."""
    done = np.zeros(len(specs), dtype=bool)
    groups: dict[str, list[int]] = {}
    for j, s in enumerate(specs):
        if s.kind == "level" and s.indicator in indicators.EXTENSIVE and len(s.members) == 1:
            groups.setdefault(s.indicator, []).append(j)
    for indicator, js in groups.items():
        if len(js) < 2:
            continue
        clusters = np.array([int(specs[j].members[0]) for j in js])
        values = cluster_values(p, indicator)[:, clusters, :]  # (n, k, t)
        path[js] = values.transpose(1, 0, 2)
        ref = values if reference is p else cluster_values(reference, indicator)[:, clusters, :]
        base[js] = ref[:, :, 0].T
        done[js] = True
    return done


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
    """Canonical → the planner's display unit for this target; returns (value, unit). A real
    target's values (current prices in the ledger) are shown in base-year prices: ·P_0/P_t."""
    return value * display_factor(spec.unit_kind) / spec.price_ratio(spec.t), DISPLAY[
        spec.unit_kind
    ]
