r"""Grouped variance-based sensitivity: which independent drivers make each target's shortfall
uncertain (pure functions; SALib supplies the design and the estimators).

**Inputs.** The latent normal scores of :mod:`.sampling` are independent by construction (the
copula correlates them inside :func:`~.sampling.from_latent`), so they are the inputs. They are
grouped into drivers by :func:`~.sampling.latent_groups` — macro growth, cluster growth,
leverage, lag, each factor path, base levels — and only groups with a spread take part. A
latent column in no group is held at its median (score 0), which changes nothing since its
driver has no spread; the one exception, a spread-less driver correlated with one that has a
spread, is kept as its own group (:data:`OTHER`), so the design reproduces the scenario's
distribution exactly.

**Design.** ``SALib.sample.sobol`` (Saltelli's cross-sampling of two scrambled Sobol' matrices
A and B, ``calc_second_order=False``, ``problem["groups"]``): N·(G+2) rows of uniforms for
G groups — A, B, and for each group the matrix A_B^(g) (A with group g's columns from B). N is
rounded up to a power of 2 (the Sobol' points' balance needs it). Each uniform becomes a normal
score Φ⁻¹(u) (clipped away from 0 and 1) and the rows a :class:`~simulator.core.future.Future`.
The copula's drivers are S·z with S the symmetric square root of the correlation matrix
(:func:`copula_rotation`), so a latent column is its own driver's score (plus its share in the
drivers correlated with it), and a group's index is that driver's.

**Model.** Per row: the projection without the fund and with the allocation, the ledger, and
each target's relative shortfall s_j (:mod:`simulator.core.targets`, against the row's own
no-fund denominators). :func:`evaluate` is a pure function of (job, rows), cut into batches by
row index only, so any executor gives the same numbers bit for bit.

**Estimators** (``SALib.analyze.sobol``, per target; V the variance of s over A and B)::

    S1_g = (1/N)·Σ_n f(B)_n·(f(A_B^(g))_n − f(A)_n) / V        (Saltelli et al. 2010)
    ST_g = (1/2N)·Σ_n (f(A)_n − f(A_B^(g))_n)² / V             (Jansen 1999)

with bootstrap confidence intervals (``num_resamples`` resamples of the N rows, 95 %). A target
whose shortfall is the same in every row (always met, or the same miss in every future) has no
variance to share out: S1 = ST = 0, intervals 0, and a note says why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ..core.projection import project
from ..core.targets import TargetSpec, ledger
from ..scenario.arrays import ScenarioArrays
from ..scenario.uncertainty import BASE_LEVELS, COPULA_DRIVERS
from .sampling import from_latent, latent_groups
from .spec import UncertaintySpec

#: bootstrap resamples of the confidence intervals, and their level
NUM_RESAMPLES = 100
CONF_LEVEL = 0.95
#: a shortfall whose range over the design is at most this does not vary
CONSTANT = 1e-12
#: the group of spread-less drivers that a correlation ties to a driver with a spread
OTHER = "other correlated drivers"
#: the most uniforms a design may hold (rows × columns; 256 MiB of float64)
DESIGN_VALUES = 2**25
_EPS = 1e-12

NOTE_MET = "always met: no future misses it, so no driver moves its shortfall"
NOTE_SAME = "the same shortfall in every future: no driver moves it"


def sample_count(samples: int) -> int:
    """``samples`` rounded up to a power of 2 (the balance of the Sobol' points)."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1 (got {samples})")
    return 1 << (samples - 1).bit_length()


def latent_width(n_clusters: int, n_plan_years: int) -> tuple[int, int]:
    """Columns of the macro block and of the cluster block (as :func:`.sampling.latent`)."""
    c, tp = n_clusters, n_plan_years
    return len(COPULA_DRIVERS) + tp, c * (1 + tp + len(BASE_LEVELS))


def symmetric_root(correlation: np.ndarray) -> np.ndarray:
    """S = V·√W·Vᵀ, the symmetric square root of a correlation matrix (S·S = C): latent score j
    feeds driver j first, and the drivers it is correlated with through S's off-diagonal."""
    w, v = np.linalg.eigh(correlation)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def copula_rotation(spec: UncertaintySpec) -> np.ndarray:
    """Q with L·Q = S (L the engine's ``spec.copula_factor``, S :func:`symmetric_root`):
    scores z fed to the engine as Q·z give the drivers S·z, so latent column j is driver j's
    own score whatever square root the engine takes (Q = I when L is S; orthogonal when the
    correlation matrix has full rank, so Q·z are still independent standard normals)."""
    return np.linalg.pinv(spec.copula_factor) @ symmetric_root(spec.correlation)


def _driver_spread(spec: UncertaintySpec) -> np.ndarray:
    """(copula drivers,) bool: the driver's own spread is not zero."""
    lev = spec.leverage_multipliers[spec.leverage_probabilities > 0]
    lag = spec.delays[spec.delay_probabilities > 0]
    out = []
    for name in COPULA_DRIVERS:
        if name == "macro":
            out.append(spec.macro.sd > 0)
        elif name == "leverage":
            out.append(bool(np.any(lev != 1.0)))
        elif name == "lag":
            out.append(bool(np.any(lag != 0)))
        else:
            f, part = name.rsplit(".", 1)
            table = spec.factor_level if part == "level" else spec.factor_drift
            out.append(f in table and table[f].sd > 0)
    return np.array(out, dtype=bool)


def groups(spec: UncertaintySpec, n_clusters: int, n_plan_years: int) -> dict[str, list[int]]:
    """Latent columns of each independent driver group with a spread (:func:`latent_groups`),
    plus :data:`OTHER` when a correlation carries a spread-less driver's score into one that
    has a spread."""
    out = {k: list(v) for k, v in latent_groups(spec, n_clusters, n_plan_years).items()}
    taken = {c for cols in out.values() for c in cols}
    load = symmetric_root(spec.correlation)  # drivers S·z: column j is where score j goes
    spread = _driver_spread(spec)
    other = [
        j
        for j in range(len(COPULA_DRIVERS))
        if j not in taken and np.any(np.abs(load[spread, j]) > 1e-12)
    ]
    if other:
        out[OTHER] = other
    return out


def problem(groups: dict[str, list[int]]) -> dict:
    """SALib's problem: one uniform per latent column of a group, the groups in order."""
    cols = [c for cols in groups.values() for c in cols]
    return {
        "num_vars": len(cols),
        "names": [f"z{c}" for c in cols],
        "bounds": [[0.0, 1.0]] * len(cols),
        "groups": [g for g, cs in groups.items() for _ in cs],
    }


def design(prob: dict, samples: int, seed: int) -> np.ndarray:
    """SALib's cross-sampled Sobol' design: (N·(G+2), columns) uniforms in [0, 1]
    (``samples`` must be a power of 2: :func:`sample_count`)."""
    from SALib.sample import sobol

    return sobol.sample(prob, samples, calc_second_order=False, scramble=True, seed=seed)


@dataclass(frozen=True)
class Job:
    """Everything :func:`evaluate` needs besides the rows: arrays only (picklable)."""

    arrays: ScenarioArrays
    specs: list[TargetSpec]
    spec: UncertaintySpec
    grant: np.ndarray | None  # (c, t, k) [亿元]; None: no fund
    columns: np.ndarray  # (design columns,) index of each in the latent vector
    rotation: np.ndarray  # (copula drivers, copula drivers) :func:`copula_rotation`


def make_job(
    arrays: ScenarioArrays,
    specs: list[TargetSpec],
    spec: UncertaintySpec,
    grant: np.ndarray | None,
    groups: dict[str, list[int]],
) -> Job:
    cols = np.array([c for cs in groups.values() for c in cs], dtype=int)
    return Job(arrays, specs, spec, grant, cols, copula_rotation(spec))


def evaluate(job: Job, rows: np.ndarray) -> np.ndarray:
    """Relative shortfall (targets, rows) of every target with the allocation, one future per
    design row of uniforms. A pure function of (job, rows)."""
    a = job.arrays
    d_macro, d_cluster = latent_width(a.n_clusters, a.n_years - 1)
    z = np.zeros((rows.shape[0], d_macro + d_cluster))
    z[:, job.columns] = ndtri(np.clip(rows, _EPS, 1.0 - _EPS))
    k = len(COPULA_DRIVERS)
    z[:, :k] = z[:, :k] @ job.rotation.T
    f = from_latent(job.spec, a.n_clusters, a.n_years, z[:, :d_macro], z[:, d_macro:])
    reference = project(a, None, future=f)
    if job.grant is None:
        led = ledger(reference, job.specs)
    else:
        led = ledger(
            project(a, job.grant, future=f, factors=reference.factor), job.specs, reference
        )
    return np.nan_to_num(led.shortfall)


@dataclass(frozen=True)
class Indices:
    """First-order and total indices per (target, group), with their confidence half-widths."""

    groups: tuple[str, ...]
    columns: dict[str, list[int]]  # latent columns of each group
    samples: int  # N of the design (a power of 2)
    samples_requested: int
    S1: np.ndarray  # (j, g)
    ST: np.ndarray  # (j, g)
    S1_conf: np.ndarray  # (j, g)
    ST_conf: np.ndarray  # (j, g)
    variance: np.ndarray  # (j,) of the shortfall over A and B
    mean: np.ndarray  # (j,) mean shortfall over A and B
    p_miss: np.ndarray  # (j,) share of A and B futures with a shortfall
    notes: tuple[str, ...]  # (j,) why a target has no indices, else ""

    @property
    def runs(self) -> int:
        """Model runs of the design: N·(G+2)."""
        return self.samples * (len(self.groups) + 2)


def boot_seed(seed: int) -> int:
    """The bootstrap's seed from the run's: never 0 (SALib would not seed its resamples)."""
    return int(np.random.SeedSequence(seed, spawn_key=(3,)).generate_state(1)[0]) or 1


def analyze(
    prob: dict,
    shortfall: np.ndarray,
    seed: int,
    num_resamples: int = NUM_RESAMPLES,
) -> dict[str, np.ndarray]:
    """S1, ST, S1_conf, ST_conf (targets, groups) and per target the shortfall's variance,
    mean and share of futures that miss, from ``shortfall`` (targets, N·(G+2)) in the order of
    the design's rows; ``notes`` for targets whose shortfall does not vary."""
    from SALib.analyze import sobol

    names = list(dict.fromkeys(prob["groups"]))
    g = len(names)
    j, n_rows = shortfall.shape
    if n_rows % (g + 2):
        raise ValueError(f"{n_rows} rows is not a multiple of G + 2 = {g + 2}")
    step = g + 2
    ab = np.concatenate([shortfall[:, 0::step], shortfall[:, step - 1 :: step]], axis=1)
    out = {k: np.zeros((j, g)) for k in ("S1", "ST", "S1_conf", "ST_conf")}
    out["variance"] = ab.var(axis=1)
    out["mean"] = ab.mean(axis=1)
    out["p_miss"] = (ab > CONSTANT).mean(axis=1)
    notes = []
    for t in range(j):
        y = shortfall[t]
        if np.ptp(y) <= CONSTANT:
            notes.append(NOTE_MET if np.all(np.abs(y) <= CONSTANT) else NOTE_SAME)
            continue
        notes.append("")
        with warnings.catch_warnings():  # constant bootstrap resamples: SALib gives them 0
            warnings.simplefilter("ignore")
            res = sobol.analyze(
                prob,
                y,
                calc_second_order=False,
                num_resamples=num_resamples,
                conf_level=CONF_LEVEL,
                seed=boot_seed(seed),
            )
        for k in ("S1", "ST", "S1_conf", "ST_conf"):
            out[k][t] = np.nan_to_num(np.asarray(res[k], dtype=float))
    out["notes"] = tuple(notes)
    return out


def indices(
    groups: dict[str, list[int]],
    shortfall: np.ndarray,
    samples: int,
    samples_requested: int,
    seed: int,
    num_resamples: int = NUM_RESAMPLES,
) -> Indices:
    """The typed result of :func:`analyze`."""
    r = analyze(problem(groups), shortfall, seed, num_resamples)
    return Indices(
        groups=tuple(groups),
        columns=groups,
        samples=samples,
        samples_requested=samples_requested,
        S1=r["S1"],
        ST=r["ST"],
        S1_conf=r["S1_conf"],
        ST_conf=r["ST_conf"],
        variance=r["variance"],
        mean=r["mean"],
        p_miss=r["p_miss"],
        notes=r["notes"],
    )
