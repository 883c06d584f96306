"""After every solve: the allocation keeps every rule, checked on the projection (numpy, the
same :func:`~simulator.core.limits.check_rules` that ``run`` and ``compare`` use), and the
model predicted what the projection computes. Any failure is a bug (exit 70), never a
planner's error."""

from __future__ import annotations

import numpy as np

from ..core.limits import TOLERANCE, breaches, check_rules
from ..core.projection import Projection
from ..errors import InternalError
from ..scenario.arrays import ScenarioArrays


class AuditError(InternalError, AssertionError):
    """The solver's allocation breaks a rule it was given, or the model and the projection
    disagree: a bug."""


def audit(
    a: ScenarioArrays, grant: np.ndarray, p: Projection, predicted_revenue: np.ndarray | None = None
) -> list[str]:
    """Return the checks passed; raise :class:`AuditError` on any violation."""
    broken = breaches(check_rules(a, grant, p))
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
                f"the model predicted revenue {err.max():.2e} (relative) away from the projection"
            )
        checks.append("model's predicted revenue equals the projection (1e-6)")
    return checks
