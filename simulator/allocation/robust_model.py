r"""The robust allocation model: the deterministic model's grants, fund rules, limits and hard
targets (:mod:`.model`), plus, for sampled futures n = 1…N (:mod:`.robust_problem`)::

    regime_mobilised[r,c,t]:  Σ_m v_rfill[r,c,t,m] = λ_r · a_c · Σ_k φ_k · v_grant[c,t,k]
    regime_effect[r,c,t]:     v_reffective[r,c,t] = Σ_m β[c,m] · v_rfill[r,c,t,m]
    shared_effect[p,r,l]:     v_effect[p,r,l] = Σ_(c,s) G_(p,l)[c,s] · v_reffective[r,c,s]
    future_shortfall[n,j,y]:  σ_j·(Σ_p w·μ_p[n]·v_effect[p,r(n),l(n)] − b_(n,j,y))/norm + v_fshort[n,j] ≥ 0

with b = rhs − Σ_p w·μ·X⁰ the future's constant. The risk measure is the first aim:

    expected_shortfall:  min (1/N)·Σ_n Σ_j w_j·v_fshort[n,j]
    cvar_shortfall:      min v_var + 1/((1−α)N)·Σ_n v_excess[n]
                         cvar_excess[n]: v_excess[n] + v_var − Σ_j w_j·v_fshort[n,j] ≥ 0
    targets_likely:      max Σ_j w_j·v_likely[j]                                   (a MIP)
                         future_met[n,j]:   v_fshort[n,j] + B_(n,j)·v_fmet[n,j] ≤ B_(n,j)
                         likely[j]:         Σ_n v_fmet[n,j] − ⌈P·N⌉·v_likely[j] ≥ 0

then (lexicographically) the expected shortfall; then every pipeline as full as the grants make
it (a pipeline filled out of order would let the model count less investment than the grants
mobilise); then the fund effect of the deterministic model::

    pipelines_filled:    max Σ_(c,t) v_effective[c,t] + Σ_(r,c,t) v_reffective[r,c,t]

The model grows with N × targets, not N × clusters × years.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from ..core.response import pipeline_segments
from .blocks import INF, add_rows, add_var, at, grid, linear
from .model import build_model
from .robust_problem import RobustProblem


def parse_risk(text: str) -> tuple[str, float | None]:
    """``expected`` | ``cvar:A`` (0 < A < 1) | ``chance:P`` (0 < P ≤ 1) → (kind, level);
    ValueError with a planner's sentence otherwise."""
    kind, _, level = text.partition(":")
    if kind == "expected" and not level:
        return "expected", None
    if kind in ("cvar", "chance") and level:
        try:
            x = float(level)
        except ValueError:
            raise ValueError(f"{level!r} is not a number") from None
        if kind == "cvar" and 0.0 < x < 1.0:
            return kind, x
        if kind == "chance" and 0.0 < x <= 1.0:
            return kind, x
        raise ValueError(
            f"{kind} needs a level {'between 0 and 1' if kind == 'cvar' else 'in (0, 1]'}"
            f" (got {x:g})"
        )
    raise ValueError("expected, cvar:A (e.g. cvar:0.9) or chance:P (e.g. chance:0.8)")


def build_robust_model(
    rp: RobustProblem,
    risk: str,
    level: float | None,
    *,
    ordered: tuple[np.ndarray, np.ndarray] | None = None,
) -> pyo.ConcreteModel:
    """``ordered``: (cells of the scenario's pipeline (k, 2) as (cluster, year) positions, cells
    of the regimes' (k, 3) as (regime, cluster, year)) that must fill in order, by binaries —
    the cells the relaxed model filled out of order, where more investment would break a limit
    or lower a ratio target and the relaxation would count less than the grants mobilise."""
    m = build_model(rp.base, "shortfall")
    m.del_component(m.weighted_shortfall)
    m.rp = rp
    _regimes(m, rp)
    _pipeline_coupling(m, rp)
    if ordered is not None:
        _order_cells(m, rp, *ordered)
    _effects(m, rp)
    _future_targets(m, rp)
    aims = {"expected": ["expected_shortfall"], "cvar": ["cvar_shortfall", "expected_shortfall"]}
    aims["chance"] = ["targets_likely", "expected_shortfall"]
    aims = {k: [*v, "pipelines_filled"] for k, v in aims.items()}
    if risk == "cvar":
        _cvar(m, rp, level)
    if risk == "chance":
        _chance(m, rp, level)
    _robust_aims(m, rp, aims[risk], level)
    return m


def _regimes(m, rp: RobustProblem) -> None:
    """The pipeline of every leverage regime, filled by λ_r times the grants' investment."""
    a = rp.base.arrays
    _, widths, slopes = pipeline_segments(a)
    cl = rp.base.clusters
    nr, nc, nt, nk, nm = len(rp.leverage), len(m.C), len(m.T), len(m.K), len(m.M)
    m.R = pyo.Set(initialize=range(nr), ordered=True)
    ub = np.broadcast_to(widths[cl][None, :, None, :], (nr, nc, nt, nm)).reshape(-1)
    add_var(m, "v_rfill", (m.R, m.C, m.T, m.M), (nr, nc, nt, nm), pyo.NonNegativeReals, ub)
    add_var(m, "v_reffective", (m.R, m.C, m.T), (nr, nc, nt), pyo.NonNegativeReals)
    keys = [(r, c, t) for r in range(nr) for c in m.cid for t in m.year]
    r, i, s, seg = grid(nr, nc, nt, nm)
    row = (r * nc + i) * nt + s
    fill = (row, at(m, "v_rfill", r, i, s, seg), np.ones(len(r)))
    gr, gi, gs, gk = grid(nr, nc, nt, nk)
    lev = rp.leverage[gr] * a.leverage[cl][gi] * a.category_factor[gk]
    grant = ((gr * nc + gi) * nt + gs, at(m, "v_grant", gi, gs, gk), -lev)
    add_rows(m, "regime_mobilised", keys, [fill, grant], 0.0, 0.0)
    er, ei, es = grid(nr, nc, nt)
    eff = ((er * nc + ei) * nt + es, at(m, "v_reffective", er, ei, es), np.ones(len(er)))
    beta = (row, fill[1], -slopes[cl][i, seg])
    add_rows(m, "regime_effect", keys, [eff, beta], 0.0, 0.0)


def _pipeline_coupling(m, rp: RobustProblem) -> None:
    r"""The scenario's pipeline and each regime's are the same concave f (f(0) = 0) of the same
    grants: f(λI) ≤ f(I) for λ ≤ 1 and f(λI) ≤ λ·f(I) for λ > 1, so::

        pipeline_coupling[r,c,t]:  v_effective[c,t] − min(1, 1/λ_r)·v_reffective[r,c,t] ≥ 0

    Every allocation whose pipelines fill in order satisfies it: it changes nothing exact. It
    stops the relaxation from counting the scenario's pipeline (which meets the land and energy
    limits) as filled out of order while the regimes' (which meet the targets) are full."""
    nc, nt, nr = len(m.C), len(m.T), len(rp.leverage)
    r, i, s = grid(nr, nc, nt)
    row = (r * nc + i) * nt + s
    keys = [(q, c, t) for q in range(nr) for c in m.cid for t in m.year]
    own = (row, at(m, "v_effective", i, s), np.ones(len(i)))
    regime = (row, at(m, "v_reffective", r, i, s), -np.minimum(1.0, 1.0 / rp.leverage)[r])
    add_rows(m, "pipeline_coupling", keys, [own, regime], 0.0, INF)


def _order_cells(m, rp: RobustProblem, cells: np.ndarray, regime_cells: np.ndarray) -> None:
    r"""Segments fill in order in the given cells (as the deterministic ``segment_full`` /
    ``segment_next``), for the scenario's pipeline and for the regimes'::

    cell_segment_full[c,t,m]:   v_fill[c,t,m] ≥ w[c,m]·v_cell_full[k,m]
    cell_segment_next[c,t,m]:   v_fill[c,t,m+1] ≤ W̄[c,m+1]·v_cell_full[k,m]
    regime_segment_full[r,c,t,m], regime_segment_next[r,c,t,m]: the same on v_rfill

    W̄ is the next segment's width, or for the open-ended last one the most investment the
    cell can mobilise (its largest share of the budget at the best use's leverage, × λ_r).
    """
    a = rp.base.arrays
    _, widths, _ = pipeline_segments(a)
    cl = rp.base.clusters
    n_p = len(m.P)
    if n_p == 0:
        return
    most = a.leverage * a.category_factor.max() * np.minimum(a.share_max, 1.0) * m.budget_ceiling
    w = widths[cl]
    for name, var, cells_, lam in (
        ("cell", "v_fill", np.asarray(cells, int).reshape(-1, 2), None),
        ("regime", "v_rfill", np.asarray(regime_cells, int).reshape(-1, 3), rp.leverage),
    ):
        k = len(cells_)
        if k == 0:
            continue
        binary = f"v_{name}_full"
        add_var(m, binary, (range(k), m.P), (k, n_p), pyo.Binary)
        kk, p = grid(k, n_p)
        cell = cells_[kk]
        r = cell[:, 0] if lam is not None else None
        i, s = (cell[:, 1], cell[:, 2]) if lam is not None else (cell[:, 0], cell[:, 1])
        scale = 1.0 if lam is None else lam[r]
        nxt = w[i, p + 1]
        cap = np.where(np.isinf(nxt), np.maximum(scale * most[cl][i], 1e-9), nxt)
        row = np.arange(len(kk))
        keys = [(*map(int, c), int(q)) for c, q in zip(cell, p, strict=True)]
        full = at(m, binary, kk, p)
        seg = (r, i, s) if lam is not None else (i, s)
        this = (row, at(m, var, *seg, p), np.ones(len(kk)))
        add_rows(m, f"{name}_segment_full", keys, [this, (row, full, -w[i, p])], 0.0, INF)
        after = (row, at(m, var, *seg, p + 1), np.ones(len(kk)))
        add_rows(m, f"{name}_segment_next", keys, [after, (row, full, -cap)], -INF, 0.0)


def _effects(m, rp: RobustProblem) -> None:
    """One variable per piece and (leverage, lag) pair: its fund effect, shared by futures."""
    pairs = rp.pairs
    m.pair_index = {pr: i for i, pr in enumerate(pairs)}
    n_p, n_q = len(rp.pieces), len(pairs)
    add_var(m, "v_effect", (range(n_p), range(n_q)), (n_p, n_q), pyo.Reals)
    first = m.blocks["v_effect"][0]
    m.column_bounds[-1][0][:] = -INF  # a free variable (its coefficients may be of any sign)
    for vd in m.columns[first : first + n_p * n_q]:
        vd.setlb(None)
    rows, cols, vals, keys = [], [], [], []
    for p, pc in enumerate(rp.pieces):
        for q, (r, li) in enumerate(pairs):
            k = len(keys)
            keys.append((p, r, li))
            g = pc.rows[li]
            rows += [np.full(len(g.coef) + 1, k)]
            cols += [
                np.r_[
                    at(m, "v_effect", p, q), at(m, "v_reffective", np.full(len(g.c), r), g.c, g.s)
                ]
            ]
            vals += [np.r_[1.0, -g.coef]]
    entries = [(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))] if keys else []
    add_rows(m, "shared_effect", keys, entries, 0.0, 0.0)


def _future_targets(m, rp: RobustProblem) -> None:
    """Every soft target in every future, on the shared effects."""
    n, nj = rp.n, len(rp.targets)
    add_var(m, "v_fshort", (range(n), range(nj)), (n, nj), pyo.NonNegativeReals)
    q = np.array([m.pair_index[(int(r), int(g))] for r, g in zip(rp.regime, rp.lag, strict=True)])
    keys, rows, cols, vals, lower = [], [], [], [], []
    futures = np.arange(n)
    for j, t in enumerate(rp.targets):
        sense = float(t.spec.sense)
        for y, st in enumerate(t.steps):
            first = len(keys)
            keys += [(int(i), t.spec.id, y) for i in futures]
            rid = first + futures
            const = -st.rhs.copy()
            for col, p in enumerate(st.pieces):
                pc = rp.pieces[p]
                coef = sense * st.weights[:, col] * pc.mult / st.norm
                const += st.weights[:, col] * pc.mult * pc.const
                rows.append(rid)
                cols.append(at(m, "v_effect", np.full(n, p), q))
                vals.append(coef)
            rows.append(rid)
            cols.append(at(m, "v_fshort", futures, np.full(n, j)))
            vals.append(np.ones(n))
            lower.append(-sense * const / st.norm)
    entries = [(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))] if keys else []
    add_rows(m, "future_shortfall", keys, entries, np.concatenate(lower) if lower else 0.0, INF)


def _loss_terms(m, rp: RobustProblem, rows: np.ndarray):
    """(row, column, −w_j) entries of −Σ_j w_j·v_fshort[n,j] for future n on rows[n]."""
    n, nj = rp.n, len(rp.targets)
    i, j = grid(n, nj)
    w = np.array([t.spec.weight for t in rp.targets])
    return rows[i], at(m, "v_fshort", i, j), -w[j]


def _cvar(m, rp: RobustProblem, alpha: float) -> None:
    n = rp.n
    add_var(m, "v_var", (), (), pyo.NonNegativeReals)
    add_var(m, "v_excess", (range(n),), (n,), pyo.NonNegativeReals)
    rows = np.arange(n)
    entries = [
        (rows, at(m, "v_excess", rows), np.ones(n)),
        (rows, np.full(n, at(m, "v_var")), np.ones(n)),
        _loss_terms(m, rp, rows),
    ]
    add_rows(m, "cvar_excess", list(range(n)), entries, 0.0, INF)
    m.cvar_level = alpha


def _chance(m, rp: RobustProblem, p: float) -> None:
    n, nj = rp.n, len(rp.targets)
    add_var(m, "v_fmet", (range(n), range(nj)), (n, nj), pyo.Binary)
    add_var(m, "v_likely", (range(nj),), (nj,), pyo.Binary)
    i, j = grid(n, nj)
    bound = np.stack([t.bound for t in rp.targets], axis=1).reshape(-1) + 1e-9  # (n·nj,)
    rows = np.arange(n * nj)
    entries = [
        (rows, at(m, "v_fshort", i, j), np.ones(len(i))),
        (rows, at(m, "v_fmet", i, j), bound),
    ]
    add_rows(
        m, "future_met", [(int(a), b) for a, b in zip(i, j, strict=True)], entries, -INF, bound
    )
    need = math.ceil(p * n - 1e-9)
    jj = np.arange(nj)
    entries = [
        (i * 0 + j, at(m, "v_fmet", i, j), np.ones(len(i))),
        (jj, at(m, "v_likely", jj), np.full(nj, -float(need))),
    ]
    add_rows(m, "likely", [t.spec.id for t in rp.targets], entries, 0.0, INF)


def _robust_aims(m, rp: RobustProblem, names: list[str], level: float | None) -> None:
    n, nj = rp.n, len(rp.targets)
    w = np.array([t.spec.weight for t in rp.targets])
    i, j = grid(n, nj)
    exprs = {
        "expected_shortfall": (
            lambda: linear(0, w[j] / n, [m.columns[k] for k in at(m, "v_fshort", i, j)]),
            pyo.minimize,
        ),
        "cvar_shortfall": (
            lambda: linear(
                0,
                [1.0] + [1.0 / ((1.0 - (level or 0.0)) * n)] * n,
                [m.v_var, *m.v_excess.values()],
            ),
            pyo.minimize,
        ),
        "targets_likely": (lambda: linear(0, w, list(m.v_likely.values())), pyo.maximize),
        "pipelines_filled": (
            lambda: linear(
                0,
                [1.0] * (len(m.v_effective) + len(m.v_reffective)),
                [*m.v_effective.values(), *m.v_reffective.values()],
            ),
            pyo.maximize,
        ),
    }
    aims = []
    for name in names:
        expr, sense = exprs[name]
        objective = pyo.Objective(expr=expr(), sense=sense)
        setattr(m, name, objective)
        aims.append(objective)
    m.aims = [*aims, m.fund_effect]
