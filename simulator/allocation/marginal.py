"""What one more unit of fund, land or energy is worth, in planner units.

Two readings, both reported:

- the **rate** from the LP duals: the objective's change per unit of a limit, exact for a
  small change (summed over every row the limit enters: a year's budget also scales the
  share rows);
- a **re-solve** with one more fund unit in a year (the planner's "+1亿元 in 2021"), on the
  persistent HiGHS model: the objective's change, where the extra money goes (the best use),
  and what it adds to revenue in the last plan year.

Duals are not defined for a MIP (count targets, targets-met); then only the re-solve is given.
"""

from __future__ import annotations

import numpy as np

from ..core.projection import project, scope_values
from ..core.targets import ledger
from ..units import DISPLAY, display_factor, factor
from .objective import BETTER, objective_value
from .optimise import Optimised, grant_from

BINDING_TOLERANCE = 1e-7


def budget_rows_of_year(opt: Optimised, position: int) -> dict:
    return {con: mult for con, (pos, mult) in opt.model.budget_rows.items() if pos == position}


def _rate(opt: Optimised, rows: dict) -> float | None:
    """d(objective)/d(limit) from the duals; None for a MIP."""
    if not opt.solution.has_duals:
        return None
    return float(sum(opt.solution.dual(con) * mult for con, mult in rows.items()))


def _improvement(objective: str, before: float, after: float) -> float:
    """Positive when ``after`` is better."""
    return before - after if BETTER[objective] == "lower" else after - before


def budget_marginals(opt: Optimised, delta: float | None = None) -> list[dict]:
    """Per fund year: rate, and a re-solve with ``delta`` more [fund unit] (default 1)."""
    a = opt.problem.arrays
    unit = a.fund_unit
    money = factor(unit, "money")
    step = (1.0 if delta is None else delta) * money
    last = a.n_years - 1
    everyone = np.arange(a.n_clusters)
    base_revenue = scope_values(opt.projection, "revenue", everyone)[0, last]
    out = []
    for pos, t in enumerate(opt.problem.years):
        rows = budget_rows_of_year(opt, pos)
        rate = _rate(opt, rows)
        entry = {
            "year": int(a.years[t]),
            "budget": a.budget[t] / money,
            "unit": unit,
            # the LP's objective falls by −dual per 亿元; report per fund unit, as improvement
            "rate_per_unit": None if rate is None else -rate * money,
        }
        original = {con: mult * a.budget[t] for con, mult in rows.items()}
        opt.highs.set_rhs({con: mult * (a.budget[t] + step) for con, mult in rows.items()})
        sol = opt.highs.solve()
        opt.highs.set_rhs(original)
        if sol.status == "optimal":
            grant = grant_from(sol, opt.model, opt.problem)
            p = project(a, grant)
            led = ledger(p, opt.ledger.specs, opt.problem.reference)
            value = objective_value(led, opt.movable, opt.objective_name)
            extra = grant.sum(axis=2) - opt.grant.sum(axis=2)
            best = int(np.argmax(extra.sum(axis=1)))
            revenue = scope_values(p, "revenue", everyone)[0, last]
            entry.update(
                {
                    "resolve_delta": step / money,
                    "resolve_improvement": _improvement(opt.objective_name, opt.objective, value),
                    "best_use": a.cluster_ids[best] if extra.sum() > 1e-9 else None,
                    "best_use_amount": float(extra[best].sum() / money),
                    "horizon_revenue_gain": (revenue - base_revenue) * display_factor("money"),
                    "horizon_year": int(a.years[last]),
                }
            )
        out.append(entry)
    return out


def limit_marginals(opt: Optimised) -> list[dict]:
    """Rate per unit of each land or energy limit that binds (LP only)."""
    out = []
    for con in _limit_rows(opt):
        family = con.parent_component().local_name
        kind = {
            "new_land_limit": "land",
            "energy_cap": "energy",
            "energy_intensity_limit": "intensity",
        }[family]
        rate = _rate(opt, {con: 1.0})
        slack = opt.solution.slack(con)
        out.append(
            {
                "limit": family,
                "year": con.index(),
                "binding": slack is not None and slack <= BINDING_TOLERANCE * 1e3,
                # improvement per display unit (亩, 万tce); intensity rows are N − r·D ≤ 0
                "rate_per_unit": None
                if rate is None or kind == "intensity"
                else -rate / display_factor(kind),
                "unit": DISPLAY[kind],
            }
        )
    return out


def _limit_rows(opt: Optimised):
    m = opt.model
    for name in ("new_land_limit", "energy_cap", "energy_intensity_limit"):
        yield from getattr(m, name).values()


def binding(opt: Optimised) -> list[str]:
    """The limits and splits that bind at the optimum, by scenario field, years grouped:
    ``funds.budget (2020, 2021)``."""
    from .diagnose import scenario_name

    years: dict[str, list[str]] = {}
    for con in opt.highs.row_index:
        name = scenario_name(con)
        slack = opt.solution.slack(con)
        if name is None:
            continue
        rhs = max(1.0, abs(opt.highs.rhs[opt.highs.row_index[con][0]]))
        if slack <= BINDING_TOLERANCE * rhs:
            field, _, when = name.partition(" (")
            years.setdefault(field, []).extend(when.rstrip(")").split(", ") if when else [])
    return [f"{f} ({', '.join(sorted(set(y)))})" if y else f for f, y in sorted(years.items())]
