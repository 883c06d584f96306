"""Optimise the fund allocation: problem data → Pyomo model → HiGHS stages → an exact,
audited allocation.

**Pipeline fill order, exactly.** The relaxed model lets mobilised investment sit in any
pipeline segment; the projection fills them in order. After the stages, the relaxed solution's
effective investment u is compared with what the projection makes of its grants, f(raw):

- equal (to 1e-9): the relaxed optimum is feasible for the exact problem, so it is optimal;
- u < f(raw) and spending is not forced: each such cluster-year's grants are scaled down to
  the least money that gives the same u in order (``mobilised_for``). Every indicator depends
  on the grants only through u, so every aim keeps its value: the trimmed allocation is
  optimal for the exact problem, and the money left is money that could only have hurt;
- u < f(raw) with forced spending (must_spend, minimum shares): the model is rebuilt with the
  ordered-pipeline binaries (a MIP) and solved again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.projection import Projection, project
from ..core.response import effective_investment, mobilised_for, mobilised_investment
from ..core.targets import Ledger, TargetSpec, ledger
from ..errors import InfeasibleError, SolverStopped
from ..scenario.arrays import ScenarioArrays
from .audit import AuditError, audit
from .model import build_model
from .objectives import objective_value
from .problem import AllocationProblem, build_problem
from .solve import HighsModel, Solution

#: effective investment the model and the projection may differ by before the pipeline counts
#: as filled out of order (relative to the cluster-year's mobilised investment, at least 1e-9)
ORDER_TOLERANCE = 1e-9

#: the same for the ordered MIP, whose binaries are integral only to HiGHS's MIP feasibility
#: tolerance (1e-6): the audit then holds the result to the projection within 1e-6
MIP_ORDER_TOLERANCE = 1e-6


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
    pipeline: str  # "in order" | "trimmed" | "ordered (MIP)"
    timings: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.solution.status


def movable_mask(pr: AllocationProblem) -> np.ndarray:
    return np.array([d.movable for d in pr.targets], dtype=bool)


def _read(hm: HighsModel, sol: Solution, name: str, pr: AllocationProblem, shape) -> np.ndarray:
    """A (fundable cluster, fund year[, use]) Var block's values on (all clusters, all years
    [, uses])."""
    cols, block_shape = hm.block(name)
    out = np.zeros(shape)
    out[np.ix_(pr.clusters, pr.years)] = sol.x[cols].reshape(block_shape)
    return out


def grant_from(sol: Solution, hm: HighsModel, pr: AllocationProblem) -> np.ndarray:
    """The grant array (c, t, k) [亿元] of a solution."""
    a = pr.arrays
    grant = _read(hm, sol, "v_grant", pr, (a.n_clusters, a.n_years, len(a.category_ids)))
    return np.maximum(grant, 0.0)  # HiGHS may return −1e-12


def effective_from(sol: Solution, hm: HighsModel, pr: AllocationProblem) -> np.ndarray:
    """Effective investment u (c, t) [亿元] as the model sees it."""
    a = pr.arrays
    return np.maximum(_read(hm, sol, "v_effective", pr, (a.n_clusters, a.n_years)), 0.0)


def predicted_revenue(u: np.ndarray, pr: AllocationProblem) -> np.ndarray:
    """Revenue (c, t) as the model sees it: no-fund revenue + K·u."""
    return pr.reference.primary["revenue"][0] + np.einsum("cts,cs->ct", pr.kernel, u)


def check_hard_targets(pr: AllocationProblem) -> None:
    """A hard target the fund cannot move must already be met, else nothing can meet it."""
    led = ledger(pr.reference, [d.spec for d in pr.targets])
    stuck = [
        f"targets.{d.spec.id} {d.spec.name}"
        for j, d in enumerate(pr.targets)
        if d.spec.hard and not d.movable and not led.met[j, 0]
    ]
    if stuck:
        raise InfeasibleError(
            f"hard target(s) {', '.join(stuck)} are missed without the fund and the fund cannot "
            "move them (nothing the allocation does changes them)",
            conflicts=[{"field": s.split()[0], "name": s} for s in stuck],
        )


def check_fixed_limits(pr: AllocationProblem) -> None:
    """A limit already broken without the fund, in a year no allocation can reach, is
    infeasible whatever the allocation (the model would only see a constant row)."""
    from .diagnose import no_fund_excess

    fixed = [d for d in pr.limits if not len(d.row.coef)]
    broken = no_fund_excess(dataclasses.replace(pr, limits=fixed))
    if broken:
        raise InfeasibleError(
            "infeasible whatever the allocation — " + "; ".join(text for _, text in broken),
            conflicts=[{"field": f, "name": text} for f, text in broken],
        )


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


def out_of_order(
    grant: np.ndarray, u: np.ndarray, a: ScenarioArrays, tolerance: float = ORDER_TOLERANCE
) -> np.ndarray:
    """(c, t) bool: where the model's effective investment is below what the projection makes
    of the grants, i.e. the relaxed pipeline was filled out of order."""
    raw = mobilised_investment(grant, a)
    gap = effective_investment(raw, a) - u
    return gap > tolerance * np.maximum(1.0, raw)


def trim(grant: np.ndarray, u: np.ndarray, a: ScenarioArrays, where: np.ndarray) -> np.ndarray:
    """Scale the grants of cluster-years ``where`` down to the least money giving ``u`` in order."""
    raw = mobilised_investment(grant, a)
    need = mobilised_for(u, a)
    scale = np.where(where & (raw > 0), np.minimum(need / np.where(raw > 0, raw, 1.0), 1.0), 1.0)
    return grant * scale[:, :, None]


def _compile(pr, objective, ordered, budget_ceiling, time_limit, log):
    with paused_gc():
        clock = time.perf_counter()
        m = build_model(pr, objective, ordered_pipeline=ordered, budget_ceiling=budget_ceiling)
        build = time.perf_counter() - clock
        hm = HighsModel(m, time_limit=time_limit, log=log)
    return m, hm, build


def solved(pr: AllocationProblem, hm: HighsModel, sol: Solution) -> Solution:
    """Raise the typed error of a solve that gave no allocation."""
    if sol.status == "infeasible":
        from .diagnose import diagnose

        raise diagnose(pr, hm)
    if sol.x is None and sol.status == "time_limit":
        raise SolverStopped("the time limit ran out before any allocation was found")
    if sol.x is None:
        raise AuditError(f"HiGHS stopped with status {sol.status!r} and no allocation")
    return sol


def optimise(
    a: ScenarioArrays,
    specs: list[TargetSpec],
    objective: str = "shortfall",
    *,
    time_limit: float | None = None,
    ordered: bool | None = None,
    budget_ceiling: float | None = None,
    log: str | None = None,
) -> Optimised:
    """Solve the allocation. ``ordered``: None decides (the relaxed pipeline first; the ordered
    MIP only if spending is forced and the relaxed optimum filled a pipeline out of order),
    True/False force it. ``budget_ceiling`` [亿元/yr]: the largest annual budget a later sweep
    will set. ``time_limit`` [s] bounds all the solves together."""
    clock = time.perf_counter()
    with paused_gc():
        pr = build_problem(a, specs, budget_ceiling)
    check_hard_targets(pr)
    check_fixed_limits(pr)
    problem_seconds = time.perf_counter() - clock
    m, hm, build = _compile(pr, objective, bool(ordered), budget_ceiling, time_limit, log)
    sol = solved(pr, hm, hm.solve())
    timings = {"build_seconds": problem_seconds + build, "handoff_seconds": hm.handoff_seconds}
    timings["solve_seconds"] = sol.timings["solve_seconds"]
    grant, pipeline = settle(pr, hm, sol, allow_mip=False)
    if grant is None and ordered is None:
        spent = time.perf_counter() - clock
        left = None if time_limit is None else max(time_limit - spent, 0.0)
        m, hm, build = _compile(pr, objective, True, budget_ceiling, left, log)
        sol = solved(pr, hm, hm.solve())
        timings["build_seconds"] += build
        timings["handoff_seconds"] += hm.handoff_seconds
        timings["solve_seconds"] += sol.timings["solve_seconds"]
        grant, pipeline = settle(pr, hm, sol, allow_mip=True)
    try:
        if grant is None:
            raise AuditError("the relaxed pipeline was filled out of order under forced spending")
        return finish(pr, m, hm, sol, grant, objective, timings, pipeline)
    except AuditError as exc:
        exc.save_model = lambda path: hm.write(str(path))
        raise


def settle(pr: AllocationProblem, hm: HighsModel, sol: Solution, allow_mip: bool):
    """(grant, how the pipeline order was ensured) for a solution; grant None when only the
    ordered MIP can give an exact allocation."""
    a = pr.arrays
    grant = grant_from(sol, hm, pr)
    u = effective_from(sol, hm, pr)
    ordered = hasattr(hm.model, "v_full")
    wrong = out_of_order(grant, u, a, MIP_ORDER_TOLERANCE if ordered else ORDER_TOLERANCE)
    if not wrong.any():
        return grant, "ordered (MIP)" if ordered else "in order"
    if not spending_is_forced(a):
        return trim(grant, u, a, wrong), "trimmed"
    if allow_mip:
        raise AuditError("the ordered pipeline model filled a segment out of order")
    return None, ""


def finish(
    pr: AllocationProblem,
    m,
    hm: HighsModel,
    sol: Solution,
    grant: np.ndarray,
    objective: str,
    timings: dict,
    pipeline: str,
) -> Optimised:
    """Project, audit and score an allocation the model returned."""
    a = pr.arrays
    p = project(a, grant)
    u = effective_from(sol, hm, pr)
    specs = [d.spec for d in pr.targets]
    led = ledger(p, specs, pr.reference)
    movable = movable_mask(pr)
    value = objective_value(led, movable, objective)
    checks = audit(a, grant, p, predicted_revenue(u, pr))
    checks.append(_agrees(sol, value, objective, led, movable))
    return Optimised(
        pr, objective, grant, p, led, movable, value, sol, hm, m, checks, pipeline, timings
    )


def _agrees(sol: Solution, value: float, objective: str, led: Ledger, movable) -> str:
    """The model's first aim equals the projection's objective (the allocation is scored the
    same by the optimiser and by ``run``/``compare``)."""
    model_value = sol.objective
    if objective == "targets-met" and sol.status == "optimal":
        # the model may count a target met that the projection misses by < 1e-6 relative:
        # never the other way round, and never by more than one weighted target
        ok = value >= model_value - 1e-6 * max(1.0, abs(model_value))
    else:
        total_weight = float(sum(s.weight for s in led.specs))
        ok = abs(model_value - value) <= 1e-6 * max(1.0, abs(value), total_weight)
    if not ok:
        raise AuditError(
            f"the model's {objective} ({model_value:.9g}) differs from the projection's "
            f"({value:.9g})"
        )
    return f"model's {objective} equals the projection's (1e-6)"
