r"""The rules an allocation must keep, in one registry, checked on the projection (numpy).

Two families:

- **fund rules** (:data:`FUND_RULES`): the annual budget, spending all of it when the fund
  must be spent, cluster and category shares of the year's budget, eligibility;
- **physical limits** (:data:`LIMITS`): new industrial land, energy use and energy per value
  added of the jurisdiction, per plan year, each an indicator of the projection::

      new_land_limit[y]:          Σ_c (L[c,y] − L[c,y−1]) ≤ Λ_y + R_y − I_y   [亩]
      land_reuse_limit[y]:        Σ_(c∉K) (L[c,y] − L[c,y−1]) ≤ Λ_y + (1 − ρ_y)·R_y − I_y   [亩]
      energy_cap[y]:              Σ_c E[c,y] ≤ Ē_y                        [万tce]
      energy_intensity_limit[y]:  Σ_c E[c,y] − ē_y · Σ_c V[c,y] ≤ 0      [tce/万元]
      land_floor[y]:              Σ_c L[c,y] ≥ L̲_y                         [亩]

  Λ_y is the new-land limit: ``limits.new_land``, or ``new_land_share`` s_y × ``new_land_quota``
  Q_y (industry's share of the city's new construction-land quota), or, with both,
  min(new_land_y, s_y·Q_y). Land changes are net (a cluster's land falling makes room).
  ``limits.land_clearance`` adds R_y, the land freed by clearance each year (a total over the
  plan is released evenly): it is room beyond Λ_y, and the clusters outside the key group K may
  take at most (1 − ρ_y) of it, so at least ρ_y·R_y is kept for the key clusters (Jinhua:
  腾出的土地不少于50%用于重点细分行业). I_y is the part of R_y that the non-key clusters'
  own projected land already gives up (``in_modelled_land``): their land falling already makes
  room in the net sums, so it is not counted twice. Without a clearance R_y = I_y = 0 and there
  is no ``land_reuse_limit`` row. Both rows are linear in the projection's land, so ``run`` (this
  module's checks) and ``optimise`` (rows from :data:`LIMITS`) hold an allocation to the same
  numbers.

The allocation model reads :data:`LIMITS` to write its rows; the post-solve audit, ``run
--allocation`` and ``compare`` read :func:`check_rules`, so every command holds an allocation
to the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.arrays import ScenarioArrays
from ..units import DISPLAY, display_factor
from .projection import Projection, available, scope_values

#: relative tolerance of every rule (HiGHS's feasibility tolerance is 1e-7 absolute)
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Limit:
    """A jurisdiction-wide limit on an indicator, per plan year: an upper limit, or a floor
    (``sense`` +1: the indicator must stay at or above the bound)."""

    name: str  # the model's constraint family
    field: str  # the scenario field
    indicator: str  # the projection's indicator it bounds (a ratio: N − bound·D ≤ 0)
    unit_kind: str
    label: str  # planner words
    sense: int = -1  # −1: indicator ≤ bound; +1: indicator ≥ bound (a floor)
    #: the ScenarioArrays attribute of a (c,) mask restricting the members (None: every cluster)
    scope: str | None = None

    @property
    def symbol(self) -> str:
        return ">=" if self.sense > 0 else "<="

    def broken(self, value: float, bound: float) -> bool:
        """Is ``value`` on the wrong side of ``bound`` (beyond the rules' tolerance)?"""
        return _over(bound, value) if self.sense > 0 else _over(value, bound)

    def bound(self, a: ScenarioArrays) -> np.ndarray:
        """(t,) bound in canonical units, NaN where the scenario sets none."""
        bound = getattr(a, self.name)
        return np.full(a.n_years, np.nan) if bound is None else bound

    def members(self, a: ScenarioArrays) -> np.ndarray:
        """Clusters the limit covers: those with the baselines its indicator needs (and in its
        scope, if it has one)."""
        ok = available(a, self.indicator)
        if self.scope is not None:
            mask = getattr(a, self.scope)
            ok = ok & (np.zeros(a.n_clusters, bool) if mask is None else mask)
        return np.flatnonzero(ok)


LIMITS: tuple[Limit, ...] = (
    Limit("new_land_limit", "limits.new_land", "new_land", "land", "new industrial land"),
    Limit(
        "land_reuse_limit",
        "limits.land_clearance",
        "new_land",
        "land",
        "new land of the clusters outside the key group (released land kept for key clusters)",
        scope="land_reuse_members",
    ),
    Limit("energy_cap", "limits.energy_cap", "energy", "energy", "energy use"),
    Limit(
        "energy_intensity_limit",
        "limits.energy_intensity",
        "energy_intensity",
        "intensity",
        "energy per unit of value added",
    ),
    Limit(
        "land_floor",
        "limits.land_floor",
        "land",
        "land",
        "industrial land stock (改一补一: converted land replaced)",
        sense=+1,
    ),
)
LIMIT_BY_NAME = {limit.name: limit for limit in LIMITS}


@dataclass(frozen=True)
class RuleCheck:
    """One rule in one year: the allocation's value against its bound, in display units."""

    limit: str  # scenario field, e.g. limits.new_land, funds.shares.auto.min
    year: int | None
    value: float
    bound: float
    unit: str
    sense: str  # "<=" or ">=" (or "==" for must-spend)
    breached: bool


def _over(value, bound) -> bool:
    return bool(value > bound + TOLERANCE * max(1.0, abs(bound)))


def _fund_checks(a: ScenarioArrays, grant: np.ndarray) -> list[RuleCheck]:
    unit, money = a.fund_unit, a.fund_unit_factor
    out = []
    outside = grant[~a.fundable].sum() + grant[:, ~a.fund_years].sum()
    if outside > TOLERANCE or (grant < -TOLERANCE).any():
        out.append(RuleCheck("funds.eligible", None, outside / money, 0.0, unit, "<=", True))
    for t in np.flatnonzero(a.fund_years):
        year, b = int(a.years[t]), a.budget[t]
        spent = grant[:, t, :].sum()
        out.append(
            RuleCheck("funds.budget", year, spent / money, b / money, unit, "<=", _over(spent, b))
        )
        if a.must_spend and np.isnan(a.fund_total):  # with a total, the total must be spent
            short = _over(b, spent)
            out.append(
                RuleCheck("funds.must_spend", year, spent / money, b / money, unit, "==", short)
            )
        per_cluster = grant[:, t, :].sum(axis=1)
        for c in np.flatnonzero(a.fundable & (a.share_min > 0)):
            bound = a.share_min[c] * b
            field = f"funds.shares.{a.cluster_ids[c]}.min"
            breached = _over(bound, per_cluster[c])
            out.append(
                RuleCheck(field, year, per_cluster[c] / money, bound / money, unit, ">=", breached)
            )
        for c in np.flatnonzero(a.fundable & (a.share_max < 1)):
            bound = a.share_max[c] * b
            field = f"funds.shares.{a.cluster_ids[c]}.max"
            breached = _over(per_cluster[c], bound)
            out.append(
                RuleCheck(field, year, per_cluster[c] / money, bound / money, unit, "<=", breached)
            )
        per_category = grant[:, t, :].sum(axis=0)
        for k, kid in enumerate(a.category_ids):
            field = f"funds.categories.{kid}.share"
            if a.category_min[k] > 0:
                bound = a.category_min[k] * b
                breached = _over(bound, per_category[k])
                out.append(
                    RuleCheck(
                        f"{field}.min",
                        year,
                        per_category[k] / money,
                        bound / money,
                        unit,
                        ">=",
                        breached,
                    )
                )
            if a.category_max[k] < 1:
                bound = a.category_max[k] * b
                breached = _over(per_category[k], bound)
                out.append(
                    RuleCheck(
                        f"{field}.max",
                        year,
                        per_category[k] / money,
                        bound / money,
                        unit,
                        "<=",
                        breached,
                    )
                )
    if not np.isnan(a.fund_total):
        spent, total = grant.sum(), a.fund_total
        out.append(
            RuleCheck(
                "funds.total", None, spent / money, total / money, unit, "<=", _over(spent, total)
            )
        )
        if a.must_spend:
            short = _over(total, spent)
            out.append(
                RuleCheck("funds.must_spend", None, spent / money, total / money, unit, "==", short)
            )
    return out


def _limit_checks(a: ScenarioArrays, p: Projection, sample: int = 0) -> list[RuleCheck]:
    out = []
    for limit in LIMITS:
        bound = limit.bound(a)
        years = [t for t in range(1, a.n_years) if not np.isnan(bound[t])]
        if not years:
            continue
        values = scope_values(p, limit.indicator, limit.members(a))[sample]
        f = display_factor(limit.unit_kind)
        for t in years:
            out.append(
                RuleCheck(
                    limit.field,
                    int(a.years[t]),
                    float(values[t] * f),
                    float(bound[t] * f),
                    DISPLAY[limit.unit_kind],
                    limit.symbol,
                    limit.broken(values[t], bound[t]),
                )
            )
    return out


def check_rules(a: ScenarioArrays, grant: np.ndarray, p: Projection) -> list[RuleCheck]:
    """Every rule of the scenario for ``grant`` (c, t, k) [亿元] and its projection ``p``."""
    return _fund_checks(a, grant) + _limit_checks(a, p)


def breaches(checks: list[RuleCheck]) -> list[str]:
    """The breached rules in planner words: ``limits.new_land (2021)``."""
    return [
        f"{c.limit} ({c.year})" if c.year is not None else c.limit for c in checks if c.breached
    ]
