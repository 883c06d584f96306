"""Optimise the fund allocation: problem data → Pyomo model → HiGHS → audited result."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.projection import Projection, project
from ..core.targets import Ledger, TargetSpec, ledger
from ..errors import InfeasibleError
from ..scenario.arrays import ScenarioArrays
from .audit import audit
from .model import build_model
from .objective import objective_value
from .problem import AllocationProblem, build_problem
from .solve import HighsModel, Solution


@dataclass
class Optimised:
    problem: AllocationProblem
    objective_name: str
    grant: np.ndarray  # (c, t, k) [亿元]
    projection: Projection
    ledger: Ledger
    movable: np.ndarray  # (j,) bool
    objective: float  # the objective evaluated on the allocation (numpy)
    solution: Solution
    highs: HighsModel
    model: object
    checks: list[str]
    timings: dict = field(default_factory=dict)


def movable_mask(pr: AllocationProblem) -> np.ndarray:
    return np.array([d.movable for d in pr.targets], dtype=bool)


def _read_back_index(m, pr: AllocationProblem, hm: HighsModel) -> dict:
    """Column positions and array indices of v_grant and v_effective, computed once per model
    (a sweep reads every solution through it)."""
    cached = getattr(m, "read_back", None)
    if cached is not None:
        return cached
    a = pr.arrays
    cluster = {c: i for i, c in enumerate(a.cluster_ids)}
    category = {k: i for i, k in enumerate(a.category_ids)}
    grant_keys = list(m.v_grant.keys())
    effective_keys = list(m.v_effective.keys())
    m.read_back = {
        "grant": (
            hm.positions(m.v_grant[k] for k in grant_keys),
            np.array([cluster[c] for c, _, _ in grant_keys], dtype=int),
            np.array([a.year_index(t) for _, t, _ in grant_keys], dtype=int),
            np.array([category[k] for _, _, k in grant_keys], dtype=int),
        ),
        "effective": (
            hm.positions(m.v_effective[k] for k in effective_keys),
            np.array([cluster[c] for c, _ in effective_keys], dtype=int),
            np.array([a.year_index(t) for _, t in effective_keys], dtype=int),
        ),
    }
    return m.read_back


def grant_from(sol: Solution, m, pr: AllocationProblem) -> np.ndarray:
    """The grant array (c, t, k) [亿元] of a solution."""
    a = pr.arrays
    cols, c, t, k = _read_back_index(m, pr, sol.index)["grant"]
    grant = np.zeros((a.n_clusters, a.n_years, len(a.category_ids)))
    grant[c, t, k] = sol.values(cols)
    return np.maximum(grant, 0.0)  # HiGHS may return −1e-12


def predicted_revenue(sol: Solution, m, pr: AllocationProblem) -> np.ndarray:
    """Revenue (c, t) as the model sees it: no-fund revenue + K·u."""
    a = pr.arrays
    cols, c, t = _read_back_index(m, pr, sol.index)["effective"]
    u = np.zeros((a.n_clusters, a.n_years))
    u[c, t] = sol.values(cols)
    return pr.reference.primary["revenue"][0] + np.einsum("cts,cs->ct", pr.kernel, u)


def check_hard_targets(pr: AllocationProblem) -> None:
    """A hard target the fund cannot move must already be met, else nothing can meet it."""
    from ..core import targets as tg

    led = tg.ledger(pr.reference, [d.spec for d in pr.targets])
    stuck = [
        d.spec.id
        for j, d in enumerate(pr.targets)
        if d.spec.hard and not d.movable and not led.met[j, 0]
    ]
    if stuck:
        raise InfeasibleError(
            f"hard target(s) {', '.join(stuck)} are missed without the fund and the fund cannot "
            "move them (nothing the allocation does changes them)"
        )


def check_fixed_limits(pr: AllocationProblem) -> None:
    """A limit already broken without the fund, in a year no allocation can reach, is
    infeasible whatever the allocation (the model would only see a constant row)."""
    from .diagnose import no_fund_excess

    fixed = [d for d in pr.limits if not len(d.row.coef)]
    broken = no_fund_excess(dataclasses.replace(pr, limits=fixed))
    if broken:
        raise InfeasibleError("infeasible whatever the allocation — " + "; ".join(broken))


@contextlib.contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while Pyomo builds and compiles a model.

    Building creates hundreds of thousands of objects and nothing to collect; the collector's
    full passes were measured at 60 % of ``build_model`` at 1,000 clusters (docs/performance.md).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def spending_is_forced(a: ScenarioArrays) -> bool:
    """Must some money be spent (must_spend, minimum shares)? Then wasting effect can pay."""
    return bool(a.must_spend or (a.share_min[a.fundable] > 0).any() or (a.category_min > 0).any())


def filled_out_of_order(sol: Solution, m, pr: AllocationProblem) -> bool:
    """Does any cluster-year use a later pipeline segment before an earlier one is full?"""
    _, widths, _ = (x[pr.clusters] for x in _pipeline(pr))
    for i, c in enumerate(m.C):
        for t in m.T:
            fills = [sol.value(m.v_fill[c, t, s]) for s in m.M]
            for s in range(len(fills) - 1):
                if fills[s + 1] > 1e-7 and fills[s] < widths[i, s] - 1e-7:
                    return True
    return False


def _pipeline(pr: AllocationProblem):
    from ..core.response import pipeline_segments

    return pipeline_segments(pr.arrays)


def optimise(
    a: ScenarioArrays,
    specs: list[TargetSpec],
    objective: str = "shortfall",
    *,
    time_limit: float | None = None,
    ordered: bool | None = None,
    budget_ceiling: float | None = None,
) -> Optimised:
    """Solve the allocation. ``ordered``: None decides (the LP first; the ordered-pipeline MIP
    only if spending is forced and the LP filled a pipeline out of order), True/False force.
    ``budget_ceiling`` [亿元/yr]: the largest annual budget a later sweep will set."""
    clock = time.perf_counter()
    pr = build_problem(a, specs)
    check_hard_targets(pr)
    check_fixed_limits(pr)
    with paused_gc():
        m = build_model(
            pr, objective, ordered_pipeline=bool(ordered), budget_ceiling=budget_ceiling
        )
        build_seconds = time.perf_counter() - clock
        hm = HighsModel(m, time_limit=time_limit)
    sol = hm.solve()
    if (
        ordered is None
        and sol.status == "optimal"
        and spending_is_forced(a)
        and filled_out_of_order(sol, m, pr)
    ):
        clock = time.perf_counter()
        with paused_gc():
            m = build_model(pr, objective, ordered_pipeline=True, budget_ceiling=budget_ceiling)
            build_seconds += time.perf_counter() - clock
            hm = HighsModel(m, time_limit=time_limit)
        sol = hm.solve()
    if sol.status == "infeasible":
        from .diagnose import diagnose

        raise InfeasibleError(diagnose(pr, hm))
    if sol.status != "optimal":
        raise InfeasibleError(f"HiGHS stopped with status {sol.status!r}")
    return finish(
        pr,
        m,
        hm,
        sol,
        objective,
        {"build_seconds": build_seconds, "handoff_seconds": hm.handoff_seconds, **sol.timings},
    )


def finish(
    pr: AllocationProblem, m, hm: HighsModel, sol: Solution, objective: str, timings: dict
) -> Optimised:
    """Turn a solution into an audited, projected, scored allocation."""
    a = pr.arrays
    grant = grant_from(sol, m, pr)
    p = project(a, grant)
    checks = audit(a, grant, p, predicted_revenue(sol, m, pr))
    specs = [d.spec for d in pr.targets]
    led = ledger(p, specs, pr.reference)
    movable = movable_mask(pr)
    value = objective_value(led, movable, objective)
    return Optimised(pr, objective, grant, p, led, movable, value, sol, hm, m, checks, timings)
