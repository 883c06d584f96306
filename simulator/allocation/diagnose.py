"""Explain an infeasible allocation in the scenario's own names.

HiGHS computes an irreducible infeasible subset (IIS) of rows; each row is named after what it
means (``cluster_share_min[auto,2021]``), which maps back to a scenario field
(``funds.shares.auto.min``). Where money is short, a second model with an elastic budget finds
the smallest budget that makes the hard constraints feasible.
"""

from __future__ import annotations

import numpy as np

from ..units import DISPLAY, display_factor, factor
from .model import build_model
from .problem import AllocationProblem
from .solve import HighsModel

FIELD = {
    "annual_budget": "funds.budget",
    "cluster_share_min": "funds.shares.{0}.min",
    "cluster_share_max": "funds.shares.{0}.max",
    "category_share_min": "funds.categories.{0}.share.min",
    "category_share_max": "funds.categories.{0}.share.max",
    "new_land_limit": "limits.new_land",
    "energy_cap": "limits.energy_cap",
    "energy_intensity_limit": "limits.energy_intensity",
    "target_required": "targets.{0} (hard)",
}


def scenario_name(con) -> str | None:
    """``cluster_share_min[auto,2021]`` → ``funds.shares.auto.min (2021)``; None for internals."""
    family = con.parent_component().local_name
    if family not in FIELD:
        return None
    index = con.index()
    index = index if isinstance(index, tuple) else (index,)
    text = FIELD[family].format(*index)
    years = [str(i) for i in index if isinstance(i, int)]
    return f"{text} ({', '.join(years)})" if years else text


def no_fund_excess(pr: AllocationProblem) -> list[str]:
    """Limits the projection breaks even with no fund at all (no allocation can help)."""
    out = []
    for d in pr.limits:
        if d.row.const <= d.rhs * (1 + 1e-9) + 1e-9:
            continue
        if d.name == "energy_intensity_limit":
            out.append(f"{FIELD[d.name]} ({d.year}) is already exceeded without any fund")
        else:
            unit = DISPLAY[d.unit_kind]
            f = display_factor(d.unit_kind)
            out.append(
                f"{FIELD[d.name]} ({d.year}) allows {d.rhs * f:,.6g} {unit} but the "
                f"projection needs {d.row.const * f:,.6g} {unit} without any fund"
            )
    return out


def diagnose(pr: AllocationProblem, hm: HighsModel) -> str:
    rows, _ = hm.iis()
    names = sorted({n for n in (scenario_name(c) for c in rows) if n})
    parts = []
    if names:
        parts.append("these cannot all hold: " + "; ".join(names))
    else:
        parts.append("the hard constraints cannot all hold")
    parts.extend(no_fund_excess(pr))
    least = smallest_budget(pr)
    if least is not None:
        unit = pr.arrays.fund_unit
        f = factor(unit, "money")
        years = [int(pr.arrays.years[t]) for t in pr.years]
        text = ", ".join(f"{y}: {b / f:.4g}" for y, b in zip(years, least, strict=True))
        parts.append(f"the smallest budget that makes it feasible is {text} {unit}")
    elif any(n.startswith("funds.budget") for n in names):
        parts.append("more budget does not make it feasible: other limits conflict too")
    return "infeasible — " + "; ".join(parts)


def smallest_budget(pr: AllocationProblem) -> np.ndarray | None:
    """Least budget per fund year [亿元] that makes the hard constraints hold, or None."""
    m = build_model(pr, elastic_budget=True)
    hm = HighsModel(m)
    sol = hm.solve()
    if sol.status != "optimal":
        return None
    extra = np.array([sol.value(m.v_extra_budget[t]) for t in m.T])
    if extra.max() <= 1e-9:
        return None  # money is not what is short
    return pr.arrays.budget[pr.years] + extra
