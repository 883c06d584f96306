"""Which rules an allocation breaks, checked on the projection (numpy), never on the model.

:func:`violations` lists them for any allocation (``compare`` reports them for a leader's
table); :func:`audit` runs after every solve, where any violation — or a model prediction that
differs from the projection — is a bug and fails loudly.
"""

from __future__ import annotations

import numpy as np

from ..core.projection import Projection, available, scope_values
from ..scenario.arrays import ScenarioArrays

#: relative tolerance (HiGHS's feasibility tolerance is 1e-7 absolute)
TOLERANCE = 1e-6


class AuditError(AssertionError):
    """The solver's allocation breaks a rule it was given: a bug, not a planner's error."""


def _over(value, limit) -> bool:
    return value > limit + TOLERANCE * np.maximum(1.0, np.abs(limit))


def violations(a: ScenarioArrays, grant: np.ndarray, p: Projection) -> list[str]:
    """Every rule of the scenario that ``grant`` (c, t, k) [亿元] breaks, in planner words."""
    out = []
    if (grant < -TOLERANCE).any():
        out.append("negative grant")
    if grant[~a.fundable].sum() > TOLERANCE or grant[:, ~a.fund_years].sum() > TOLERANCE:
        out.append("grant to an ineligible cluster or outside the fund years")
    for t in np.flatnonzero(a.fund_years):
        year, b = int(a.years[t]), a.budget[t]
        spent = grant[:, t, :].sum()
        if _over(spent, b):
            out.append(f"budget {year}")
        if a.must_spend and abs(spent - b) > TOLERANCE * max(1.0, b):
            out.append(f"must spend {year}")
        per_cluster = grant[:, t, :].sum(axis=1)
        for c in np.flatnonzero(_over(a.share_min * b, per_cluster)):
            out.append(f"min share {a.cluster_ids[c]} {year}")
        for c in np.flatnonzero(_over(per_cluster, a.share_max * b)):
            out.append(f"max share {a.cluster_ids[c]} {year}")
        per_category = grant[:, t, :].sum(axis=0)
        for k in np.flatnonzero(
            _over(a.category_min * b, per_category) | _over(per_category, a.category_max * b)
        ):
            out.append(f"category share {a.category_ids[k]} {year}")
    with_land = np.flatnonzero(available(a, "land"))
    with_energy = np.flatnonzero(available(a, "energy"))
    land = scope_values(p, "new_land", with_land)[0]
    energy = scope_values(p, "energy", with_energy)[0]
    intensity = scope_values(p, "energy_intensity", with_energy)[0]
    for t in range(1, a.n_years):
        for limit, value, label in (
            (a.new_land_limit[t], land, "new land"),
            (a.energy_cap[t], energy, "energy cap"),
            (a.energy_intensity_limit[t], intensity, "energy intensity"),
        ):
            if not np.isnan(limit) and _over(value[t], limit):
                out.append(f"{label} {int(a.years[t])}")
    return out


def audit(
    a: ScenarioArrays, grant: np.ndarray, p: Projection, predicted_revenue: np.ndarray | None = None
) -> list[str]:
    """Return the checks passed; raise :class:`AuditError` on any violation."""
    broken = violations(a, grant, p)
    if broken:
        raise AuditError("the optimised allocation breaks: " + ", ".join(broken))
    checks = [
        "money within each year's budget, shares within bounds",
        "land and energy within their limits",
    ]
    if predicted_revenue is not None:
        projected = p.primary["revenue"][0]
        err = np.abs(predicted_revenue - projected) / np.maximum(1.0, np.abs(projected))
        if err.max() > TOLERANCE:
            raise AuditError(
                f"the model predicted revenue {err.max():.2e} (relative) away from the "
                "projection: pipeline segments filled out of order?"
            )
        checks.append("model's predicted revenue equals the projection (1e-6)")
    return checks
