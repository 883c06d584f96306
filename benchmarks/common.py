"""Shared by the benchmark scripts: versions, synthetic scenarios, medians, tables, CSV, RSS.

Scenarios are the files ``simulator synth --clusters N --years Y --seed S`` writes (the command
is run in a subprocess with this interpreter), loaded the way the CLI loads them
(:func:`simulator.runs.prepare`: YAML → defaults → validation → arrays → target specs).

Times on a shared machine move with the load: every script measures the things it compares
side by side, interleaved, in the same run, and judges only their RATIOS.
"""

from __future__ import annotations

import atexit
import csv
import importlib.metadata as md
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

REL_TOL = 1e-6

_TMP: Path | None = None


def tmpdir() -> Path:
    """One temporary folder per benchmark process, removed at exit."""
    global _TMP
    if _TMP is None:
        _TMP = Path(tempfile.mkdtemp(prefix="simbench-"))
        atexit.register(shutil.rmtree, _TMP, True)
    return _TMP


def versions() -> str:
    import highspy
    import numpy as np

    from simulator.allocation.solve import quiet

    with quiet():  # highspy 1.16 prints a banner when the first Highs() of a process is made
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return (
        f"Python {platform.python_version()}, Pyomo {md.version('pyomo')}, "
        f"highspy {md.version('highspy')} (HiGHS {h.version()}), numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )


def synth_file(n_clusters: int, n_years: int, seed: int, folder: Path | None = None) -> Path:
    """The scenario file ``simulator synth`` writes (run with this interpreter)."""
    folder = folder or tmpdir()
    path = folder / f"synth-{n_clusters}x{n_years}-seed{seed}.yaml"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "simulator",
                "synth",
                "--clusters",
                str(n_clusters),
                "--years",
                str(n_years),
                "--seed",
                str(seed),
                "--out",
                str(path),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def scenario(n_clusters: int, n_years: int, seed: int):
    """(arrays, target specs) of the synthetic scenario, loaded as the CLI loads it."""
    from simulator.runs import prepare

    prep = prepare(synth_file(n_clusters, n_years, seed), needs_fund=True)
    return prep.arrays, prep.specs


def median(values) -> float:
    return float(statistics.median(values))


def rel(x: float, y: float) -> float:
    return abs(x - y) / max(1.0, abs(x), abs(y))


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table (right-aligned unless ``align`` says l/r per column)."""
    align = align or "r" * len(header)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_csv(name: str, rows: list[dict]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process [KiB], from /proc/self/status."""
    got = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                got[key] = int(value.split()[0])
    return got["VmRSS"], got["VmHWM"]
