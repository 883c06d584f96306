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


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simulator")
def main():
    """Industrial-target scenario simulator: project a plan, check its targets, split its fund."""


def scenario_options(f):
    """FILE, --what-if, --set, --out, --json: shared by run, optimise, compare and sweep."""

    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
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
        help="Results folder (default results/<scenario>[+what-ifs]).",
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
    from .results import render

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
    from . import results
    from .allocation_csv import read_allocation
    from .projection import project
    from .targets import compile_targets, ledger, weighted_shortfall

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
    with results.atomic_dir(out) as tmp:
        results.projection_frame(p, a).to_csv(tmp / "projection.csv", index=False)
        targets.to_csv(tmp / "targets.csv", index=False)
        results.write_yaml(tmp / "scenario.resolved.yaml", loaded.resolved)
        settings = {"command": "run", "allocation": str(allocation) if allocation else None}
        results.write_json(
            tmp / "manifest.json",
            results.manifest(loaded, settings, {"load": t_load, "project": t_project}),
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
