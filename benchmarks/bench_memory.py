"""Benchmark: peak memory of ``simulator optimise`` against HiGHS alone on the same model.

Default mode — the acceptance check, each command a fresh process under ``/usr/bin/time -v``
("Maximum resident set size"), on the synthetic 1,000 × 5 scenario (seed 7) that
``simulator synth`` writes:

(a) ``python -m simulator optimise S.yaml --export-model M.mps --out D``  (ours)
(b) ``python -c "import simulator.cli"``                                   (our imports only)
(c) ``python -c "import highspy,sys; h=highspy.Highs(); h.setOptionValue('output_flag',
    False); h.readModel(sys.argv[1]); h.run()" M.mps``                    (HiGHS alone)
(d) ``python -c "import highspy"``                                        (HiGHS's import)

ours = (a) − (b) and HiGHS = (c) − (d): what solving costs above each one's imports.
ratio = ours / HiGHS, bar ≤ 2. The four run interleaved (default 3 rounds), medians kept.

``--breakdown`` — where our memory goes: the steps of ``simulator optimise`` run in this
process with the collector off (as the CLI), printing VmRSS and VmHWM (/proc/self/status)
after each heavy import (numpy, pyomo.core, pint — through ``simulator.units``, as
the product imports it —, pydantic, yaml, highspy; scipy is not imported here, so a step that
pulls it in lists it first among its new modules) and after each step: load the
scenario, compile arrays and targets, build the problem, build the Pyomo model, the HighsModel
hand-off, solve (stages, settle, projection, audit), export the model, marginal values,
writing the results folder, the console text.

Run from the repository root::

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --breakdown [--clusters 1000]

Writes ``benchmarks/out/memory.csv`` (default mode).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from common import median, rss_kib, synth_file, table, tmpdir, verdict, write_csv

BAR = 2.0
TIME = "/usr/bin/time"

HIGHS_ALONE = (
    "import highspy,sys; h=highspy.Highs(); h.setOptionValue('output_flag', False); "
    "h.readModel(sys.argv[1]); h.run()"
)


def max_rss_kib(cmd: list[str]) -> int:
    proc = subprocess.run([TIME, "-v", *cmd], capture_output=True, text=True, cwd=tmpdir())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-500:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if not found:
        raise RuntimeError(f"no 'Maximum resident set size' from {TIME} -v")
    return int(found.group(1))


def acceptance(args) -> None:
    py = sys.executable
    scenario = synth_file(args.clusters, args.years, args.seed)
    mps = tmpdir() / "M.mps"
    out = tmpdir() / "D"
    cmds = {
        "a": [
            py,
            "-m",
            "simulator",
            "optimise",
            str(scenario),
            "--export-model",
            str(mps),
            "--out",
            str(out),
        ],
        "b": [py, "-c", "import simulator.cli"],
        "c": [py, "-c", HIGHS_ALONE, str(mps)],
        "d": [py, "-c", "import highspy"],
    }
    label = {
        "a": "(a) simulator optimise --export-model",
        "b": "(b) import simulator.cli",
        "c": "(c) HiGHS alone: readModel + run",
        "d": "(d) import highspy",
    }
    subprocess.run(cmds["a"], check=True, capture_output=True, cwd=tmpdir())  # M.mps, warm-up
    got: dict[str, list[int]] = {k: [] for k in cmds}
    for _ in range(args.repeat):
        for k, cmd in cmds.items():
            got[k].append(max_rss_kib(cmd))
    mib = {k: median(v) / 1024 for k, v in got.items()}
    ours, highs = mib["a"] - mib["b"], mib["c"] - mib["d"]
    ratio = ours / highs
    print(
        f"synthetic {args.clusters:,} × {args.years}, seed {args.seed}; {sys.executable}; "
        f"{args.repeat} interleaved rounds, median of max RSS\n"
    )
    print(
        table(
            ["process", "max RSS (MiB)", "runs (MiB)"],
            [
                [label[k], f"{mib[k]:.1f}", " ".join(f"{x / 1024:.1f}" for x in got[k])]
                for k in cmds
            ],
            "lrl",
        )
    )
    print()
    print(
        table(
            ["ours = (a) − (b)", "HiGHS = (c) − (d)", "ratio ours / HiGHS", "bar", "verdict"],
            [
                [
                    f"{ours:.1f} MiB",
                    f"{highs:.1f} MiB",
                    f"{ratio:.2f}×",
                    f"≤ {BAR:g}×",
                    verdict(ratio <= BAR),
                ]
            ],
        )
    )
    row = {
        "clusters": args.clusters,
        "years": args.years,
        "seed": args.seed,
        **{f"{k}_max_rss_mib": mib[k] for k in cmds},
        "ours_mib": ours,
        "highs_mib": highs,
        "ratio": ratio,
        "pass": ratio <= BAR,
    }
    print(f"\nwrote {write_csv('memory.csv', [row])}")


# --------------------------------------------------------------------------- breakdown

#: (label, module): pint the product's way (simulator.units hides scipy from it; a bare
#: ``import pint`` imports scipy, and Pyomo's import hook then scipy.stats)
HEAVY = [
    ("numpy", "numpy"),
    ("pyomo.core", "pyomo.core"),
    ("pint (via simulator.units, scipy hidden)", "simulator.units"),
    ("pydantic", "pydantic"),
    ("yaml", "yaml"),
    ("highspy", "highspy"),
]


class Meter:
    def __init__(self):
        self.rows: list[list] = []
        self.last_rss = rss_kib()[0]
        self.clock = time.perf_counter()
        self.modules = set(sys.modules)

    def mark(self, what: str) -> None:
        rss, hwm = rss_kib()
        now = time.perf_counter()
        new = {m for m in set(sys.modules) - self.modules if "." not in m}  # top-level only
        notable = sorted(n for n in new if not n.startswith("_"))
        notable.sort(key=lambda n: n != "scipy")  # scipy first when a step brings it in
        self.rows.append(
            [
                what,
                f"{rss / 1024:.1f}",
                f"{(rss - self.last_rss) / 1024:+.1f}",
                f"{hwm / 1024:.1f}",
                f"{now - self.clock:.3f}",
                ", ".join(notable[:6]) + (" …" if len(notable) > 6 else ""),
            ]
        )
        self.last_rss, self.clock, self.modules = rss, now, set(sys.modules)


def breakdown(args) -> None:
    scenario = synth_file(args.clusters, args.years, args.seed)  # a subprocess: not our RSS
    gc.disable()  # as the CLI does
    meter = Meter()
    meter.rows[:0] = [
        ["python + benchmark helpers", f"{meter.last_rss / 1024:.1f}", "", "", "", ""]
    ]
    for label, name in HEAVY:
        importlib.import_module(name)
        meter.mark(f"import {label}")
    import simulator.cli as cli
    from simulator import runs
    from simulator.allocation import marginal
    from simulator.allocation.model import build_model
    from simulator.allocation.optimise import (
        check_fixed_limits,
        check_hard_targets,
        finish,
        optimise,
        settle,
        solved,
    )
    from simulator.allocation.problem import build_problem
    from simulator.allocation.solve import HighsModel
    from simulator.core.targets import compile_targets, ledger
    from simulator.outputs import console, files, tables
    from simulator.scenario import compile_arrays, load

    meter.mark("import simulator (cli, runs, allocation, outputs)")

    clock = time.perf_counter()
    loaded = load(scenario)
    meter.mark("load scenario (YAML, defaults, validation)")
    a = compile_arrays(loaded.scenario)
    specs = compile_targets(loaded.scenario, a)
    prep = runs.Prepared(loaded, a, specs, time.perf_counter() - clock)
    meter.mark("compile arrays and targets")
    t0 = time.perf_counter()
    pr = build_problem(a, specs)
    check_hard_targets(pr)
    check_fixed_limits(pr)
    problem_s = time.perf_counter() - t0
    meter.mark("build problem (numpy)")
    t0 = time.perf_counter()
    m = build_model(pr, "shortfall", ordered_pipeline=False, budget_ceiling=None)
    build_s = time.perf_counter() - t0
    meter.mark("build Pyomo model")
    hm = HighsModel(m, time_limit=cli.DEFAULT_TIME_LIMIT)
    meter.mark("HighsModel hand-off")
    sol = solved(pr, hm, hm.solve())
    grant, pipeline = settle(pr, hm, sol, allow_mip=False)
    timings = {
        "build_seconds": problem_s + build_s,
        "handoff_seconds": hm.handoff_seconds,
        "solve_seconds": sol.timings["solve_seconds"],
    }
    if grant is None:  # needs the ordered MIP: let optimise() do it all
        del m, hm, sol
        opt = optimise(a, specs, time_limit=cli.DEFAULT_TIME_LIMIT)
        meter.mark("solve (fell back to optimise(): ordered MIP)")
    else:
        opt = finish(pr, m, hm, sol, grant, "shortfall", timings, pipeline)
        meter.mark("solve (stages, settle, projection, audit)")
    written = cli._model_file(opt.highs, ".mps", tmpdir())
    meter.mark("export model (--export-model)")
    t0 = time.perf_counter()
    budget = marginal.budget_marginals(opt)
    limits = marginal.limit_marginals(opt)
    bind = marginal.binding(opt)
    opt.timings["marginal_seconds"] = time.perf_counter() - t0
    meter.mark("marginal values")
    no_fund = ledger(opt.problem.reference, specs)
    res = runs.OptimiseResult(prep, opt, no_fund, budget, limits, bind, runs.solver_record(opt))
    out = tmpdir() / "breakdown"
    files.write_optimise(out, res, lambda folder: cli._save(tmpdir() / "M.mps", written))
    meter.mark("write results folder")
    ba = tables.before_after(res.no_fund, opt.ledger, opt.movable, a.years)
    console.optimise_text(res, ba, tables.allocation_frame(opt.grant, a), out)
    meter.mark("console text")
    assert "pandas" not in sys.modules, "optimise imported pandas"

    print(
        f"synthetic {args.clusters:,} × {args.years}, seed {args.seed}: the steps of "
        f"`simulator optimise --export-model` in one process, gc off; pid {os.getpid()}\n"
    )
    print(
        table(
            ["after", "VmRSS MiB", "Δ MiB", "VmHWM MiB", "seconds", "new top-level modules"],
            meter.rows,
            "lrrrrl",
        )
    )
    c = opt.highs.compiled
    print(
        f"\nmodel: {len(c.columns):,} columns, {len(c.rows):,} rows, {c.n_nonzeros:,} "
        f"nonzeros; scipy imported: {'scipy' in sys.modules}; "
        f"Python objects tracked by gc: {len(gc.get_objects()):,}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--breakdown", action="store_true", help="RSS after each step, in-process")
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args)
    elif not Path(TIME).exists():
        raise SystemExit(f"{TIME} is needed (GNU time, for -v)")
    else:
        acceptance(args)


if __name__ == "__main__":
    main()
