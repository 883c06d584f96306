"""Planner-facing text and tables for allocations: who gets what, targets before and after,
what binds, and what one more unit is worth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..allocation.optimise import Optimised
from ..core.targets import Ledger, display
from ..units import factor
from .files import format_number, render


def allocation_table(grant: np.ndarray, opt_or_arrays) -> str:
    a = getattr(getattr(opt_or_arrays, "problem", None), "arrays", opt_or_arrays)
    money = factor(a.fund_unit, "money")
    years = np.flatnonzero(a.fund_years)
    per = grant.sum(axis=2) / money
    head = ["cluster", *(str(int(a.years[t])) for t in years), "total"]
    body = []
    for c in np.flatnonzero(a.fundable):
        body.append(
            [
                a.cluster_ids[c],
                *(format_number(per[c, t]) for t in years),
                format_number(per[c, years].sum()),
            ]
        )
    body.append(
        [
            "total",
            *(format_number(per[:, t].sum()) for t in years),
            format_number(per[:, years].sum()),
        ]
    )
    body.append(
        [
            "budget",
            *(format_number(a.budget[t] / money) for t in years),
            format_number(a.budget[years].sum() / money),
        ]
    )
    return f"allocation ({a.fund_unit}):\n" + render(head, body, right=set(range(1, len(head))))


def before_after(before: Ledger, after: Ledger, movable: np.ndarray, years) -> pd.DataFrame:
    rows = []
    for j, spec in enumerate(after.specs):
        req, unit = display(spec, after.required[j, 0])
        b, _ = display(spec, before.projected[j, 0])
        x, _ = display(spec, after.projected[j, 0])
        rows.append(
            {
                "target_id": spec.id,
                "year": int(years[spec.t]),
                "required": req,
                "before": b,
                "after": x,
                "gap_before": b - req,
                "gap_after": x - req,
                "unit": unit,
                "met_before": bool(before.met[j, 0]),
                "met_after": bool(after.met[j, 0]),
                "fund_can_move": bool(movable[j]),
            }
        )
    return pd.DataFrame(rows)


def before_after_table(df: pd.DataFrame) -> str:
    head = [
        "target",
        "year",
        "required",
        "no fund",
        "optimised",
        "gap",
        "unit",
        "met",
        "fund moves it",
    ]
    body = []
    for r in df.itertuples():
        met = ("yes" if r.met_after else "NO") + (
            " (new)" if r.met_after and not r.met_before else ""
        )
        body.append(
            [
                r.target_id,
                str(r.year),
                format_number(r.required),
                format_number(r.before),
                format_number(r.after),
                ("+" if r.gap_after > 0 else "") + format_number(r.gap_after),
                r.unit,
                met,
                "yes" if r.fund_can_move else "no",
            ]
        )
    return render(head, body, right={2, 3, 4, 5})


def marginal_sentences(budget: list[dict], limits: list[dict], objective: str) -> list[str]:
    what = {
        "shortfall": "lowers the weighted shortfall by",
        "targets-met": "adds to the weighted number of targets met",
        "worst": "lowers the worst relative shortfall by",
    }[objective]
    lines = []
    for e in budget:
        unit = e["unit"]
        parts = [f"+{format_number(e.get('resolve_delta', 1.0))}{unit} in {e['year']}"]
        if "resolve_improvement" in e:
            parts.append(f"{what} {e['resolve_improvement']:.4g}")
            if e.get("best_use"):
                parts.append(
                    f"the best use is {e['best_use']} "
                    f"(+{format_number(e['best_use_amount'])}{unit} there), worth "
                    f"{format_number(e['horizon_revenue_gain'])} 亿元 of "
                    f"{e['horizon_year']} revenue"
                )
            else:
                parts.append("the extra money is not used (targets met or limits bind)")
        if e["rate_per_unit"] is not None:
            parts.append(f"dual rate {e['rate_per_unit']:.4g} per {unit}")
        lines.append(parts[0] + " " + "; ".join(parts[1:]))
    for e in limits:
        if e["binding"] and e["rate_per_unit"] is not None:
            lines.append(
                f"+100 {e['unit']} of {e['limit']} in {e['year']} {what} "
                f"{100 * e['rate_per_unit']:.4g}"
            )
        elif e["binding"]:
            lines.append(f"{e['limit']} {e['year']} binds")
    return lines


def solver_record(opt: Optimised, budget: list[dict], limits: list[dict]) -> dict:
    import highspy

    hm = opt.highs
    return {
        "status": opt.solution.status,
        "objective": opt.objective,
        "objective_name": opt.objective_name,
        "objective_with_tie_breaks": opt.solution.objective,
        "solver": "HiGHS (highspy) via Pyomo LinearStandardFormCompiler",
        "solver_version": hm.highs.version(),
        "highspy_version": getattr(highspy, "__version__", None),
        "build_seconds": opt.timings.get("build_seconds"),
        "handoff_seconds": opt.timings.get("handoff_seconds"),
        "solve_seconds": opt.timings.get("solve_seconds"),
        "n_variables": len(hm.columns),
        "n_constraints": len(hm.rows),
        "n_nonzeros": hm.n_nonzeros,
        "is_mip": hm.is_mip,
        "audit": opt.checks,
        "marginal_values": {"budget": budget, "limits": limits},
    }
