"""The optimiser's objectives evaluated on any allocation (numpy, from the target ledger).

``compare`` scores every allocation with these functions, so the optimised allocation is
scored on exactly the scale it was optimised on and is never beaten (up to solver tolerance).
"""

from __future__ import annotations

import numpy as np

from ..core.targets import Ledger

#: "lower is better" or "higher is better", per objective
BETTER = {"shortfall": "lower", "targets-met": "higher", "worst": "lower"}


def in_objective(led: Ledger, movable: np.ndarray) -> np.ndarray:
    """(j,) bool: the soft targets the fund can move — the ones the objectives count."""
    hard = np.array([s.hard for s in led.specs], dtype=bool)
    return np.asarray(movable, dtype=bool) & ~hard


def objective_value(led: Ledger, movable: np.ndarray, objective: str) -> float:
    """Objective ``objective`` for sample 0 of the ledger."""
    mask = in_objective(led, movable)
    w = np.array([s.weight for s in led.specs])
    s = np.nan_to_num(led.shortfall[:, 0])
    if objective == "shortfall":
        return float(np.sum(w[mask] * s[mask]))
    if objective == "targets-met":
        return float(np.sum(w[mask] * led.met[mask, 0]))
    if objective == "worst":
        return float(s[mask].max()) if mask.any() else 0.0
    raise ValueError(objective)


def better_or_equal(x: float, y: float, objective: str, tol: float = 1e-7) -> bool:
    """Is objective value ``x`` at least as good as ``y``?"""
    scale = max(1.0, abs(x), abs(y))
    if BETTER[objective] == "lower":
        return x <= y + tol * scale
    return x >= y - tol * scale
