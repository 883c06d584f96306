"""Validated scenario → numpy arrays in canonical units (亿元, 亩, 万tce, 万人, fractions).

This is the one place where scenario units are converted. Everything downstream (projection,
response, targets, allocation) works on these arrays and never sees a unit string.

Shapes: ``c`` clusters, ``t`` years *including the base year* (index 0), ``k`` fund categories,
``m`` pipeline segments, ``l`` lag years. Growth arrays carry a 0 in the base-year column so the
recurrence can run over every column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..units import factor
from .checks import fund_years
from .schema import GROWTH_OF_BASELINE, Quantity, Scenario


@dataclass(frozen=True)
class ScenarioArrays:
    years: np.ndarray  # (t,) calendar years, base year first
    cluster_ids: tuple[str, ...]
    cluster_names: tuple[str, ...]
    groups: dict[str, np.ndarray]  # scope name → cluster indices ('total' included)

    baseline: dict[str, np.ndarray]  # field → (c,) canonical; NaN where not given
    growth: dict[str, np.ndarray]  # driver → (c, t) fraction per year, 0 in the base year

    # fund response, per cluster
    fundable: np.ndarray  # (c,) bool: has a response and is eligible
    leverage: np.ndarray  # (c,) net additional investment per 亿元 of grant [亿元/亿元]
    revenue_per_investment: np.ndarray  # (c,) annual revenue per 亿元 of new investment
    lag: np.ndarray  # (c, l) share of the new revenue arriving l years after the grant
    tech_share: np.ndarray  # (c,) share of mobilised investment counted as 技改
    pipeline_widths: np.ndarray  # (c, m-1) [亿元 of mobilised investment]
    pipeline_slopes: np.ndarray  # (c, m) effectiveness of each segment [1]

    # the fund
    fund_unit: str
    fund_unit_factor: float  # 亿元 per fund unit (the one place it is computed)
    fund_years: np.ndarray  # (t,) bool: grants allowed in this year
    budget: np.ndarray  # (t,) [亿元]; 0 outside fund years
    fund_total: float  # [亿元] over all fund years; NaN when the fund has no total
    must_spend: bool
    share_min: np.ndarray  # (c,) fraction of the year's budget; 0 when not set
    share_max: np.ndarray  # (c,) fraction; 1 when not set
    category_ids: tuple[str, ...]  # ('all',) when the scenario has no categories
    category_factor: np.ndarray  # (k,)
    category_min: np.ndarray  # (k,)
    category_max: np.ndarray  # (k,)

    # limits (NaN where none), per year
    new_land_limit: np.ndarray  # (t,) [亩] Λ_y (+ R_y − I_y, released land, with a clearance)
    energy_cap: np.ndarray  # (t,) [万tce]
    energy_intensity_limit: np.ndarray  # (t,) [万tce/亿元 = tce/万元]
    land_floor: np.ndarray  # (t,) [亩] the least industrial land stock (NaN where none)

    # prices: the industrial price index P_t/P_0 (1 in the base year; all 1 without a deflator)
    price_index: np.ndarray | None = None  # (t,)
    # context: GDP G_t (NaN where the scenario has no context.gdp), not moved by the fund
    gdp: np.ndarray | None = None  # (t,) [亿元]
    # land clearance (limits.land_clearance): the non-key clusters' new land may use at most
    # (1 − ρ) of the released land: Λ_y + (1 − ρ_y)·R_y − I_y (NaN without a clearance)
    land_reuse_limit: np.ndarray | None = None  # (t,) [亩]
    land_reuse_members: np.ndarray | None = None  # (c,) bool: clusters outside the key group

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    @property
    def n_years(self) -> int:
        return len(self.years)

    def year_index(self, year: int) -> int:
        return int(year - self.years[0])


def per_year(q: Quantity | None, years: list[int], kind: str) -> np.ndarray:
    """A per-year quantity as an array over ``years`` in canonical units (NaN if absent)."""
    if q is None:
        return np.full(len(years), np.nan)
    f = factor(q.unit, kind)
    v = q.value
    if isinstance(v, dict):
        return np.array([v[y] for y in years], dtype=float) * f
    if isinstance(v, list):
        return np.asarray(v, dtype=float) * f
    return np.full(len(years), float(v) * f)


def written(q: Quantity, years: list[int]) -> np.ndarray:
    """A per-year quantity's numbers as written, in its own unit, over ``years``."""
    v = q.value
    if isinstance(v, dict):
        return np.array([v[y] for y in years], dtype=float)
    return np.asarray(v, dtype=float) if isinstance(v, list) else np.full(len(years), float(v))


_BASELINE_KIND = {
    "revenue": "money",
    "va_rate": "share",
    "investment": "money",
    "tech_investment": "money",
    "land": "land",
    "energy_intensity": "intensity",
    "tax": "money",
    "employment": "people",
    "rd_share": "share",
    "new_product_share": "share",
    "export_share": "share",
    "profit_share": "share",
    "hightech_va_share": "share",
    "hightech_output_share": "share",
    "digital_core_va_share": "share",
    "firms": "count",
}


def compile_arrays(s: Scenario) -> ScenarioArrays:
    years = s.years
    plan_years = s.plan_years
    nc = len(s.clusters)

    baseline = {
        f: np.array(
            [
                getattr(c.baseline, f).value * factor(getattr(c.baseline, f).unit, kind)
                if getattr(c.baseline, f) is not None
                else np.nan
                for c in s.clusters
            ]
        )
        for f, kind in _BASELINE_KIND.items()
    }
    growth = {}
    for driver in GROWTH_OF_BASELINE.values():
        g = np.zeros((nc, len(years)))
        for i, c in enumerate(s.clusters):
            q = getattr(c.growth, driver)
            if q is not None:
                g[i, 1:] = per_year(q, plan_years, "growth")
        growth[driver] = g

    index = {c.id: i for i, c in enumerate(s.clusters)}
    groups = {name: np.array([index[m] for m in members]) for name, members in s.groups.items()}
    groups["total"] = np.arange(nc)

    f = s.funds
    eligible = set(f.eligible) if f and f.eligible is not None else {c.id for c in s.clusters}
    fundable = np.array(
        [c.response is not None and c.id in eligible and f is not None for c in s.clusters]
    )

    max_lag = max((len(c.response.lag.values()) for c in s.clusters if c.response), default=1)
    max_seg = max(
        (len(c.response.pipeline.slopes) for c in s.clusters if c.response and c.response.pipeline),
        default=1,
    )
    leverage = np.zeros(nc)
    rpi = np.zeros(nc)
    lag = np.zeros((nc, max_lag))
    tech = np.zeros(nc)
    widths = np.ones((nc, max_seg - 1))
    slopes = np.ones((nc, max_seg))
    for i, c in enumerate(s.clusters):
        r = c.response
        if r is None:
            continue
        leverage[i] = r.leverage.value * factor(r.leverage.unit, "ratio")
        rpi[i] = r.revenue_per_investment.value * factor(r.revenue_per_investment.unit, "ratio")
        shares = np.asarray(r.lag.values()) * factor(r.lag.unit, "share")
        lag[i, : len(shares)] = shares / shares.sum()
        if r.tech_share is not None:
            tech[i] = r.tech_share.value * factor(r.tech_share.unit, "share")
        if r.pipeline is not None:
            p = r.pipeline
            m = len(p.slopes)
            slopes[i, :m] = p.slopes
            slopes[i, m:] = p.slopes[-1]  # padding segments repeat the open-ended slope
            widths[i, : m - 1] = np.asarray(p.widths) * factor(p.unit, "money")

    fy = np.zeros(len(years), dtype=bool)
    budget = np.zeros(len(years))
    share_min = np.zeros(nc)
    share_max = np.ones(nc)
    cat_ids: tuple[str, ...] = ("all",)
    cat_factor = np.ones(1)
    cat_min = np.zeros(1)
    cat_max = np.ones(1)
    fund_unit = "亿元"
    must_spend = False
    if f is not None:
        fund_unit = f.unit
        must_spend = f.must_spend
        fyears = fund_years(s)
        idx = [y - years[0] for y in fyears]
        fy[idx] = True
        budget[idx] = per_year(f.budget, fyears, "money")
        for cid, b in f.shares.items():
            k = factor(b.unit, "share")
            if b.min is not None:
                share_min[index[cid]] = b.min * k
            if b.max is not None:
                share_max[index[cid]] = b.max * k
        if f.categories:
            cat_ids = tuple(c.id for c in f.categories)
            cat_factor = np.array(
                [
                    c.leverage_factor.value * factor(c.leverage_factor.unit, "ratio")
                    for c in f.categories
                ]
            )
            cat_min = np.array(
                [
                    (c.share.min or 0) * factor(c.share.unit, "share") if c.share else 0.0
                    for c in f.categories
                ]
            )
            cat_max = np.array(
                [
                    (c.share.max if c.share.max is not None else 100.0)
                    * factor(c.share.unit, "share")
                    if c.share
                    else 1.0
                    for c in f.categories
                ]
            )
            cat_max = np.minimum(cat_max, 1.0)

    def limit(q, kind):
        out = np.full(len(years), np.nan)
        out[1:] = per_year(q, plan_years, kind)
        return out

    # Λ_y: limits.new_land, or share × quota, or the tighter of the two (NaN: no limit)
    lim = s.limits
    new_land = limit(lim.new_land, "land")
    if lim.new_land_share is not None and lim.new_land_quota is not None:
        share, quota = lim.new_land_share, lim.new_land_quota
        # the numbers as written multiplied first (35 % × 2,000亩 is 700亩, not 700.0000000000001)
        to_canonical = factor(share.unit, "share") * factor(quota.unit, "land")
        quota = np.full(len(years), np.nan)
        quota[1:] = written(share, plan_years) * written(lim.new_land_quota, plan_years)
        quota = quota * to_canonical
        new_land = np.fmin(new_land, quota)
    released = np.zeros(len(years))
    reuse_limit = np.full(len(years), np.nan)
    reuse_members = np.zeros(nc, dtype=bool)
    inside = np.zeros(len(years))
    if lim.land_clearance is not None:
        clearance = lim.land_clearance
        spread = len(plan_years) if clearance.per == "plan" else 1  # a total, released evenly
        released = np.nan_to_num(limit(clearance.released, "land")) / spread
        inside = np.nan_to_num(limit(clearance.in_modelled_land, "land")) / spread
        rho = limit(clearance.reuse_min_share, "share")
        key = set()
        for k in clearance.key:
            key |= set(s.groups.get(k, [k]))
        reuse_members = np.array([c.id not in key for c in s.clusters])
        if reuse_members.any():
            reuse_limit = new_land + (1.0 - rho) * released - inside

    return ScenarioArrays(
        years=np.array(years),
        cluster_ids=tuple(c.id for c in s.clusters),
        cluster_names=tuple(c.name for c in s.clusters),
        groups=groups,
        baseline=baseline,
        growth=growth,
        fundable=fundable,
        leverage=leverage,
        revenue_per_investment=rpi,
        lag=lag,
        tech_share=tech,
        pipeline_widths=widths,
        pipeline_slopes=slopes,
        fund_unit=fund_unit,
        fund_unit_factor=factor(fund_unit, "money"),
        fund_total=(
            f.total.value * factor(f.total.unit, "money")
            if f is not None and f.total is not None
            else float("nan")
        ),
        fund_years=fy,
        budget=budget,
        must_spend=must_spend,
        share_min=share_min,
        share_max=share_max,
        category_ids=cat_ids,
        category_factor=cat_factor,
        category_min=cat_min,
        category_max=cat_max,
        new_land_limit=new_land + released - inside,
        energy_cap=limit(s.limits.energy_cap, "energy"),
        energy_intensity_limit=limit(s.limits.energy_intensity, "intensity"),
        land_floor=limit(s.limits.land_floor, "land"),
        price_index=price_index(s),
        gdp=gdp_path(s),
        land_reuse_limit=reuse_limit,
        land_reuse_members=reuse_members,
    )


def gdp_path(s: Scenario) -> np.ndarray:
    """G_t: base-year GDP grown at context.gdp_growth [亿元]; NaN without context.gdp."""
    c = s.context
    if c is None or c.gdp is None:
        return np.full(len(s.years), np.nan)
    rate = np.zeros(len(s.years))
    rate[1:] = per_year(c.gdp_growth, s.plan_years, "growth")
    return c.gdp.value * factor(c.gdp.unit, "money") * np.cumprod(1.0 + rate)


def price_index(s: Scenario) -> np.ndarray:
    """P_t/P_0 over the years: the product of (1 + deflator rate) from the first plan year to t."""
    rate = np.zeros(len(s.years))
    if s.prices is not None:
        rate[1:] = per_year(s.prices.deflator, s.plan_years, "growth")
    return np.cumprod(1.0 + rate)
