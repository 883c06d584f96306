"""The JSON documents of ``--json`` and ``solver.json``, and the compare and sweep tables:
everything the console shows, as data. ``--json`` prints exactly one document."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from ..core.limits import breaches
from ..core.targets import display
from . import tables
from .table import Table


def frame_records(df) -> list[dict]:
    """A table's rows as JSON-ready dicts (a :class:`.table.Table` at full precision; a
    DataFrame as pandas writes it: floats to 10 significant digits, NaN as null)."""
    if isinstance(df, Table):
        return df.records()
    return json.loads(df.to_json(orient="records", force_ascii=False))


def run_record(res, out) -> dict:
    targets = tables.targets_frame(res.ledger, res.prepared.arrays.years)
    limits = tables.limits_frame(res.rules)
    from ..core.targets import weighted_shortfall

    summary = {
        "scenario": res.prepared.loaded.scenario.scenario.id,
        "targets": len(res.prepared.specs),
        "met": int(res.ledger.met[:, 0].sum()),
        "weighted_shortfall": float(weighted_shortfall(res.ledger)[0])
        if res.prepared.specs
        else 0.0,
        "allocation": res.allocation,
        "breaches": [
            f"{r.limit} ({r.year})" if r.year is not None else r.limit for r in res.breaches
        ],
        "out": str(out),
    }
    return {"summary": summary, "targets": frame_records(targets), "limits": frame_records(limits)}


def solver_document(res) -> dict:
    """``solver.json``: the solver's record with what binds and the marginal values."""
    opt = res.opt
    marginal = frame_records(tables.marginal_frame(res.marginals))
    solver = dict(res.solver)
    first = opt.solution.aim_values[0] if opt.solution.aim_values else None
    solver.update(
        {
            "binding": res.binding,
            "marginal_values": {"budget": marginal, "limits": res.limit_marginals},
            # the model's own first aim at the allocation: the optimum of the exported model
            # (the later aims choose among its optima and never trade it away)
            "objective_with_tie_breaks": first,
            "exported_objective": first,
        }
    )
    return solver


def optimise_record(res, out=None) -> dict:
    """Everything ``optimise`` shows; ``["solver"]`` is ``solver.json``."""
    opt = res.opt
    a = res.prepared.arrays
    table = tables.before_after(res.no_fund, opt.ledger, opt.movable, a.years)
    solver = solver_document(res)
    return {
        "status": opt.status,
        "scenario": res.prepared.loaded.scenario.scenario.id,
        "objective_name": opt.objective_name,
        "objective": opt.objective,
        "targets_met": int(opt.ledger.met[:, 0].sum()),
        "targets_met_without_fund": int(res.no_fund.met[:, 0].sum()),
        "allocation": frame_records(tables.allocation_frame(opt.grant, a)),
        "targets": frame_records(table),
        "binding": res.binding,
        "marginal": solver["marginal_values"]["budget"],
        "limit_marginals": res.limit_marginals,
        "solver": solver,
        "out": None if out is None else str(out),
    }


def comparison_frame(res):
    import pandas as pd

    a = res.prepared.arrays
    rows = []
    for r in res.rows:
        broken = breaches(r.rules)
        row = {
            "allocation": r.name,
            "objective": r.objective,
            "targets_met": int(r.ledger.met[:, 0].sum()),
            "weighted_shortfall": r.weighted_shortfall,
            "spent": r.grant.sum() / a.fund_unit_factor,
            "feasible": not broken,
            "breaks": "; ".join(broken),
        }
        for j, spec in enumerate(res.prepared.specs):
            row[f"gap:{spec.id}"] = display(spec, r.ledger.gap[j, 0])[0]
        rows.append(row)
    return pd.DataFrame(rows)


def compare_record(res, out) -> dict:
    return {
        "objective_name": res.objective,
        "rows": frame_records(comparison_frame(res)),
        "out": str(out),
    }


def sweep_frames(res):
    """(``sweep.csv``: budget, objective, targets_met, status, spent, met:<target>…, <cluster>:<year>…;
    ``sweep_allocations.csv``: budget, cluster, year, amount, unit), as DataFrames."""
    import pandas as pd

    a = res.prepared.arrays
    money = a.fund_unit_factor
    specs = res.prepared.specs
    rows, long = [], []
    for point in res.points:
        budget = point.budget / money
        row = {"budget": budget, "objective": np.nan, "targets_met": pd.NA, "status": point.status}
        r = point.result
        if r is not None:
            row.update(
                {
                    "objective": r.objective,
                    "targets_met": int(r.ledger.met[:, 0].sum()),
                    "spent": r.grant.sum() / money,
                    "solve_seconds": r.timings.get("solve_seconds"),
                }
            )
            row.update({f"met:{s.id}": bool(r.ledger.met[j, 0]) for j, s in enumerate(specs)})
            alloc = tables.allocation_frame(r.grant, a).to_pandas()
            per = alloc.groupby(["cluster", "year"], sort=False).amount.sum()
            row.update({f"{c}:{y}": v for (c, y), v in per.items()})
            long.append(per.reset_index().assign(budget=budget, unit=a.fund_unit))
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary["targets_met"] = summary["targets_met"].astype("Int64")
    columns = ["budget", "cluster", "year", "amount", "unit"]
    long_df = pd.concat(long, ignore_index=True)[columns] if long else pd.DataFrame(columns=columns)
    return summary, long_df


def sweep_record(res, out) -> dict:
    summary, _ = sweep_frames(res)
    keep = [c for c in summary.columns if not (":" in c and not c.startswith("met:"))]
    record = {
        "objective_name": res.objective,
        "points": frame_records(summary[keep]),
        "out": str(out),
    }
    if res.certainty:
        record["samples"], record["seed"] = res.samples, res.seed
        record["certainty"] = frame_records(tables.certainty_frame(res))
    return record


def uncertain_record(res, out=None) -> dict:
    """Everything ``uncertain`` shows: P(met) per target, the fans, and the distribution of
    the optimiser's objective (weighted shortfall of the movable targets) for the allocation."""
    from ..uncertainty.montecarlo import cvar

    d = res.distribution
    probs = tables.probabilities_frame(res)
    counts = Counter(probs["verdict"]) if len(probs) else {}
    return {
        "status": "ok",
        "scenario": res.prepared.loaded.scenario.scenario.id,
        "samples": d.samples,
        "seed": res.seed,
        "allocation": res.allocation,
        "uncertainty_block": res.has_block,
        "quantiles_from": d.kept,
        "objective_mean": float(d.loss.mean()),
        "objective_cvar90": cvar(d.loss, 0.9),
        "objective_no_fund_mean": float(d.loss_no_fund.mean()),
        "objective_no_fund_cvar90": cvar(d.loss_no_fund, 0.9),
        "likely": int(counts.get("likely", 0)),
        "toss_ups": int(counts.get("toss-up", 0)),
        "unlikely": int(counts.get("unlikely", 0)),
        "targets": frame_records(probs),
        "fan": frame_records(tables.fan_frame(res)),
        "out": None if out is None else str(out),
    }


def sensitivity_record(res, out=None) -> dict:
    """Everything ``sensitivity`` shows: the indices of every (target, driver) and, per
    target, its drivers ranked by total index."""
    ix = res.indices
    frame = tables.sensitivity_frame(res)
    return {
        "status": "ok",
        "scenario": res.prepared.loaded.scenario.scenario.id,
        "samples": ix.samples,
        "samples_requested": ix.samples_requested,
        "model_runs": ix.runs,
        "seed": res.seed,
        "allocation": res.allocation,
        "uncertainty_block": res.has_block,
        "drivers": {g: len(c) for g, c in ix.columns.items()},
        "ranking": tables.sensitivity_ranking(res),
        "indices": frame_records(frame),
        "out": None if out is None else str(out),
    }


MEASURES = {
    "expected": "mean weighted shortfall",
    "cvar": "CVaR{level} of the weighted shortfall",
    "chance": "weighted targets met in ≥ {level} of futures",
}


MEASURES = {
    "expected": "mean weighted shortfall",
    "cvar": "CVaR{level} of the weighted shortfall",
    "chance": "weighted targets met in ≥ {level} of futures",
}


def robust_summary(res) -> dict:
    """The risk measure of the robust allocation and of the deterministic optimum, in sample
    and out of sample, and the value of the stochastic solution (VSS, out of sample)."""
    from ..runs import risk_value

    kind, _, level = res.solver["risk"].partition(":")
    level = float(level) if level else None
    specs = res.prepared.specs
    value = lambda d: risk_value(d, kind, level, specs)  # noqa: E731
    rob_in, det_in = value(res.in_sample.distribution), value(res.in_sample_deterministic)
    rob_out, det_out = value(res.out_of_sample["robust"]), value(res.out_of_sample["deterministic"])
    higher = kind == "chance"
    vss = (rob_out - det_out) if higher else (det_out - rob_out)
    return {
        "measure": MEASURES[kind].format(level=level),
        "better": "higher" if higher else "lower",
        "robust_in_sample": rob_in,
        "robust_out_of_sample": rob_out,
        "deterministic_in_sample": det_in,
        "deterministic_out_of_sample": det_out,
        "value_of_stochastic_solution": vss,
        "robust_better_out_of_sample": vss > 0,
        "out_of_sample_futures": res.oos_samples,
        "out_of_sample_seed": res.oos_seed,
        "objective_mean": float(res.in_sample.distribution.loss.mean()),
        "objective_out_of_sample_mean": float(res.out_of_sample["robust"].loss.mean()),
    }


def robust_record(res, out=None) -> dict:
    """Everything ``optimise --robust`` shows; ``["solver"]`` is ``solver.json``."""
    a = res.prepared.arrays
    summary = robust_summary(res)
    solver = {**res.solver, "out_of_sample": summary}
    return {
        "status": res.status,
        "robust": summary,
        "allocation": frame_records(tables.allocation_frame(res.opt.grant, a)),
        "targets": frame_records(tables.targets_frame(res.opt.ledger, a.years)),
        "probabilities": frame_records(tables.probabilities_frame(res.in_sample)),
        "out_of_sample": frame_records(tables.out_of_sample_frame(res)),
        "solver": solver,
        "out": None if out is None else str(out),
    }
