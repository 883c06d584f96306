r"""The robust allocation model: the deterministic model's grants, fund rules, limits and hard
targets (:mod:`.model`), plus, for sampled futures n = 1…N (:mod:`.robust_problem`)::

    step_mobilised[c,t]:      Σ_k v_step[c,t,k] = a_c · Σ_k φ_k · v_grant[c,t,k]
    step_effect[c,t]:         v_effective[c,t] = Σ_k s⁰[c,k] · v_step[c,t,k]
    regime_effect[r,c,t]:     v_reffective[r,c,t] = Σ_k sʳ[c,k] · v_step[c,t,k]
    step_order[c,t,k]:        L[c,k]·v_step[c,t,k+1] − L[c,k+1]·v_step[c,t,k] ≤ 0
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
import pyomo.core as pyo

from ..core.response import pipeline_steps
from .blocks import INF, add_rows, add_var, at, grid, linear
from .model import build_model, most_mobilised
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
    ordered: np.ndarray | None = None,
) -> pyo.ConcreteModel:
    """``ordered``: cells (k, 2) as (cluster, year) positions whose investment steps must fill
    in order, by binaries — the cells the relaxed model filled out of order, where more
    investment would break a limit or lower a ratio target and the relaxation would count less
    than the grants mobilise."""
    m = build_model(rp.base, "shortfall")
    m.del_component(m.weighted_shortfall)
    m.rp = rp
    _steps(m, rp)
    if ordered is not None:
        _order_steps(m, rp, ordered)
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


def steps_of(m, rp: RobustProblem) -> tuple[np.ndarray, np.ndarray]:
    """(lengths (c', K), slopes (1 + R, c', K)) of the fundable clusters' investment steps: the
    scenario's own pipeline (row 0) and every leverage regime's (:func:`pipeline_steps`)."""
    lengths, slopes = pipeline_steps(
        rp.base.arrays, np.r_[1.0, rp.leverage], most_mobilised(rp.base.arrays, m.budget_ceiling)
    )
    cl = rp.base.clusters
    return lengths[cl], slopes[:, cl]


def _steps(m, rp: RobustProblem) -> None:
    r"""Every pipeline — the scenario's own (which the land and energy limits see) and each
    leverage regime's (which the targets see) — on one set of investment steps: the stretches
    of mobilised investment I on which all of them are linear (:func:`pipeline_steps`)::

        step_mobilised[c,t]:      Σ_k v_step[c,t,k] = a_c · Σ_k φ_k · v_grant[c,t,k]
        step_effect[c,t]:         v_effective[c,t] = Σ_k s⁰[c,k] · v_step[c,t,k]
        regime_effect[r,c,t]:     v_reffective[r,c,t] = Σ_k sʳ[c,k] · v_step[c,t,k]
        step_order[c,t,k]:        L[c,k]·v_step[c,t,k+1] − L[c,k+1]·v_step[c,t,k] ≤ 0

    with 0 ≤ v_step[c,t,k] ≤ L[c,k]. ``step_order`` lets a step fill only as far (in its share
    of its length) as the step before it: the steps' fill shares fall, so (I, every pipeline's
    effect) lies in the convex hull of the pipelines' joint graph — the tightest relaxation of
    one cell, and exact at every vertex. It replaces the deterministic model's own segment
    rows (``mobilised_investment``, ``pipeline_effect``), so the scenario's pipeline cannot be
    counted out of order while the regimes' are full."""
    a = rp.base.arrays
    cl = rp.base.clusters
    lengths, slopes = steps_of(m, rp)
    m.del_component(m.mobilised_investment)
    m.del_component(m.pipeline_effect)
    nr, nc, nt, nk = len(rp.leverage), len(m.C), len(m.T), len(m.K)
    n_steps = lengths.shape[1]
    m.R = pyo.Set(initialize=range(nr), ordered=True)
    m.steps = lengths
    ub = np.broadcast_to(lengths[:, None, :], (nc, nt, n_steps)).reshape(-1)
    add_var(m, "v_step", (m.C, m.T, range(n_steps)), (nc, nt, n_steps), pyo.NonNegativeReals, ub)
    add_var(m, "v_reffective", (m.R, m.C, m.T), (nr, nc, nt), pyo.NonNegativeReals)
    cells = [(c, t) for c in m.cid for t in m.year]
    i, s, k = grid(nc, nt, n_steps)
    step = at(m, "v_step", i, s, k)
    gi, gs, gk = grid(nc, nt, nk)
    grant = (
        gi * nt + gs,
        at(m, "v_grant", gi, gs, gk),
        -a.leverage[cl][gi] * a.category_factor[gk],
    )
    add_rows(m, "step_mobilised", cells, [(i * nt + s, step, np.ones(len(i))), grant], 0.0, 0.0)
    ei, es = grid(nc, nt)
    own = (ei * nt + es, at(m, "v_effective", ei, es), np.ones(len(ei)))
    add_rows(m, "step_effect", cells, [own, (i * nt + s, step, -slopes[0][i, k])], 0.0, 0.0)
    keys = [(r, c, t) for r in range(nr) for c in m.cid for t in m.year]
    r, ri, rs, rk = grid(nr, nc, nt, n_steps)
    er, eri, ers = grid(nr, nc, nt)
    eff = ((er * nc + eri) * nt + ers, at(m, "v_reffective", er, eri, ers), np.ones(len(er)))
    by = ((r * nc + ri) * nt + rs, at(m, "v_step", ri, rs, rk), -slopes[1:][r, ri, rk])
    add_rows(m, "regime_effect", keys, [eff, by], 0.0, 0.0)
    # step k+1 no fuller (as a share of its length) than step k, where both have a length
    oi, os_, ok = grid(nc, nt, max(0, n_steps - 1))
    both = lengths[oi, ok + 1] > 0
    oi, os_, ok = oi[both], os_[both], ok[both]
    rows = np.arange(len(oi))
    order = [
        (rows, at(m, "v_step", oi, os_, ok + 1), lengths[oi, ok]),
        (rows, at(m, "v_step", oi, os_, ok), -lengths[oi, ok + 1]),
    ]
    keys = [(m.cid[c], m.year[t], int(q)) for c, t, q in zip(oi, os_, ok, strict=True)]
    add_rows(m, "step_order", keys, order, -INF, 0.0)


def _order_steps(m, rp: RobustProblem, cells: np.ndarray) -> None:
    r"""Steps fill in order in the given cells ((k, 2) cluster and year positions), by binaries:
    the incremental formulation, whose relaxation is ``step_order``'s hull::

        step_full[c,t,k]:  v_step[c,t,k] ≥ L[c,k]·v_step_full[q,k]
        step_next[c,t,k]:  v_step[c,t,k+1] ≤ L[c,k+1]·v_step_full[q,k]

    Used for the cells the relaxed model filled out of order (where more investment would
    break a limit or lower a ratio target)."""
    lengths = m.steps
    cells = np.asarray(cells, dtype=int).reshape(-1, 2)
    n_steps = lengths.shape[1]
    if len(cells) == 0 or n_steps < 2:
        return
    add_var(
        m, "v_step_full", (range(len(cells)), range(n_steps - 1)), (len(cells), n_steps - 1),
        pyo.Binary,
    )  # fmt: skip
    q, k = grid(len(cells), n_steps - 1)
    i, s = cells[q, 0], cells[q, 1]
    has = lengths[i, k + 1] > 0  # between two steps with a length
    q, k, i, s = q[has], k[has], i[has], s[has]
    rows = np.arange(len(q))
    full = at(m, "v_step_full", q, k)
    keys = [(m.cid[c], m.year[t], int(x)) for c, t, x in zip(i, s, k, strict=True)]
    this = (rows, at(m, "v_step", i, s, k), np.ones(len(q)))
    add_rows(m, "step_full", keys, [this, (rows, full, -lengths[i, k])], 0.0, INF)
    after = (rows, at(m, "v_step", i, s, k + 1), np.ones(len(q)))
    add_rows(m, "step_next", keys, [after, (rows, full, -lengths[i, k + 1])], -INF, 0.0)


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
