"""A batch of sampled futures: how each changes the scenario's inputs (pure data).

The projection reads a :class:`Future` as perturbations of the scenario's own arrays, so that a
future with no perturbation projects exactly the deterministic scenario. Every field is a
multiplier (1 = unchanged) or an addition (0 = unchanged)::

    g[n,c,t]   = g[c,t] + growth_shift[d][n,c,t]            growth of driver d   [1/yr]
    X₀[n,c]    = X₀[c] · base_scale[f][n,c]                 baseline field f     [its unit]
    f[n,c,t]   = f[c,t] · factor_scale[f][n,t]              factor path f        [1]
    a[n,c]     = a[c] · leverage_scale[n]                   leverage             [亿元/亿元]
    ΔR[n,c,t]  = ΔR[c,t − delay[n]]                         new revenue arrives later [yr]

The new revenue capacity the fund adds grows with the scenario's assumed revenue growth, not
with the sampled shocks: the shocks describe the existing base; this keeps the fund's effect on
every target a function of (leverage, delay, factor scales) only, which is what lets the robust
model share it across futures (``docs/uncertainty.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: the factor paths a future may scale (common to every cluster)
SCALED_FACTORS = ("va_rate", "tax_rate", "revenue_per_mu", "energy_intensity", "productivity")


@dataclass(frozen=True)
class Future:
    n: int
    growth_shift: dict[str, np.ndarray] = field(default_factory=dict)  # driver → (n, c, t)
    base_scale: dict[str, np.ndarray] = field(default_factory=dict)  # field → (n, c)
    factor_scale: dict[str, np.ndarray] = field(default_factory=dict)  # factor → (n, t)
    leverage_scale: np.ndarray | None = None  # (n,)
    delay: np.ndarray | None = None  # (n,) int years

    def growth_of(self, driver: str, base: np.ndarray) -> np.ndarray:
        """Driver ``driver``'s sampled growth from the scenario's ``base`` (c, t) [1/yr]: (n, c, t)
        where shocked, ``base`` itself otherwise."""
        shift = self.growth_shift.get(driver)
        return base if shift is None else base + shift

    def baseline(self, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The sampled baselines: (n, c) where scaled, the scenario's (c,) otherwise."""
        return {k: v * self.base_scale[k] if k in self.base_scale else v for k, v in base.items()}

    def scale(self, factor: str) -> np.ndarray | float:
        """(n, 1, t) multiplier of a factor path (1.0 when it is not uncertain)."""
        s = self.factor_scale.get(factor)
        return 1.0 if s is None else s[:, None, :]
