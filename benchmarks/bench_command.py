"""Benchmark: the whole ``simulator optimise`` command in a fresh process, ours against LANDED.

Each run is ``python -m simulator optimise FILE --out DIR`` in a new process (imports, YAML,
validation, build, solve, audit, marginal values, writing the results folder), timed from
outside (``subprocess.run`` between two ``perf_counter`` readings). Two versions, each with its
own interpreter:

- OURS: this checkout, with the interpreter running the benchmark (or ``--ours-python``);
- LANDED: commit 1df6c33 in its own venv. ``--landed-python PY`` or ``$LANDED_PYTHON`` names
  an interpreter that imports it; by default ``/tmp/landed-venv/bin/python``, built when
  missing: ``git archive 1df6c33`` into ``/tmp/landed`` (no worktree is left registered)
  and ``python3 -m venv /tmp/landed-venv && pip install -e /tmp/landed`` (its pyproject
  takes the newest highspy). ``--landed-ref`` picks another commit.

Scenarios: synthetic 1,000 × 5 (seed 7, written by our ``simulator synth``) and
``scenarios/cixi-2020.yaml``; both versions read the same file, a copy without the
``uncertainty:`` block (newer than the landed version, which rejects it; ``optimise`` does not
read it). Runs are interleaved (landed,
ours, landed, ours, …; default 5 each) after one untimed warm-up of each (disk caches, .pyc),
and the medians compared: speed-up = LANDED / OURS. Bars: ours ≥ 3× faster at 1,000 × 5;
Cixi end to end under 1 s (an absolute time: read it with the load average printed, and
with the interpreter start-up measured alongside). Both versions must exit 0 and agree on the
objective in solver.json (relative 1e-6).

Run from the repository root::

    python benchmarks/bench_command.py
    LANDED_PYTHON=/path/to/venv/bin/python python benchmarks/bench_command.py --repeat 7

Writes ``benchmarks/out/command.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, median, rel, synth_file, table, tmpdir, verdict, write_csv

LANDED_REF = "1df6c33"
LANDED_DIR = Path("/tmp/landed")
LANDED_VENV = Path("/tmp/landed-venv")
SPEEDUP_BAR = 3.0  # at 1,000 × 5
CIXI_BAR_S = 1.0


def build_landed(ref: str) -> str:
    """/tmp/landed from ``git archive REF`` and /tmp/landed-venv with it installed (editable)."""
    python = LANDED_VENV / "bin" / "python"
    if python.exists() and (LANDED_DIR / "pyproject.toml").exists():
        return str(python)
    print(f"building the landed version {ref} in {LANDED_DIR}, {LANDED_VENV} …", flush=True)
    if LANDED_DIR.exists():
        shutil.rmtree(LANDED_DIR)
    LANDED_DIR.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(LANDED_DIR)], input=archive, check=True)
    subprocess.run(["python3", "-m", "venv", str(LANDED_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(LANDED_DIR)], check=True)
    return str(python)


def describe(python: str) -> str:
    code = (
        "import importlib.metadata as m, simulator, os; "
        "print(os.path.dirname(os.path.dirname(simulator.__file__)), 'highspy', "
        "m.version('highspy'), 'pyomo', m.version('pyomo'))"
    )
    return subprocess.run(
        [python, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmpdir(),  # not the checkout: `python -c` puts the working directory first
    ).stdout.strip()


def clean_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # each interpreter imports its own version
    return env


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(python: str, scenario: Path, out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, objective in solver.json) of one fresh ``optimise``."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [python, "-m", "simulator", "optimise", str(scenario), "--out", str(out)]
    c0 = child_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=clean_env(), cwd=tmpdir())
    wall = time.perf_counter() - t0
    cpu = child_cpu() - c0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {' / '.join(tail)}")
    solver = json.loads((out / "solver.json").read_text(encoding="utf-8"))
    return wall, cpu, float(solver["objective"])


def without_blocks(scenario: Path, keys=("uncertainty",)) -> Path:
    """A copy of ``scenario`` without the top-level blocks ``keys`` (format extensions newer
    than the landed version, which rejects them; ``optimise`` does not read them), so that
    both versions read the same file."""
    kept, skipping = [], False
    for line in scenario.read_text(encoding="utf-8").splitlines(keepends=True):
        top = line[:1] not in (" ", "\t", "#", "\n", "-", "")
        if top:
            skipping = line.split(":", 1)[0] in keys
        if not skipping:
            kept.append(line)
    out = tmpdir() / f"{scenario.stem}-for-both.yaml"
    out.write_text("".join(kept), encoding="utf-8")
    return out


def startup_once(python: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True, env=clean_env())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--landed-python", default=os.environ.get("LANDED_PYTHON"))
    ap.add_argument("--landed-ref", default=LANDED_REF)
    ap.add_argument("--ours-python", default=sys.executable)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    landed = args.landed_python or build_landed(args.landed_ref)
    print(f"ours:   {args.ours_python}: {describe(args.ours_python)}")
    print(f"landed: {landed}: {describe(landed)}")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} interleaved runs each, median\n")

    synth = without_blocks(synth_file(args.clusters, args.years, args.seed))
    # Cixi's file now uses format extensions the landed version rejects (its bar is a time)
    cases = [
        (f"synthetic {args.clusters:,} × {args.years}", synth, SPEEDUP_BAR, None, True),
        ("cixi-2020", ROOT / "scenarios" / "cixi-2020.yaml", None, CIXI_BAR_S, False),
    ]
    rows = []
    nan = float("nan")
    for name, path, speedup_bar, wall_bar, both in cases:
        times: dict[str, list[float]] = {"landed": [], "ours": []}
        cpu: dict[str, list[float]] = {"landed": [], "ours": []}
        objective = {"landed": nan}
        who_runs = (
            (("landed", landed), ("ours", args.ours_python))
            if both
            else (("ours", args.ours_python),)
        )
        for k in range(args.repeat + 1):  # run 0 is the warm-up
            for who, python in who_runs:
                wall, seconds, obj = run_once(python, path, tmpdir() / f"out-{who}")
                objective[who] = obj
                if k:
                    times[who].append(wall)
                    cpu[who].append(seconds)
        diff = rel(objective["landed"], objective["ours"]) if both else nan
        if diff > 1e-6:
            raise RuntimeError(f"{name}: objectives differ: {objective}")
        startup = median(startup_once(args.ours_python) for _ in range(args.repeat))
        row = {
            "scenario": name,
            "landed_s": median(times["landed"]) if both else nan,
            "ours_s": median(times["ours"]),
            "landed_runs": " ".join(f"{t:.3f}" for t in times["landed"]),
            "ours_runs": " ".join(f"{t:.3f}" for t in times["ours"]),
            "landed_cpu_s": median(cpu["landed"]) if both else nan,
            "ours_cpu_s": median(cpu["ours"]),
            "python_startup_s": startup,
            "objective": objective["ours"],
            "objective_rel_diff": diff,
            "load_average": os.getloadavg()[0],
        }
        row["speedup"] = row["landed_s"] / row["ours_s"]
        row["cpu_speedup"] = row["landed_cpu_s"] / row["ours_cpu_s"]
        row["bar"] = f"ours ≥ {speedup_bar:g}× faster" if speedup_bar else f"ours < {wall_bar:g} s"
        row["pass"] = row["speedup"] >= speedup_bar if speedup_bar else row["ours_s"] < wall_bar
        rows.append(row)
        print(
            f"  {name}: objective {diff:.1e} apart; runs landed {row['landed_runs']}; "
            f"ours {row['ours_runs']}",
            flush=True,
        )

    print(
        "\nWall seconds of one fresh `simulator optimise` process, median (CPU = user + system "
        "seconds of the process, less sensitive to other load than wall time).\n"
    )
    print(
        table(
            [
                "scenario",
                "LANDED",
                "OURS",
                "speed-up (landed / ours)",
                "bar",
                "verdict",
                "CPU landed",
                "CPU ours",
                "CPU speed-up",
                "python -c pass",
            ],
            [
                [
                    r["scenario"],
                    f"{r['landed_s']:.3f}",
                    f"{r['ours_s']:.3f}",
                    f"{r['speedup']:.2f}×",
                    r["bar"],
                    verdict(r["pass"]),
                    f"{r['landed_cpu_s']:.3f}",
                    f"{r['ours_cpu_s']:.3f}",
                    f"{r['cpu_speedup']:.2f}×",
                    f"{r['python_startup_s']:.3f}",
                ]
                for r in rows
            ],
            "lrrrlrrrrr",
        )
    )
    print(f"\nwrote {write_csv('command.csv', rows)}")


if __name__ == "__main__":
    main()
