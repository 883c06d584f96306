"""What one more unit of fund, land or energy is worth, in planner units.

For each fund year, two readings:

- the **dual rate**: the first aim's change per fund unit of that year's budget, from the LP
  duals summed over every row the budget enters (the budget row and the share rows, which
  scale with it). Exact for a small change; not defined for a MIP;
- a **re-solve**: the same model — every limit, share, ``must_spend`` and the pipeline order
  kept — with one more fund unit that year and nothing already allocated taken back (each
  grant bounded below by the allocation). It gives the objective's change and the change in
  targets met, both read off the projection of the new allocation, and where the extra money
  goes (the best cluster, which by construction receives at most the extra amount).

Changes below :data:`ZERO` (relative) are reported as zero. A negative change is harm: money
that must be spent (must_spend, minimum shares) where it pushes a limit or a ≤ target.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..core.limits import breaches, check_rules
from ..core.projection import project, scope_values
from ..core.targets import ledger
from ..units import DISPLAY, display_factor
from .diagnose import conflict
from .objectives import AIMS, improvement, objective_value
from .optimise import Optimised, grant_from, settle, spending_is_forced

#: a change smaller than this, relative to max(1, |value|), is zero
ZERO = 1e-9

BINDING_TOLERANCE = 1e-7


@dataclass
class Marginal:
    """One more fund unit in one year."""

    year: int
    extra: float  # [fund unit]
    unit: str
    dual_rate: float | None  # improvement of the objective per fund unit (LP)
    objective_change: float | None  # improvement (> 0 better) from the re-solve
    targets_met_change: int | None
    best_cluster: str | None
    best_cluster_amount: float  # [fund unit], at most ``extra``
    horizon_revenue_gain: float  # [亿元] all clusters, last plan year
    horizon_year: int
    note: str


def _zero(x: float | None, scale: float = 1.0) -> float | None:
    return None if x is None else (0.0 if abs(x) <= ZERO * max(1.0, abs(scale)) else x)


def _dual_rate(opt: Optimised, position: int) -> float | None:
    """Improvement of the first aim per fund unit of budget in fund year ``position``."""
    sol = opt.solution
    if not sol.has_duals or sol.stages_solved < 1:
        return None
    rows = [(con, mult) for con, (pos, mult) in opt.model.budget_rows.items() if pos == position]
    rate = (
        sum(opt.highs.dual(sol, con) * mult for con, mult in rows)
        * opt.problem.arrays.fund_unit_factor
    )
    # a minimised first aim (shortfall, worst) improves as it falls
    return _zero(-rate if AIMS[opt.highs.compiled.aim_names[0]] < 0 else rate)


def _resolve(opt: Optimised, position: int, step: float):
    """The allocation with ``step`` [亿元] more in fund year ``position``, nothing taken back."""
    hm, pr = opt.highs, opt.problem
    a = pr.arrays
    cols, _ = hm.block("v_grant")
    floor = opt.grant[np.ix_(pr.clusters, pr.years)].reshape(-1)
    rows = {con: mult for con, (pos, mult) in opt.model.budget_rows.items() if pos == position}
    budget = a.budget[pr.years[position]]
    hm.set_column_bounds(cols, floor, np.full(len(cols), np.inf))
    hm.set_rhs({con: mult * (budget + step) for con, mult in rows.items()})
    try:
        sol = hm.solve()
        if sol.x is None or sol.status not in ("optimal", "time_limit"):
            return None, f"re-solve: {sol.status}"
        grant, _ = settle(pr, hm, sol, allow_mip=hasattr(opt.model, "v_full"))
        if grant is None:  # forced spending filled the relaxed pipeline out of order
            grant = grant_from(sol, hm, pr)
        return grant, ""
    finally:
        hm.set_rhs({con: mult * budget for con, mult in rows.items()})
        hm.set_column_bounds(cols, np.zeros(len(cols)), np.full(len(cols), np.inf))


def budget_marginals(opt: Optimised, delta: float | None = None) -> list[Marginal]:
    """Per fund year: the dual rate, and a re-solve with ``delta`` more [fund unit] (default 1)."""
    pr = opt.problem
    a = pr.arrays
    money = a.fund_unit_factor
    extra = 1.0 if delta is None else delta
    last = a.n_years - 1
    everyone = np.arange(a.n_clusters)
    base_revenue = scope_values(opt.projection, "revenue", everyone)[0, last]
    base_met = int(opt.ledger.met[:, 0].sum())
    out = []
    for pos, t in enumerate(pr.years):
        entry = Marginal(
            int(a.years[t]),
            extra,
            a.fund_unit,
            _dual_rate(opt, pos),
            None,
            None,
            None,
            0.0,
            0.0,
            int(a.years[last]),
            "",
        )
        grant, note = _resolve(opt, pos, extra * money)
        if grant is None:
            entry.note = note
            out.append(entry)
            continue
        p = project(a, grant)
        budget = a.budget.copy()
        budget[t] += extra * money
        broken = breaches(check_rules(dataclasses.replace(a, budget=budget), grant, p))
        led = ledger(p, opt.ledger.specs, pr.reference)
        value = objective_value(led, opt.movable, opt.objective_name)
        added = (grant - opt.grant).sum(axis=(1, 2)) / money
        best = int(np.argmax(added))
        entry.objective_change = _zero(
            improvement(opt.objective_name, opt.objective, value), opt.objective
        )
        entry.targets_met_change = int(led.met[:, 0].sum()) - base_met
        revenue = scope_values(p, "revenue", everyone)[0, last]
        entry.horizon_revenue_gain = float(
            _zero(revenue - base_revenue, base_revenue) * display_factor("money")
        )
        if added[best] > ZERO * extra:
            entry.best_cluster = a.cluster_ids[best]
            entry.best_cluster_amount = float(min(added[best], extra))
        entry.note = _note(entry, added.sum(), extra, spending_is_forced(a), broken)
        out.append(entry)
    return out


def _note(entry: Marginal, spent: float, extra: float, forced: bool, broken: list[str]) -> str:
    if broken:
        return "not exact: the re-solved allocation breaks " + ", ".join(broken)
    change = entry.objective_change or 0.0
    if change < 0:
        why = (
            "it must be spent (must_spend or minimum shares)" if forced else "of the rules it meets"
        )
        return f"harm: one more unit makes the objective worse, because {why}"
    if spent <= ZERO * extra:
        return "not spent: nothing it could buy improves the objective"
    if change == 0:
        return "spent, but the objective does not change (targets met or out of the fund's reach)"
    return ""


def limit_marginals(opt: Optimised) -> list[dict]:
    """Rate per display unit of each land or energy limit row (LP only)."""
    from ..core.limits import LIMITS

    out = []
    sol = opt.solution
    for limit in LIMITS:
        from .blocks import row_key

        for con in getattr(opt.model, limit.name).values():
            y = row_key(con)
            rate = opt.highs.dual(sol, con) if sol.has_duals else None
            slack = opt.highs.slack(sol, con)
            scale = max(1.0, abs(opt.highs.rhs(con)))
            rate_per_unit = None
            if rate is not None and limit.indicator != "energy_intensity":
                rate_per_unit = _zero(-rate / display_factor(limit.unit_kind))
            out.append(
                {
                    "limit": limit.field,
                    "year": y,
                    "binding": slack is not None and slack <= BINDING_TOLERANCE * scale,
                    # improvement per display unit (亩, 万tce); intensity rows are N − r·D ≤ 0
                    "rate_per_unit": rate_per_unit,
                    "unit": DISPLAY[limit.unit_kind],
                }
            )
    return out


def binding(opt: Optimised) -> list[str]:
    """The rules that bind at the optimum, by scenario field, years grouped:
    ``funds.budget (2020, 2021)``."""
    years: dict[str, list[str]] = {}
    for con in opt.highs.rows:
        named = conflict(con, opt.model)
        if named is None:
            continue
        slack = opt.highs.slack(opt.solution, con)
        if slack is not None and slack <= BINDING_TOLERANCE * max(1.0, abs(opt.highs.rhs(con))):
            years.setdefault(named["field"], [])
            if named["year"] is not None:
                years[named["field"]].append(str(named["year"]))
    return [f"{f} ({', '.join(sorted(set(y)))})" if y else f for f, y in sorted(years.items())]
