"""Benchmark: the Monte Carlo engine — projection throughput, `uncertain` against `run`, and
local workers against serial.

Three parts (``--part a b c``, all by default), on Cixi (``scenarios/cixi-2020.yaml``) and on
the synthetic scenario ``simulator synth --clusters 100 --years 5 --seed 7`` writes, loaded as
the CLI loads them (:func:`simulator.runs.prepare`):

(a) THROUGHPUT — ``montecarlo.run_batch`` over every batch of ``--mc-samples`` futures (the
    cuts ``montecarlo.batches`` makes), serially in this process, after one warm-up run,
    median of ``--repeat``. One *value* is one cell of the (sample, cluster, year) grid of ONE
    projection — year counted over the projected years, base year included (``a.n_years``).
    A batch without the fund projects once; with an allocation (``by-size`` here) twice (no
    fund, then the allocation), so it counts 2 × samples × clusters × years values. Each cell
    holds every per-cluster indicator at once; sampling the futures, the ledger of every target,
    the fan charts and the loss are in the time too (all of ``run_batch``). values/s/core =
    values / CPU seconds of this process (``time.process_time``; BLAS is held to one thread).
    Bar ≥ 10⁷. Below it, a cProfile of one pass says where the time goes (also written).
(b) COMMAND — ``simulator uncertain cixi-2020.yaml --samples 10000 --seed 1`` against one
    ``simulator run cixi-2020.yaml``, each a fresh process timed from outside, interleaved
    (run, uncertain, run, uncertain, …), best of ``--repeat``; ratio = UNCERTAIN / RUN, bar ≤ 3
    (the issue's "under 3 s end to end" is shown beside it, with ``python -c pass``).
(c) WORKERS — ``runs.uncertain(FILE, samples=100000, workers=2)`` against ``workers=None``
    (serial) in this process, interleaved, median of ``--repeat``: whole call (load, then the
    Monte Carlo; the pool's fork included) and the Monte Carlo phase alone
    (``timings["monte_carlo"]``). speed-up = SERIAL / WORKERS, bar ≥ 1.7×. Both must give the
    same distribution bit for bit. Beside them: the CPU seconds of this process and its
    workers, and the cores other processes kept busy meanwhile (from ``/proc/stat``) — with
    one core taken by another job, two workers cannot be 1.7× faster.

Times move with the machine's load (printed, with ``uptime``). Run from the repository root::

    python benchmarks/bench_montecarlo.py                  # ~3 min
    python benchmarks/bench_montecarlo.py --part a --mc-samples 50000

Writes ``benchmarks/out/montecarlo_throughput.csv``, ``montecarlo_profile.csv``,
``montecarlo_command.csv`` and ``montecarlo_workers.csv``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core's work
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from common import ROOT, median, synth_file, table, tmpdir, verdict, versions, write_csv  # noqa: E402

from simulator import runs  # noqa: E402
from simulator.allocation import strategies  # noqa: E402
from simulator.core.projection import project  # noqa: E402
from simulator.core.targets import ledger  # noqa: E402
from simulator.uncertainty import montecarlo as mc  # noqa: E402
from simulator.uncertainty.spec import compile_spec  # noqa: E402

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"
BAR_VALUES = 1e7  # values / s / core
BAR_COMMAND = 3.0  # UNCERTAIN / RUN
BAR_WORKERS = 1.7  # SERIAL / WORKERS

#: the phases of run_batch a profile is summed into: (label, file suffix, function)
PHASES = [
    ("sampling the futures", "uncertainty/sampling.py", "future"),
    ("projection", "core/projection.py", "project"),
    ("ledger", "core/targets.py", "ledger"),
    ("fan values", "core/targets.py", "values_at"),
    ("loss", "uncertainty/montecarlo.py", "_loss"),
]


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def scenarios(args) -> list[tuple[str, object]]:
    synth = synth_file(args.clusters, args.years, args.seed)
    return [("cixi-2020", CIXI), (f"synth {args.clusters}×{args.years}", synth)]


# --------------------------------------------------------------------------- (a) throughput


def make_job(file, samples: int, allocation: bool) -> mc.Job:
    prep = runs.prepare(file)
    a, specs = prep.arrays, prep.specs
    grant = strategies.strategy("by-size", a, ledger(project(a), specs)) if allocation else None
    fan = mc.fan_keys(specs)
    return mc.Job(
        arrays=a,
        specs=specs,
        spec=compile_spec(prep.loaded.scenario.uncertainty),
        grant=grant,
        movable=np.ones(len(specs), dtype=bool),
        fan=fan,
        seed=1,
        samples=samples,
        keep=mc.keep_count(samples, len(specs), len(fan), a.n_years),
    )


def one_pass(job: mc.Job) -> tuple[float, float]:
    """(wall, CPU) seconds of run_batch over every batch, collector off."""
    cuts = mc.batches(job.samples, job.arrays)
    gc.collect()
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        parts = [mc.run_batch(job, s, e) for s, e in cuts]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        gc.enable()
    del parts
    return wall, cpu


def profile_pass(job: mc.Job, label: str, top: int) -> list[dict]:
    cuts = mc.batches(job.samples, job.arrays)
    prof = cProfile.Profile()
    gc.collect()
    gc.disable()
    prof.enable()
    for s, e in cuts:
        mc.run_batch(job, s, e)
    prof.disable()
    gc.enable()
    stats = pstats.Stats(prof)
    total = sum(v[3] for k, v in stats.stats.items() if k[2] == "run_batch")
    rows, covered = [], 0.0
    for name, suffix, fn in PHASES:
        # cumulative seconds of the calls made by run_batch itself (so the ledger's own calls
        # of values_at count in the ledger, not twice)
        cum = sum(
            ct
            for k, v in stats.stats.items()
            if k[0].endswith(suffix) and k[2] == fn
            for caller, (_, _, _, ct) in v[4].items()
            if caller[2] == "run_batch"
        )
        covered += cum
        rows.append({"case": label, "phase": name, "seconds": cum, "share": cum / total})
    rest = total - covered
    rows.append({"case": label, "phase": "the rest", "seconds": rest, "share": rest / total})
    rows.append({"case": label, "phase": "run_batch (all)", "seconds": total, "share": 1.0})
    print(f"\n--- where run_batch's time goes: {label} (cProfile, cumulative) ---")
    print(
        table(
            ["phase", "seconds", "share"],
            [[r["phase"], f"{r['seconds']:.3f}", f"{r['share']:.0%}"] for r in rows],
            "lrr",
        )
    )
    print(f"\n--- top {top} functions by own time: {label} ---")
    own = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
    print(
        table(
            ["function", "calls", "own s", "cumulative s"],
            [
                [f"{Path(k[0]).name}:{k[1]}({k[2]})", v[1], f"{v[2]:.3f}", f"{v[3]:.3f}"]
                for k, v in own
            ],
            "lrrr",
        )
    )
    return rows


def part_a(args) -> None:
    rows, prof_rows = [], []
    for name, file in scenarios(args):
        for allocation in (False, True):
            job = make_job(file, args.mc_samples, allocation)
            a = job.arrays
            one_pass(make_job(file, min(args.mc_samples, 512), allocation))  # warm-up
            passes = [one_pass(job) for _ in range(args.repeat)]
            projections = 2 if allocation else 1
            values = projections * job.samples * a.n_clusters * a.n_years
            row = {
                "scenario": name,
                "allocation": "by-size" if allocation else "none",
                "samples": job.samples,
                "clusters": a.n_clusters,
                "years": a.n_years,
                "targets": len(job.specs),
                "batches": len(mc.batches(job.samples, a)),
                "projections_per_future": projections,
                "values": values,
                "wall_s": median(p[0] for p in passes),
                "cpu_s": median(p[1] for p in passes),
                "repeats": args.repeat,
            }
            row["values_per_s_per_core"] = values / row["cpu_s"]
            row["futures_per_s_per_core"] = job.samples / row["cpu_s"]
            row["pass"] = row["values_per_s_per_core"] >= BAR_VALUES
            rows.append(row)
            print(
                f"  {name}, allocation {row['allocation']}: {values:,} values in "
                f"{row['cpu_s']:.3f} CPU s ({row['wall_s']:.3f} s wall)",
                flush=True,
            )
            if not row["pass"] or args.profile:
                label = f"{name}, allocation {row['allocation']}, {job.samples:,} samples"
                prof_rows += profile_pass(job, label, args.top)
    print(
        f"\n(a) Monte Carlo throughput: run_batch over {args.mc_samples:,} futures, serial, "
        f"median of {args.repeat}. One value = one (sample, cluster, year) cell of one "
        f"projection; bar ≥ {BAR_VALUES:.0e} values/s/core.\n"
    )
    print(
        table(
            [
                "scenario",
                "allocation",
                "clusters × years",
                "projections / future",
                "values",
                "CPU s",
                "values/s/core",
                "futures/s/core",
                "verdict",
            ],
            [
                [
                    r["scenario"],
                    r["allocation"],
                    f"{r['clusters']} × {r['years']}",
                    r["projections_per_future"],
                    f"{r['values']:,}",
                    f"{r['cpu_s']:.3f}",
                    f"{r['values_per_s_per_core']:.2e}",
                    f"{r['futures_per_s_per_core']:,.0f}",
                    verdict(r["pass"]),
                ]
                for r in rows
            ],
            "llrrrrrrl",
        )
    )
    print(f"\nwrote {write_csv('montecarlo_throughput.csv', rows)}")
    if prof_rows:
        print(f"wrote {write_csv('montecarlo_profile.csv', prof_rows)}")


# --------------------------------------------------------------------------- (b) command


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def fresh(args_: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process, from outside."""
    c0, t0 = child_cpu(), time.perf_counter()
    proc = subprocess.run(args_, capture_output=True, cwd=tmpdir())
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(args_)} exited {proc.returncode}: {' / '.join(tail)}")
    return wall, cpu


def part_b(args) -> None:
    out = tmpdir() / "cmd"
    py = [sys.executable, "-m", "simulator"]
    cmds = {
        "run": [*py, "run", str(CIXI), "--out", str(out / "run")],
        "uncertain": [
            *py,
            *("uncertain", str(CIXI), "--samples", str(args.cmd_samples), "--seed", "1"),
            *("--out", str(out / "uncertain")),
        ],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for c in cmds.values():  # warm-up (untimed): file caches, .pyc
        fresh(c)
    got: dict[str, list] = {k: [] for k in cmds}
    for _ in range(args.repeat):  # interleaved
        for k, c in cmds.items():
            shutil.rmtree(out, ignore_errors=True)
            got[k].append(fresh(c))
    best = {k: min(v, key=lambda x: x[0]) for k, v in got.items()}
    ratio = best["uncertain"][0] / best["run"][0]
    row = {
        "scenario": "cixi-2020",
        "samples": args.cmd_samples,
        "run_best_s": best["run"][0],
        "run_cpu_s": best["run"][1],
        "uncertain_best_s": best["uncertain"][0],
        "uncertain_cpu_s": best["uncertain"][1],
        "python_startup_best_s": best["python -c pass"][0],
        "ratio": ratio,
        "bar": BAR_COMMAND,
        "pass": ratio <= BAR_COMMAND,
        "under_3s": best["uncertain"][0] < 3.0,
        "runs_wall_s": " ".join(f"{w:.3f}" for w, _ in got["run"]),
        "uncertain_wall_s": " ".join(f"{w:.3f}" for w, _ in got["uncertain"]),
        "repeats": args.repeat,
    }
    print(
        f"\n(b) fresh processes on Cixi, interleaved, best of {args.repeat}; "
        f"ratio = UNCERTAIN / RUN, bar ≤ {BAR_COMMAND:g}.\n"
    )
    print(
        table(
            ["command", "best wall s", "its CPU s", "all walls"],
            [
                [
                    "simulator run",
                    f"{row['run_best_s']:.3f}",
                    f"{row['run_cpu_s']:.3f}",
                    row["runs_wall_s"],
                ],
                [
                    f"simulator uncertain --samples {args.cmd_samples:,}",
                    f"{row['uncertain_best_s']:.3f}",
                    f"{row['uncertain_cpu_s']:.3f}",
                    row["uncertain_wall_s"],
                ],
                ["python -c pass", f"{row['python_startup_best_s']:.3f}", "", ""],
            ],
            "lrrl",
        )
    )
    print(
        f"\nratio {ratio:.2f}× — {verdict(row['pass'])}; uncertain under 3 s end to end: "
        f"{verdict(row['under_3s'])}"
    )
    print(f"wrote {write_csv('montecarlo_command.csv', [row])}")


# --------------------------------------------------------------------------- (c) workers


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process): /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    return time.process_time() + child_cpu()


def timed_uncertain(file, samples: int, workers: int | None):
    """(wall s, Monte Carlo phase s, our CPU s, other processes' CPU s during the call)."""
    gc.collect()
    m0, c0, t0 = machine_busy(), own_cpu(), time.perf_counter()
    res = runs.uncertain(file, samples=samples, seed=1, workers=workers)
    wall, ours, busy = time.perf_counter() - t0, own_cpu() - c0, machine_busy() - m0
    return (wall, res.timings["monte_carlo"], ours, max(0.0, busy - ours)), res


def same(d1, d2) -> bool:
    return all(
        np.array_equal(getattr(d1, k), getattr(d2, k))
        for k in ("p_met_no_fund", "p_met", "values", "fan", "loss", "loss_no_fund")
    )


def part_c(args) -> None:
    rows = []
    for name, file in scenarios(args):
        prep = runs.prepare(file)
        cuts = mc.batches(args.workers_samples, prep.arrays)
        timed_uncertain(file, 2048, 2)  # warm-up (untimed)
        serial, pool = [], []
        for _ in range(args.repeat):  # interleaved
            (st, sres), (pt, pres) = (
                timed_uncertain(file, args.workers_samples, None),
                timed_uncertain(file, args.workers_samples, 2),
            )
            if not same(sres.distribution, pres.distribution):
                raise RuntimeError(f"{name}: --workers 2 differs from the serial run")
            del sres, pres
            serial.append(st)
            pool.append(pt)
        sizes = sorted({e - s for s, e in cuts}, reverse=True)
        row = {
            "scenario": name,
            "samples": args.workers_samples,
            "batches": len(cuts),
            "batch_sizes": " ".join(str(x) for x in sizes),
            "serial_s": median(s[0] for s in serial),
            "workers2_s": median(p[0] for p in pool),
            "serial_mc_s": median(s[1] for s in serial),
            "workers2_mc_s": median(p[1] for p in pool),
            "serial_cpu_s": median(s[2] for s in serial),
            "workers2_cpu_s": median(p[2] for p in pool),
            # CPU seconds other processes took on this machine during the calls (2 cores)
            "other_cpu_s_serial": median(s[3] for s in serial),
            "other_cpu_s_workers2": median(p[3] for p in pool),
            "identical": True,
            "repeats": args.repeat,
        }
        # the cores other jobs left free during the --workers 2 calls (of 2)
        row["free_cores_workers2"] = (os.cpu_count() or 2) - row["other_cpu_s_workers2"] / max(
            row["workers2_s"], 1e-9
        )
        row["speedup"] = row["serial_s"] / row["workers2_s"]
        row["speedup_mc"] = row["serial_mc_s"] / row["workers2_mc_s"]
        row["pass"] = row["speedup"] >= BAR_WORKERS
        rows.append(row)
        print(
            f"  {name}: {len(cuts)} batches ({row['batch_sizes']} futures); "
            f"--workers 2 identical to serial",
            flush=True,
        )
    print(
        f"\n(c) runs.uncertain, {args.workers_samples:,} samples, in this process, interleaved, "
        f"median of {args.repeat}; speed-up = SERIAL / WORKERS 2, bar ≥ {BAR_WORKERS:g}×.\n"
    )
    print(
        table(
            [
                "scenario",
                "batches",
                "serial s",
                "--workers 2 s",
                "speed-up",
                "verdict",
                "Monte Carlo phase: serial s",
                "--workers 2 s",
                "speed-up",
                "CPU s: serial",
                "--workers 2",
                "other jobs' cores",
            ],
            [
                [
                    r["scenario"],
                    r["batches"],
                    f"{r['serial_s']:.3f}",
                    f"{r['workers2_s']:.3f}",
                    f"{r['speedup']:.2f}×",
                    verdict(r["pass"]),
                    f"{r['serial_mc_s']:.3f}",
                    f"{r['workers2_mc_s']:.3f}",
                    f"{r['speedup_mc']:.2f}×",
                    f"{r['serial_cpu_s']:.2f}",
                    f"{r['workers2_cpu_s']:.2f}",
                    f"{r['other_cpu_s_workers2'] / r['workers2_s']:.2f}",
                ]
                for r in rows
            ],
            "lrrrrlrrrrrr",
        )
    )
    print(f"\nwrote {write_csv('montecarlo_workers.csv', rows)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", nargs="+", choices=["a", "b", "c"], default=["a", "b", "c"])
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mc-samples", type=int, default=20_000, help="futures for (a)")
    ap.add_argument("--cmd-samples", type=int, default=10_000, help="futures for (b)")
    ap.add_argument("--workers-samples", type=int, default=100_000, help="futures for (c)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="profile (a) even when it passes")
    ap.add_argument("--top", type=int, default=15, help="rows of the profile's function list")
    args = ap.parse_args()

    print(versions())
    print(uptime(), "\n")
    if "a" in args.part:
        part_a(args)
    if "b" in args.part:
        part_b(args)
    if "c" in args.part:
        part_c(args)
    print(f"\n{uptime()}")


if __name__ == "__main__":
    main()
