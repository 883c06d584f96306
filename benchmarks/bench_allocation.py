"""Benchmark: our allocation path (numpy → Pyomo → HiGHS) against HiGHS alone on the same LP.

For synthetic scenarios of 6, 50, 200 and 1,000 clusters × 5 years, in one process:

(a) our path — ``build_problem`` (numpy) + ``build_model`` (Pyomo) = build;
    ``HighsModel(model)`` (LinearStandardFormCompiler + passModel) = hand-off;
    ``HighsModel.solve()`` (``Highs.run`` + reading the solution back) = solve.
(b) HiGHS alone — the model our path handed to HiGHS, written with ``HighsModel.write`` as
    MPS, read into a fresh silent ``highspy.Highs`` (``readModel``, timed separately) and
    solved (``run``, timed alone). A second baseline passes the same LP in memory
    (``getLp`` → ``passModel``) to a fresh ``Highs`` and times ``run``.

Each measurement is repeated (default 3) and the median kept. Both must reach the same
objective (relative 1e-6). A table goes to stdout and the figures to
``benchmarks/out/allocation.csv``.

Run from the repository root::

    python benchmarks/bench_allocation.py                # the four sizes, 3 repeats
    python benchmarks/bench_allocation.py --profile      # also cProfile the largest size

A side measurement repeats our path with the garbage collector paused (not the product path;
it shows how much of the Pyomo time is the collector).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import highspy
from common import REL_TOL, feasible_scenario, versions
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from simulator.allocation.model import build_model
from simulator.allocation.optimise import paused_gc
from simulator.allocation.problem import build_problem
from simulator.allocation.solve import HighsModel

OUT = Path(__file__).resolve().parent / "out"


def measure_once(a, specs, mps: Path) -> dict:
    """One measurement of our path and of HiGHS alone on the exported model."""
    gc.collect()
    t0 = time.perf_counter()
    pr = build_problem(a, specs)
    t1 = time.perf_counter()
    with paused_gc():  # as optimise() does
        m = build_model(pr)
        t2 = time.perf_counter()
        hm = HighsModel(m)
        t3 = time.perf_counter()
    sol = hm.solve()
    t4 = time.perf_counter()
    if sol.status != "optimal":
        raise RuntimeError(f"our path: status {sol.status}")
    ours_iters = hm.highs.getInfo().simplex_iteration_count

    # side measurement (not part of our path's timing): the compiler alone on the same model
    gc.collect()
    c0 = time.perf_counter()
    LinearStandardFormCompiler().write(m, mixed_form=True)
    compile_s = time.perf_counter() - c0

    hm.write(str(mps))
    lp = hm.highs.getLp()
    del hm, m, pr

    # side measurement: the same path with Python's cyclic garbage collector running (the
    # objects Pyomo creates trigger repeated full collections while the model grows); the
    # product pauses it (optimise.paused_gc)
    gc.collect()
    gc.enable()
    try:
        g0 = time.perf_counter()
        pr = build_problem(a, specs)
        g1 = time.perf_counter()
        m = build_model(pr)
        g2 = time.perf_counter()
        hm = HighsModel(m)
        g3 = time.perf_counter()
        hm.solve()
        g4 = time.perf_counter()
    finally:
        gc.enable()
    del hm, m, pr
    gc.collect()
    h = highspy.Highs()
    h.silent()
    r0 = time.perf_counter()
    h.readModel(str(mps))
    r1 = time.perf_counter()
    h.run()
    r2 = time.perf_counter()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS alone: status {h.modelStatusToString(h.getModelStatus())}")
    info = h.getInfo()
    alone_obj = float(info.objective_function_value)
    alone_iters = info.simplex_iteration_count
    del h

    # a second baseline: the same LP passed in memory (passModel), as in shared/performance.md
    gc.collect()
    h = highspy.Highs()
    h.silent()
    h.passModel(lp)
    p0 = time.perf_counter()
    h.run()
    pass_run_s = time.perf_counter() - p0
    pass_obj = float(h.getInfo().objective_function_value)
    if abs(pass_obj - alone_obj) / max(1.0, abs(alone_obj)) > REL_TOL:
        raise RuntimeError(f"passModel objective {pass_obj!r} differs from {alone_obj!r}")
    rel = abs(sol.objective - alone_obj) / max(1.0, abs(alone_obj))
    if rel > REL_TOL:
        raise RuntimeError(f"objectives differ: ours {sol.objective!r}, HiGHS {alone_obj!r}")
    return {
        "variables": h.getNumCol(),
        "constraints": h.getNumRow(),
        "nonzeros": h.getNumNz(),
        "build_problem_s": t1 - t0,
        "build_model_s": t2 - t1,
        "build_s": t2 - t0,
        "handoff_s": t3 - t2,
        "handoff_compile_s": compile_s,
        "solve_s": t4 - t3,
        "solve_run_s": sol.timings["solve_seconds"],
        "ours_total_s": t4 - t0,
        "gc_on_build_model_s": g2 - g1,
        "gc_on_handoff_s": g3 - g2,
        "gc_on_ours_total_s": g4 - g0,
        "highs_read_s": r1 - r0,
        "highs_run_s": r2 - r1,
        "highs_pass_run_s": pass_run_s,
        "objective": sol.objective,
        "objective_highs_alone": alone_obj,
        "objective_rel_diff": rel,
        "ours_simplex_iterations": ours_iters,
        "highs_simplex_iterations": alone_iters,
    }


def median_row(runs: list[dict]) -> dict:
    row = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        row[key] = statistics.median(values) if key.endswith("_s") else values[0]
    row["objective_rel_diff"] = max(r["objective_rel_diff"] for r in runs)
    row["ratio_total"] = row["ours_total_s"] / row["highs_run_s"]
    row["ratio_handoff_solve"] = (row["handoff_s"] + row["solve_s"]) / row["highs_run_s"]
    row["ratio_total_vs_passmodel"] = row["ours_total_s"] / row["highs_pass_run_s"]
    row["gc_on_ratio_total"] = row["gc_on_ours_total_s"] / row["highs_run_s"]
    return row


def profile(a, specs, top: int) -> None:
    """cProfile our whole path once (build, hand-off, solve) and print the top functions."""
    gc.collect()
    prof = cProfile.Profile()
    prof.enable()
    pr = build_problem(a, specs)
    m = build_model(pr)
    hm = HighsModel(m)
    hm.solve()
    prof.disable()
    for order in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(order).print_stats(top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\n--- profile of our path, sorted by {order} (top {top}) ---")
        print(text[start:].rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clusters", type=int, nargs="+", default=[6, 50, 200, 1000])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile the largest size once")
    ap.add_argument("--top", type=int, default=25, help="rows of profile to print")
    args = ap.parse_args()

    print(versions())
    print(f"{args.repeat} repeats, median; years {args.years}; seed {args.seed}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.clusters:
            seed, a, specs = feasible_scenario(n, args.years, args.seed)
            runs = [measure_once(a, specs, Path(tmp) / "x.mps") for _ in range(args.repeat)]
            row = {"clusters": n, "years": args.years, "seed": seed, **median_row(runs)}
            rows.append(row)
            print(
                f"  {n:>5} clusters (seed {seed}): objective {row['objective']:.10g} "
                f"(HiGHS alone {row['objective_highs_alone']:.10g}, "
                f"max rel diff {row['objective_rel_diff']:.1e}); "
                f"simplex iterations ours {row['ours_simplex_iterations']}, "
                f"alone {row['highs_simplex_iterations']}",
                flush=True,
            )

    print(
        "\nTimes in seconds (median). ours = build + hand-off + solve; "
        "HiGHS = run() on the exported MPS.\n"
    )
    print(
        "| clusters | seed | variables | constraints | nonzeros | build | hand-off | solve "
        "| ours total | HiGHS alone run | ours / HiGHS | (hand-off + solve) / HiGHS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['seed']} | {r['variables']:,} | {r['constraints']:,} "
            f"| {r['nonzeros']:,} | {r['build_s']:.4f} | {r['handoff_s']:.4f} "
            f"| {r['solve_s']:.4f} | {r['ours_total_s']:.4f} | {r['highs_run_s']:.4f} "
            f"| {r['ratio_total']:.2f}× | {r['ratio_handoff_solve']:.2f}× |"
        )
    print(
        "\nBreakdown (median seconds): build = build_problem (numpy) + build_model (Pyomo); "
        "hand-off of which LinearStandardFormCompiler alone (measured separately); "
        "solve of which Highs.run(); HiGHS alone readModel; and a second baseline, a fresh "
        "Highs given the same LP in memory (passModel, as in shared/performance.md).\n"
    )
    print(
        "| clusters | build_problem (numpy) | build_model (Pyomo) | hand-off | of which compiler "
        "| solve | of which run() | HiGHS readModel | HiGHS run() "
        "| HiGHS run() after passModel | ours / HiGHS (passModel) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['build_problem_s']:.4f} | {r['build_model_s']:.4f} "
            f"| {r['handoff_s']:.4f} | {r['handoff_compile_s']:.4f} | {r['solve_s']:.4f} "
            f"| {r['solve_run_s']:.4f} | {r['highs_read_s']:.4f} | {r['highs_run_s']:.4f} "
            f"| {r['highs_pass_run_s']:.4f} | {r['ratio_total_vs_passmodel']:.2f}× |"
        )

    print(
        "\nSide measurement: the same path with the garbage collector running (no pause), "
        "to show how much of the Pyomo time the pause saves.\n"
    )
    print(
        "| clusters | build_model | build_model, GC on | hand-off | hand-off, GC on "
        "| ours total | ours total, GC on | ours / HiGHS, GC on |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clusters']:,} | {r['build_model_s']:.4f} | {r['gc_on_build_model_s']:.4f} "
            f"| {r['handoff_s']:.4f} | {r['gc_on_handoff_s']:.4f} | {r['ours_total_s']:.4f} "
            f"| {r['gc_on_ours_total_s']:.4f} | {r['gc_on_ratio_total']:.2f}× |"
        )

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "allocation.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"\nwrote {path}")

    if args.profile:
        n = max(args.clusters)
        seed, a, specs = feasible_scenario(n, args.years, args.seed)
        print(f"\nprofiling {n} × {args.years} (seed {seed})")
        profile(a, specs, args.top)


if __name__ == "__main__":
    main()
