"""The objectives, in one registry: what each minimises or maximises, its lexicographic stages,
how a planner reads a change in it, and its value on any allocation (numpy, from the ledger).

Each objective is a sequence of *aims* solved one after another (``optimise``): the first is
the planner's objective; each later aim only chooses among the allocations that are optimal for
the earlier ones (within :data:`~simulator.allocation.solve.STAGE_TOLERANCE`):

- ``shortfall``:   min weighted shortfall → max fund effect;
- ``worst``:       min largest shortfall → min weighted shortfall → max fund effect;
- ``targets-met``: max weighted targets met → min weighted shortfall → max fund effect.

The fund effect (fund-induced revenue over the plan years plus the investment it mobilises)
spends money where it still does something and fills every pipeline in order where nothing
stops it. ``compare`` scores every allocation with :func:`objective_value`, so the optimised
allocation is scored on exactly the scale it was optimised on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.targets import Ledger

#: aim → sense (+1 maximise, −1 minimise); the last four are the robust model's
#: (:mod:`.robust_model`)
AIMS = {
    "expected_shortfall": -1,
    "cvar_shortfall": -1,
    "targets_likely": +1,
    "pipelines_filled": +1,
    "weighted_shortfall": -1,
    "worst_shortfall": -1,
    "targets_met": +1,
    "fund_effect": +1,
    "extra_budget": -1,
}


@dataclass(frozen=True)
class Objective:
    name: str
    better: str  # "lower" | "higher"
    stages: tuple[str, ...]
    help: str
    improves: str  # what a positive change does, for sentences
    worsens: str
    measure: Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # (w, s, met) → value


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective(
            "shortfall",
            "lower",
            ("weighted_shortfall", "fund_effect"),
            "min weighted relative shortfall",
            "lowers the weighted shortfall by",
            "raises the weighted shortfall by",
            lambda w, s, met: float(np.sum(w * s)),
        ),
        Objective(
            "targets-met",
            "higher",
            ("targets_met", "weighted_shortfall", "fund_effect"),
            "max weighted number of targets met (MIP), then min shortfall",
            "adds to the weighted number of targets met",
            "takes from the weighted number of targets met",
            lambda w, s, met: float(np.sum(w * met)),
        ),
        Objective(
            "worst",
            "lower",
            ("worst_shortfall", "weighted_shortfall", "fund_effect"),
            "min the largest relative shortfall, then min weighted shortfall",
            "lowers the worst relative shortfall by",
            "raises the worst relative shortfall by",
            lambda w, s, met: float(s.max()) if len(s) else 0.0,
        ),
    )
}
BETTER = {name: o.better for name, o in OBJECTIVES.items()}


def in_objective(led: Ledger, movable: np.ndarray) -> np.ndarray:
    """(j,) bool: the soft targets the fund can move — the ones the objectives count."""
    hard = np.array([s.hard for s in led.specs], dtype=bool)
    return np.asarray(movable, dtype=bool) & ~hard


def objective_value(led: Ledger, movable: np.ndarray, objective: str, sample: int = 0) -> float:
    """Objective ``objective`` of one sample of the ledger."""
    mask = in_objective(led, movable)
    w = np.array([s.weight for s in led.specs])[mask]
    s = np.nan_to_num(led.shortfall[mask, sample])
    return OBJECTIVES[objective].measure(w, s, led.met[mask, sample])


def improvement(objective: str, before: float, after: float) -> float:
    """Positive when ``after`` is better than ``before``."""
    return before - after if BETTER[objective] == "lower" else after - before
