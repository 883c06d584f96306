"""The scenario file, as pydantic models. Every number carries its provenance and its unit.

A number is written as a small mapping, e.g.::

    revenue: {value: 620, unit: 亿元, plan: "规上企业主营业务收入突破620亿元"}
    va_rate: {value: 19.7, unit: "%", statistic: "宁波家电 2020: 203.1/1031.7", source: "jxj.ningbo.gov.cn"}
    revenue_growth: {value: 8, unit: "%/yr", assumption: "trend 2017–2019 of the appliance cluster"}

Exactly one of ``plan`` (the plan's own words), ``statistic`` (source and quote) or
``assumption`` (a one-line reason) is required. Units are checked against the field's kind here;
conversion to canonical units happens once, in :mod:`simulator.scenario.arrays`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from .. import indicators
from ..units import UnitError, factor
from .quantities import Number, Provenanced, Quantity, Strict, YearValues  # noqa: F401
from .uncertainty import Uncertainty


def _of_kind(kind: str):
    def check(q: Quantity) -> Quantity:
        try:
            factor(q.unit, kind)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return q

    return AfterValidator(check)


def _scalar(q: Quantity) -> Quantity:
    if not isinstance(q.value, int | float):
        raise ValueError("must be a single number")
    return q


def _non_negative(q: Quantity) -> Quantity:
    if any(v < 0 for v in q.values()):
        raise ValueError("must not be negative")
    return q


Scalar = AfterValidator(_scalar)
NonNegative = AfterValidator(_non_negative)

Money = Annotated[Quantity, _of_kind("money"), Scalar, NonNegative]
MoneyPerYear = Annotated[Quantity, _of_kind("money"), NonNegative]
Land = Annotated[Quantity, _of_kind("land"), Scalar, NonNegative]
LandPerYear = Annotated[Quantity, _of_kind("land"), NonNegative]
EnergyPerYear = Annotated[Quantity, _of_kind("energy"), NonNegative]
People = Annotated[Quantity, _of_kind("people"), Scalar, NonNegative]
Share = Annotated[Quantity, _of_kind("share"), Scalar, NonNegative]
ShareList = Annotated[Quantity, _of_kind("share"), NonNegative]
Intensity = Annotated[Quantity, _of_kind("intensity"), Scalar, NonNegative]
IntensityPerYear = Annotated[Quantity, _of_kind("intensity"), NonNegative]
Ratio = Annotated[Quantity, _of_kind("ratio"), Scalar, NonNegative]
Count = Annotated[Quantity, _of_kind("count"), Scalar, NonNegative]


def _at_most_all(q: Quantity) -> Quantity:
    if any(v * factor(q.unit, "share") > 1.0 + 1e-12 for v in q.values()):
        raise ValueError(f"a share is from 0 to 100 % (got {q.value:g} {q.unit})")
    return q


#: a part of revenue (R&D spending, new-product output, exports, profit) or of value added
#: (high-tech, digital-economy core): 0–100 %
ShareOfRevenue = Annotated[Share, AfterValidator(_at_most_all)]


def _above_minus_100(q: Quantity) -> Quantity:
    if any(v * factor(q.unit, "growth") <= -1.0 for v in q.values()):
        raise ValueError(
            "a growth rate must be above −100 %/yr (nothing falls by more than all of it)"
        )
    return q


Growth = Annotated[Quantity, _of_kind("growth"), AfterValidator(_above_minus_100)]


# --------------------------------------------------------------------------- clusters

#: baseline field → the growth entry that drives it
GROWTH_OF_BASELINE: dict[str, str] = {
    "revenue": "revenue",
    "va_rate": "va_rate",
    "investment": "investment",
    "tech_investment": "tech_investment",
    "land": "revenue_per_mu",
    "energy_intensity": "energy_intensity",
    "tax": "tax_rate",
    "employment": "productivity",
    # factor-path indicators: a share of revenue drifting at its own rate
    "rd_share": "rd_share",
    "new_product_share": "new_product_share",
    "export_share": "export_share",
    "profit_share": "profit_share",
    # cross-cutting classifications: the share of the cluster's VA (or output) in high-tech
    # industry or in the digital-economy core, drifting at its own rate
    "hightech_va_share": "hightech_va_share",
    "hightech_output_share": "hightech_output_share",
    "digital_core_va_share": "digital_core_va_share",
    # number of 规上 firms: net entry (entries into 规上 less exits) as a growth rate
    "firms": "firms",
}


class Baseline(Strict):
    """Base-year levels of a cluster (规上 firms unless the scenario says otherwise)."""

    revenue: Money = Field(description="main business revenue 主营业务收入 [money]")
    va_rate: Share | None = Field(None, description="value added / revenue 增加值率 [%]")
    investment: Money | None = Field(None, description="industrial investment 工业投资 [money/yr]")
    tech_investment: Money | None = Field(None, description="技改 investment [money/yr]")
    land: Land | None = Field(None, description="industrial land in use 工业用地 [land]")
    energy_intensity: Intensity | None = Field(None, description="energy per VA [tce/万元]")
    tax: Money | None = Field(None, description="taxes paid 税收 [money/yr]")
    employment: People | None = Field(None, description="employees 从业人员 [万人]")
    rd_share: ShareOfRevenue | None = Field(
        None, description="R&D spending / revenue 研发经费支出占主营业务收入比重 [%]"
    )
    new_product_share: ShareOfRevenue | None = Field(
        None, description="new-product output / revenue 新产品产值率 (revenue as the output) [%]"
    )
    export_share: ShareOfRevenue | None = Field(
        None, description="export delivery value / revenue 出口交货值占比 [%]"
    )
    profit_share: ShareOfRevenue | None = Field(
        None, description="total profit / revenue 主营业务收入利润率 [%]"
    )
    hightech_va_share: ShareOfRevenue | None = Field(
        None, description="high-tech industry VA / the cluster's VA 高新技术产业增加值占比 [%]"
    )
    hightech_output_share: ShareOfRevenue | None = Field(
        None, description="high-tech industry output / revenue 高新技术产业产值占比 [%]"
    )
    digital_core_va_share: ShareOfRevenue | None = Field(
        None,
        description="digital-economy core VA / the cluster's VA 数字经济核心产业增加值占比 [%]",
    )
    firms: Count | None = Field(None, description="number of 规上 firms 规上企业数 [家]")


class GrowthRates(Strict):
    """Annual growth rates (constant, or one per plan year) of each driver [%/yr]."""

    revenue: Growth | None = None
    va_rate: Growth | None = None
    investment: Growth | None = None
    tech_investment: Growth | None = None
    revenue_per_mu: Growth | None = None
    energy_intensity: Growth | None = None
    tax_rate: Growth | None = None
    productivity: Growth | None = None
    rd_share: Growth | None = Field(None, description="drift of the R&D share of revenue")
    new_product_share: Growth | None = Field(None, description="drift of the new-product share")
    export_share: Growth | None = Field(None, description="drift of the export share of revenue")
    profit_share: Growth | None = Field(None, description="drift of the profit margin")
    hightech_va_share: Growth | None = Field(None, description="drift of the high-tech VA share")
    hightech_output_share: Growth | None = Field(
        None, description="drift of the high-tech output share"
    )
    digital_core_va_share: Growth | None = Field(
        None, description="drift of the digital-economy core VA share"
    )
    firms: Growth | None = Field(None, description="net entry: growth of the number of firms")


class Pipeline(Provenanced):
    """Diminishing returns: segments of fund-mobilised investment per cluster and year.

    The first ``widths[0]`` of mobilised investment is fully effective (slope ``slopes[0]``),
    the next ``widths[1]`` at ``slopes[1]``… and everything beyond at ``slopes[-1]``.
    Slopes must not increase (a concave response).
    """

    widths: list[float]
    slopes: list[float]
    unit: str

    @model_validator(mode="after")
    def _concave(self):
        try:
            factor(self.unit, "money")
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if len(self.slopes) != len(self.widths) + 1:
            raise ValueError("needs one more slope than widths (the last slope is open-ended)")
        if not all(math.isfinite(x) for x in [*self.widths, *self.slopes]):
            raise ValueError("widths and slopes must be finite numbers")
        if any(w <= 0 for w in self.widths):
            raise ValueError("widths must be positive")
        if any(s < 0 for s in self.slopes):
            raise ValueError("slopes must not be negative")
        if any(b > a + 1e-12 for a, b in zip(self.slopes, self.slopes[1:], strict=False)):
            raise ValueError("slopes must not increase (diminishing returns)")
        return self


class Response(Strict):
    """How grants turn into investment and revenue (see docs/model.md)."""

    leverage: Ratio = Field(description="net additional investment per ¥1 of grant [元/元]")
    revenue_per_investment: Ratio = Field(description="annual revenue per ¥1 of new investment")
    lag: ShareList = Field(description="share of the new revenue arriving 0, 1, 2… years later")
    tech_share: Share | None = Field(None, description="share of mobilised investment that is 技改")
    pipeline: Pipeline | None = None

    @model_validator(mode="after")
    def _lag_sums_to_one(self):
        total = sum(self.lag.values()) * factor(self.lag.unit, "share")
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"lag shares must add up to 100% (they add up to {total:.1%})")
        return self


class Cluster(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    name: str
    baseline: Baseline
    growth: GrowthRates
    response: Response | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _growth_for_every_baseline(self):
        for field, growth in GROWTH_OF_BASELINE.items():
            if getattr(self.baseline, field) is not None and getattr(self.growth, growth) is None:
                raise ValueError(f"baseline.{field} is given, so growth.{growth} is required")
        if self.baseline.energy_intensity is not None and self.baseline.va_rate is None:
            raise ValueError("baseline.energy_intensity needs baseline.va_rate")
        if self.baseline.employment is not None and self.baseline.va_rate is None:
            raise ValueError("baseline.employment needs baseline.va_rate")
        return self


# --------------------------------------------------------------------------- targets

Sense = Literal[">=", "<="]


class Target(Strict):
    """A plan target: indicator, scope, year, sense, and a level or a growth rate."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    name: str | None = None
    indicator: Literal[indicators.ALL]  # type: ignore[valid-type]
    scope: str = "total"
    year: int | list[int] = Field(description="deadline year, or [earliest, latest]")
    sense: Sense = ">="
    level: Quantity | None = Field(None, description="required level, or [floor, stretch]")
    growth: Quantity | None = Field(
        None, description="required CAGR from the base year, or [floor, stretch]"
    )
    count_over: Quantity | None = Field(
        None, description="count clusters whose indicator exceeds this threshold"
    )
    count_between: Quantity | None = Field(
        None,
        description="count clusters whose indicator lies in the band [low, high] "
        "(e.g. the 500–1000亿 tier), given as [low, high]",
    )
    weight: float = Field(
        1.0, ge=0, allow_inf_nan=False, description="planner's priority in the objective"
    )
    hard: bool = Field(False, description="the allocation must meet it (a constraint)")
    basis: Literal["nominal", "real"] = Field(
        "nominal",
        description="money targets: nominal (current prices) or real (base-year prices, "
        "deflated by prices.deflator)",
    )
    form: Literal["average", "year_on_year"] = Field(
        "average",
        description="growth targets: average annual growth over the period (a CAGR) or at least "
        "the rate in every year (同比)",
    )
    of: Literal["gdp"] | None = Field(
        None,
        description="compare the indicator (money) as a share of the scenario's context GDP path: "
        "the level is then a share (%), e.g. R&D ≥ 1.35 % of GDP",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _level_or_growth(self):
        if (self.level is None) == (self.growth is None):
            raise ValueError("give exactly one of level or growth")
        if self.count_over is not None and self.count_between is not None:
            raise ValueError("give one of count_over or count_between")
        if self.counted_by is not None and self.level is None:
            raise ValueError("a count target gives the count as level")
        if self.count_between is not None:
            band = self.count_between.values()
            if not isinstance(self.count_between.value, list) or len(band) != 2:
                raise ValueError("count_between is written [low, high]")
            if not band[0] < band[1]:
                raise ValueError("count_between needs low < high")
        if self.growth is not None:
            try:
                factor(self.growth.unit, "growth")
            except UnitError as exc:
                raise ValueError(f"growth: {exc}") from None
        if isinstance(self.year, list) and (len(self.year) != 2 or self.year[0] > self.year[1]):
            raise ValueError("year must be a year or [earliest, latest]")
        for q in (self.level, self.growth):
            if q is not None and isinstance(q.value, dict | list) and len(q.values()) != 2:
                raise ValueError("a range is written [floor, stretch]")
        if self.basis == "real" and not indicators.kind(self.indicator).startswith("money"):
            raise ValueError(
                f"basis: real is for money indicators; {self.indicator} is not measured in money"
            )
        if self.basis == "real" and self.counted_by is not None:
            raise ValueError("basis: real is not available for count targets")
        if self.of is not None and (
            self.indicator not in indicators.EXTENSIVE
            or indicators.kind(self.indicator) != "money"
            or self.level is None
            or self.counted_by is not None
            or self.basis != "nominal"
        ):
            raise ValueError(
                "of: gdp compares a money indicator (revenue, value_added, rd, digital_core_va…) "
                "with GDP: it needs a level given as a share (%), no growth or count_over, and "
                "a nominal basis"
            )
        if self.form == "year_on_year" and (
            self.growth is None
            or self.indicator in indicators.RATIOS
            or isinstance(self.year, list)
        ):
            raise ValueError(
                "form: year_on_year needs a growth rate of a level indicator (not a ratio) and "
                "one target year"
            )
        return self

    @property
    def counted_by(self) -> Quantity | None:
        """The threshold (count_over) or band (count_between) of a count target, else None."""
        return self.count_over if self.count_over is not None else self.count_between

    @property
    def deadline(self) -> int:
        return self.year[1] if isinstance(self.year, list) else self.year


# --------------------------------------------------------------------------- funds, limits


class ShareBounds(Provenanced):
    """Minimum and/or maximum share of the year's fund."""

    min: float | None = Field(None, ge=0, allow_inf_nan=False)
    max: float | None = Field(None, ge=0, allow_inf_nan=False)
    unit: str = "%"

    @model_validator(mode="after")
    def _ordered(self):
        try:
            f = factor(self.unit, "share")
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min share is above max share")
        if self.max is not None and self.max * f > 1 + 1e-12:
            raise ValueError("max share is above 100%")
        return self


class Category(Strict):
    """A use of the fund (Cixi: 技改, key technologies, platforms…) with its own leverage."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    name: str
    leverage_factor: Ratio = Field(description="multiplies the cluster's leverage [元/元]")
    share: ShareBounds | None = None


class Funds(Strict):
    name: str
    unit: str = Field("亿元", description="money unit of allocations and reports")
    budget: MoneyPerYear = Field(
        description="annual budget (one value, or one per fund year); with a total, each "
        "year's upper bound"
    )
    total: Money | None = Field(
        None,
        description="the fund over all its years (Ningbo's 150亿 over 2018–2020): the optimiser "
        "chooses the timing within the annual budgets",
    )
    years: list[int] | None = Field(None, description="fund years (default: every plan year)")
    must_spend: bool = Field(
        False, description="spend the whole budget each year (with a total: the whole total)"
    )
    eligible: list[str] | None = Field(None, description="clusters that may receive funds")
    shares: dict[str, ShareBounds] = Field(default_factory=dict)
    categories: list[Category] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unit(self):
        try:
            factor(self.unit, "money")
        except UnitError as exc:
            raise ValueError(f"unit: {exc}") from None
        return self


def _shares_at_most_all(q: Quantity) -> Quantity:
    if any(v * factor(q.unit, "share") > 1.0 + 1e-12 for v in q.values()):
        raise ValueError(f"a share is from 0 to 100 % (got {max(q.values()):g} {q.unit})")
    return q


#: a share per plan year (one number, or one per year), 0–100 %
SharePerYear = Annotated[
    Quantity, _of_kind("share"), NonNegative, AfterValidator(_shares_at_most_all)
]


class LandClearance(Strict):
    """Land freed by clearing inefficient industrial land (Jinhua's 出清 20,000亩) and the share
    of it kept for key clusters K. Per plan year y, with Λ_y the new-land limit, R_y the land
    released and I_y the part of it the non-key clusters' own projected land already gives up
    (the new-land limit is net, so that part already makes room)::

        Σ_c ΔL[c,y]          ≤ Λ_y + R_y − I_y            (released land is room beyond Λ)
        Σ_(c ∉ K) ΔL[c,y]    ≤ Λ_y + (1 − ρ)·R_y − I_y    (at least ρ·R_y kept for K)
    """

    released: LandPerYear = Field(
        description="land freed for reuse [亩]: per plan year (one number or one per year), or "
        "with per: plan a total over the plan years, released evenly"
    )
    in_modelled_land: LandPerYear | None = Field(
        None,
        description="the part of the released land that the non-key clusters' projected land "
        "already gives up (their land falling), same per as released [亩]; default 0",
    )
    per: Literal["year", "plan"] = Field(
        "year", description="released and in_modelled_land are per year, or totals over the plan"
    )
    reuse_min_share: SharePerYear = Field(
        description="the least share ρ of the released land kept for the key clusters [%]"
    )
    key: list[str] = Field(min_length=1, description="the key clusters: cluster or group ids")
    note: str | None = None

    @model_validator(mode="after")
    def _totals_are_single_numbers(self):
        if self.per == "plan":
            for name in ("released", "in_modelled_land"):
                q = getattr(self, name)
                if q is not None and not isinstance(q.value, int | float):
                    raise ValueError(f"with per: plan, {name} is one total over the plan years")
        return self


#: limits field → unit kind (a bare number set by a what-if on a limit the file leaves out is
#: read in the kind's display unit, e.g. ``--set limits.new_land=0``)
LIMIT_KINDS: dict[str, str] = {
    "new_land": "land",
    "new_land_share": "share",
    "new_land_quota": "land",
    "energy_cap": "energy",
    "energy_intensity": "intensity",
    "land_floor": "land",
}


class Limits(Strict):
    new_land: LandPerYear | None = Field(None, description="new industrial land per year [亩]")
    new_land_share: SharePerYear | None = Field(
        None,
        description="industry's share of the city's new construction-land quota (慈溪: "
        "全市新增用地指标35%用于工业) [%]; with new_land_quota the new-land limit is share × quota",
    )
    new_land_quota: LandPerYear | None = Field(
        None,
        description="the city's new construction-land quota per year [亩] (新增建设用地指标), "
        "all uses; with new_land_share the new-land limit is share × quota",
    )
    energy_cap: EnergyPerYear | None = Field(None, description="total energy use per year")
    energy_intensity: IntensityPerYear | None = Field(
        None, description="jurisdiction energy per VA, upper limit per year"
    )
    land_floor: LandPerYear | None = Field(
        None,
        description="the least industrial land stock per year [亩] (改一补一: land converted to "
        "other uses is replaced, so the stock does not fall below it)",
    )
    land_clearance: LandClearance | None = Field(
        None,
        description="land freed by clearance and the share of it kept for key clusters "
        "(room beyond the new-land limit)",
    )


# --------------------------------------------------------------------------- calibration

#: what a calibration figure may total: every extensive indicator (it adds up over clusters),
#: counts of firms included (compared where the clusters have baseline.firms)
CALIBRATION_KINDS: dict[str, str] = {name: e.kind for name, e in indicators.EXTENSIVE.items()}
#: how far (a share) the clusters' sum may be from a published total before validate warns
DEFAULT_TOLERANCE = 0.10


def _no_bare_number(v):
    if isinstance(v, int | float) and not isinstance(v, bool):
        raise ValueError(
            'write a tolerance as a share with its reason, e.g. {value: 10, unit: "%", '
            'assumption: "..."}'
        )
    return v


def _share_0_to_1(q: Quantity) -> Quantity:
    share = q.values()[0] * factor(q.unit, "share")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a tolerance is a share from 0 to 100 % (got {q.value:g} {q.unit})")
    return q


Tolerance = Annotated[
    Quantity,
    BeforeValidator(_no_bare_number),
    _of_kind("share"),
    Scalar,
    AfterValidator(_share_0_to_1),
]


class CalibrationFigure(Quantity):
    """A published total of the jurisdiction that the clusters' base-year sum is compared with.

    Written under ``calibration.figures`` with its field as the key (``value_added: {...}``), or
    under any key with ``field:`` (``value_added_all_industry: {field: value_added, ...}``).
    """

    field: str = Field(description="the quantity it totals: revenue, value_added, land, tax …")
    scope: str = Field(description="what the total covers, e.g. 规上工业 of the whole city")
    year: int | None = Field(
        None, ge=1949, le=2100, description="the statistic's year (default: the base year)"
    )
    tolerance: Tolerance | None = Field(None, description="overrides calibration.tolerance")

    @field_validator("value")
    @classmethod
    def _one_non_negative_number(cls, v):
        if not isinstance(v, int | float):
            raise ValueError("a calibration figure is a single number")
        if v < 0:
            raise ValueError("must not be negative")
        return v

    @field_validator("field")
    @classmethod
    def _known_field(cls, v):
        if v not in CALIBRATION_KINDS:
            raise ValueError(
                f"unknown calibration field {v!r}: name the figure after one of "
                f"{', '.join(CALIBRATION_KINDS)}, or give field: one of them"
            )
        return v

    @model_validator(mode="after")
    def _unit_of_the_field(self):
        try:
            factor(self.unit, CALIBRATION_KINDS[self.field])
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return self


class Calibration(Strict):
    """Published jurisdiction totals for the base year, to reconcile the clusters with."""

    tolerance: Tolerance | None = Field(
        None, description=f"default {DEFAULT_TOLERANCE:.0%}: beyond it, validate warns"
    )
    figures: dict[str, CalibrationFigure] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _field_from_key(cls, data):
        figures = data.get("figures") if isinstance(data, dict) else None
        if isinstance(figures, dict):
            figures = {
                k: {"field": str(k), **v} if isinstance(v, dict) and "field" not in v else v
                for k, v in figures.items()
            }
            data = {**data, "figures": figures}
        return data


# --------------------------------------------------------------------------- scenario


class WhatIf(Strict):
    description: str
    set: dict[str, Any] = Field(default_factory=dict)
    add: dict[str, float] = Field(default_factory=dict)
    scale: dict[str, float] = Field(default_factory=dict)


class NotModelled(Strict):
    figure: str
    plan: str
    reason: str


class SourceDocument(Strict):
    seed: str
    url: str | None = None
    published: str | None = None


class Meta(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$", description="names results/<id>")
    jurisdiction: str
    title: str
    source: SourceDocument
    base_year: int = Field(ge=1949, le=2100)
    horizon: int = Field(ge=1949, le=2100, description="last plan year")
    description: str | None = None

    @model_validator(mode="after")
    def _horizon_after_base(self):
        if self.horizon <= self.base_year:
            raise ValueError("horizon must be after base_year")
        if self.horizon - self.base_year > 30:
            raise ValueError("at most 30 plan years")
        return self


class Prices(Strict):
    """The industrial price path that turns real (base-year price) targets into nominal ones."""

    deflator: Growth = Field(
        description="annual rate of the industrial producer price index (PPI), one number or one "
        "per plan year [%/yr]"
    )


class Context(Strict):
    """Exogenous paths the clusters do not add up to and the fund does not move: GDP.

    G[t₀] = ``gdp``, G[t] = G[t−1]·(1 + ``gdp_growth``[t]); targets with ``of: gdp`` are shares
    of it.
    """

    gdp: Money | None = Field(None, description="base-year GDP 地区生产总值 [money]")
    gdp_growth: Growth | None = Field(
        None, description="nominal GDP growth, one number or one per plan year [%/yr]"
    )

    @model_validator(mode="after")
    def _growth_with_gdp(self):
        if self.gdp is not None and self.gdp_growth is None:
            raise ValueError("context.gdp is given, so context.gdp_growth is required")
        return self


#: the classification shares of one base: only shares of the same base can exclude each other
CLASSIFICATION_BASES: dict[str, str] = {
    "hightech_va_share": "value added",
    "digital_core_va_share": "value added",
    "hightech_output_share": "output",
}


class ExclusiveShares(Strict):
    """Classifications no part of a cluster's VA (or output) belongs to twice: their shares in a
    cluster add up to at most 100 % in every year."""

    shares: list[Literal[tuple(CLASSIFICATION_BASES)]] = Field(  # type: ignore[valid-type]
        min_length=2, description="baseline share fields, e.g. [hightech_va_share, …]"
    )
    reason: str = Field(description="why they do not overlap (the plan's or a statistic's words)")

    @model_validator(mode="after")
    def _one_base(self):
        bases = {CLASSIFICATION_BASES[s] for s in self.shares}
        if len(bases) > 1:
            raise ValueError(
                "only shares of the same base exclude each other: "
                + ", ".join(f"{s} (of {CLASSIFICATION_BASES[s]})" for s in self.shares)
            )
        if len(set(self.shares)) != len(self.shares):
            raise ValueError("a share is listed twice")
        return self


class Classifications(Strict):
    """How the cross-cutting classifications relate (by default they may overlap)."""

    exclusive: list[ExclusiveShares] = Field(default_factory=list)


class Scenario(Strict):
    scenario: Meta
    clusters: list[Cluster] = Field(min_length=1)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)
    funds: Funds | None = None
    prices: Prices | None = Field(
        None, description="price path for industry (needed by targets with basis: real)"
    )
    limits: Limits = Field(default_factory=Limits)
    context: Context | None = Field(
        None, description="exogenous paths (GDP) for targets stated as shares of them"
    )
    classifications: Classifications | None = Field(
        None, description="which classification shares exclude each other (sum ≤ 100 %)"
    )
    what_ifs: dict[str, WhatIf] = Field(default_factory=dict)
    not_modelled: list[NotModelled] = Field(default_factory=list)
    calibration: Calibration | None = Field(
        None, description="published jurisdiction totals the clusters are reconciled with"
    )
    uncertainty: Uncertainty | None = Field(
        None, description="what is uncertain and how much (simulator uncertain, --robust)"
    )

    @model_validator(mode="after")
    def _calibration_years(self):
        base = self.scenario.base_year
        for key, f in (self.calibration.figures if self.calibration else {}).items():
            if f.year is not None and f.year > base:
                raise ValueError(
                    f"calibration.figures.{key}.year: {f.year} is after the base year {base}; "
                    "a calibration figure reconciles the base year's baselines"
                )
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.scenario.base_year, self.scenario.horizon + 1))

    @property
    def plan_years(self) -> list[int]:
        return self.years[1:]
