"""Benchmark: a 20-point budget sweep on one persistent model against 20 cold solves.

For synthetic scenarios of 50 and 200 clusters × 5 years, with every fund year's budget set to
20 values from 0 to 2× the scenario's annual budget:

(a) persistent — ``optimise`` once (set-up, timed apart), then ``sweep(opt, values)``: per
    point, new budget rows (``set_rhs``), ``Highs.run`` from the previous basis, and the
    product's own post-processing (solution read-back, numpy projection, ledger, audit).
    The pure re-solve time is the sum of ``res.timings['solve_seconds']`` (``Highs.run``).
(a') the same steps as ``sweep`` timed one by one: set_rhs, run, read-back, finish.
(b) bare persistent — for reference only: ``set_rhs`` + ``Highs.run`` on a fresh persistent
    model, nothing else (the floor of any persistent sweep).
(c) cold — per point a fresh scenario (``dataclasses.replace`` on the arrays' budget) and the
    product's own ``optimise``: build (GC paused, as in the product), hand-off, solve, then the
    same projection, ledger and audit a sweep point runs.

A side measurement repeats (a) and (c) with Python's cyclic garbage collector paused for the
whole loop: dead Pyomo models (reference cycles) pile up between cold points and the
collector's passes over them slow the following builds down.

The main objective (weighted relative shortfall Σ w_j·shortfall_j) must agree between (a) and
(c) at every budget (relative 1e-6). Each loop is repeated (default 3) and the median kept.

Run from the repository root::

    python benchmarks/bench_sweep.py
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gc
import statistics
import time
from pathlib import Path

import highspy
import numpy as np
from common import REL_TOL, feasible_scenario, versions

from simulator.allocation.optimise import finish, optimise
from simulator.allocation.sweep import sweep

OUT = Path(__file__).resolve().parent / "out"


def main_objective(sol, m, pr) -> float:
    """Σ w_j·v_shortfall[j] (the shortfall objective without its 1e-6 tie-breaks)."""
    w = {d.spec.id: d.spec.weight for d in pr.targets}
    return float(sum(w[j] * sol.value(m.v_shortfall[j]) for j in m.J))


def persistent(a, specs, values, gc_off: bool = False) -> dict:
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        t0 = time.perf_counter()
        opt = optimise(a, specs)
        t1 = time.perf_counter()
        solutions = []
        for _, res in sweep(opt, values):
            solutions.append((res.solution, res.problem))
        t2 = time.perf_counter()
    finally:
        gc.enable()
    return {
        "setup_s": t1 - t0,
        "loop_s": t2 - t1,
        "run_sum_s": sum(sol.timings["solve_seconds"] for sol, _ in solutions),
        "main": [main_objective(sol, opt.model, pr) for sol, pr in solutions],
        "full": [sol.objective for sol, _ in solutions],
    }


def breakdown(a, specs, values) -> dict:
    """The body of ``sweep`` with a timer on each step (same calls, same order)."""
    opt = optimise(a, specs)
    pr, hm, rows = opt.problem, opt.highs, opt.model.budget_rows
    t = {"set_rhs_s": 0.0, "run_s": 0.0, "read_back_s": 0.0, "finish_s": 0.0}
    gc.collect()
    for value in values:
        c0 = time.perf_counter()
        budget = pr.arrays.budget.copy()
        budget[pr.arrays.fund_years] = value
        hm.set_rhs({con: mult * value for con, (_, mult) in rows.items()})
        c1 = time.perf_counter()
        sol = hm.solve()
        c2 = time.perf_counter()
        problem = dataclasses.replace(pr, arrays=dataclasses.replace(pr.arrays, budget=budget))
        finish(problem, opt.model, hm, sol, opt.objective_name, sol.timings)
        c3 = time.perf_counter()
        t["set_rhs_s"] += c1 - c0
        t["run_s"] += sol.timings["solve_seconds"]
        t["read_back_s"] += c2 - c1 - sol.timings["solve_seconds"]
        t["finish_s"] += c3 - c2
    return t


def bare_persistent(a, specs, values) -> dict:
    opt = optimise(a, specs)
    hm, rows = opt.highs, opt.model.budget_rows
    gc.collect()
    t0 = time.perf_counter()
    for value in values:
        hm.set_rhs({con: mult * value for con, (_, mult) in rows.items()})
        hm.highs.run()
        if hm.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"bare persistent, budget {value}: not optimal")
    return {"loop_s": time.perf_counter() - t0}


def cold(a, specs, values, gc_off: bool = False) -> dict:
    """``gc_off``: Python's cyclic garbage collector paused for the loop (side measurement)."""
    main, full, run = [], [], []
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        return _cold(a, specs, values, main, full, run)
    finally:
        gc.enable()


def _cold(a, specs, values, main, full, run) -> dict:
    t0 = time.perf_counter()
    for value in values:
        budget = a.budget.copy()
        budget[a.fund_years] = value
        # the product's cold path: build, hand-off, solve, projection, ledger, audit —
        # the same work a sweep point does after its warm re-solve
        opt = optimise(dataclasses.replace(a, budget=budget), specs)
        run.append(opt.timings["solve_seconds"])
        main.append(opt.objective)
        full.append(opt.solution.objective)
    return {"loop_s": time.perf_counter() - t0, "run_sum_s": sum(run), "main": main, "full": full}


def rel(x: float, y: float) -> float:
    return abs(x - y) / max(1.0, abs(x), abs(y))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clusters", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    print(versions())
    print(f"{args.points} budgets from 0 to 2× the annual budget; {args.repeat} repeats, median\n")
    rows, points = [], []
    for n in args.clusters:
        seed, a, specs = feasible_scenario(n, args.years, args.seed)
        base = float(a.budget[a.fund_years].max())
        values = np.linspace(0.0, 2.0 * base, args.points)
        pers = [persistent(a, specs, values) for _ in range(args.repeat)]
        bare = [bare_persistent(a, specs, values) for _ in range(args.repeat)]
        parts = [breakdown(a, specs, values) for _ in range(args.repeat)]
        colds = [cold(a, specs, values) for _ in range(args.repeat)]
        # side measurement: both loops with the garbage collector paused
        pers_off = [persistent(a, specs, values, gc_off=True) for _ in range(args.repeat)]
        colds_off = [cold(a, specs, values, gc_off=True) for _ in range(args.repeat)]
        gc.collect()

        main_diff = max(
            rel(p, c)
            for cl in (colds, colds_off, pers_off)
            for p, c in zip(pers[0]["main"], cl[0]["main"], strict=True)
        )
        full_diff = max(rel(p, c) for p, c in zip(pers[0]["full"], colds[0]["full"], strict=True))
        if main_diff > REL_TOL:
            raise RuntimeError(f"{n} clusters: objectives differ (max relative {main_diff:.2e})")
        for i, v in enumerate(values):
            points.append(
                {
                    "clusters": n,
                    "seed": seed,
                    "budget": v,
                    "objective_persistent": pers[0]["main"][i],
                    "objective_cold": colds[0]["main"][i],
                    "highs_objective_persistent": pers[0]["full"][i],
                    "highs_objective_cold": colds[0]["full"][i],
                }
            )

        def med(runs, key):
            return statistics.median(r[key] for r in runs)

        row = {
            "clusters": n,
            "years": args.years,
            "seed": seed,
            "annual_budget": base,
            "points": args.points,
            "setup_s": med(pers, "setup_s"),
            "sweep_loop_s": med(pers, "loop_s"),
            "sweep_run_sum_s": med(pers, "run_sum_s"),
            "bare_loop_s": med(bare, "loop_s"),
            "cold_loop_s": med(colds, "loop_s"),
            "cold_run_sum_s": med(colds, "run_sum_s"),
            **{f"sweep_{k}": med(parts, k) for k in parts[0]},
            "gc_off_sweep_loop_s": med(pers_off, "loop_s"),
            "gc_off_cold_loop_s": med(colds_off, "loop_s"),
            "max_rel_diff_main_objective": main_diff,
            "max_rel_diff_highs_objective": full_diff,
        }
        row["speedup_cold_over_sweep"] = row["cold_loop_s"] / row["sweep_loop_s"]
        row["speedup_incl_setup"] = row["cold_loop_s"] / (row["setup_s"] + row["sweep_loop_s"])
        row["gc_off_speedup_cold_over_sweep"] = (
            row["gc_off_cold_loop_s"] / row["gc_off_sweep_loop_s"]
        )
        row["speedup_cold_over_bare"] = row["cold_loop_s"] / row["bare_loop_s"]
        row["speedup_run_only"] = row["cold_run_sum_s"] / row["sweep_run_sum_s"]
        rows.append(row)
        print(
            f"  {n:>5} clusters (seed {seed}): annual budget {base:.6g} 亿元; main objective "
            f"{pers[0]['main'][0]:.6g} at budget 0 → {pers[0]['main'][-1]:.6g} at 2×; "
            f"max relative difference sweep vs cold: main objective {main_diff:.1e}, "
            f"HiGHS objective with tie-breaks {full_diff:.1e}",
            flush=True,
        )

    print(f"\nSeconds for the whole {args.points}-point loop (median of {args.repeat}).\n")
    print(
        "| clusters | seed | 20 cold solves | sweep() loop | of which Highs.run "
        "| set-up (optimise once) | bare set_rhs+run | cold / sweep "
        "| cold / (set-up + sweep) | cold / bare | run: cold / warm |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['seed']} | {r['cold_loop_s']:.3f} "
            f"| {r['sweep_loop_s']:.3f} "
            f"| {r['sweep_run_sum_s']:.3f} | {r['setup_s']:.3f} | {r['bare_loop_s']:.3f} "
            f"| {r['speedup_cold_over_sweep']:.1f}× "
            f"| {r['speedup_incl_setup']:.1f}× "
            f"| {r['speedup_cold_over_bare']:.1f}× | {r['speedup_run_only']:.1f}× |"
        )

    print(
        "\nWhere the sweep() loop's time goes (the same steps timed one by one, seconds for "
        "all points): set_rhs; Highs.run; reading the solution back into Python dicts "
        "(HighsModel.solve minus run); finish = grant, numpy projection, audit, ledger.\n"
    )
    print("| clusters | set_rhs | Highs.run | read-back | finish (projection + ledger + audit) |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['sweep_set_rhs_s']:.3f} | {r['sweep_run_s']:.3f} "
            f"| {r['sweep_read_back_s']:.3f} | {r['sweep_finish_s']:.3f} |"
        )

    print("\nSide measurement: both loops with the garbage collector paused (gc.disable()).\n")
    print("| clusters | 20 cold solves, GC off | sweep() loop, GC off | cold / sweep, GC off |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['gc_off_cold_loop_s']:.3f} "
            f"| {r['gc_off_sweep_loop_s']:.3f} | {r['gc_off_speedup_cold_over_sweep']:.1f}× |"
        )

    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in (("sweep.csv", rows), ("sweep_points.csv", points)):
        path = OUT / name
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
        print(f"\nwrote {path}", end="")
    print()


if __name__ == "__main__":
    main()
