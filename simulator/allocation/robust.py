"""Robust allocation: solve the sample-average model (:mod:`.robust_model`) over N sampled
futures, and hold its allocation to the projection in every one of them.

The relaxed model (every pipeline on shared investment steps, each cell relaxed to the convex
hull of its pipelines' graph) is solved first; where its optimum lies inside a hull, the
ordering MIP gives those cells binaries (:func:`_order`), and a held repair gives an allocation
in order whose gap to the best proven bound says whether it is optimal within the MIP's own
tolerance. The procedure, with measured cases, is in docs/uncertainty.md §4.

The audit projects the returned grants in each future (the same code as ``run`` and
``uncertain``) and checks that the model's shortfalls, and so its risk measure, are what the
projection gives; that every pipeline — the scenario's and each leverage regime's — was filled
in order; and the deterministic audit of the fund rules and limits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core.projection import Projection, project
from ..core.response import effective_investment, mobilised_investment
from ..core.targets import MET_TOLERANCE, Ledger, TargetSpec, ledger
from ..errors import SolverStopped
from ..scenario.arrays import ScenarioArrays
from ..uncertainty.montecarlo import cvar
from ..uncertainty.sampling import future
from ..uncertainty.spec import UncertaintySpec
from .audit import AuditError, audit
from .optimise import (
    MIP_ORDER_TOLERANCE,
    check_fixed_limits,
    check_hard_targets,
    effective_from,
    grant_from,
    out_of_order,
    paused_gc,
    predicted_revenue,
    solved,
    spending_is_forced,
    trim,
)
from .optimise import optimise as optimise_deterministic
from .problem import build_problem
from .robust_model import build_robust_model
from .robust_problem import RobustProblem, build_robust, effects, shortfalls
from .solve import HighsModel, Solution, quiet


@dataclass
class RobustOptimised:
    problem: RobustProblem
    risk: str
    level: float | None
    grant: np.ndarray  # (c, t, k) [亿元]
    projection: Projection  # the deterministic scenario with the grant
    ledger: Ledger  # … its targets
    shortfall: np.ndarray  # (robust targets, n) in every future, from the projection
    solution: Solution
    highs: HighsModel
    checks: list[str]
    timings: dict = field(default_factory=dict)

    bound: float | None = None  # a proven bound on the risk measure (held or trimmed)
    trimmed: bool = False  # not proven optimal: made exact by a repair, gap above tolerance
    #: how it was made exact: "held" (cells held to a fill pattern, re-optimised) or "trimmed"
    repair: str = ""
    #: the ordering MIP whose first aim fixed the fill pattern (exported instead of ``highs``)
    ordering: HighsModel | None = None
    #: the ordering MIP's proven relative gap on the first aim
    ordering_gap: float | None = None

    @property
    def exported(self) -> HighsModel:
        """The model that decided the allocation: the ordering MIP, else the LP."""
        return self.ordering or self.highs

    @property
    def status(self) -> str:
        """``optimal`` (a held repair counts when within the ordering MIP's tolerance of its
        bound), ``time_limit`` (a MIP stopped), or ``gap``: the exact problem is a MIP that did
        not finish here; the allocation was repaired (held or trimmed: every rule holds) and
        :attr:`bound`, when proven, bounds the best possible value."""
        return "gap" if self.trimmed else self.solution.status

    @property
    def gap(self) -> float | None:
        if self.bound is None:
            return None
        return abs(self.measure - self.bound) / max(1e-12, abs(self.measure))

    @property
    def loss(self) -> np.ndarray:
        """(n,) Σ_j w_j s_(n,j) over the robust targets."""
        w = np.array([t.spec.weight for t in self.problem.targets])
        return (w[:, None] * self.shortfall).sum(axis=0)

    @property
    def measure(self) -> float:
        """The risk measure on the projection: mean, CVaR_α, or targets likely."""
        if self.risk == "cvar":
            return cvar(self.loss, self.level)
        if self.risk == "chance":
            met = self.shortfall <= 0.0
            w = np.array([t.spec.weight for t in self.problem.targets])
            return float(np.sum(w * (met.mean(axis=1) >= self.level - 1e-12)))
        return float(self.loss.mean())


def optimise_robust(
    a: ScenarioArrays,
    specs: list[TargetSpec],
    spec: UncertaintySpec,
    *,
    samples: int,
    seed: int,
    risk: str,
    level: float | None,
    time_limit: float | None = None,
    log: str | None = None,
) -> RobustOptimised:
    clock = time.perf_counter()
    with paused_gc():
        base = build_problem(a, specs)
        check_hard_targets(base)
        check_fixed_limits(base)
        f = future(spec, a.n_clusters, a.n_years, seed, 0, samples)
        rp = build_robust(base, specs, f)
    timings = {"build_seconds": time.perf_counter() - clock}
    deadline = None if time_limit is None else clock + time_limit
    relaxed = _solve(rp, risk, level, None, time_limit, log, timings)
    lp, first = relaxed
    try:
        if not len(_wrong_cells(rp, lp, first)) and first.status == "optimal":
            return _finish(rp, lp, first, risk, level, timings)
        if lp.is_mip:  # chance: the model is a MIP already
            return _order_chance(rp, relaxed, risk, level, deadline, log, timings)
        return _order(rp, relaxed, risk, level, deadline, log, timings)
    except AuditError as exc:
        exc.save_model = lambda path: lp.write(str(path))
        raise


def _order(rp, relaxed, risk, level, deadline, log, timings) -> RobustOptimised:
    """The relaxed LP filled some cells out of order: order them by binaries (the ordering MIP,
    first aim), in rounds that add the cells its optimum puts out of order; after each round a
    held repair from the MIP's optimum, optimal when within :data:`ROBUST_MIP_GAP` of the best
    proven bound (the relaxation's, then the MIPs' dual bounds)."""
    lp, sol = relaxed
    bound = (
        (sol.aim_values[0] if sol.aim_values else sol.objective)
        if sol.status == "optimal"
        else None
    )
    source, cells, best = relaxed, np.zeros((0, 2), int), None
    n_steps = max(1, lp.model.steps.shape[1] - 1)
    for _ in range(ORDER_ROUNDS):
        cells = _cells_to_order(rp, lp, source, cells, n_steps)
        budget = _order_budget(deadline, timings)
        if len(cells) * n_steps > MAX_ORDER_BINARIES or budget < 1.0:
            break
        found = _ordered_first_aim(rp, risk, level, cells, budget, log, timings)
        if found is None:
            break
        if found[1].dual_bound is not None and bound is not None:
            bound = max(bound, found[1].dual_bound)  # a minimised aim: the MIP's is tighter
        if not len(_wrong_cells(rp, *found)):
            return _after_ordering(rp, lp, found, risk, level, deadline, timings)
        source = found
        held = _hold_pattern(rp, lp, source, bound, risk, level, deadline, timings)
        if held is not None and (best is None or held.measure < best.measure):
            best = held
        if best is not None and best.status == "optimal":
            return best
    if best is None:
        best = _hold_pattern(rp, lp, relaxed, bound, risk, level, deadline, timings)
    return best if best is not None else _finish_trimmed(rp, *relaxed, risk, level, timings)


def _cells_to_order(rp, lp, source, cells, n_steps) -> np.ndarray:
    """The cells the next ordering MIP gives binaries: those filled out of order so far, and
    every cell when all fit within :data:`EVERY_CELL_BINARIES`; on a large model (where each
    round's root LP is the cost) also the cells with a step part-filled, whose pattern is what
    the MIP may change (a new out-of-order cell is usually one of them)."""
    cells = np.unique(np.concatenate([cells, _wrong_cells(rp, *source)]), axis=0)
    every = _every_cell(rp)
    if len(every) * n_steps <= EVERY_CELL_BINARIES:
        return every
    likely = np.unique(np.concatenate([cells, _part_filled(*source)]), axis=0)
    large = lp.highs.getNumRow() >= INTERIOR_POINT_ROWS
    if large and len(likely) * n_steps <= MAX_ORDER_BINARIES:
        return likely
    return cells


def _after_ordering(rp, lp, found, risk, level, deadline, timings) -> RobustOptimised:
    """The ordering MIP's optimum is in order everywhere: the later aims on the relaxed LP with
    every cell held to its fill pattern (which contains that optimum, so the first aim keeps
    its value: lexicographic within the pattern), from the relaxed basis."""
    hm, sol = found
    _pattern_bounds(rp, lp, steps_of_solution(*found))
    left = None if deadline is None else deadline - time.perf_counter()
    held = lp.solve(time_limit=left)
    _spend(timings, "solve_seconds", held.timings["solve_seconds"])
    if held.status == "optimal" and held.x is not None:  # else the MIP's own optimum
        hm, sol = lp, held
    result = _finish(rp, hm, sol, risk, level, timings)
    result.ordering, result.ordering_gap = found[0], found[1].mip_gap
    return result


def _order_chance(rp, relaxed, risk, level, deadline, log, timings) -> RobustOptimised:
    """``chance`` (a MIP already): ordering binaries on the offending cells, every aim a MIP;
    else the held repair or the trimmed relaxation."""
    hm, sol = relaxed
    cells = np.zeros((0, 2), int)
    n_steps = max(1, hm.model.steps.shape[1] - 1)
    for _ in range(ORDER_ROUNDS):
        cells = _cells_to_order(rp, relaxed[0], (hm, sol), cells, n_steps)
        budget = _order_budget(deadline, timings)
        if len(cells) * n_steps > MAX_ORDER_BINARIES or budget < 1.0:
            break
        hm, sol = _solve(rp, risk, level, cells, budget, log, timings)
        if sol.status != "optimal":
            break
        if not len(_wrong_cells(rp, hm, sol)):
            return _finish(rp, hm, sol, risk, level, timings)
    held = _hold_pattern(rp, relaxed[0], relaxed, None, risk, level, deadline, timings)
    return held if held is not None else _finish_trimmed(rp, *relaxed, risk, level, timings)


#: the ordering MIP's relative gap: far below the sample-average objective's own sampling error
#: (its standard error over N futures is reported beside it); the deterministic MIPs keep 1e-7
ROBUST_MIP_GAP = 1e-4


def _ordered_first_aim(rp, risk, level, cells, time_limit, log, timings):
    """The first aim with the steps of ``cells`` filled in order by binaries: (model, solution)
    when proven optimal within :data:`ROBUST_MIP_GAP`, else None. The MIP's LPs are solved by
    the interior point method where the solver offers it (the robust LP is large)."""
    hm = _build(rp, risk, level, cells, time_limit, log, timings)
    hm.highs.setOptionValue("mip_rel_gap", ROBUST_MIP_GAP)
    if hm.highs.getNumRow() >= INTERIOR_POINT_ROWS:
        with quiet():
            hm.highs.setOptionValue("mip_lp_solver", "ipm")  # HiGHS ≥ 1.14; else ignored
    sol = hm.solve(aims=1)
    _spend(timings, "solve_seconds", sol.timings["solve_seconds"])
    if sol.status != "optimal" or sol.x is None:
        return None
    return hm, solved(rp.base, hm, sol)


def _hold_pattern(rp, lp, source, bound, risk, level, deadline, timings):
    """A feasible allocation from an allocation filled out of order (``source``: (model,
    solution)): its grants trimmed to what the scenario's pipeline counts, then every cell of
    the relaxed LP ``lp`` held by bounds to the steps those grants fill and the allocation
    re-optimised within them, from the LP's basis. Optimal when within :data:`ROBUST_MIP_GAP`
    of ``bound`` (a proven bound on the first aim), else status ``gap``. None when it does not
    end in order, or spending is forced (trimming would leave money unspent)."""
    if spending_is_forced(rp.base.arrays):
        return None
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and left < 1.0:
        return None
    grant = _trimmed_grant(rp, *source)
    raw = mobilised_investment(grant, rp.base.arrays)[rp.base.clusters][:, rp.base.years]
    _pattern_bounds(rp, lp, steps_in_order(lp, raw))
    held = lp.solve(time_limit=left)
    _spend(timings, "solve_seconds", held.timings["solve_seconds"])
    if held.status != "optimal" or held.x is None or len(_wrong_cells(rp, lp, held)):
        return None
    result = _finish(rp, lp, held, risk, level, timings)
    result.repair, result.bound = "held", bound
    # proven within the ordering MIP's own tolerance of a valid bound: as optimal as the MIP
    result.trimmed = not (
        bound is not None and result.gap is not None and result.gap <= ROBUST_MIP_GAP
    )
    return result


def _trimmed_grant(rp, hm, sol) -> np.ndarray:
    """The solution's grants scaled down where the scenario's pipeline was filled out of order
    to the least money that gives the model's effective investment in order."""
    pr = rp.base
    grant = grant_from(sol, hm, pr)
    u = effective_from(sol, hm, pr)
    return trim(grant, u, pr.arrays, out_of_order(grant, u, pr.arrays, _tolerance(rp, grant)))


#: a robust LP with at least this many rows is first solved by the interior point method
#: (measured: 120,000 rows, 1,000 futures of a 100-cluster scenario, 10 s against 49 s by the
#: dual simplex; the later aims start from its crossover basis)
INTERIOR_POINT_ROWS = 20_000


def _pattern_bounds(
    rp: RobustProblem, hm: HighsModel, fill: np.ndarray, cells: np.ndarray | None = None
) -> None:
    """Hold the investment steps of ``cells`` ((k, 2) cluster and year positions; every cell by
    default) to the pattern ``fill`` (c', t', K) [亿元] has, as column bounds (an LP, no
    binaries): a step ``fill`` fills is full, the step after one it does not fill is empty — so
    every pipeline fills in order there whatever the LP chooses within them. Earlier holds of
    those cells are replaced."""
    lengths = hm.model.steps
    first, shape = hm.compiled.blocks["v_step"]
    cells = _every_cell(rp) if cells is None else np.asarray(cells, dtype=int).reshape(-1, 2)
    i, s = cells[:, 0][:, None], cells[:, 1][:, None]
    k = np.arange(shape[2])[None, :]
    width = lengths[cells[:, 0]]  # (cells, K)
    full = fill[i, s, k] >= width * (1 - STEP_TOLERANCE) - STEP_TOLERANCE
    before_full = np.concatenate([np.ones((len(cells), 1), bool), full[:, :-1]], axis=1)
    index = tuple(np.broadcast_to(x, full.shape) for x in (i, s, k))
    columns = first + np.ravel_multi_index(index, shape)
    lower = np.where(full, width, 0.0)
    upper = np.where(before_full, width, 0.0)
    hm.set_column_bounds(columns.reshape(-1), lower.reshape(-1), upper.reshape(-1))


#: a step filled to within this (relative to its length, and absolute) counts as full: a MIP's
#: solution meets its rows to HiGHS's feasibility tolerance, not exactly
STEP_TOLERANCE = 1e-6


def steps_in_order(hm: HighsModel, raw: np.ndarray) -> np.ndarray:
    """(c', t', K) the steps mobilised investment ``raw`` (c', t') [亿元] fills, in order."""
    lengths = hm.model.steps
    starts = np.cumsum(lengths, axis=1) - lengths
    return np.clip(raw[:, :, None] - starts[:, None, :], 0.0, lengths[:, None, :])


def steps_of_solution(hm: HighsModel, sol: Solution) -> np.ndarray:
    """(c', t', K) the model's step fills in solution ``sol``."""
    cols, shape = hm.block("v_step")
    return sol.x[cols].reshape(shape)


def _every_cell(rp: RobustProblem) -> np.ndarray:
    """(c·t, 2) every (cluster, year) position of the model."""
    nc, nt = len(rp.base.clusters), len(rp.base.years)
    return np.stack(np.meshgrid(np.arange(nc), np.arange(nt), indexing="ij"), -1).reshape(-1, 2)


#: the most binaries (cells × steps) the ordering MIP may add before the relaxed optimum is
#: repaired instead (a feasible allocation with a proven gap); every cell gets them when all
#: fit within EVERY_CELL_BINARIES
MAX_ORDER_BINARIES = 1000
EVERY_CELL_BINARIES = 400


def _part_filled(hm: HighsModel, sol: Solution) -> np.ndarray:
    """(k, 2) cells (cluster, year positions) with a step neither empty nor full."""
    fill = steps_of_solution(hm, sol)
    lengths = hm.model.steps[:, None, :]
    tol = STEP_TOLERANCE * np.maximum(lengths, 1.0)
    part = (fill > tol) & (fill < lengths - tol)
    return np.argwhere(part.any(axis=2))


#: seconds the ordering MIP may take without a time limit (or 4 × the relaxed solve, if longer)
ORDER_SECONDS = 20.0
#: seconds kept back from the time limit for the repair should the MIP not finish
REPAIR_RESERVE = 5.0


def _order_budget(deadline: float | None, timings: dict) -> float:
    """Seconds the next ordering MIP may take: what is left of the time limit but the repair's
    reserve; without a limit, :data:`ORDER_SECONDS` or four times the relaxed solve."""
    if deadline is None:
        return max(ORDER_SECONDS, 4.0 * timings.get("solve_seconds", 0.0))
    return deadline - time.perf_counter() - REPAIR_RESERVE


#: rounds of ordering the cells a relaxed solve filled out of order (each a MIP on more cells)
ORDER_ROUNDS = 10


def _build(rp, risk, level, ordered, time_limit, log, timings) -> HighsModel:
    """Build the robust model (``ordered`` cells fill in order by binaries) and hand it over."""
    clock = time.perf_counter()
    with paused_gc():
        m = build_robust_model(rp, risk, level, ordered=ordered)
        built = time.perf_counter()
        hm = HighsModel(m, time_limit=time_limit, log=log)
    _spend(timings, "build_seconds", built - clock)
    _spend(timings, "handoff_seconds", hm.handoff_seconds)
    return hm


def _spend(timings: dict, stage: str, seconds: float) -> None:
    timings[stage] = timings.get(stage, 0.0) + seconds


def _solve(rp, risk, level, ordered, time_limit, log, timings):
    """Build, hand over and solve; ``ordered`` cells fill in order by binaries."""
    hm = _build(rp, risk, level, ordered, time_limit, log, timings)
    hm.interior_point_first = hm.highs.getNumRow() >= INTERIOR_POINT_ROWS
    sol = hm.solve()
    if sol.status == "infeasible":  # the rules and limits are the deterministic model's
        a, specs = rp.base.arrays, [d.spec for d in rp.base.targets]
        optimise_deterministic(a, specs, time_limit=time_limit)  # raises its diagnosis
        raise AuditError("the robust model is infeasible but the deterministic one is not")
    sol = solved(rp.base, hm, sol)
    _spend(timings, "solve_seconds", sol.timings["solve_seconds"])
    return hm, sol


def _tolerance(rp: RobustProblem, grant: np.ndarray) -> float:
    """After several stages with their faces fixed, a fill can be off by the solver's
    tolerances, which compound: held to 1e-6 of the largest investment mobilised."""
    raw = mobilised_investment(grant, rp.base.arrays)
    return MIP_ORDER_TOLERANCE * max(1.0, float(raw.max(initial=0.0)) * rp.leverage.max())


def _wrong_cells(rp: RobustProblem, hm: HighsModel, sol: Solution) -> np.ndarray:
    """(k, 2) (cluster, year) positions where some pipeline was filled out of order."""
    det, regime = _out_of_order(rp, hm, sol)
    return np.unique(np.concatenate([det, regime[:, 1:]]), axis=0)


def _out_of_order(rp: RobustProblem, hm: HighsModel, sol: Solution):
    """Cells filled out of order: ((k, 2) (cluster, year) positions of the scenario's pipeline,
    (k, 3) (regime, cluster, year) positions of the regimes')."""
    pr = rp.base
    grant = grant_from(sol, hm, pr)
    raw = mobilised_investment(grant, pr.arrays)
    tol = _tolerance(rp, grant)
    exact = np.stack([effective_investment(lam * raw, pr.arrays) for lam in rp.leverage])
    gap = exact - regime_effective(rp, sol, hm)
    regime = gap[:, pr.clusters][:, :, pr.years] > tol
    det = out_of_order(grant, effective_from(sol, hm, pr), pr.arrays, tol)
    return np.argwhere(det[pr.clusters][:, pr.years]), np.argwhere(regime)


def _finish_trimmed(rp, hm, sol, risk, level, timings) -> RobustOptimised:
    """The relaxed optimum made exact: grants trimmed where the scenario's pipeline was filled
    out of order (so the limits and hard targets hold on the projection), every future projected
    from the trimmed grants; the relaxed value is a bound (the relaxation contains the trimmed
    allocation with its exact pipelines)."""
    pr = rp.base
    a = pr.arrays
    if spending_is_forced(a):  # trimming would leave money unspent that must be spent
        raise SolverStopped(
            "the robust model needs its pipelines filled in order (a MIP) under forced spending, "
            "and it did not solve in time: raise --time-limit or lower --robust"
        )
    grant = _trimmed_grant(rp, hm, sol)
    specs = [d.spec for d in pr.targets]
    p = project(a, grant)
    checks = audit(a, grant, p, p.primary["revenue"][0])
    checks.append("relaxed optimum trimmed to the scenario's pipeline; bound from the relaxation")
    result = RobustOptimised(
        rp, risk, level, grant, p, ledger(p, specs, pr.reference), _sampled(rp, grant),
        sol, hm, checks, timings,
    )  # fmt: skip
    result.trimmed, result.repair = True, "trimmed"
    # the relaxed optimum bounds every allocation when it is a proven LP optimum; a MIP's
    # incumbent (chance) or a stopped solve bounds nothing, and no bound is claimed
    if not hm.is_mip and sol.status == "optimal":
        result.bound = sol.aim_values[0] if sol.aim_values else sol.objective
        if result.measure < result.bound - 1e-6 * max(1.0, abs(result.bound)):
            raise AuditError("the trimmed allocation beats the relaxation that contains it")
    return result


def _sampled(rp: RobustProblem, grant: np.ndarray) -> np.ndarray:
    """(robust targets, n) shortfalls of ``grant`` in every future, from the projection."""
    specs = [d.spec for d in rp.base.targets]
    led = ledger(project(rp.base.arrays, grant, future=rp.future), specs, rp.reference)
    rows = [t.index for t in rp.targets]
    return np.where(led.met[rows], 0.0, np.nan_to_num(led.shortfall[rows]))


def regime_effective(rp: RobustProblem, sol: Solution, hm: HighsModel) -> np.ndarray:
    """(R, c, t) the model's effective investment per leverage regime, on all clusters."""
    a = rp.base.arrays
    cols, shape = hm.block("v_reffective")
    out = np.zeros((len(rp.leverage), a.n_clusters, a.n_years))
    out[:, rp.base.clusters[:, None], rp.base.years[None, :]] = sol.x[cols].reshape(shape)
    return np.maximum(out, 0.0)


def _finish(rp, hm, sol, risk, level, timings) -> RobustOptimised:
    pr = rp.base
    a = pr.arrays
    grant = grant_from(sol, hm, pr)
    raw = mobilised_investment(grant, a)
    tol = _tolerance(rp, grant)
    if out_of_order(grant, effective_from(sol, hm, pr), a, tol).any():
        raise AuditError("the scenario's pipeline was filled out of order in the robust model")
    u_model = regime_effective(rp, sol, hm)
    exact = np.stack([effective_investment(lam * raw, a) for lam in rp.leverage])
    if np.any(exact - u_model > tol):
        raise AuditError("a leverage regime's pipeline was filled out of order")
    specs = [d.spec for d in pr.targets]
    p = project(a, grant)
    det = ledger(p, specs, pr.reference)
    checks = audit(a, grant, p, predicted_revenue(effective_from(sol, hm, pr), pr))
    # every future, projected: the shortfalls the model optimised
    short = _sampled(rp, grant)
    model_short = shortfalls(rp, effects(rp, exact))
    # the projection calls a target met when it misses by less than MET_TOLERANCE: the model's
    # rows may show that sliver as a shortfall; anything larger is a disagreement
    met = short == 0.0
    agree = np.all(model_short[met] <= 2 * MET_TOLERANCE)
    model_short = np.where(met, 0.0, model_short)
    if not agree or not np.allclose(model_short, short, rtol=1e-6, atol=1e-7):
        raise AuditError("the robust rows differ from the projection in some future")
    checks.append("robust rows equal the projection in every future (1e-6)")
    result = RobustOptimised(rp, risk, level, grant, p, det, short, sol, hm, checks, timings)
    model_value = sol.aim_values[0] if sol.aim_values else sol.objective
    value = result.measure
    if risk == "chance":
        ok = value >= model_value - 1e-6 * max(1.0, abs(model_value))
    else:
        ok = abs(model_value - value) <= 1e-6 * max(1.0, abs(value))
    if not ok and sol.status == "optimal":
        raise AuditError(
            f"the model's {risk} ({model_value:.9g}) differs from the projection's ({value:.9g})"
        )
    checks.append(f"model's {risk} equals the projection's (1e-6)")
    return result
