"""Budget sweeps on one model: only the budget rows change; HiGHS re-solves from its last basis.

Every point is settled exactly like a fresh ``optimise`` (stages, pipeline order, audit); a
budget at which the hard constraints cannot hold is a point with status ``infeasible``, and
the sweep goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .optimise import Optimised, finish, settle


@dataclass
class SweepPoint:
    budget: float  # [亿元/yr]
    status: str  # optimal | infeasible | time_limit | …
    result: Optimised | None  # None unless an allocation was found


def budgets(spec: str, unit_factor: float) -> np.ndarray:
    """``START:STOP:STEP`` (inclusive of STOP, in the fund's unit) → canonical 亿元."""
    try:
        start, stop, step = (float(x) for x in spec.split(":"))
    except ValueError:
        raise ValueError("--budget takes START:STOP:STEP, e.g. 0:10:1") from None
    if not all(np.isfinite([start, stop, step])):
        raise ValueError("--budget needs finite numbers")
    if step <= 0 or stop < start or start < 0:
        raise ValueError("--budget needs 0 ≤ START ≤ STOP and STEP > 0")
    n = int(np.floor((stop - start) / step + 1e-9)) + 1
    if n > 10_000:
        raise ValueError(f"--budget gives {n} points; at most 10000")
    return (start + step * np.arange(n)) * unit_factor


def sweep(
    opt: Optimised, values: np.ndarray, progress: Callable[[int], None] | None = None
) -> Iterator[SweepPoint]:
    """Re-solve ``opt``'s model with every fund year's budget set to each value [亿元]."""
    pr = opt.problem
    a = pr.arrays
    ordered = hasattr(opt.model, "v_full")  # its big-M was sized for budget_ceiling
    if ordered and len(values) and max(values) > opt.model.budget_ceiling * (1 + 1e-12):
        raise ValueError(
            f"the model was built for budgets up to {opt.model.budget_ceiling:g}; build it with "
            "optimise(..., budget_ceiling=max(values))"
        )
    hm = opt.highs
    for i, value in enumerate(values):
        budget = a.budget.copy()
        budget[a.fund_years] = value
        hm.set_rhs({con: mult * value for con, (_, mult) in opt.model.budget_rows.items()})
        sol = hm.solve()
        problem = dataclasses.replace(pr, arrays=dataclasses.replace(a, budget=budget))
        if sol.x is None or sol.status not in ("optimal", "time_limit"):
            yield SweepPoint(float(value), sol.status, None)
        else:
            grant, pipeline = settle(problem, hm, sol, allow_mip=ordered)
            if grant is None:
                yield SweepPoint(float(value), "needs the ordered model", None)
            else:
                res = finish(
                    problem, opt.model, hm, sol, grant, opt.objective_name, sol.timings, pipeline
                )
                yield SweepPoint(float(value), sol.status, res)
        if progress:
            progress(i + 1)
