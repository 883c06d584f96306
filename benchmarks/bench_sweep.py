"""Benchmark: a 20-point budget sweep on one persistent model against 20 cold ``optimise()``.

For the synthetic scenarios ``simulator synth --clusters N --years 5 --seed 7`` writes
(N = 50, 200), with every fund year's budget set to 20 values from 0 to 2× the scenario's
annual budget:

- PERSISTENT — set-up: ``optimise(a, specs, budget_ceiling=max(values))`` once (as the
  ``sweep`` command does); loop: ``sweep(opt, values)`` consumed to the end. Each point changes
  the budget rows, re-solves every stage from the last basis and is settled, projected,
  scored and audited (``SweepPoint.result``);
- COLD — per point, ``optimise()`` on the arrays with that budget: build, hand-off, solve,
  settle, projection, ledger, audit: the same results from scratch.

The loops run interleaved (persistent, cold, persistent, cold, …; default 3 each), with the
garbage collector off as in the CLI, and the medians are compared:

- speed-up = COLD / PERSISTENT loop (bar ≥ 10×);
- with set-up = COLD / (set-up + PERSISTENT loop) (shown against the same bar).

At every budget both must give the same status and the same objective (the projection's,
``Optimised.objective``, and the model's first aim, relative 1e-6).

Run from the repository root::

    python benchmarks/bench_sweep.py
    python benchmarks/bench_sweep.py --clusters 200 --repeat 5

Writes ``benchmarks/out/sweep.csv`` and ``benchmarks/out/sweep_points.csv``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time

import numpy as np
from common import REL_TOL, median, rel, scenario, table, verdict, versions, write_csv

from simulator.allocation.optimise import optimise
from simulator.allocation.sweep import sweep
from simulator.errors import InfeasibleError

BAR = 10.0


def _point(status: str, res) -> tuple[str, float, float, float]:
    """(status, projection's objective, model's first aim, solve seconds of the point)."""
    if res is None:
        return status, float("nan"), float("nan"), 0.0
    solve = float(res.solution.timings["solve_seconds"])
    return status, float(res.objective), float(res.solution.aim_values[0]), solve


def persistent(a, specs, values) -> dict:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        opt = optimise(a, specs, budget_ceiling=float(max(values)))
        t1 = time.perf_counter()
        points = [_point(p.status, p.result) for p in sweep(opt, values)]
        t2 = time.perf_counter()
    finally:
        gc.enable()
    return {"setup_s": t1 - t0, "loop_s": t2 - t1, "points": points}


def cold(a, specs, values) -> dict:
    points = []
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for value in values:
            budget = a.budget.copy()
            budget[a.fund_years] = value
            try:
                opt = optimise(dataclasses.replace(a, budget=budget), specs)
            except InfeasibleError:
                points.append(("infeasible", float("nan"), float("nan"), 0.0))
                continue
            points.append(_point(opt.status, opt))
        t1 = time.perf_counter()
    finally:
        gc.enable()
    return {"loop_s": t1 - t0, "points": points}


def compare(n, values, pers: dict, colds: dict) -> float:
    """Max relative difference of the objectives, point by point; raises on disagreement."""
    worst = 0.0
    for v, p, c in zip(values, pers["points"], colds["points"], strict=True):
        if (p[0] == "infeasible") != (c[0] == "infeasible"):
            raise RuntimeError(f"{n} clusters, budget {v:g}: status {p[0]} vs cold {c[0]}")
        if p[0] == "infeasible":
            continue
        if np.isnan(p[1]) or np.isnan(c[1]):
            raise RuntimeError(f"{n} clusters, budget {v:g}: status {p[0]} vs cold {c[0]}")
        worst = max(worst, rel(p[1], c[1]), rel(p[2], c[2]))
    if worst > REL_TOL:
        raise RuntimeError(f"{n} clusters: objectives differ (max relative {worst:.1e})")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clusters", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    print(versions())
    print(
        f"seed {args.seed}, {args.years} years; {args.points} budgets from 0 to 2× the annual "
        f"budget; {args.repeat} interleaved repeats, median\n"
    )
    rows, point_rows = [], []
    for n in args.clusters:
        a, specs = scenario(n, args.years, args.seed)
        base = float(a.budget[a.fund_years].max())
        values = np.linspace(0.0, 2.0 * base, args.points)
        persistent(a, specs, values[:2])  # warm-up (untimed)
        pers, colds = [], []
        for _ in range(args.repeat):  # interleaved
            pers.append(persistent(a, specs, values))
            colds.append(cold(a, specs, values))
        diff = max(compare(n, values, p, c) for p, c in zip(pers, colds, strict=True))
        for v, p, c in zip(values, pers[0]["points"], colds[0]["points"], strict=True):
            point_rows.append(
                {
                    "clusters": n,
                    "budget": v,
                    "status_persistent": p[0],
                    "status_cold": c[0],
                    "objective_persistent": p[1],
                    "objective_cold": c[1],
                    "first_aim_persistent": p[2],
                    "first_aim_cold": c[2],
                }
            )
        row = {
            "clusters": n,
            "years": args.years,
            "seed": args.seed,
            "annual_budget": base,
            "points": args.points,
            "infeasible_points": sum(p[0] == "infeasible" for p in pers[0]["points"]),
            "setup_s": median(p["setup_s"] for p in pers),
            "sweep_loop_s": median(p["loop_s"] for p in pers),
            "cold_loop_s": median(c["loop_s"] for c in colds),
            # of which the solves (every stage, HighsModel.solve), summed over the points
            "sweep_solve_s": median(sum(q[3] for q in p["points"]) for p in pers),
            "cold_solve_s": median(sum(q[3] for q in c["points"]) for c in colds),
            "max_rel_diff": diff,
            "repeats": args.repeat,
        }
        row["speedup"] = row["cold_loop_s"] / row["sweep_loop_s"]
        row["speedup_with_setup"] = row["cold_loop_s"] / (row["setup_s"] + row["sweep_loop_s"])
        rows.append(row)
        print(
            f"  {n:>5} × {args.years}: annual budget {base:.6g} 亿元; objectives agree at all "
            f"{args.points} budgets (max relative difference {diff:.1e}; "
            f"{row['infeasible_points']} infeasible in both)",
            flush=True,
        )

    print(f"\nSeconds for the whole {args.points}-point loop, median; bar ≥ {BAR:g}×.\n")
    print(
        table(
            [
                "clusters",
                f"{args.points} cold optimise()",
                "of which solve",
                "sweep() loop",
                "of which solve",
                "set-up (once)",
                "speed-up",
                "verdict",
                "speed-up with set-up",
                "verdict",
            ],
            [
                [
                    f"{r['clusters']:,}",
                    f"{r['cold_loop_s']:.3f}",
                    f"{r['cold_solve_s']:.3f}",
                    f"{r['sweep_loop_s']:.3f}",
                    f"{r['sweep_solve_s']:.3f}",
                    f"{r['setup_s']:.3f}",
                    f"{r['speedup']:.1f}×",
                    verdict(r["speedup"] >= BAR),
                    f"{r['speedup_with_setup']:.1f}×",
                    verdict(r["speedup_with_setup"] >= BAR),
                ]
                for r in rows
            ],
        )
    )
    print(f"\nwrote {write_csv('sweep.csv', rows)} and {write_csv('sweep_points.csv', point_rows)}")


if __name__ == "__main__":
    main()
