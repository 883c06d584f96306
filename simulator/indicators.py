"""The indicator system: every indicator a target, a limit or a report can name, defined once.

An *extensive* indicator is a fund-driven **primary flow** times a fund-independent **factor**
path, per cluster and year::

    X[n, c, t] = factor_X[n, c, t] · P_X[n, c, t]    P ∈ {revenue, investment, tech_investment, firms}

so it is linear in the fund response and adds up across clusters (``firms``, the number of 规上
firms, is a primary the fund does not move). A *ratio* indicator is one
extensive indicator over another, evaluated on the sums over its scope (亩均税收 of a group is
the group's tax over the group's land, not a mean of the clusters' ratios). ``new_land`` is the
year-on-year change of ``land``.

The projection (numpy) and the allocation model (Pyomo) both read these definitions; neither
restates a formula.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extensive:
    """X = factor · primary. ``factor`` names a path in :class:`~simulator.projection.Paths`."""

    name: str
    primary: str  # "revenue" | "investment" | "tech_investment" | "firms"
    factor: str | None  # None means factor 1
    kind: str  # unit kind (see simulator.units.CANONICAL)
    needs: tuple[str, ...]  # baseline fields it needs
    zh: str


@dataclass(frozen=True)
class Ratio:
    """X = Σ numerator / Σ denominator over the scope."""

    name: str
    numerator: str
    denominator: str
    kind: str
    zh: str


@dataclass(frozen=True)
class Change:
    """X[t] = base[t] − base[t−1] (not defined in the base year)."""

    name: str
    base: str
    kind: str
    zh: str


EXTENSIVE: dict[str, Extensive] = {
    e.name: e
    for e in [
        Extensive("revenue", "revenue", None, "money", ("revenue",), "主营业务收入"),
        Extensive("value_added", "revenue", "va_rate", "money", ("va_rate",), "工业增加值"),
        Extensive("investment", "investment", None, "money", ("investment",), "工业投资"),
        Extensive(
            "tech_investment", "tech_investment", None, "money", ("tech_investment",), "技改投资"
        ),
        Extensive("land", "revenue", "land_per_revenue", "land", ("land",), "工业用地"),
        Extensive(
            "energy",
            "revenue",
            "energy_per_revenue",
            "energy",
            ("va_rate", "energy_intensity"),
            "能耗",
        ),
        Extensive("tax", "revenue", "tax_rate", "money", ("tax",), "税收"),
        Extensive(
            "employment",
            "revenue",
            "employment_per_revenue",
            "people",
            ("va_rate", "employment"),
            "从业人员",
        ),
        # factor-path indicators: a share of revenue (base level × its own drift) times revenue
        Extensive("rd", "revenue", "rd_share", "money", ("rd_share",), "研发经费支出"),
        Extensive(
            "new_product",
            "revenue",
            "new_product_share",
            "money",
            ("new_product_share",),
            "新产品产值",
        ),
        Extensive("exports", "revenue", "export_share", "money", ("export_share",), "出口交货值"),
        Extensive("profit", "revenue", "profit_share", "money", ("profit_share",), "利润总额"),
        # cross-cutting classifications: the part of a cluster's VA (or output) that is high-tech
        # or digital-economy core, a share drifting at its own rate (factor = share · va_rate)
        Extensive(
            "hightech_va",
            "revenue",
            "hightech_va_per_revenue",
            "money",
            ("hightech_va_share", "va_rate"),
            "高新技术产业增加值",
        ),
        Extensive(
            "hightech_output",
            "revenue",
            "hightech_output_share",
            "money",
            ("hightech_output_share",),
            "高新技术产业产值",
        ),
        Extensive(
            "digital_core_va",
            "revenue",
            "digital_core_va_per_revenue",
            "money",
            ("digital_core_va_share", "va_rate"),
            "数字经济核心产业增加值",
        ),
        # a fund-independent primary: the number of 规上 firms, firms₀·Π(1 + net entry)
        Extensive("firms", "firms", None, "count", ("firms",), "规上工业企业数"),
    ]
}

RATIOS: dict[str, Ratio] = {
    r.name: r
    for r in [
        Ratio("va_rate", "value_added", "revenue", "share", "增加值率"),
        Ratio("energy_intensity", "energy", "value_added", "intensity", "单位增加值能耗"),
        Ratio("tax_per_mu", "tax", "land", "money_per_land", "亩均税收"),
        Ratio("va_per_mu", "value_added", "land", "money_per_land", "亩均增加值"),
        Ratio("revenue_per_mu", "revenue", "land", "money_per_land", "亩均营业收入"),
        Ratio("productivity", "value_added", "employment", "money_per_person", "全员劳动生产率"),
        Ratio("rd_intensity", "rd", "revenue", "share", "研发经费支出占主营业务收入比重"),
        # revenue stands in for output value (产值): the plans' 新产品产值率 is new-product output
        # over gross output; the model has revenue only
        Ratio("new_product_rate", "new_product", "revenue", "share", "新产品产值率"),
        Ratio("export_rate", "exports", "revenue", "share", "出口交货值占主营业务收入比重"),
        Ratio("profit_margin", "profit", "revenue", "share", "主营业务收入利润率"),
        Ratio(
            "hightech_va_rate",
            "hightech_va",
            "value_added",
            "share",
            "高新技术产业增加值占规模以上工业比重",
        ),
        # revenue stands in for output value (产值), as for new_product_rate
        Ratio(
            "hightech_output_rate",
            "hightech_output",
            "revenue",
            "share",
            "高新技术产业产值占规上工业产值比重",
        ),
        Ratio(
            "digital_core_va_rate",
            "digital_core_va",
            "value_added",
            "share",
            "数字经济核心产业增加值占工业增加值比重",
        ),
    ]
}

CHANGES: dict[str, Change] = {"new_land": Change("new_land", "land", "land", "新增工业用地")}

ALL: tuple[str, ...] = (*EXTENSIVE, *CHANGES, *RATIOS)


def kind(indicator: str) -> str:
    """Unit kind of an indicator (``money``, ``land``, ``share`` …)."""
    for table in (EXTENSIVE, RATIOS, CHANGES):
        if indicator in table:
            return table[indicator].kind
    raise KeyError(indicator)


def needs(indicator: str) -> tuple[str, ...]:
    """Baseline fields every cluster in scope must have for ``indicator`` to be computed."""
    if indicator in EXTENSIVE:
        return EXTENSIVE[indicator].needs
    if indicator in CHANGES:
        return needs(CHANGES[indicator].base)
    ratio = RATIOS[indicator]
    return tuple(dict.fromkeys(needs(ratio.numerator) + needs(ratio.denominator)))
