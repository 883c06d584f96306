"""Robust allocation: solve the sample-average model (:mod:`.robust_model`) over N sampled
futures, and hold its allocation to the projection in every one of them.

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
    spending_is_forced,
    trim,
)
from .optimise import optimise as optimise_deterministic
from .problem import build_problem
from .robust_model import build_robust_model
from .robust_problem import RobustProblem, build_robust, effects, shortfalls
from .solve import HighsModel, Solution


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

    bound: float | None = None  # a proven bound on the risk measure when not optimal
    trimmed: bool = False  # not proven optimal: made exact from the relaxed optimum
    #: how it was made exact: "held" (cells held to a fill pattern, re-optimised) or "trimmed"
    repair: str = ""

    @property
    def status(self) -> str:
        """``optimal``, ``time_limit`` (a MIP stopped), or ``gap``: the relaxed optimum filled a
        pipeline out of order where the exact problem is a MIP too large to solve here; its
        grants were trimmed to what the scenario's pipeline counts (every rule holds) and the
        relaxed optimum bounds the best possible value (:attr:`bound`)."""
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
    hm, sol = relaxed
    cells = np.zeros((0, 2), int), np.zeros((0, 3), int)
    for _ in range(ORDER_ROUNDS):
        wrong = _out_of_order(rp, hm, sol)
        if not (len(wrong[0]) or len(wrong[1])):
            break
        # fill those cells in order by binaries (and keep the earlier rounds' cells); when a
        # pipeline's every cell fits within the binaries allowed, all of them at once (holding
        # some cells only moves the out-of-order filling to the others)
        cells = tuple(
            np.unique(np.concatenate([c, w]), axis=0) for c, w in zip(cells, wrong, strict=True)
        )
        cells = _whole_pipelines(rp, cells)
        n_binary = (len(cells[0]) + len(cells[1])) * max(1, rp.base.arrays.pipeline_widths.shape[1])
        left = None if deadline is None else deadline - time.perf_counter()
        if n_binary > MAX_ORDER_BINARIES or (left is not None and left < 1.0):
            break
        budget = ORDER_SECONDS if left is None else min(left, ORDER_SECONDS)
        hm, sol = _solve(rp, risk, level, cells, budget, log, timings)
        if sol.status != "optimal":
            break
    try:
        if not any(len(w) for w in _out_of_order(rp, hm, sol)) and sol.status == "optimal":
            return _finish(rp, hm, sol, risk, level, timings)
        held = _hold_pattern(rp, relaxed, risk, level, deadline, log, timings)
        if held is not None:
            return held
        return _finish_trimmed(rp, *relaxed, risk, level, timings)
    except AuditError as exc:
        exc.save_model = lambda path: hm.write(str(path))
        raise


def _hold_pattern(rp, relaxed, risk, level, deadline, log, timings):
    """A feasible allocation at least as good as the trimmed one: the relaxed optimum's grants
    trimmed, then every pipeline cell held to the segment those grants reach (by bounds: an
    LP) and the allocation re-optimised within them. Not proven optimal: the relaxation's value
    is the bound. None when it does not end in order (then the trimmed grants are returned)."""
    hm, sol = relaxed
    if spending_is_forced(rp.base.arrays):
        return None
    grant = _trimmed_grant(rp, hm, sol)
    # every cell of every pipeline held: each stays in the segment the trimmed grants reach,
    # so every pipeline fills in order whatever the LP chooses within it
    nc, nt, nr = len(rp.base.clusters), len(rp.base.years), len(rp.leverage)
    every = np.stack(np.meshgrid(np.arange(nc), np.arange(nt), indexing="ij"), -1).reshape(-1, 2)
    regimes = np.concatenate([np.column_stack([np.full(len(every), r), every]) for r in range(nr)])
    cells = (every, regimes)
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and left < 1.0:
        return None
    # the relaxed model itself, its columns held by bounds, re-solved from its optimal basis
    bound = sol.aim_values[0] if sol.aim_values else sol.objective
    proven = not hm.is_mip and sol.status == "optimal"
    held_hm = hm
    _pattern_bounds(rp, held_hm, cells, grant)
    held = held_hm.solve(time_limit=left)
    from .optimise import solved

    held = solved(rp.base, held_hm, held)
    timings["solve_seconds"] = timings.get("solve_seconds", 0.0) + held.timings["solve_seconds"]
    if held.status != "optimal" or any(len(w) for w in _out_of_order(rp, held_hm, held)):
        return None
    result = _finish(rp, held_hm, held, risk, level, timings)
    result.trimmed, result.repair = True, "held"
    if proven:
        result.bound = bound
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


def _pattern_bounds(rp: RobustProblem, hm: HighsModel, cells, grant: np.ndarray) -> None:
    """Hold the ``cells`` to the segments ``grant`` fills, as column bounds (an LP, no
    binaries): a segment the grant fills is full (its fill at its width), and the segment after
    one it does not fill is empty."""
    from ..core.response import pipeline_segments

    a = rp.base.arrays
    edges, widths, _ = pipeline_segments(a)
    raw = mobilised_investment(grant, a)
    cl, yr = rp.base.clusters, rp.base.years
    n_p = widths.shape[1] - 1
    det, reg = (np.asarray(c, int) for c in cells)
    for var, cells_, lam in (
        ("v_fill", det.reshape(-1, 2), None),
        ("v_rfill", reg.reshape(-1, 3), rp.leverage),
    ):
        if len(cells_) == 0 or n_p == 0:
            continue
        if lam is None:
            i, s, r = cells_[:, 0], cells_[:, 1], None
            amount = raw[cl[i], yr[s]]
        else:
            r, i, s = cells_[:, 0], cells_[:, 1], cells_[:, 2]
            amount = lam[r] * raw[cl[i], yr[s]]
        first, shape = hm.compiled.blocks[var]
        lower, upper = hm.col_lower.copy(), hm.col_upper.copy()
        for q in range(n_p):
            full = amount >= edges[cl[i], q + 1] * (1 - 1e-12)
            index = (i, s, np.full(len(i), q)) if r is None else (r, i, s, np.full(len(i), q))
            nxt = (i, s, np.full(len(i), q + 1)) if r is None else (r, i, s, np.full(len(i), q + 1))
            this = first + np.ravel_multi_index(index, shape)
            after = first + np.ravel_multi_index(nxt, shape)
            lower[this[full]] = widths[cl[i], q][full]
            upper[after[~full]] = 0.0
        changed = np.flatnonzero((lower != hm.col_lower) | (upper != hm.col_upper))
        if len(changed):
            hm.set_column_bounds(changed, lower[changed], upper[changed])


def _whole_pipelines(rp: RobustProblem, cells):
    """Every cell of a pipeline (the scenario's; the regimes') that has one out of order,
    where all its cells fit within :data:`MAX_ORDER_BINARIES`."""
    n_seg = max(1, rp.base.arrays.pipeline_widths.shape[1])
    nc, nt = len(rp.base.clusters), len(rp.base.years)
    det, reg = cells
    every = np.stack(np.meshgrid(np.arange(nc), np.arange(nt), indexing="ij"), -1).reshape(-1, 2)
    if len(det) and len(every) * n_seg <= MAX_ORDER_BINARIES // 2:
        det = every
    regimes = np.unique(reg[:, 0]) if len(reg) else np.zeros(0, int)
    if len(regimes) and len(regimes) * len(every) * n_seg <= MAX_ORDER_BINARIES // 2:
        reg = np.concatenate([np.column_stack([np.full(len(every), r), every]) for r in regimes])
    return det, reg


#: the most binaries (cells × segments) the ordering MIP may add, and the seconds it may take,
#: before the relaxed optimum is trimmed instead (a feasible allocation with a proven gap)
MAX_ORDER_BINARIES = 400
ORDER_SECONDS = 20.0


#: rounds of ordering the cells a relaxed solve filled out of order (each a MIP on more cells)
ORDER_ROUNDS = 4


def _solve(rp, risk, level, ordered, time_limit, log, timings):
    """Build, hand over and solve; ``ordered`` cells fill in order by binaries."""
    from .optimise import solved

    clock = time.perf_counter()
    with paused_gc():
        m = build_robust_model(rp, risk, level, ordered=ordered)
        built = time.perf_counter()
        hm = HighsModel(m, time_limit=time_limit, log=log)
    hm.interior_point_first = hm.highs.getNumRow() >= INTERIOR_POINT_ROWS
    sol = hm.solve()
    if sol.status == "infeasible":  # the rules and limits are the deterministic model's
        a, specs = rp.base.arrays, [d.spec for d in rp.base.targets]
        optimise_deterministic(a, specs, time_limit=time_limit)  # raises its diagnosis
        raise AuditError("the robust model is infeasible but the deterministic one is not")
    sol = solved(rp.base, hm, sol)
    timings["build_seconds"] = timings.get("build_seconds", 0.0) + built - clock
    timings["handoff_seconds"] = timings.get("handoff_seconds", 0.0) + hm.handoff_seconds
    timings["solve_seconds"] = timings.get("solve_seconds", 0.0) + sol.timings["solve_seconds"]
    return hm, sol


def _tolerance(rp: RobustProblem, grant: np.ndarray) -> float:
    """After several stages with their faces fixed, a fill can be off by the solver's
    tolerances, which compound: held to 1e-6 of the largest investment mobilised."""
    raw = mobilised_investment(grant, rp.base.arrays)
    return MIP_ORDER_TOLERANCE * max(1.0, float(raw.max(initial=0.0)) * rp.leverage.max())


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
