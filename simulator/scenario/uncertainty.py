"""The scenario's ``uncertainty:`` block, as pydantic models: what is uncertain, how much, and
where each spread comes from.

Every spread is a number with a unit and a provenance, like any other number in the scenario::

    uncertainty:
      growth:                           # revenue growth g[c,t] + m + η_t + ζ_c + ε_{c,t}
        macro:   {value: 1.0, unit: "%/yr", statistic: "...", source: "..."}   # sd of m
        year:    {value: 1.5, unit: "%/yr", assumption: "..."}                # sd of η_t
        year_ar1: {value: 0.3, unit: "1", assumption: "..."}                  # corr(η_t, η_t−1)
        cluster: {value: 2.0, unit: "%/yr", assumption: "..."}                # sd of ζ_c
        noise:   {value: 2.0, unit: "%/yr", assumption: "..."}                # sd of ε_{c,t}
        noise_ar1: {value: 0.5, unit: "1", assumption: "..."}                 # corr(ε_t, ε_t−1)
      base_levels:                      # relative error of base-year statistics, per cluster
        revenue: {value: 2, unit: "%", assumption: "..."}
      factors:                          # the jurisdiction's factor paths: level and drift
        va_rate: {level: {value: 5, unit: "%", ...}, drift: {value: 0.5, unit: "%/yr", ...}}
      leverage:                         # the fund's leverage: a few regimes
        regimes:
          - {multiplier: 0.6, probability: 0.25, assumption: "..."}
          - {multiplier: 1.0, probability: 0.5, assumption: "..."}
          - {multiplier: 1.3, probability: 0.25, assumption: "..."}
      lag:
        regimes:
          - {delay: 0, probability: 0.7, assumption: "..."}
          - {delay: 1, probability: 0.3, assumption: "..."}
      correlations:                     # Gaussian copula over the per-future drivers
        - {between: [macro, leverage], value: 0.4, assumption: "..."}

The method, with equations, is in ``docs/uncertainty.md``; the numbers are compiled to canonical
units in :mod:`simulator.uncertainty.spec`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from ..units import UnitError, factor
from .quantities import Provenanced, Quantity, Strict

#: shapes a spread may take; each has mean 0 (growth) or 1 (levels) and the given sd
DISTRIBUTIONS = ("normal", "lognormal", "uniform")


def _spread_of(kind: str):
    def check(q: Quantity) -> Quantity:
        try:
            factor(q.unit, kind)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(q.value, int | float):
            raise ValueError("a spread is a single number")
        if q.value < 0:
            raise ValueError(
                f"a spread (standard deviation) must not be negative (got {q.value:g})"
            )
        return q

    return AfterValidator(check)


def _correlation(q: Quantity) -> Quantity:
    if not isinstance(q.value, int | float):
        raise ValueError("an autocorrelation is a single number")
    v = q.value * factor(q.unit, "ratio")
    if not -1.0 < v < 1.0:
        raise ValueError(f"an autocorrelation is between −1 and 1, exclusive (got {v:g})")
    return q


class Spread(Quantity):
    """A standard deviation with its unit and provenance, and the shape of the distribution."""

    distribution: Literal["normal", "lognormal", "uniform"] = Field(
        "normal", description="normal (default), lognormal (levels only) or uniform"
    )


GrowthSpread = Annotated[Spread, _spread_of("growth")]
LevelSpread = Annotated[Spread, _spread_of("share")]
AutoCorrelation = Annotated[Quantity, _spread_of("ratio"), AfterValidator(_correlation)]


class GrowthUncertainty(Strict):
    """Revenue growth of cluster c in year t in future n::

    g[n,c,t] = g[c,t] + m[n] + η[n,t] + ζ[n,c] + ε[n,c,t]

    m: a persistent common shift (the macro trend), η: common year shocks (AR(1) over years),
    ζ: a persistent cluster component, ε: annual cluster noise (AR(1) over years).
    """

    applies_to: list[Literal["revenue", "investment", "tech_investment"]] = Field(
        default_factory=lambda: ["revenue"],
        description="growth drivers the shocks are added to (the same draws for each)",
    )
    macro: GrowthSpread | None = Field(None, description="sd of the persistent common shift m")
    year: GrowthSpread | None = Field(None, description="sd of the common year shocks η_t")
    year_ar1: AutoCorrelation | None = Field(None, description="corr(η_t, η_t−1)")
    cluster: GrowthSpread | None = Field(None, description="sd of the cluster component ζ_c")
    noise: GrowthSpread | None = Field(None, description="sd of the annual noise ε_{c,t}")
    noise_ar1: AutoCorrelation | None = Field(None, description="corr(ε_t, ε_t−1)")


#: base-year statistics whose error is sampled per cluster (a relative error). An error in a
#: cluster's revenue is an error in its size: its land, tax and employment move with it, so the
#: rates (亩均, tax rate, productivity) keep the factors' own, jurisdiction-wide uncertainty —
#: which is what lets the robust model share the fund's effect across futures.
BASE_LEVELS = ("revenue", "investment", "tech_investment", "firms")
#: baseline fields that follow the revenue's error
FOLLOW_REVENUE = ("land", "tax", "employment")
#: factor paths with a jurisdiction-wide level and drift uncertainty
FACTORS = ("va_rate", "tax_rate", "revenue_per_mu", "energy_intensity", "productivity")


class FactorUncertainty(Strict):
    """A factor path f[c,t] becomes f[c,t]·(1 + level)·Π_{τ≤t}(1 + drift) in a future: the same
    level and drift for every cluster (a jurisdiction-wide shift of the factor)."""

    level: LevelSpread | None = Field(None, description="sd of the relative level error")
    drift: GrowthSpread | None = Field(None, description="sd of the annual drift")


class LeverageRegime(Provenanced):
    multiplier: float = Field(ge=0, description="multiplies every cluster's leverage [1]")
    probability: float = Field(ge=0, le=1)


class LagRegime(Provenanced):
    delay: int = Field(ge=0, le=10, description="years the new revenue arrives later [yr]")
    probability: float = Field(ge=0, le=1)


def _sum_to_one(regimes):
    total = sum(r.probability for r in regimes)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"the regimes' probabilities sum to {total:g}, not 1")
    return regimes


class Leverage(Strict):
    regimes: Annotated[list[LeverageRegime], AfterValidator(_sum_to_one)] = Field(min_length=1)


class Lag(Strict):
    regimes: Annotated[list[LagRegime], AfterValidator(_sum_to_one)] = Field(min_length=1)


#: the per-future scalar drivers a correlation may join (the Gaussian copula's coordinates)
COPULA_DRIVERS = (
    "macro",
    "leverage",
    "lag",
    *(f"{f}.level" for f in FACTORS),
    *(f"{f}.drift" for f in FACTORS),
)


class Correlation(Provenanced):
    between: list[Literal[COPULA_DRIVERS]] = Field(min_length=2, max_length=2)  # type: ignore[valid-type]
    value: float = Field(ge=-1, le=1, description="correlation of the two drivers' normal scores")

    @model_validator(mode="after")
    def _two_drivers(self):
        if self.between[0] == self.between[1]:
            raise ValueError("a correlation joins two different drivers")
        return self


class Sampling(Strict):
    method: Literal["sobol", "random"] = Field(
        "sobol", description="scrambled Sobol' (quasi-Monte Carlo) or pseudo-random"
    )


class Uncertainty(Strict):
    growth: GrowthUncertainty = Field(default_factory=GrowthUncertainty)
    base_levels: dict[Literal[BASE_LEVELS], LevelSpread] = Field(default_factory=dict)  # type: ignore[valid-type]
    factors: dict[Literal[FACTORS], FactorUncertainty] = Field(default_factory=dict)  # type: ignore[valid-type]
    leverage: Leverage | None = None
    lag: Lag | None = None
    correlations: list[Correlation] = Field(default_factory=list)
    sampling: Sampling = Field(default_factory=Sampling)

    @model_validator(mode="after")
    def _positive_semidefinite(self):
        names = list(COPULA_DRIVERS)
        c = np.eye(len(names))
        for k, r in enumerate(self.correlations):
            i, j = names.index(r.between[0]), names.index(r.between[1])
            if c[i, j] != 0:
                raise ValueError(f"correlations.{k}: {r.between[0]}–{r.between[1]} given twice")
            c[i, j] = c[j, i] = r.value
        if self.correlations and np.linalg.eigvalsh(c).min() < -1e-10:
            raise ValueError(
                "correlations: the matrix is not positive semi-definite (no joint distribution "
                "has these correlations); weaken some of them"
            )
        for k, spread in self.base_levels.items():
            if (
                spread.distribution == "normal"
                and spread.value * factor(spread.unit, "share") > 0.3
            ):
                raise ValueError(
                    f"base_levels.{k}: a normal relative error above 30 % can make a level "
                    "negative; use distribution: lognormal"
                )
        return self
