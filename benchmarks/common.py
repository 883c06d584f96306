"""Shared by the benchmark scripts: versions, synthetic scenarios, a feasible seed."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys

import highspy
import numpy as np

from simulator.allocation.optimise import optimise
from simulator.core.targets import compile_targets
from simulator.errors import InfeasibleError
from simulator.scenario.arrays import compile_arrays
from simulator.scenario.load import merge_defaults, validate
from simulator.synth import synthetic

REL_TOL = 1e-6


def versions() -> str:
    return (
        f"Python {platform.python_version()}, Pyomo {md.version('pyomo')}, "
        f"highspy {md.version('highspy')} (HiGHS {highspy.Highs().version()}), "
        f"numpy {np.__version__}; {os.cpu_count()} CPUs"
    )


def scenario(n_clusters: int, n_years: int, seed: int):
    """Synthetic data → validated Scenario → arrays and target specs (the CLI's own steps)."""
    data = merge_defaults(synthetic(n_clusters, n_years, seed))
    s = validate(data, f"synthetic {n_clusters}x{n_years} seed {seed}")
    a = compile_arrays(s)
    return a, compile_targets(s, a)


def feasible_scenario(n_clusters: int, n_years: int, seed: int, tries: int = 10):
    """The scenario at ``seed``, or the next seed whose allocation is feasible.

    Also a warm-up: one full ``optimise`` run, untimed, so imports and first-call costs do not
    land in the first measurement."""
    for k in range(seed, seed + tries):
        a, specs = scenario(n_clusters, n_years, k)
        try:
            optimise(a, specs)
        except InfeasibleError as exc:
            print(
                f"  {n_clusters} × {n_years} seed {k} is infeasible, trying seed {k + 1}: "
                f"{str(exc)[:160]}",
                file=sys.stderr,
            )
            continue
        return k, a, specs
    raise SystemExit(f"no feasible seed for {n_clusters} × {n_years} in {tries} tries")
