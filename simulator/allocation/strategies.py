"""Simple allocations a leader asks about, to compare with the optimiser's.

Each returns a grant array (c, t, k) in 亿元 that spends each fund year's whole budget over the
fundable clusters, and splits a cluster's grant over the fund's categories in proportion to
each category's room (its maximum share), after their minimum shares:

- ``equal``: the same amount to every fundable cluster;
- ``by-size``: in proportion to base-year revenue;
- ``by-gap``: in proportion to each cluster's weighted relative shortfall on its own targets
  without the fund (clusters with no missed target get nothing; equal if none misses).
"""

from __future__ import annotations

import numpy as np

from ..core.targets import Ledger
from ..scenario.arrays import ScenarioArrays

STRATEGIES = ("equal", "by-size", "by-gap")


def _spread(weights: np.ndarray, a: ScenarioArrays) -> np.ndarray:
    """Spend each fund year's budget over clusters by ``weights`` (c,), over categories by room."""
    w = np.where(a.fundable, np.maximum(weights, 0.0), 0.0)
    if w.sum() <= 0:
        w = a.fundable.astype(float)
    w = w / w.sum()
    per_year = a.budget * a.fund_years
    if not np.isnan(a.fund_total) and per_year.sum() > a.fund_total:
        per_year = per_year * (a.fund_total / per_year.sum())  # the total, in the budgets' shape
    per_cluster_year = w[:, None] * per_year[None, :]
    room = a.category_max - a.category_min
    split = a.category_min + (1 - a.category_min.sum()) * (
        room / room.sum() if room.sum() > 0 else np.full_like(room, 1 / len(room))
    )
    return per_cluster_year[:, :, None] * split[None, None, :]


def equal(a: ScenarioArrays) -> np.ndarray:
    return _spread(np.ones(a.n_clusters), a)


def by_size(a: ScenarioArrays) -> np.ndarray:
    return _spread(a.baseline["revenue"], a)


def by_gap(a: ScenarioArrays, led: Ledger) -> np.ndarray:
    """Weights: Σ w_j·s_j over targets scoped to exactly that cluster, without the fund."""
    weights = np.zeros(a.n_clusters)
    for j, spec in enumerate(led.specs):
        if len(spec.members) == 1:
            weights[spec.members[0]] += spec.weight * np.nan_to_num(led.shortfall[j, 0])
    return _spread(weights, a)


def strategy(name: str, a: ScenarioArrays, no_fund: Ledger) -> np.ndarray:
    """The named simple allocation; ``no_fund`` is the ledger without any fund (for by-gap)."""
    if name == "equal":
        return equal(a)
    if name == "by-size":
        return by_size(a)
    if name == "by-gap":
        return by_gap(a, no_fund)
    raise KeyError(name)
