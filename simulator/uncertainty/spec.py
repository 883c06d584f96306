"""The scenario's ``uncertainty:`` block in canonical numbers (fractions, years), ready to sample.

A scenario without the block, or with every spread 0, compiles to a spec whose futures all
equal the deterministic scenario (:attr:`UncertaintySpec.is_deterministic`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scenario.uncertainty import COPULA_DRIVERS, FACTORS, Uncertainty
from ..units import factor


@dataclass(frozen=True)
class Spread:
    """A standard deviation in canonical units and the shape of its distribution."""

    sd: float
    distribution: str = "normal"


NONE = Spread(0.0)


@dataclass(frozen=True)
class UncertaintySpec:
    growth_drivers: tuple[str, ...] = ("revenue",)
    macro: Spread = NONE  # persistent common growth shift m [1/yr]
    year: Spread = NONE  # common year shocks η_t [1/yr]
    year_ar1: float = 0.0
    cluster: Spread = NONE  # persistent cluster component ζ_c [1/yr]
    noise: Spread = NONE  # annual cluster noise ε_{c,t} [1/yr]
    noise_ar1: float = 0.0
    base_levels: dict[str, Spread] = field(default_factory=dict)  # relative errors [1]
    factor_level: dict[str, Spread] = field(default_factory=dict)  # relative level error [1]
    factor_drift: dict[str, Spread] = field(default_factory=dict)  # annual drift [1/yr]
    leverage_multipliers: np.ndarray = field(default_factory=lambda: np.ones(1))
    leverage_probabilities: np.ndarray = field(default_factory=lambda: np.ones(1))
    delays: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=int))
    delay_probabilities: np.ndarray = field(default_factory=lambda: np.ones(1))
    correlation: np.ndarray = field(default_factory=lambda: np.eye(len(COPULA_DRIVERS)))
    method: str = "sobol"

    @property
    def is_deterministic(self) -> bool:
        spreads = [self.macro, self.year, self.cluster, self.noise]
        spreads += [*self.base_levels.values(), *self.factor_level.values()]
        spreads += list(self.factor_drift.values())
        return (
            all(s.sd == 0 for s in spreads)
            and np.all(self.leverage_multipliers[self.leverage_probabilities > 0] == 1.0)
            and np.all(self.delays[self.delay_probabilities > 0] == 0)
        )

    @property
    def copula_factor(self) -> np.ndarray:
        """L with L·Lᵀ = the correlation matrix (a symmetric square root: it may be singular)."""
        w, v = np.linalg.eigh(self.correlation)
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _spread(q, kind: str) -> Spread:
    if q is None:
        return NONE
    return Spread(float(q.value) * factor(q.unit, kind), q.distribution)


def compile_spec(u: Uncertainty | None) -> UncertaintySpec:
    """The block in canonical numbers; no block → a spec with no uncertainty."""
    if u is None:
        return UncertaintySpec()
    g = u.growth
    corr = np.eye(len(COPULA_DRIVERS))
    for c in u.correlations:
        i, j = (COPULA_DRIVERS.index(x) for x in c.between)
        corr[i, j] = corr[j, i] = c.value
    lev = u.leverage.regimes if u.leverage else []
    lag = u.lag.regimes if u.lag else []
    return UncertaintySpec(
        growth_drivers=tuple(g.applies_to),
        macro=_spread(g.macro, "growth"),
        year=_spread(g.year, "growth"),
        year_ar1=float(g.year_ar1.value) * factor(g.year_ar1.unit, "ratio") if g.year_ar1 else 0.0,
        cluster=_spread(g.cluster, "growth"),
        noise=_spread(g.noise, "growth"),
        noise_ar1=(
            float(g.noise_ar1.value) * factor(g.noise_ar1.unit, "ratio") if g.noise_ar1 else 0.0
        ),
        base_levels={k: _spread(v, "share") for k, v in u.base_levels.items()},
        factor_level={k: _spread(f.level, "share") for k, f in u.factors.items() if f.level},
        factor_drift={k: _spread(f.drift, "growth") for k, f in u.factors.items() if f.drift},
        leverage_multipliers=np.array([r.multiplier for r in lev] or [1.0]),
        leverage_probabilities=np.array([r.probability for r in lev] or [1.0]),
        delays=np.array([r.delay for r in lag] or [0], dtype=int),
        delay_probabilities=np.array([r.probability for r in lag] or [1.0]),
        correlation=corr,
        method=u.sampling.method,
    )


__all__ = ["FACTORS", "Spread", "UncertaintySpec", "compile_spec"]
