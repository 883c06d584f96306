"""The ``simulator`` command line. Thin: parse, call the library, print, write.

Every known error (:class:`~simulator.errors.SimulatorError`) becomes one line on stderr and
its exit code (2 bad input, 3 infeasible); nothing is written when a command fails.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from . import __version__
from .errors import InputError, InputErrors, SimulatorError
from .scenario import compile_arrays, load

HERE = Path(__file__).resolve().parent


class Group(click.Group):
    """Turns planner-facing errors into one line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SimulatorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:  # bad options of a command: one line too
            click.echo(f"error: {exc.format_message()} (see --help)", err=True)
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simulator")
def main():
    """Industrial-target scenario simulator: project a plan, check its targets, split its fund."""


def scenario_options(f):
    """FILE, --what-if, --set, --out, --json: shared by run, optimise, compare and sweep."""

    @click.argument("file", type=click.Path(path_type=Path))
    @click.option(
        "--what-if",
        "what_ifs",
        multiple=True,
        metavar="NAME",
        help="Apply a named what-if (from the file's what_ifs, or a YAML file); "
        "repeatable, applied in order.",
    )
    @click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="PATH=VALUE",
        help="Override one value, e.g. --set funds.budget=4 or "
        "--set clusters.auto.growth.revenue=5; repeatable.",
    )
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Results folder (default results/<scenario>[+what-ifs][+command]).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def default_out(loaded, suffix: str = "") -> Path:
    name = loaded.scenario.scenario.id + "".join(f"+{Path(w).stem}" for w in loaded.what_ifs)
    return Path("results") / (name + suffix)


# --------------------------------------------------------------------------- list, validate


def shipped_dir() -> Path:
    local = Path("scenarios")
    return local if local.is_dir() else HERE.parent / "scenarios"


@main.command("list")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to list (default: the shipped scenarios/).",
)
def list_(folder):
    """List scenarios: jurisdiction, years, clusters, targets."""
    from .outputs.files import render

    folder = folder or shipped_dir()
    body = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            s = load(path).scenario
        except InputError as exc:
            body.append([path.name, f"INVALID: {exc}", "", "", ""])
            continue
        m = s.scenario
        body.append(
            [
                path.name,
                m.jurisdiction,
                f"{m.base_year}→{m.horizon}",
                str(len(s.clusters)),
                str(len(s.targets)),
            ]
        )
    if not body:
        raise InputError("no scenario files (*.yaml)", file=str(folder))
    click.echo(render(["file", "jurisdiction", "years", "clusters", "targets"], body))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files):
    """Check scenario files; one line per problem (file:line: field: message), exit 2 if any."""
    problems = []
    for path in files:
        try:
            load(path)
        except InputErrors as exc:
            problems.extend(exc.errors)
        except InputError as exc:
            problems.append(exc)
    for p in problems:
        click.echo(p.one_line(), err=True)
    if problems:
        sys.exit(2)
    click.echo(f"{len(files)} scenario file{'s' if len(files) > 1 else ''} valid")


# --------------------------------------------------------------------------- run


@main.command()
@scenario_options
@click.option(
    "--allocation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV with columns cluster, year, amount (fund's unit)[, category].",
)
def run(file, what_ifs, sets, out, as_json, allocation):
    """Project the plan and report every target: required, projected, gap, met."""
    from .core.projection import project
    from .core.targets import compile_targets, ledger, weighted_shortfall
    from .outputs import files as results
    from .scenario.allocation_file import read_allocation

    clock = time.perf_counter()
    loaded = load(file, what_ifs, sets)
    a = compile_arrays(loaded.scenario)
    specs = compile_targets(loaded.scenario, a)
    grant = read_allocation(allocation, a) if allocation else None
    t_load = time.perf_counter() - clock

    clock = time.perf_counter()
    reference = project(a)
    p = project(a, grant) if grant is not None else reference
    led = ledger(p, specs, reference)
    t_project = time.perf_counter() - clock

    targets = results.targets_frame(led, a.years)
    out = out or default_out(loaded)
    settings = {"command": "run", "allocation": str(allocation) if allocation else None}
    with results.atomic_dir(out) as tmp:
        results.write_run_files(
            tmp, p, a, targets, loaded, settings, {"load": t_load, "project": t_project}
        )
    summary = {
        "scenario": loaded.scenario.scenario.id,
        "targets": len(specs),
        "met": int(led.met[:, 0].sum()),
        "weighted_shortfall": float(weighted_shortfall(led)[0]),
        "out": str(out),
    }
    if as_json:
        click.echo(
            json.dumps(
                {"summary": summary, "targets": json.loads(targets.to_json(orient="records"))},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    m = loaded.scenario.scenario
    click.echo(f"{m.jurisdiction} — {m.title} ({m.base_year}→{m.horizon})")
    if loaded.what_ifs or loaded.sets:
        click.echo("what-ifs: " + ", ".join([*loaded.what_ifs, *loaded.sets]))
    if grant is not None:
        click.echo(f"allocation: {allocation} ({grant.sum() / _money(a):g} {a.fund_unit} in all)")
    click.echo("")
    click.echo(results.targets_table(targets))
    click.echo("")
    click.echo(
        f"{summary['met']} of {summary['targets']} targets met; weighted relative "
        f"shortfall {summary['weighted_shortfall']:.4f}. Results in {out}/"
    )


def _money(a) -> float:
    from .units import factor

    return factor(a.fund_unit, "money")


# --------------------------------------------------------------------------- optimise


def _prepare(file, what_ifs, sets):
    from .core.targets import compile_targets

    loaded = load(file, what_ifs, sets)
    a = compile_arrays(loaded.scenario)
    if loaded.scenario.funds is None:
        raise InputError("the scenario has no fund to allocate", file=str(file), field="funds")
    return loaded, a, compile_targets(loaded.scenario, a)


OBJECTIVE_OPTION = click.option(
    "--objective",
    type=click.Choice(["shortfall", "targets-met", "worst"]),
    default="shortfall",
    show_default=True,
    help="shortfall: min weighted relative shortfall; targets-met: max weighted number met "
    "(MIP); worst: min the largest relative shortfall.",
)


@main.command()
@scenario_options
@OBJECTIVE_OPTION
@click.option(
    "--export-model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the exact model solved (.mps or .lp).",
)
def optimise(file, what_ifs, sets, out, as_json, objective, export_model):
    """Allocate the fund across clusters and years so the targets are best met."""
    from .allocation import marginal
    from .allocation.optimise import optimise as solve
    from .core.targets import ledger
    from .outputs import console as report
    from .outputs import files as results
    from .scenario.allocation_file import write_allocation

    if export_model and export_model.suffix.lower() not in (".mps", ".lp"):
        raise InputError("must end in .mps or .lp", file=str(export_model), field="--export-model")
    loaded, a, specs = _prepare(file, what_ifs, sets)
    opt = solve(a, specs, objective)
    no_fund = ledger(opt.problem.reference, specs)
    budget = marginal.budget_marginals(opt)
    limits = marginal.limit_marginals(opt)
    solver = report.solver_record(opt, budget, limits)
    solver["binding"] = marginal.binding(opt)
    table = report.before_after(no_fund, opt.ledger, opt.movable, a.years)
    targets = results.targets_frame(opt.ledger, a.years, opt.movable)
    out = out or default_out(loaded, "+optimised")
    with results.atomic_dir(out) as tmp:
        results.write_run_files(
            tmp,
            opt.projection,
            a,
            targets,
            loaded,
            {"command": "optimise", "objective": objective},
            opt.timings,
        )
        write_allocation(tmp / "allocation.csv", opt.grant, a)
        results.write_json(tmp / "solver.json", solver)
    if export_model:
        export_model.parent.mkdir(parents=True, exist_ok=True)
        opt.highs.write(str(export_model))
    if as_json:
        click.echo(
            json.dumps(
                {"solver": solver, "targets": json.loads(table.to_json(orient="records"))},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return
    m = loaded.scenario.scenario
    click.echo(f"{m.jurisdiction} — {loaded.scenario.funds.name}, objective {objective}")
    click.echo("")
    click.echo(report.allocation_table(opt.grant, a))
    click.echo("")
    click.echo(report.before_after_table(table))
    click.echo("")
    moved = int(opt.movable.sum())
    click.echo(
        f"{int(opt.ledger.met[:, 0].sum())} of {len(specs)} targets met "
        f"(without the fund: {int(no_fund.met[:, 0].sum())}); the fund can move "
        f"{moved} of them. Objective ({objective}): {opt.objective:.6g}"
    )
    click.echo("binding: " + (", ".join(solver["binding"]) or "nothing binds"))
    for line in report.marginal_sentences(budget, limits, objective):
        click.echo("  " + line)
    click.echo(
        f"solved by HiGHS {solver['solver_version']} in "
        f"{opt.timings['build_seconds'] + opt.timings['handoff_seconds'] + opt.timings['solve_seconds']:.3f} s "
        f"({solver['n_variables']} variables, {solver['n_constraints']} constraints). "
        f"Results in {out}/"
    )


# --------------------------------------------------------------------------- compare


@main.command()
@scenario_options
@OBJECTIVE_OPTION
@click.option(
    "--allocation",
    "allocations",
    multiple=True,
    required=True,
    metavar="equal|by-size|by-gap|optimised|FILE.csv",
    help="An allocation to compare; repeatable.",
)
def compare(file, what_ifs, sets, out, as_json, objective, allocations):
    """Compare allocations side by side on the same scenario and objective."""
    import pandas as pd

    from .allocation import strategies
    from .allocation.audit import violations
    from .allocation.objective import BETTER, objective_value
    from .allocation.optimise import optimise as solve
    from .allocation.problem import build_problem
    from .core.projection import project
    from .core.targets import display, ledger, weighted_shortfall
    from .outputs import files as results
    from .scenario.allocation_file import read_allocation

    loaded, a, specs = _prepare(file, what_ifs, sets)
    grants = {}
    for name in allocations:  # read every file first: a bad one writes nothing
        if name not in (*strategies.STRATEGIES, "optimised"):
            grants[name] = read_allocation(name, a)
    problem = build_problem(a, specs)
    movable = np.array([d.movable for d in problem.targets])
    no_fund = ledger(problem.reference, specs)
    rows = []
    for name in allocations:
        if name == "optimised":
            grant = solve(a, specs, objective).grant
        elif name in strategies.STRATEGIES:
            grant = strategies.strategy(name, a, no_fund)
        else:
            grant = grants[name]
        p = project(a, grant)
        led = ledger(p, specs, problem.reference)
        broken = violations(a, grant, p)
        row = {
            "allocation": name,
            "objective": objective_value(led, movable, objective),
            "targets_met": int(led.met[:, 0].sum()),
            "weighted_shortfall": float(weighted_shortfall(led, movable)[0]),
            "spent": grant.sum() / _money(a),
            "feasible": not broken,
            "breaks": "; ".join(broken),
        }
        for j, spec in enumerate(specs):
            row[f"gap:{spec.id}"] = display(spec, led.gap[j, 0])[0]
        rows.append(row)
    df = pd.DataFrame(rows)
    out = out or default_out(loaded, "+compare")
    with results.atomic_dir(out) as tmp:
        df.to_csv(tmp / "comparison.csv", index=False)
        settings = {"command": "compare", "objective": objective, "allocations": list(allocations)}
        results.write_scenario_record(tmp, loaded, settings, {})
    if as_json:
        click.echo(df.to_json(orient="records", force_ascii=False, indent=2))
        return
    head = [
        "allocation",
        f"objective ({objective}, {BETTER[objective]} is better)",
        "targets met",
        "weighted shortfall",
        f"spent ({a.fund_unit})",
        "within limits",
    ]
    body = [
        [
            r.allocation,
            f"{r.objective:.6g}",
            f"{r.targets_met}/{len(specs)}",
            f"{r.weighted_shortfall:.6g}",
            results.format_number(r.spent),
            "yes" if r.feasible else "NO: " + _shorten(r.breaks),
        ]
        for r in df.itertuples()
    ]
    click.echo(results.render(head, body, right={1, 2, 3, 4}))
    click.echo(f"\nper-target gaps in {out}/comparison.csv")
    if not df.feasible.all():
        click.echo(
            "An allocation that breaks a limit is not comparable: the optimiser is held "
            "to every limit."
        )


def _shorten(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- sweep


@main.command()
@scenario_options
@OBJECTIVE_OPTION
@click.option(
    "--budget",
    "budget_spec",
    required=True,
    metavar="START:STOP:STEP",
    help="Annual budget values (fund's unit), applied to every fund year.",
)
def sweep(file, what_ifs, sets, out, as_json, objective, budget_spec):
    """Re-optimise over a range of annual budgets on one persistent model."""
    import pandas as pd

    from .allocation.optimise import optimise as solve
    from .allocation.optimise import spending_is_forced
    from .allocation.sweep import budgets
    from .allocation.sweep import sweep as run_sweep
    from .outputs import files as results

    loaded, a, specs = _prepare(file, what_ifs, sets)
    money = _money(a)
    try:
        values = budgets(budget_spec, money)
    except ValueError as exc:
        raise InputError(str(exc), field="--budget") from None
    # with forced spending the budget may push the LP to fill pipelines out of order: the
    # ordered model (a MIP) stays exact at every budget
    opt = solve(
        a,
        specs,
        objective,
        ordered=True if spending_is_forced(a) else None,
        budget_ceiling=float(values.max()),
    )
    rows, allocation_rows = [], []
    with click.progressbar(length=len(values), label="sweep", file=sys.stderr) as bar:
        for value, res in run_sweep(opt, values, progress=lambda i: bar.update(1)):
            budget = value / money
            rows.append(
                {
                    "budget": budget,
                    "objective": res.objective,
                    "targets_met": int(res.ledger.met[:, 0].sum()),
                    "spent": res.grant.sum() / money,
                    "solve_seconds": res.timings.get("solve_seconds"),
                }
            )
            per = res.grant.sum(axis=2) / money
            for c in np.flatnonzero(a.fundable):
                for t in np.flatnonzero(a.fund_years):
                    allocation_rows.append(
                        {
                            "budget": budget,
                            "cluster": a.cluster_ids[c],
                            "year": int(a.years[t]),
                            "amount": per[c, t],
                            "unit": a.fund_unit,
                        }
                    )
    df = pd.DataFrame(rows)
    wide = pd.DataFrame(allocation_rows).pivot_table(
        index="budget", columns=["cluster", "year"], values="amount"
    )
    wide.columns = [f"{c}:{y}" for c, y in wide.columns]
    df = df.merge(wide, left_on="budget", right_index=True)
    out = out or default_out(loaded, "+sweep")
    with results.atomic_dir(out) as tmp:
        df.to_csv(tmp / "sweep.csv", index=False)
        pd.DataFrame(allocation_rows).to_csv(tmp / "sweep_allocations.csv", index=False)
        settings = {"command": "sweep", "objective": objective, "budget": budget_spec}
        results.write_scenario_record(tmp, loaded, settings, {})
    if as_json:
        click.echo(
            df[["budget", "objective", "targets_met", "spent"]].to_json(
                orient="records", force_ascii=False, indent=2
            )
        )
        return
    head = [f"budget ({a.fund_unit}/yr)", "objective", "targets met", "spent"]
    body = [
        [
            results.format_number(r.budget),
            f"{r.objective:.6g}",
            f"{r.targets_met}/{len(specs)}",
            results.format_number(r.spent),
        ]
        for r in df.itertuples()
    ]
    click.echo(results.render(head, body, right={0, 1, 2, 3}))
    click.echo(f"\nallocation per budget in {out}/sweep.csv")


# --------------------------------------------------------------------------- synth


@main.command()
@click.option("--clusters", "n_clusters", type=click.IntRange(1, 100_000), required=True)
@click.option("--years", "n_years", type=click.IntRange(1, 30), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Scenario file to write (.yaml).",
)
def synth(n_clusters, n_years, seed, out):
    """Write a valid synthetic scenario of any size (benchmarks, scale tests)."""
    import yaml

    from .synth import synthetic

    data = synthetic(n_clusters, n_years, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8"
    )
    tmp.replace(out)
    click.echo(
        f"wrote {out}: {n_clusters} clusters × {n_years} years, {len(data['targets'])} targets"
    )
