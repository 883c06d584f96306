"""The commands' work, as functions that return typed results: load the scenario, project,
allocate, compare, sweep. No printing and no files here: :mod:`simulator.outputs` writes the
results, :mod:`simulator.cli` prints them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import indicators
from .core.limits import RuleCheck, check_rules
from .core.projection import Projection, project
from .core.targets import Ledger, TargetSpec, compile_targets, ledger
from .errors import InputError
from .scenario import Loaded, ScenarioArrays, compile_arrays, load
from .scenario.calibration import CalibrationRow


@dataclass
class Prepared:
    """A loaded scenario as arrays and target specs."""

    loaded: Loaded
    arrays: ScenarioArrays
    specs: list[TargetSpec]
    seconds: float


def prepare(file, what_ifs=(), sets=(), *, needs_fund: bool = False) -> Prepared:
    clock = time.perf_counter()
    loaded = load(file, what_ifs, sets)
    if needs_fund and loaded.scenario.funds is None:
        raise InputError("the scenario has no fund to allocate", file=str(file), field="funds")
    a = compile_arrays(loaded.scenario)
    specs = compile_targets(loaded.scenario, a)
    return Prepared(loaded, a, specs, time.perf_counter() - clock)


# --------------------------------------------------------------------------- calibration


def calibration_report(loaded: Loaded) -> list[CalibrationRow]:
    """Each figure of the scenario's ``calibration:`` block against the clusters' sum of the
    same quantity in the base year: the projection without the fund at year index 0, through
    the indicators' own definitions (value added = Σ revenue × VA rate, …). A cluster without
    the baselines a quantity needs is left out of its sum and named."""
    from .core.projection import available, cluster_values
    from .scenario.calibration import ClusterSum, compare

    s = loaded.scenario
    if s.calibration is None:
        return []
    a = compile_arrays(s)
    p = project(a)
    ids = np.array(a.cluster_ids, dtype=object)
    sums = {}
    for name in {f.field for f in s.calibration.figures.values()} & set(indicators.EXTENSIVE):
        have = available(a, name)
        values = cluster_values(p, name)[0, :, 0]
        sums[name] = ClusterSum(float(values[have].sum()), tuple(ids[have]), tuple(ids[~have]))
    return compare(s, sums)


# --------------------------------------------------------------------------- run


@dataclass
class RunResult:
    prepared: Prepared
    projection: Projection
    reference: Projection  # without any fund
    ledger: Ledger
    grant: np.ndarray | None  # (c, t, k) [亿元], None without --allocation
    allocation: str | None
    rules: list[RuleCheck]  # every rule of the fund and the limits, for this allocation
    timings: dict = field(default_factory=dict)

    @property
    def breaches(self) -> list[RuleCheck]:
        return [r for r in self.rules if r.breached]


def run(file, what_ifs=(), sets=(), allocation: str | Path | None = None) -> RunResult:
    from .scenario.allocation_file import read_allocation

    prep = prepare(file, what_ifs, sets)
    a = prep.arrays
    grant = read_allocation(allocation, a, check_budget=False) if allocation else None
    clock = time.perf_counter()
    reference = project(a)
    p = project(a, grant) if grant is not None else reference
    led = ledger(p, prep.specs, reference)
    rules = check_rules(a, p.grant, p) if grant is not None else _limits_only(a, p)
    timings = {"load": prep.seconds, "project": time.perf_counter() - clock}
    return RunResult(
        prep, p, reference, led, grant, str(allocation) if allocation else None, rules, timings
    )


def _limits_only(a: ScenarioArrays, p: Projection) -> list[RuleCheck]:
    """Without an allocation, the physical limits still say something about the projection."""
    return [r for r in check_rules(a, p.grant, p) if r.limit.startswith("limits.")]


# --------------------------------------------------------------------------- optimise


@dataclass
class OptimiseResult:
    prepared: Prepared
    opt: object  # allocation.optimise.Optimised
    no_fund: Ledger
    marginals: list  # allocation.marginal.Marginal
    limit_marginals: list[dict]
    binding: list[str]
    solver: dict  # solver.json
    exported: Path | None = None

    @property
    def status(self) -> str:
        return self.opt.status


def optimise(
    file,
    what_ifs=(),
    sets=(),
    objective: str = "shortfall",
    *,
    time_limit: float | None = None,
    solver_log: str | None = None,
    export_model: Callable[[object], None] | None = None,
) -> OptimiseResult:
    """Allocate the fund. ``export_model(highs_model)`` is called with the solved model before
    the marginal re-solves change it."""
    from .allocation import marginal
    from .allocation.optimise import optimise as solve

    prep = prepare(file, what_ifs, sets, needs_fund=True)
    opt = solve(prep.arrays, prep.specs, objective, time_limit=time_limit, log=solver_log)
    if export_model is not None:
        export_model(opt.highs)
    clock = time.perf_counter()
    budget = marginal.budget_marginals(opt)
    limits = marginal.limit_marginals(opt)
    bind = marginal.binding(opt)
    opt.timings["marginal_seconds"] = time.perf_counter() - clock
    no_fund = ledger(opt.problem.reference, prep.specs)
    return OptimiseResult(prep, opt, no_fund, budget, limits, bind, solver_record(opt))


def solver_record(opt) -> dict:
    import importlib.metadata as md

    hm, sol = opt.highs, opt.solution
    return {
        "status": sol.status,
        "objective": opt.objective,
        "objective_name": opt.objective_name,
        "aims": hm.compiled.aim_names,
        "aim_values": sol.aim_values,
        "stages_solved": sol.stages_solved,
        "unique_optimum": sol.unique,
        "mip_gap": sol.mip_gap,
        "pipeline": opt.pipeline,
        "solver": "HiGHS (highspy) via a Pyomo model",
        "solver_version": hm.highs.version(),
        "highspy_version": md.version("highspy"),
        "pyomo_version": md.version("pyomo"),
        "build_seconds": opt.timings.get("build_seconds"),
        "handoff_seconds": opt.timings.get("handoff_seconds"),
        "solve_seconds": opt.timings.get("solve_seconds"),
        "marginal_seconds": opt.timings.get("marginal_seconds"),
        "n_variables": len(hm.columns),
        "n_constraints": len(hm.rows),
        "n_nonzeros": hm.n_nonzeros,
        "is_mip": hm.is_mip,
        "audit": opt.checks,
        "note": sol.note,
    }


# --------------------------------------------------------------------------- compare


@dataclass
class Compared:
    name: str
    grant: np.ndarray
    ledger: Ledger
    objective: float
    weighted_shortfall: float
    rules: list[RuleCheck]


@dataclass
class CompareResult:
    prepared: Prepared
    objective: str
    rows: list[Compared]
    movable: np.ndarray


def compare(file, what_ifs=(), sets=(), objective="shortfall", allocations=(), *, time_limit=None):
    from .allocation import strategies
    from .allocation.objectives import objective_value
    from .allocation.optimise import optimise as solve
    from .allocation.problem import build_problem
    from .core.targets import weighted_shortfall
    from .scenario.allocation_file import read_allocation

    prep = prepare(file, what_ifs, sets, needs_fund=True)
    a, specs = prep.arrays, prep.specs
    grants = {}
    for name in allocations:  # read every file first: a bad one writes nothing
        if name not in (*strategies.STRATEGIES, "optimised"):
            grants[name] = read_allocation(name, a)
    problem = build_problem(a, specs)
    movable = np.array([d.movable for d in problem.targets], dtype=bool)
    no_fund = ledger(problem.reference, specs)
    rows = []
    for name in allocations:
        if name == "optimised":
            grant = solve(a, specs, objective, time_limit=time_limit).grant
        elif name in strategies.STRATEGIES:
            grant = strategies.strategy(name, a, no_fund)
        else:
            grant = grants[name]
        p = project(a, grant)
        led = ledger(p, specs, problem.reference)
        rows.append(
            Compared(
                name,
                grant,
                led,
                objective_value(led, movable, objective),
                float(weighted_shortfall(led, movable)[0]),
                check_rules(a, grant, p),
            )
        )
    return CompareResult(prep, objective, rows, movable)


# --------------------------------------------------------------------------- sweep


@dataclass
class SweepResult:
    prepared: Prepared
    objective: str
    points: list  # allocation.sweep.SweepPoint
    #: with --samples: each point's optimised allocation over the same sampled futures
    #: (common random numbers), budget [亿元/yr] → Distribution; the seed and number of futures
    certainty: dict | None = None
    samples: int | None = None
    seed: int | None = None


def sweep(
    file,
    what_ifs=(),
    sets=(),
    objective="shortfall",
    budget_spec: str = "",
    *,
    time_limit=None,
    progress: Callable[[int], None] | None = None,
    on_length: Callable[[int], None] | None = None,
    samples: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
) -> SweepResult:
    from .allocation.optimise import optimise as solve
    from .allocation.optimise import spending_is_forced
    from .allocation.sweep import budgets
    from .allocation.sweep import sweep as run_sweep
    from .errors import InfeasibleError

    prep = prepare(file, what_ifs, sets, needs_fund=True)
    a = prep.arrays
    try:
        values = budgets(budget_spec, a.fund_unit_factor)
    except ValueError as exc:
        raise InputError(str(exc), field="--budget") from None
    if on_length:
        on_length(len(values))
    # with forced spending the relaxed pipeline may fill out of order at some budget: the
    # ordered model (a MIP) stays exact at every budget
    forced = spending_is_forced(a)
    try:
        opt = solve(
            a,
            prep.specs,
            objective,
            ordered=True if forced else None,
            budget_ceiling=float(values.max()),
            time_limit=time_limit,
        )
    except InfeasibleError:
        # the scenario's own budget is infeasible: sweep from a model at the largest budget
        import dataclasses

        budget = a.budget.copy()
        budget[a.fund_years] = values.max()
        opt = solve(
            dataclasses.replace(a, budget=budget),
            prep.specs,
            objective,
            ordered=True if forced else None,
            budget_ceiling=float(values.max()),
            time_limit=time_limit,
        )
    points = list(run_sweep(opt, values, progress=progress))
    if not samples:
        return SweepResult(prep, objective, points)
    mc = {"samples": samples, "seed": seed, "workers": workers, "scheduler": scheduler}
    certainty = {
        p.budget: monte_carlo(prep, p.result.grant, **mc)[0] for p in points if p.result is not None
    }
    return SweepResult(prep, objective, points, certainty, samples, seed)


# --------------------------------------------------------------------------- report


#: the simple strategies and the optimiser, compared in every report
REPORT_STRATEGIES = ("equal", "by-size", "by-gap", "optimised")


@dataclass
class ReportResult:
    """What ``simulator report`` shows: one allocation's ledger beside the ledger without the
    fund, and (with a fund) the optimiser's marginals, the strategies compared and a budget
    sweep. ``--report`` on optimise, compare and sweep fills only the parts it has."""

    prepared: Prepared
    allocation: str  # none | equal | by-size | by-gap | optimised | a file
    projection: Projection
    ledger: Ledger  # with the allocation (without the fund for "none")
    no_fund: Ledger
    grant: np.ndarray | None  # (c, t, k) [亿元]
    movable: np.ndarray | None  # (j,) the targets the fund can move
    rules: list[RuleCheck]
    optimised: OptimiseResult | None = None
    compared: CompareResult | None = None
    swept: SweepResult | None = None
    budget_spec: str | None = None
    uncertainty: object | None = None  # a future runs.uncertain(...) result
    timings: dict = field(default_factory=dict)


def report_budgets(a: ScenarioArrays, steps: int = 2) -> str:
    """``0:STOP:STEP`` from no fund to twice the plan's largest annual budget (the fund's unit),
    ``steps`` steps up to the plan's budget, so the plan's own budget is one of the points."""
    top = float(a.budget[a.fund_years].max()) / a.fund_unit_factor if a.fund_years.any() else 0.0
    step = top / steps if top > 0 else 1.0
    return f"0:{2 * steps * step!r}:{step!r}"


def report(
    file,
    what_ifs=(),
    sets=(),
    allocation: str | Path = "optimised",
    objective: str = "shortfall",
    *,
    time_limit: float | None = None,
    sweep_steps: int = 2,
    samples: int | None = None,
    seed: int = 0,
) -> ReportResult:
    """Everything a report shows, from the same runs the other commands make: ``optimise``
    (its allocation and marginals), ``compare`` (the strategies, and ``allocation`` when it is
    a file) and ``sweep`` (from no fund to twice the plan's budget)."""
    clock = time.perf_counter()
    name = str(allocation)
    prep = prepare(file, what_ifs, sets)
    if prep.loaded.scenario.funds is None:
        if name != "none":
            raise InputError(
                "the scenario has no fund to allocate: use --allocation none",
                file=str(file),
                field="funds",
            )
        res = run(file, what_ifs, sets)
        return ReportResult(
            res.prepared,
            "none",
            res.projection,
            res.ledger,
            res.ledger,
            None,
            None,
            res.rules,
            timings={"report": time.perf_counter() - clock},
        )
    names = list(REPORT_STRATEGIES)
    if name not in (*names, "none"):
        names.append(name)
    opt = optimise(file, what_ifs, sets, objective, time_limit=time_limit)
    compared = compare(file, what_ifs, sets, objective, names, time_limit=time_limit)
    spec = report_budgets(opt.prepared.arrays, sweep_steps)
    # with samples, the sweep also gives the cost of certainty (P(met) against the budget)
    swept = sweep(
        file, what_ifs, sets, objective, spec, time_limit=time_limit, samples=samples, seed=seed
    )
    a = opt.prepared.arrays
    o = opt.opt
    if name == "optimised":
        p, led, grant = o.projection, o.ledger, o.grant
    elif name == "none":
        p, led, grant = o.problem.reference, opt.no_fund, None
    else:
        row = next(r for r in compared.rows if r.name == name)
        grant, led = row.grant, row.ledger
        p = project(a, grant)
    rules = check_rules(a, p.grant, p) if grant is not None else _limits_only(a, p)
    return ReportResult(
        opt.prepared,
        name,
        p,
        led,
        opt.no_fund,
        grant,
        o.movable,
        rules,
        optimised=opt,
        compared=compared,
        swept=swept,
        budget_spec=spec,
        timings={"report": time.perf_counter() - clock},
    )


# --------------------------------------------------------------------------- uncertain

#: allocations ``uncertain`` evaluates besides a file
UNCERTAIN_ALLOCATIONS = ("none", "equal", "by-size", "by-gap", "optimised")


@dataclass
class UncertainResult:
    prepared: Prepared
    allocation: str
    grant: np.ndarray | None  # (c, t, k) [亿元]; None for "none"
    deterministic: Ledger  # the allocation on the deterministic scenario (one sample)
    distribution: object  # uncertainty.montecarlo.Distribution
    fan: list  # uncertainty.montecarlo.FanKey
    seed: int
    has_block: bool  # the scenario has an uncertainty block
    timings: dict = field(default_factory=dict)


def allocation_grant(prep: Prepared, allocation: str, objective: str = "shortfall", **solve):
    """The (c, t, k) grant of ``allocation``: none, a strategy, the optimum, or a file."""
    from .allocation import strategies
    from .scenario.allocation_file import read_allocation

    a = prep.arrays
    if allocation == "none":
        return None
    if prep.loaded.scenario.funds is None:
        raise InputError("the scenario has no fund to allocate", field="--allocation")
    if allocation == "optimised":
        from .allocation.optimise import optimise as solve_allocation

        return solve_allocation(a, prep.specs, objective, **solve).grant
    if allocation in strategies.STRATEGIES:
        return strategies.strategy(allocation, a, ledger(project(a), prep.specs))
    return read_allocation(allocation, a)


def monte_carlo(
    prep: Prepared,
    grant: np.ndarray | None,
    *,
    samples: int,
    seed: int,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
):
    """The allocation ``grant`` over futures [0, samples) of ``seed``: a
    :class:`~simulator.uncertainty.montecarlo.Distribution` (and its fan keys)."""
    from .allocation.problem import build_problem
    from .uncertainty import montecarlo as mc
    from .uncertainty.executor import executor
    from .uncertainty.spec import compile_spec

    a, specs = prep.arrays, prep.specs
    movable = (
        np.array([d.movable for d in build_problem(a, specs).targets], dtype=bool)
        if prep.loaded.scenario.funds is not None
        else np.ones(len(specs), dtype=bool)
    )
    fan = mc.fan_keys(specs)
    keep = mc.keep_count(samples, len(specs), len(fan), a.n_years)
    cuts = mc.batches(samples, a)
    with executor(workers, scheduler) as ex:
        kept = mc.Kept.shared(len(specs), len(fan), keep, a.n_years) if ex.shares_memory else None
        job = mc.Job(
            arrays=a,
            specs=specs,
            spec=compile_spec(prep.loaded.scenario.uncertainty),
            grant=grant,
            movable=movable,
            fan=fan,
            seed=seed,
            samples=samples,
            keep=keep,
            kept=kept,
        )
        parts = []
        for part in ex.imap(mc.run_batch, [job] * len(cuts), *zip(*cuts, strict=True)):
            parts.append(part)
            if progress:
                progress(part.stop - part.start)
    return mc.merge(parts, samples, kept), fan


def uncertain(
    file,
    what_ifs=(),
    sets=(),
    *,
    samples: int,
    seed: int = 0,
    allocation: str = "none",
    workers: int | None = None,
    scheduler: str | None = None,
    time_limit: float | None = None,
    progress: Callable[[int], None] | None = None,
    on_length: Callable[[int], None] | None = None,
) -> UncertainResult:
    """P(met) of every target without the fund and with ``allocation`` over ``samples``
    sampled futures of the scenario's ``uncertainty:`` block (:mod:`simulator.uncertainty`)."""
    if samples < 1:
        raise InputError(f"must be at least 1 (got {samples})", field="--samples")
    prep = prepare(file, what_ifs, sets)
    a, specs = prep.arrays, prep.specs
    clock = time.perf_counter()
    grant = allocation_grant(prep, allocation, time_limit=time_limit)
    reference = project(a)
    deterministic = ledger(project(a, grant) if grant is not None else reference, specs, reference)
    if on_length:
        on_length(samples)
    allocated = time.perf_counter()
    dist, fan = monte_carlo(
        prep,
        grant,
        samples=samples,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    timings = {
        "load": prep.seconds,
        "allocation": allocated - clock,
        "monte_carlo": time.perf_counter() - allocated,
    }
    return UncertainResult(
        prep,
        allocation,
        grant,
        deterministic,
        dist,
        fan,
        seed,
        prep.loaded.scenario.uncertainty is not None,
        timings,
    )


# --------------------------------------------------------------------------- robust

#: futures of the out-of-sample check: at least this many, or 4× the in-sample ones
OUT_OF_SAMPLE = 2000


@dataclass
class RobustResult:
    prepared: Prepared
    opt: object  # allocation.robust.RobustOptimised
    deterministic_grant: np.ndarray  # the deterministic optimum (shortfall), for comparison
    in_sample: UncertainResult  # the robust allocation over the N futures it was chosen on
    out_of_sample: dict  # name → Distribution on fresh futures: robust, deterministic, none
    oos_seed: int
    oos_samples: int
    in_sample_deterministic: object  # Distribution of the deterministic optimum, in sample
    solver: dict

    @property
    def status(self) -> str:
        return self.opt.status


def risk_value(dist, risk: str, level: float | None, specs, movable=None) -> float:
    """The risk measure of a Monte Carlo distribution: mean or CVaR of the weighted shortfall,
    or the weighted number of targets met in at least ``level`` of the futures."""
    from .uncertainty.montecarlo import cvar

    if risk == "cvar":
        return cvar(dist.loss, level)
    if risk == "chance":
        w = np.array([s.weight for s in specs]) * (1 if movable is None else movable)
        return float(np.sum(w * (dist.p_met >= level - 1e-12)))
    return float(dist.loss.mean())


def optimise_robust(
    file,
    what_ifs=(),
    sets=(),
    *,
    samples: int,
    risk: str = "expected",
    seed: int = 0,
    time_limit: float | None = None,
    solver_log: str | None = None,
    export_model: Callable[[object], None] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> RobustResult:
    """The allocation that best meets the targets over ``samples`` sampled futures (sample
    average approximation; ``risk`` expected | cvar:A | chance:P), checked out of sample on
    max(OUT_OF_SAMPLE, 4·samples) fresh futures (seed + 1) against the deterministic optimum."""
    from .allocation.optimise import optimise as solve
    from .allocation.robust import optimise_robust as solve_robust
    from .allocation.robust_model import parse_risk
    from .uncertainty.spec import compile_spec

    if samples < 1:
        raise InputError(f"must be at least 1 (got {samples})", field="--robust")
    try:
        kind, level = parse_risk(risk)
    except ValueError as exc:
        raise InputError(str(exc), field="--risk") from None
    prep = prepare(file, what_ifs, sets, needs_fund=True)
    a, specs = prep.arrays, prep.specs
    spec = compile_spec(prep.loaded.scenario.uncertainty)
    opt = solve_robust(
        a,
        specs,
        spec,
        samples=samples,
        seed=seed,
        risk=kind,
        level=level,
        time_limit=time_limit,
        log=solver_log,
    )
    if export_model is not None:
        export_model(opt.exported)
    det = solve(a, specs, "shortfall", time_limit=time_limit).grant
    clock = time.perf_counter()
    reference = project(a)
    mc = {"samples": samples, "seed": seed, "workers": workers, "scheduler": scheduler}
    dist, fan = monte_carlo(prep, opt.grant, **mc)
    inside = UncertainResult(
        prep,
        f"robust {risk}",
        opt.grant,
        ledger(project(a, opt.grant), specs, reference),
        dist,
        fan,
        seed,
        prep.loaded.scenario.uncertainty is not None,
    )
    det_inside, _ = monte_carlo(prep, det, **mc)
    n_oos = max(OUT_OF_SAMPLE, 4 * samples)
    oos = {"samples": n_oos, "seed": seed + 1, "workers": workers, "scheduler": scheduler}
    outside = {
        "robust": monte_carlo(prep, opt.grant, **oos)[0],
        "deterministic": monte_carlo(prep, det, **oos)[0],
    }
    hm, sol = opt.highs, opt.solution
    solver = {
        "status": opt.status,
        "risk": risk,
        "samples": samples,
        "seed": seed,
        "aims": hm.compiled.aim_names,
        "aim_values": sol.aim_values,
        "objective": opt.measure,
        "build_seconds": opt.timings.get("build_seconds"),
        "handoff_seconds": opt.timings.get("handoff_seconds"),
        "solve_seconds": opt.timings.get("solve_seconds"),
        "evaluation_seconds": time.perf_counter() - clock,
        "n_variables": len(opt.exported.columns),
        "n_constraints": len(opt.exported.rows),
        "n_nonzeros": opt.exported.n_nonzeros,
        "is_mip": opt.exported.is_mip,
        "mip_gap": opt.ordering_gap if opt.ordering is not None else sol.mip_gap,
        "ordering_binaries": (
            int(opt.ordering.compiled.integer.sum()) if opt.ordering is not None else 0
        ),
        "bound": opt.bound,
        "gap": opt.gap,
        "trimmed": opt.trimmed,
        "repair": opt.repair,
        "leverage_regimes": opt.problem.leverage.tolist(),
        "lag_regimes": opt.problem.delays.tolist(),
        "not_in_robust_objective": opt.problem.left_out,
        "audit": opt.checks,
        "solver_version": hm.highs.version(),
    }
    return RobustResult(prep, opt, det, inside, outside, seed + 1, n_oos, det_inside, solver)


# --------------------------------------------------------------------------- sensitivity


@dataclass
class SensitivityResult:
    prepared: Prepared
    allocation: str
    grant: np.ndarray | None  # (c, t, k) [亿元]; None for "none"
    indices: object  # uncertainty.sensitivity.Indices
    seed: int
    has_block: bool  # the scenario has an uncertainty block
    timings: dict = field(default_factory=dict)


def sensitivity(
    file,
    what_ifs=(),
    sets=(),
    *,
    samples: int,
    seed: int = 0,
    allocation: str = "none",
    workers: int | None = None,
    scheduler: str | None = None,
    time_limit: float | None = None,
    progress: Callable[[int], None] | None = None,
    on_length: Callable[[int], None] | None = None,
) -> SensitivityResult:
    """Grouped first-order and total Sobol' indices of every target's relative shortfall (with
    ``allocation``) over the independent driver groups of the scenario's ``uncertainty:``
    block: SALib's design of ``samples`` (rounded up to a power of 2) · (groups + 2) futures
    (:mod:`simulator.uncertainty.sensitivity`)."""
    from .uncertainty import montecarlo as mc
    from .uncertainty import sensitivity as sa
    from .uncertainty.executor import executor
    from .uncertainty.spec import compile_spec

    if samples < 1:
        raise InputError(f"must be at least 1 (got {samples})", field="--samples")
    if seed < 0:
        raise InputError(f"must be 0 or more (got {seed})", field="--seed")
    prep = prepare(file, what_ifs, sets)
    a, specs = prep.arrays, prep.specs
    spec = compile_spec(prep.loaded.scenario.uncertainty)
    groups = sa.groups(spec, a.n_clusters, a.n_years - 1)
    if not groups:
        raise InputError(
            "no assumption has a spread: add an uncertainty block (docs/scenarios.md)",
            file=str(file),
            field="uncertainty",
        )
    n = sa.sample_count(samples)
    columns = sum(len(c) for c in groups.values())
    rows = n * (len(groups) + 2)
    if rows * columns > sa.DESIGN_VALUES:
        most = sa.DESIGN_VALUES // ((len(groups) + 2) * columns)
        raise InputError(
            f"{samples} makes a design of {rows:,} rows × {columns} columns; "
            f"at most {1 << (most.bit_length() - 1)} for this scenario",
            field="--samples",
        )
    clock = time.perf_counter()
    grant = allocation_grant(prep, allocation, time_limit=time_limit)
    allocated = time.perf_counter()
    prob = sa.problem(groups)
    design = sa.design(prob, n, seed)
    designed = time.perf_counter()
    job = sa.make_job(a, specs, spec, grant, groups)
    cuts = mc.batches(rows, a)
    if on_length:
        on_length(rows)
    with executor(workers, scheduler) as ex:
        parts = []
        rows_of = [design[s:e] for s, e in cuts]
        for (s, e), part in zip(
            cuts, ex.imap(sa.evaluate, [job] * len(cuts), rows_of), strict=True
        ):
            parts.append(part)
            if progress:
                progress(e - s)
    shortfall = np.concatenate(parts, axis=1)
    evaluated = time.perf_counter()
    result = sa.indices(groups, shortfall, n, samples, seed)
    timings = {
        "load": prep.seconds,
        "allocation": allocated - clock,
        "design": designed - allocated,
        "model_runs": evaluated - designed,
        "analysis": time.perf_counter() - evaluated,
    }
    return SensitivityResult(
        prep,
        allocation,
        grant,
        result,
        seed,
        prep.loaded.scenario.uncertainty is not None,
        timings,
    )
