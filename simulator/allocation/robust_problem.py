r"""The robust (sample-average) allocation problem's data: every soft target in every sampled
future as a row in a few shared fund effects (numpy; see ``docs/uncertainty.md``).

A target's value is a sum of *pieces* — an extensive indicator over the target's clusters in
one year, X_p = Σ_c f_p[c,t]·P[c,t] (:mod:`simulator.core.linear`) — each with a weight: +1 for
a level, −r for a ratio's denominator, −r_t for last year's value in a year-on-year step. In
future n the factor path is the scenario's times a multiplier common to every cluster
(:class:`~simulator.core.future.Future`), and the fund's new revenue depends only on the
leverage regime r(n) (through u_r) and the lag regime l(n) (through the kernel K_l)::

    X_p[n](u) = μ_p[n]·( X⁰_p[n] + G_(p,l(n))·u_(r(n)) )      μ_p[n] = f_p,n[c,t]/f_p[c,t]

so one shared effect z_(p,r,l) = G_(p,l)·u_r per piece and regime pair serves every future,
and future n adds only its constants. The relative shortfall of target j in future n is::

    s_(n,j) ≥ σ_j·( rhs_(n,j) − Σ_p w_(n,p)·μ_p[n]·(X⁰_p[n] + z_(p,r(n),l(n))) ) / norm_(n,j)

with rhs, norm and the weights of :mod:`simulator.core.targets` in future n (a growth target's
required level moves with the future's base year). The builder checks, for every future, that
the rows at zero fund reproduce the ledger's shortfalls, and that each μ_p is common to all
clusters — the two facts the sharing rests on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import indicators
from ..core import response
from ..core.future import Future
from ..core.linear import indicator_form
from ..core.projection import Projection, project, scope_values
from ..core.targets import TargetSpec, ledger, scale, year_on_year_norm
from ..scenario.arrays import ScenarioArrays
from .audit import AuditError
from .problem import AllocationProblem, Row, fund_rows

#: how far a future's factor multiplier may differ between clusters, or the zero-fund rows
#: from the ledger, before the sharing is called broken (relative)
SHARING_TOLERANCE = 1e-9


@dataclass
class Piece:
    """X_p: one extensive indicator over some clusters in one year."""

    indicator: str  # an extensive indicator
    members: np.ndarray
    t: int
    mult: np.ndarray  # (n,) μ_p in each future
    const: np.ndarray  # (n,) X⁰_p[n]/μ_p[n]: the no-fund value at the scenario's factors
    rows: dict[int, Row]  # lag regime → G_(p,l) (the Row's coefficients on u)


@dataclass
class Step:
    """One row per future: σ·(Σ_p w·μ·(X⁰ + z) − rhs)/norm + s ≥ 0 (a year-on-year target has
    one step per plan year, sharing s)."""

    pieces: list[int]
    weights: np.ndarray  # (n, pieces)
    rhs: np.ndarray  # (n,)
    norm: np.ndarray  # (n,)


@dataclass
class RobustTarget:
    index: int  # position in the scenario's targets
    spec: TargetSpec
    steps: list[Step]
    bound: np.ndarray  # (n,) an upper bound on s_(n,j) over every allocation (big-M)


@dataclass
class RobustProblem:
    base: AllocationProblem  # the deterministic problem: fund rules, limits, hard targets
    future: Future
    reference: Projection  # no fund, every future
    leverage: np.ndarray  # (R,) multipliers of the leverage regimes
    regime: np.ndarray  # (n,) leverage regime of each future
    delays: np.ndarray  # (L,) extra years of the lag regimes
    lag: np.ndarray  # (n,) lag regime of each future
    pieces: list[Piece]
    targets: list[RobustTarget]
    left_out: list[str]  # targets the fund can move but the robust objective does not hold

    @property
    def n(self) -> int:
        return self.future.n

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(leverage regime, lag regime) pairs some future has."""
        return sorted({(int(r), int(g)) for r, g in zip(self.regime, self.lag, strict=True)})


def _parts(indicator: str, t: int) -> list[tuple[str, int, float]]:
    """An extensive or change indicator in year t as (extensive indicator, year, sign)."""
    if indicator in indicators.EXTENSIVE:
        return [(indicator, t, 1.0)]
    base = indicators.CHANGES[indicator].base
    return [(base, t, 1.0), (base, t - 1, -1.0)]


def lag_kernel(a: ScenarioArrays, delay: int) -> np.ndarray:
    """K[c,t,s] with the new revenue arriving ``delay`` years later (the projection's delay)."""
    lag = np.concatenate([np.zeros((a.n_clusters, delay)), a.lag], axis=1)
    return response.revenue_kernel(dataclasses.replace(a, lag=lag))


def build_robust(base: AllocationProblem, specs: list[TargetSpec], f: Future) -> RobustProblem:
    a = base.arrays
    reference = project(a, None, future=f)
    led0 = ledger(reference, specs)
    factor0 = {k: v[0] for k, v in base.reference.factor.items()}
    leverage, regime = np.unique(f.leverage_scale, return_inverse=True)
    delays, lag = np.unique(f.delay, return_inverse=True)
    keyed: dict[tuple, int] = {}
    pieces: list[Piece] = []

    def piece(ext: str, members: np.ndarray, t: int) -> int:
        key = (ext, tuple(members.tolist()), t)
        if key not in keyed:
            keyed[key] = len(pieces)
            pieces.append(_piece(ext, members, t, factor0, reference))
        return keyed[key]

    targets, left_out = [], []
    for d in base.targets:
        j = specs.index(d.spec)
        s = d.spec
        if not d.movable or s.hard:
            continue
        if s.kind == "count":
            left_out.append(s.id)
            continue
        steps = _steps(s, led0, j, reference, piece)
        targets.append(RobustTarget(j, s, steps, np.zeros(f.n)))
    forms = [indicator_form(p.indicator, p.members, p.t, factor0) for p in pieces]
    for li, delay in enumerate(delays):
        kernel = base.kernel if delay == 0 else lag_kernel(a, int(delay))
        rows = fund_rows(forms, a, kernel, base.reference, base.clusters, base.years)
        for p, row in zip(pieces, rows, strict=True):
            p.rows[li] = row
    rp = RobustProblem(base, f, reference, leverage, regime, delays, lag, pieces, targets, left_out)
    _check_zero_fund(rp, led0)
    for t in targets:
        t.bound = _shortfall_bound(rp, t)
    return rp


def _piece(ext: str, members: np.ndarray, t: int, factor0, reference: Projection) -> Piece:
    e = indicators.EXTENSIVE[ext]
    n = reference.n_samples
    if e.factor is None:
        mult = np.ones(n)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = reference.factor[e.factor][:, members, t] / factor0[e.factor][members, t]
        finite = np.isfinite(ratio) & (factor0[e.factor][members, t] != 0)
        mult = np.where(finite.any(axis=1), np.nanmean(np.where(finite, ratio, np.nan), 1), 1.0)
        spread = np.where(finite, np.abs(ratio - mult[:, None]), 0.0).max(initial=0.0)
        if spread > SHARING_TOLERANCE * max(1.0, float(np.abs(mult).max())):
            raise AuditError(
                f"the factor path {e.factor} moves differently across clusters in a sampled "
                "future: the fund's effect cannot be shared across futures"
            )
    level = scope_values(reference, ext, members)[:, t]
    const = np.where(mult != 0, level / np.where(mult != 0, mult, 1.0), 0.0)
    return Piece(ext, members, t, mult, const, {})


def _steps(s: TargetSpec, led0, j: int, reference: Projection, piece) -> list[Step]:
    n = reference.n_samples
    if s.form == "year_on_year":
        steps = []
        for t in range(1, s.t + 1):
            rate = s.step_rate(t)
            parts = [(piece(x, s.members, y), sg) for x, y, sg in _parts(s.indicator, t)]
            before = [
                (piece(x, s.members, y), -rate * sg) for x, y, sg in _parts(s.indicator, t - 1)
            ]
            x0 = scope_values(reference, s.indicator, s.members)[:, t - 1]
            norm = year_on_year_norm(rate, x0)
            steps.append(_step(parts + before, n, np.zeros(n), norm))
        return steps
    req = led0.required[j]
    if s.kind == "ratio":
        r = indicators.RATIOS[s.indicator]
        num = [(piece(x, s.members, y), sg) for x, y, sg in _parts(r.numerator, s.t)]
        den = [(piece(x, s.members, y), sg) for x, y, sg in _parts(r.denominator, s.t)]
        d0 = scope_values(reference, r.denominator, s.members)[:, s.t]
        weights = [(p, np.full(n, w)) for p, w in num] + [(p, -req * w) for p, w in den]
        return [_step(weights, n, np.zeros(n), scale(req) * d0)]
    parts = [(piece(x, s.members, y), sg) for x, y, sg in _parts(s.indicator, s.t)]
    rhs = req * s.context[s.t] if s.kind == "context_share" else req
    return [_step(parts, n, rhs, scale(rhs))]


def _step(weighted, n: int, rhs, norm) -> Step:
    index = [p for p, _ in weighted]
    w = np.stack([np.broadcast_to(np.asarray(x, float), (n,)) for _, x in weighted], axis=1)
    return Step(index, w, np.asarray(rhs, float), np.asarray(norm, float))


def step_value(rp: RobustProblem, st: Step, z: np.ndarray | None = None) -> np.ndarray:
    """(n,) Σ_p w·μ·(X⁰ + z) − rhs at effects ``z`` (pieces, n) — zero fund when None."""
    total = -st.rhs.copy()
    for col, p in enumerate(st.pieces):
        pc = rp.pieces[p]
        effect = 0.0 if z is None else z[p]
        total += st.weights[:, col] * pc.mult * (pc.const + effect)
    return total


def shortfalls(rp: RobustProblem, z: np.ndarray | None = None) -> np.ndarray:
    """(targets, n) relative shortfalls the robust rows give at effects ``z``."""
    out = np.zeros((len(rp.targets), rp.n))
    for i, t in enumerate(rp.targets):
        sense = float(t.spec.sense)
        worst = [np.maximum(0.0, -sense * step_value(rp, st, z)) / st.norm for st in t.steps]
        out[i] = np.max(worst, axis=0)
    return out


def effects(rp: RobustProblem, u: np.ndarray) -> np.ndarray:
    """(pieces, n) the fund's effect z in each future from effective investment per leverage
    regime ``u`` (R, c, t) on all clusters and years."""
    z = np.zeros((len(rp.pieces), rp.n))
    cl, yr = rp.base.clusters, rp.base.years
    for p, pc in enumerate(rp.pieces):
        for r, li in rp.pairs:
            row = pc.rows[li]
            value = float(np.sum(row.coef * u[r][cl[row.c], yr[row.s]]))
            z[p, (rp.regime == r) & (rp.lag == li)] = value
    return z


def _check_zero_fund(rp: RobustProblem, led0) -> None:
    got = shortfalls(rp)
    want = np.nan_to_num(led0.shortfall[[t.index for t in rp.targets]])
    met = led0.met[[t.index for t in rp.targets]]
    want = np.where(met, 0.0, want)
    got = np.where(met, 0.0, got)
    if not np.allclose(got, want, rtol=1e-7, atol=1e-9):
        worst = int(np.argmax(np.abs(got - want).max(axis=1)))
        raise AuditError(
            f"the robust rows of {rp.targets[worst].spec.id} do not reproduce the ledger's "
            "shortfall at zero fund"
        )


def _shortfall_bound(rp: RobustProblem, t: RobustTarget) -> np.ndarray:
    """(n,) a bound on s_(n,j) over every allocation the budget allows (for big-M rows)."""
    from .problem import largest_effective

    u_max = largest_effective(rp.base.arrays, rp.base.clusters, rp.base.years)
    most = max(float(rp.leverage.max()), 1.0)  # concave pipeline: u(λ·x) ≤ λ·u(x), λ ≥ 1
    bound = np.zeros(rp.n)
    for st in t.steps:
        zero = np.abs(step_value(rp, st))
        swing = np.zeros(rp.n)
        for col, p in enumerate(st.pieces):
            pc = rp.pieces[p]
            reach = max(float(np.sum(np.abs(r.coef) * u_max[r.c, r.s])) for r in pc.rows.values())
            swing += np.abs(st.weights[:, col] * pc.mult) * reach * most
        bound = np.maximum(bound, (zero + swing) / st.norm)
    return bound
