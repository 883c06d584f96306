"""The ``simulator`` command line. Thin: parse options, call :mod:`simulator.runs`, hand the
typed result to :mod:`simulator.outputs` to write and print.

Every known error becomes one line on stderr and its exit code (:mod:`simulator.errors`:
2 bad input, 3 infeasible, 4 stopped before optimal, 70 internal error); with ``--json`` the
infeasible case prints its JSON document instead. Nothing is written when a command fails,
except the run folder of an internal error, which keeps the model for the bug report.
"""

from __future__ import annotations

import functools
import gc
import sys
from pathlib import Path

import click

from . import __version__
from .errors import InfeasibleError, InputError, InputErrors, InternalError, SimulatorError

HERE = Path(__file__).resolve().parent

#: seconds a planner waits at a terminal before a solve stops with the best allocation found
DEFAULT_TIME_LIMIT = 60.0


class Group(click.Group):
    """Turns planner-facing errors into one line and an exit code."""

    def make_context(self, info_name, args, parent=None, **extra):
        argv = list(args)  # as typed, for the report's provenance (ctx.meta["argv"])
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["argv"] = argv
        return ctx

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
    # A command is a short process that builds large trees of small objects (YAML, the model)
    # and frees almost nothing before it ends: the cyclic collector's passes cost a third of
    # the run at 1,000 clusters and find nothing to collect. Reference counting still frees.
    gc.disable()


def scenario_options(f):
    """FILE, --what-if, --set, --out, --json: shared by run, optimise, compare and sweep."""

    @click.argument("file", type=click.Path(path_type=Path))
    @click.option(
        "--what-if",
        "what_ifs",
        multiple=True,
        metavar="NAME",
        help="Apply a named what-if (from the file's what_ifs, a YAML file, or the edited 假设 "
        "sheet of a report.xlsx); repeatable, applied in order.",
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
        help="Results folder (default results/<scenario>+<command>[-<objective>][+<what-ifs>]"
        "[+set-<hash>]).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def solver_options(f):
    """--objective and --time-limit: shared by optimise, compare and sweep."""
    from .allocation.objectives import OBJECTIVES

    @click.option(
        "--objective",
        type=click.Choice(list(OBJECTIVES)),
        default="shortfall",
        show_default=True,
        help="; ".join(f"{o.name}: {o.help}" for o in OBJECTIVES.values()) + ".",
    )
    @click.option(
        "--time-limit",
        type=click.FloatRange(min=0.0, min_open=True),
        default=DEFAULT_TIME_LIMIT,
        show_default=True,
        metavar="SECONDS",
        help="Stop the solver after this long; a MIP keeps the best allocation found (exit 4).",
    )
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def report_option(f):
    """--report: also write report.html into the run folder (optimise, compare, sweep,
    uncertain)."""
    return click.option(
        "--report",
        "with_report",
        is_flag=True,
        help="Also write report.html (offline, bilingual) into the run folder.",
    )(f)


def echo_json(data) -> None:
    from .outputs.files import to_json

    click.echo(to_json(data))


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
    from .outputs.console import Col, grid, screen_for
    from .scenario import load

    folder = folder or shipped_dir()
    body = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            s = load(path).scenario
        except InputError as exc:
            body.append([path.name, f"INVALID: {exc}", "", "", ""])
            continue
        m = s.scenario
        years = f"{m.base_year}→{m.horizon}"
        body.append([path.name, m.jurisdiction, years, str(len(s.clusters)), str(len(s.targets))])
    if not body:
        raise InputError("no scenario files (*.yaml)", file=str(folder))
    cols = [Col("file"), Col("jurisdiction"), Col("years"), Col("clusters", True)]
    cols.append(Col("targets", True))
    click.echo(grid(cols, body, screen_for()))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files):
    """Check scenario files; one line per problem (file:line: field: message), exit 2 if any.

    For a valid file with a calibration block, one coverage line per published total: the
    clusters' base-year sum against it, and a warning (exit 0) when outside its tolerance.
    """
    from .runs import calibration_report
    from .scenario import load

    problems = []
    for path in files:
        try:
            rows = calibration_report(load(path))
        except InputErrors as exc:
            problems.extend(exc.errors)
            continue
        except InputError as exc:
            problems.append(exc)
            continue
        # coverage of the published totals: information, and a warning outside the tolerance
        for row in rows:
            click.echo(f"{path}: {row.line()}")
            if row.warning():
                click.echo(f"{path}: {row.warning()}")
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
    help="CSV with columns cluster, year, amount (fund's unit)[, category], or a report.xlsx "
    "(its 资金分配 sheet); every rule of the fund and the limits is checked and each breach "
    "reported.",
)
def run(file, what_ifs, sets, out, as_json, allocation):
    """Project the plan and report every target: required, projected, gap, met."""
    from . import runs
    from .outputs import console, files, records, tables

    res = runs.run(file, what_ifs, sets, allocation)
    out = out or files.default_out(res.prepared.loaded, "run")
    files.write_run(out, res)
    if as_json:
        echo_json(records.run_record(res, out))
        return
    targets = tables.targets_frame(res.ledger, res.prepared.arrays.years)
    limits = tables.limits_frame(res.rules)
    click.echo(console.run_text(res, targets, limits, out, console.screen_for()))


# --------------------------------------------------------------------------- optimise


@main.command()
@scenario_options
@solver_options
@click.option(
    "--export-model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the exact model HiGHS solved (.mps or .lp), after the last stage.",
)
@click.option(
    "--solver-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write HiGHS's log to this file (nothing from the solver reaches the terminal).",
)
@report_option
@click.option(
    "--robust",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Allocate over N sampled futures of the scenario's uncertainty block (sample average "
    "approximation), checked out of sample.",
)
@click.option(
    "--risk",
    default="expected",
    show_default=True,
    metavar="expected|cvar:A|chance:P",
    help="With --robust: minimise the expected weighted shortfall, its mean over the worst "
    "(1−A) of futures, or maximise the targets met in at least P of futures (a MIP).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the futures.")
def optimise(
    file,
    what_ifs,
    sets,
    out,
    as_json,
    objective,
    time_limit,
    export_model,
    solver_log,
    with_report,
    robust,
    risk,
    seed,
):
    """Allocate the fund across clusters and years so the targets are best met."""
    from . import runs
    from .outputs import console, files, records, tables

    if export_model and export_model.suffix.lower() not in (".mps", ".lp"):
        raise InputError("must end in .mps or .lp", file=str(export_model), field="--export-model")
    kept = {}

    def keep_model(hm):  # write it now: the marginal re-solves change the HiGHS model
        suffix = export_model.suffix.lower() if export_model else ".mps"
        kept["file"] = _model_file(hm, suffix, _scratch())

    if robust is not None:
        return _optimise_robust(
            file, what_ifs, sets, out, as_json, time_limit, export_model, solver_log, robust,
            risk, seed, keep_model, kept,
        )  # fmt: skip

    try:
        with console.progress(f"optimising {Path(file).name}"):
            res = runs.optimise(
                file,
                what_ifs,
                sets,
                objective,
                time_limit=time_limit,
                solver_log=str(solver_log) if solver_log else None,
                export_model=keep_model if export_model else None,
            )
    except InfeasibleError as exc:
        if as_json:
            echo_json(exc.record())
            sys.exit(exc.exit_code)
        raise
    except InternalError as exc:
        _report_internal(exc, out, file)
    out = out or files.default_out(res.prepared.loaded, "optimise", objective)
    export = None
    if export_model:
        export = lambda folder: _save(export_model, kept["file"])  # noqa: E731
    export = _both(export, _page(with_report, "from_optimise", res))
    files.write_optimise(out, res, export)
    if as_json:
        echo_json(records.optimise_record(res, out))
    else:
        a = res.prepared.arrays
        table = tables.before_after(res.no_fund, res.opt.ledger, res.opt.movable, a.years)
        allocation = tables.allocation_frame(res.opt.grant, a)
        click.echo(console.optimise_text(res, table, allocation, out, console.screen_for()))
    if res.status == "time_limit":
        sys.exit(4)


def _optimise_robust(
    file, what_ifs, sets, out, as_json, time_limit, export_model, solver_log, n, risk, seed,
    keep_model, kept,
):  # fmt: skip
    """``optimise --robust N``: the sample-average allocation, its P(met) in and out of sample."""
    from . import runs
    from .allocation.robust_model import parse_risk
    from .outputs import console, files, records

    try:
        parse_risk(risk)  # before any work: a bad --risk writes nothing
    except ValueError as exc:
        raise InputError(str(exc), field="--risk") from None
    try:
        with console.progress(f"optimising {Path(file).name} over {n} futures"):
            res = runs.optimise_robust(
                file,
                what_ifs,
                sets,
                samples=n,
                risk=risk,
                seed=seed,
                time_limit=time_limit,
                solver_log=str(solver_log) if solver_log else None,
                export_model=keep_model if export_model else None,
            )
    except InfeasibleError as exc:
        if as_json:
            echo_json(exc.record())
            sys.exit(exc.exit_code)
        raise
    except InternalError as exc:
        _report_internal(exc, out, file)
    kind = risk.split(":")[0]
    out = out or files.default_out(res.prepared.loaded, "optimise", f"robust-{kind}")
    export = (lambda folder: _save(export_model, kept["file"])) if export_model else None
    files.write_robust(out, res, export)
    if as_json:
        echo_json(records.robust_record(res, out))
    else:
        click.echo(console.robust_text(res, out, console.screen_for()))
    if res.status in ("time_limit", "gap"):
        sys.exit(4)


def _scratch() -> Path:
    """A folder removed when the command ends, however it ends."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="simulator-model-"))
    click.get_current_context().call_on_close(lambda: shutil.rmtree(scratch, ignore_errors=True))
    return scratch


def _model_file(hm, suffix: str, folder: Path) -> Path:
    """The model written now into ``folder`` (copied to ``--export-model`` with the results,
    so a failed run leaves nothing there)."""
    path = folder / f"model{suffix}"
    hm.write(str(path))
    return path


def _save(path: Path, written: Path) -> None:
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(written, path)


def _report_internal(exc: InternalError, out, file):
    """Exit 70 with one line; the model, when there is one, saved in the run folder."""
    from .outputs import files

    save = getattr(exc, "save_model", None)
    folder = out or Path("results") / f"{Path(file).stem}+internal-error"
    try:
        files.write_failure(folder, exc, save)
        where = f" (model and error saved in {folder}/)"
    except Exception:  # the error itself matters more than the folder
        where = ""
    click.echo(f"internal error: {exc}{where} — a bug, please report it", err=True)
    sys.exit(exc.exit_code)


# --------------------------------------------------------------------------- compare


@main.command()
@scenario_options
@solver_options
@click.option(
    "--allocation",
    "allocations",
    multiple=True,
    required=True,
    metavar="equal|by-size|by-gap|optimised|FILE.csv",
    help="An allocation to compare; repeatable.",
)
@report_option
def compare(file, what_ifs, sets, out, as_json, objective, time_limit, allocations, with_report):
    """Compare allocations side by side on the same scenario and objective."""
    from . import runs
    from .outputs import console, files, records

    with console.progress(f"comparing {len(allocations)} allocations"):
        res = runs.compare(file, what_ifs, sets, objective, allocations, time_limit=time_limit)
    out = out or files.default_out(res.prepared.loaded, "compare", objective)
    files.write_compare(out, res, _page(with_report, "from_compare", res))
    if as_json:
        echo_json(records.compare_record(res, out))
        return
    frame = records.comparison_frame(res)
    click.echo(console.compare_text(res, frame, out, console.screen_for()))


# --------------------------------------------------------------------------- sweep


@main.command()
@scenario_options
@solver_options
@click.option(
    "--budget",
    "budget_spec",
    required=True,
    metavar="START:STOP:STEP",
    help="Annual budget values (fund's unit), applied to every fund year.",
)
@report_option
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Also evaluate each budget's allocation over N sampled futures: P(met) against the "
    "budget, and the budget each target needs to be met in 50/80/95% of them.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the futures.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes at work, this one included (results are identical to a serial run).",
)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="A dask.distributed cluster.")
def sweep(
    file,
    what_ifs,
    sets,
    out,
    as_json,
    objective,
    time_limit,
    budget_spec,
    with_report,
    samples,
    seed,
    workers,
    scheduler,
):
    """Re-optimise over a range of annual budgets on one persistent model."""
    from . import runs
    from .outputs import console, files, records

    with console.progress("sweep") as meter:
        res = runs.sweep(
            file,
            what_ifs,
            sets,
            objective,
            budget_spec,
            time_limit=time_limit,
            progress=lambda i: meter.advance(),
            on_length=meter.start,
            samples=samples,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
        )
    out = out or files.default_out(res.prepared.loaded, "sweep", objective)
    files.write_sweep(out, res, budget_spec, _page(with_report, "from_sweep", res, budget_spec))
    if as_json:
        echo_json(records.sweep_record(res, out))
        return
    summary, _ = records.sweep_frames(res)
    click.echo(console.sweep_text(res, summary, out, console.screen_for()))
    if res.certainty:
        click.echo(console.certainty_text(res, console.screen_for()))


# --------------------------------------------------------------------------- report


@main.command()
@scenario_options
@solver_options
@click.option(
    "--allocation",
    default="optimised",
    show_default=True,
    metavar="none|equal|by-size|by-gap|optimised|FILE.csv",
    help="The allocation the report's ledger shows (none: without the fund).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Sample the uncertain assumptions N times: P(met) per target and fan charts.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --samples.")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language shown first (the other beside it).",
)
def report(
    file, what_ifs, sets, out, as_json, objective, time_limit, allocation, samples, seed, lang
):
    """Write one self-contained report.html (and report.xlsx): verdict, target ledger,
    allocation, marginal values, strategies compared, budget sweep, assumptions."""
    from . import runs
    from .outputs import console, files
    from .outputs import report as pages

    uncertain = getattr(runs, "uncertain", None)
    if samples is not None and uncertain is None:
        raise InputError("uncertainty is not available yet in this version", field="--samples")
    with console.progress(f"report on {Path(file).name}"):
        res = runs.report(
            file,
            what_ifs,
            sets,
            allocation,
            objective,
            time_limit=time_limit,
            samples=samples,
            seed=seed,
        )
        if samples is not None:
            res.uncertainty = uncertain(
                file,
                what_ifs,
                sets,
                samples=samples,
                seed=seed,
                allocation=str(allocation),
                time_limit=time_limit,
            )
    out = out or files.default_out(res.prepared.loaded, "report")
    command = typed_command()
    pages.write_report(out, res, command, lang)
    summary = pages.summary(res, out)
    if as_json:
        echo_json(summary)
        return
    click.echo(pages.summary_text(summary))


def _both(first, second):
    """Two ``extra(folder)`` writers as one (either may be None)."""
    if first is None or second is None:
        return first or second
    return lambda folder: (first(folder), second(folder))


def _page(wanted: bool, build: str, *args):
    """An ``extra(folder)`` that writes report.html of ``outputs.report.<build>(*args)`` into
    a run folder, or None when no report was asked for (the report module is not imported)."""
    if not wanted:
        return None
    from .outputs import report as pages

    command = typed_command()
    return lambda folder: pages.write_html(folder, getattr(pages, build)(*args), command)


def typed_command() -> str:
    """The command line that is running, as the user typed it (shell-quoted)."""
    import shlex

    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get("argv") if ctx is not None else None
    return shlex.join(["simulator", *(sys.argv[1:] if argv is None else argv)])


# --------------------------------------------------------------------------- synth


# --------------------------------------------------------------------------- uncertainty


def sampling_options(f):
    """--samples, --seed, --workers, --scheduler: shared by uncertain and sensitivity."""

    @click.option(
        "--samples",
        type=int,
        required=True,
        help="Number of sampled futures (at least 1).",
    )
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the futures.")
    @click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Processes at work, this one included (results are identical to a serial run).",
    )
    @click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help='An existing dask.distributed scheduler (needs pip install -e ".[distributed]").',
    )
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if kwargs["samples"] < 1:
            raise InputError(f"must be at least 1 (got {kwargs['samples']})", field="--samples")
        return f(*args, **kwargs)

    return wrapper


@main.command()
@scenario_options
@sampling_options
@click.option(
    "--allocation",
    default="none",
    show_default=True,
    metavar="none|equal|by-size|by-gap|optimised|FILE",
    help="The allocation to evaluate in every future (besides no fund at all).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="Seconds for the solve of --allocation optimised.",
)
@report_option
def uncertain(
    file,
    what_ifs,
    sets,
    out,
    as_json,
    samples,
    seed,
    workers,
    scheduler,
    allocation,
    time_limit,
    with_report,
):
    """P(target met) without the fund and with an allocation, over sampled futures."""
    from . import runs
    from .outputs import console, files, records, tables

    with console.progress(f"sampling {samples} futures") as meter:
        res = runs.uncertain(
            file,
            what_ifs,
            sets,
            samples=samples,
            seed=seed,
            allocation=allocation,
            workers=workers,
            scheduler=scheduler,
            time_limit=time_limit,
            progress=meter.advance,
            on_length=meter.start,
        )
    out = out or files.default_out(res.prepared.loaded, "uncertain")
    files.write_uncertain(out, res, _page(with_report, "from_uncertain", res))
    if as_json:
        echo_json(records.uncertain_record(res, out))
        return
    probs = tables.probabilities_frame(res)
    click.echo(console.uncertain_text(res, probs, out, console.screen_for()))


@main.command()
@scenario_options
@sampling_options
@click.option(
    "--allocation",
    default="none",
    show_default=True,
    metavar="none|equal|by-size|by-gap|optimised|FILE",
    help="The allocation in every future (its shortfalls are the ones explained).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="Seconds for the solve of --allocation optimised.",
)
def sensitivity(
    file, what_ifs, sets, out, as_json, samples, seed, workers, scheduler, allocation, time_limit
):
    """Which assumptions drive each target's shortfall: grouped Sobol' indices (first-order S1,
    total ST, bootstrap 95% intervals) over the uncertainty block's independent drivers.

    --samples N is N of SALib's design, rounded up to a power of 2: the model runs N·(G+2)
    times for G driver groups (e.g. 1024 × 12 on Cixi). Writes sensitivity.csv.
    """
    from . import runs
    from .outputs import console, files, records

    with console.progress("sensitivity: sampled futures") as meter:
        res = runs.sensitivity(
            file,
            what_ifs,
            sets,
            samples=samples,
            seed=seed,
            allocation=allocation,
            workers=workers,
            scheduler=scheduler,
            time_limit=time_limit,
            progress=meter.advance,
            on_length=meter.start,
        )
    out = out or files.default_out(res.prepared.loaded, "sensitivity")
    files.write_sensitivity(out, res)
    if as_json:
        echo_json(records.sensitivity_record(res, out))
        return
    click.echo(console.sensitivity_text(res, out, console.screen_for()))


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
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=120)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    click.echo(
        f"wrote {out}: {n_clusters} clusters × {n_years} years, {len(data['targets'])} targets"
    )
