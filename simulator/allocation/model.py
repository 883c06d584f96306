r"""The fund-allocation model in Pyomo, built from indexed sets and vectorised data.

Each constraint family is one block whose docstring is its equation; ``docs/optimisation.md``
shows the same equations (a test keeps them equal). A family is assembled with numpy as the
rows ``lower ≤ A·x ≤ upper`` of a Pyomo ``MatrixConstraint`` over the model's variables, whose
rows are named by the family's index (``m.<family>.row_keys``): no Python loop per element and no
expression per row, which at 1,000 clusters cost more than HiGHS's own solve.

Sets: C fundable clusters, T fund years, K fund uses, M pipeline segments, J soft targets the
fund can move, H hard level and ratio targets, N count targets in the model, Y plan years with
a limit.

Variables (money in 亿元)::

    v_grant[c,t,k] ≥ 0            the fund given to cluster c in year t for use k
    0 ≤ v_fill[c,t,m] ≤ w[c,m]    mobilised investment in pipeline segment m
    v_effective[c,t] ≥ 0          effective mobilised investment u[c,t]
    v_shortfall[j] ≥ 0            relative shortfall of target j
    v_counted[j,c] ∈ {0,1}        cluster c counts towards count target j
    v_met[j] ∈ {0,1}              target j is met (objective targets-met)
    v_worst ≥ 0                   the largest relative shortfall (objective worst)
    v_full[c,t,m] ∈ {0,1}         segment m is full (ordered pipeline only)
    v_extra_budget[t] ≥ 0         budget added in year t (elastic model only)

The objective is a sequence of aims solved lexicographically (:mod:`.objectives`); each aim is
one Pyomo ``Objective`` here, listed in stage order in ``m.aims``.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo  # the components only, no solver plugins: HiGHS is driven directly

from ..core.limits import LIMITS
from ..core.response import pipeline_segments
from .blocks import INF, add_rows, add_var, at, grid, linear
from .objectives import OBJECTIVES
from .problem import AllocationProblem, Row


def build_model(
    pr: AllocationProblem,
    objective: str = "shortfall",
    *,
    elastic_budget: bool = False,
    ordered_pipeline: bool = False,
    budget_ceiling: float | None = None,
) -> pyo.ConcreteModel:
    """Build the allocation model for ``objective`` (a name in :data:`OBJECTIVES`).

    ``elastic_budget`` instead finds the least extra budget that makes the hard constraints
    feasible (to diagnose infeasibility). ``ordered_pipeline`` adds binaries that fill the
    pipeline segments in order (see :func:`_pipeline_order`); ``budget_ceiling`` [亿元/yr] is
    the largest annual budget the model will be re-solved with (a sweep), which bounds its
    big-M."""
    stages = ("extra_budget",) if elastic_budget else OBJECTIVES[objective].stages
    m = pyo.ConcreteModel(name="fund_allocation")
    _sets(m, pr)
    m.budget_ceiling = max(float(pr.arrays.budget.max()), budget_ceiling or 0.0)
    _variables(m, pr, stages, ordered_pipeline, elastic_budget)
    _response(m, pr)
    if ordered_pipeline:
        _pipeline_order(m, pr)
    _budget(m, pr, elastic_budget)
    _limits(m, pr)
    _level_targets(m, pr)
    _count_targets(m, pr)
    if "targets_met" in stages:
        _met_indicators(m, pr)
    if "worst_shortfall" in stages:
        _worst(m)
    _aims(m, pr, stages)
    return m


# --------------------------------------------------------------------------- sets, variables


def _sets(m, pr: AllocationProblem) -> None:
    a = pr.arrays
    m.cid = [a.cluster_ids[c] for c in pr.clusters]  # position → id
    m.year = [int(a.years[t]) for t in pr.years]
    m.calendar = [int(y) for y in a.years]  # year index → calendar year
    m.C = pyo.Set(initialize=m.cid, ordered=True)
    m.T = pyo.Set(initialize=m.year, ordered=True)
    m.K = pyo.Set(initialize=a.category_ids, ordered=True)
    m.M = pyo.Set(initialize=range(a.pipeline_slopes.shape[1]), ordered=True)
    m.by_id = {d.spec.id: d for d in pr.targets}
    movable = [d for d in pr.targets if d.movable]
    m.J = pyo.Set(initialize=[d.spec.id for d in movable if not d.spec.hard], ordered=True)
    m.H = pyo.Set(
        initialize=[
            d.spec.id
            for d in movable
            if d.spec.hard and (d.row is not None or d.yearly is not None)
        ],
        ordered=True,
    )
    m.N = pyo.Set(
        initialize=[d.spec.id for d in movable if d.cluster_rows is not None], ordered=True
    )
    m.pairs = [(j, a.cluster_ids[c]) for j in m.N for c in m.by_id[j].spec.members]
    m.P = pyo.Set(initialize=range(len(m.M) - 1), ordered=True)


def _variables(m, pr: AllocationProblem, stages, ordered: bool, elastic: bool) -> None:
    _, widths, _ = pipeline_segments(pr.arrays)
    nc, nt, nk, nm = len(m.C), len(m.T), len(m.K), len(m.M)
    m.columns, m.blocks, m.column_bounds = [], {}, []
    binary, positive = pyo.Binary, pyo.NonNegativeReals
    add_var(m, "v_grant", (m.C, m.T, m.K), (nc, nt, nk), positive)
    fill_ub = np.broadcast_to(widths[pr.clusters][:, None, :], (nc, nt, nm)).reshape(-1)
    add_var(m, "v_fill", (m.C, m.T, m.M), (nc, nt, nm), positive, fill_ub)
    add_var(m, "v_effective", (m.C, m.T), (nc, nt), positive)
    add_var(m, "v_shortfall", (m.J,), (len(m.J),), positive)
    add_var(m, "v_counted", (m.pairs,), (len(m.pairs),), binary)
    if "targets_met" in stages:
        add_var(m, "v_met", (m.J,), (len(m.J),), binary)
    if "worst_shortfall" in stages:
        add_var(m, "v_worst", (), (), positive)
    if ordered:
        add_var(m, "v_full", (m.C, m.T, m.P), (nc, nt, len(m.P)), binary)
    if elastic:
        add_var(m, "v_extra_budget", (m.T,), (nt,), positive)


# --------------------------------------------------------------------------- response


def _response(m, pr: AllocationProblem) -> None:
    r"""Mobilised investment fills the pipeline; its segments' slopes make it effective.

    mobilised_investment[c,t]:  Σ_m v_fill[c,t,m] = a_c · Σ_k φ_k · v_grant[c,t,k]
    pipeline_effect[c,t]:       v_effective[c,t] = Σ_m β[c,m] · v_fill[c,t,m]
    """
    a = pr.arrays
    _, _, slopes = pipeline_segments(a)
    nc, nt, nk, nm = len(m.C), len(m.T), len(m.K), len(m.M)
    keys = [(c, t) for c in m.cid for t in m.year]
    i, s, seg = grid(nc, nt, nm)
    fill = (i * nt + s, at(m, "v_fill", i, s, seg), np.ones(len(i)))
    gi, gs, gk = grid(nc, nt, nk)
    leverage = a.leverage[pr.clusters][gi] * a.category_factor[gk]
    grant = (gi * nt + gs, at(m, "v_grant", gi, gs, gk), -leverage)
    add_rows(m, "mobilised_investment", keys, [fill, grant], 0.0, 0.0)
    beta = slopes[pr.clusters][i, seg]
    ei, es = grid(nc, nt)
    effective = (ei * nt + es, at(m, "v_effective", ei, es), np.ones(len(ei)))
    add_rows(m, "pipeline_effect", keys, [effective, (i * nt + s, fill[1], -beta)], 0.0, 0.0)


def most_mobilised(a, budget_ceiling: float) -> np.ndarray:
    """(c,) the most investment a cluster-year can mobilise [亿元]: its largest share of the
    largest annual budget the model will see [亿元/yr], at the best fund use's leverage."""
    return a.leverage * a.category_factor.max() * np.minimum(a.share_max, 1.0) * budget_ceiling


def _pipeline_order(m, pr: AllocationProblem) -> None:
    r"""Segments fill in order: segment m+1 only once segment m is full.

    segment_full[c,t,m]:   v_fill[c,t,m] ≥ w[c,m] · v_full[c,t,m]
    segment_next[c,t,m]:   v_fill[c,t,m+1] ≤ W̄[c,m+1] · v_full[c,t,m]

    W̄ is the next segment's width, or for the open-ended last segment the most investment a
    cluster-year can mobilise (its maximum share of the largest budget the model will see, at
    the best use's leverage). Used when spending is forced (must_spend, minimum shares) and
    the relaxed pipeline filled a segment out of order (see ``optimise``).
    """
    a = pr.arrays
    _, widths, _ = pipeline_segments(a)
    nc, nt, np_ = len(m.C), len(m.T), len(m.P)
    most = most_mobilised(a, m.budget_ceiling)
    w = widths[pr.clusters]
    nxt = w[:, 1:]
    cap = np.where(np.isinf(nxt), np.maximum(most[pr.clusters], 1e-9)[:, None], nxt)
    i, s, p = grid(nc, nt, np_)
    row = np.arange(len(i))
    keys = [(c, t, q) for c in m.cid for t in m.year for q in m.P]
    full = at(m, "v_full", i, s, p)
    this = (row, at(m, "v_fill", i, s, p), np.ones(len(i)))
    add_rows(m, "segment_full", keys, [this, (row, full, -w[i, p])], 0.0, INF)
    after = (row, at(m, "v_fill", i, s, p + 1), np.ones(len(i)))
    add_rows(m, "segment_next", keys, [after, (row, full, -cap[i, p])], -INF, 0.0)


# --------------------------------------------------------------------------- budget


def _budget(m, pr: AllocationProblem, elastic: bool) -> None:
    r"""The fund and its splits, as shares of each year's budget B_t.

    annual_budget[t]:          Σ_{c,k} v_grant[c,t,k] ≤ B_t   (= B_t when the fund must be spent)
    cluster_share_min[c,t]:    Σ_k v_grant[c,t,k] ≥ min_c · B_t
    cluster_share_max[c,t]:    Σ_k v_grant[c,t,k] ≤ max_c · B_t
    category_share_min[k,t]:   Σ_c v_grant[c,t,k] ≥ min_k · B_t
    category_share_max[k,t]:   Σ_c v_grant[c,t,k] ≤ max_k · B_t

    fund_total[·]:             Σ_{c,t,k} v_grant[c,t,k] ≤ F   (= F when the fund must be spent)

    With a total F the annual budgets are upper bounds (≤ even when the fund must be spent).
    In the elastic model every B_t above is B_t + v_extra_budget[t], and F is F + Σ_t extra.
    """
    a = pr.arrays
    nc, nt, nk = len(m.C), len(m.T), len(m.K)
    budget = a.budget[pr.years]
    m.budget_rows = {}  # ConstraintData → (fund-year position, share of the budget)
    gi, gs, gk = grid(nc, nt, nk)
    grants = at(m, "v_grant", gi, gs, gk)
    shares = {
        "annual_budget": (np.zeros(1, int), np.ones(1), None, +0),
        "cluster_share_min": (
            *_picked(a.share_min[pr.clusters] > 0, a.share_min[pr.clusters]),
            gi,
            +1,
        ),
        "cluster_share_max": (
            *_picked(a.share_max[pr.clusters] < 1, a.share_max[pr.clusters]),
            gi,
            -1,
        ),
        "category_share_min": (*_picked(a.category_min > 0, a.category_min), gk, +1),
        "category_share_max": (*_picked(a.category_max < 1, a.category_max), gk, -1),
    }
    names = {"cluster": m.cid, "category": list(m.K)}
    for name, (members, share, member_of, sense) in shares.items():
        # one row per (member, fund year); annual_budget has one member: the whole fund
        slot = np.full(max(len(m.cid), len(m.K)), -1)
        slot[members] = np.arange(len(members))
        pick = slot[member_of] if member_of is not None else np.zeros(len(grants), int)
        keep = pick >= 0
        row = pick[keep] * nt + gs[keep]
        entries = [(row, grants[keep], np.ones(keep.sum()))]
        n_rows = len(members) * nt
        mult = np.repeat(share, nt)
        year = np.tile(np.arange(nt), len(members))
        if elastic:
            entries.append((np.arange(n_rows), at(m, "v_extra_budget", year), -mult))
        rhs = mult * budget[year]
        if name == "annual_budget":
            keys = list(m.year)
            exact = a.must_spend and np.isnan(a.fund_total)
            lower, upper = (rhs, rhs) if exact else (-INF, rhs)
        else:
            label = names["cluster" if name.startswith("cluster") else "category"]
            keys = [(label[k], t) for k in members for t in m.year]
            lower, upper = (rhs, INF) if sense > 0 else (-INF, rhs)
        add_rows(m, name, keys, entries, lower, upper)
        for r, data in enumerate(getattr(m, name).values()):
            m.budget_rows[data] = (int(year[r]), float(mult[r]))
    _fund_total(m, a, grants, elastic)


def _fund_total(m, a, grants: np.ndarray, elastic: bool) -> None:
    """The total over the fund years (no row without one); see :func:`_budget`."""
    keys = ["total"] if not np.isnan(a.fund_total) else []
    n = len(grants) if keys else 0
    entries = [(np.zeros(n, int), grants[:n], np.ones(n))]
    if elastic and keys:
        nt = len(m.T)
        entries.append((np.zeros(nt, int), at(m, "v_extra_budget", np.arange(nt)), -np.ones(nt)))
    total = a.fund_total if keys else 0.0
    lower = total if a.must_spend else -INF
    add_rows(m, "fund_total", keys, entries, lower, total)


def _picked(mask: np.ndarray, share: np.ndarray):
    members = np.flatnonzero(mask)
    return members, share[members]


# --------------------------------------------------------------------------- limits


def _u_entries(m, rows: list[Row], scale: np.ndarray | None = None):
    """(row, column, coefficient) of Σ coef·u over several fund rows, one model row each."""
    if not rows:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    scale = np.ones(len(rows)) if scale is None else scale
    row = np.concatenate([np.full(len(r.coef), i) for i, r in enumerate(rows)])
    col = at(
        m, "v_effective", np.concatenate([r.c for r in rows]), np.concatenate([r.s for r in rows])
    )
    coef = np.concatenate([r.coef * f for r, f in zip(rows, scale, strict=True)])
    return row, col, coef


def _limits(m, pr: AllocationProblem) -> None:
    r"""Land and energy limits of the jurisdiction, per plan year y (rows from the projection).

    new_land_limit[y]:          Σ_c (L[c,y] − L[c,y−1]) ≤ Λ_y + R_y − I_y   [亩]
    land_reuse_limit[y]:        Σ_(c∉K) (L[c,y] − L[c,y−1]) ≤ Λ_y + (1 − ρ_y)·R_y − I_y   [亩]
    energy_cap[y]:              Σ_c E[c,y] ≤ Ē_y                        [万tce]
    energy_intensity_limit[y]:  Σ_c E[c,y] − ē_y · Σ_c V[c,y] ≤ 0      [tce/万元]
    land_floor[y]:              Σ_c L[c,y] ≥ L̲_y                         [亩]
    """
    for limit in LIMITS:
        # a limit the fund cannot move is a constant: checked before the model is built
        data = [d for d in pr.limits if d.limit is limit and len(d.row.coef)]
        bound = np.array([d.rhs - d.row.const[0] for d in data])
        lower, upper = (bound, INF) if limit.sense > 0 else (-INF, bound)
        add_rows(
            m,
            limit.name,
            [d.year for d in data],
            [_u_entries(m, [d.row for d in data])],
            lower,
            upper,
        )


# --------------------------------------------------------------------------- targets


def _level_targets(m, pr: AllocationProblem) -> None:
    r"""Level and ratio targets the fund can move, relative to their required level.

    target_shortfall[j]:  σ_j·(lhs_j(u) − rhs_j)/norm_j + v_shortfall[j] ≥ 0
    target_required[j]:   σ_j·(lhs_j(u) − rhs_j)/norm_j ≥ 0                (hard targets)
    target_yearly[j,y]:   σ_j·(X_j[y](u) − r_jy·X_j[y−1](u))/norm_jy + v_shortfall[j] ≥ 0
    target_yearly_required[j,y]: σ_j·(X_j[y](u) − r_jy·X_j[y−1](u))/norm_jy ≥ 0   (hard)

    The last two are the year-on-year targets, one row per plan year y up to the target year,
    sharing one shortfall, so v_shortfall[j] is the worst year's relative shortfall.
    """
    soft = [j for j in m.J if m.by_id[j].row is not None]
    hard = [j for j in m.H if m.by_id[j].row is not None]
    position = {j: i for i, j in enumerate(m.J)}
    for name, ids in (("target_shortfall", soft), ("target_required", hard)):
        data = [m.by_id[j] for j in ids]
        f = np.array([d.spec.sense / float(d.norm[0]) for d in data])
        lower = np.array([-fi * (d.row.const[0] - d.rhs[0]) for fi, d in zip(f, data, strict=True)])
        entries = [_u_entries(m, [d.row for d in data], f)]
        if name == "target_shortfall":
            rows = np.arange(len(ids))
            entries.append(
                (rows, at(m, "v_shortfall", [position[j] for j in ids]), np.ones(len(ids)))
            )
        add_rows(m, name, ids, entries, lower, INF)
    for name, ids in (
        ("target_yearly", [j for j in m.J if m.by_id[j].yearly is not None]),
        ("target_yearly_required", [j for j in m.H if m.by_id[j].yearly is not None]),
    ):
        keys, rows, f, owner = [], [], [], []
        for j in ids:
            d = m.by_id[j]
            for t, row, norm in d.yearly:
                keys.append((j, m.calendar[t]))
                rows.append(row)
                f.append(d.spec.sense / norm)
                owner.append(j)
        f = np.array(f)
        lower = np.array([-fi * r.const[0] for fi, r in zip(f, rows, strict=True)])
        entries = [_u_entries(m, rows, f)]
        if name == "target_yearly" and keys:
            n = np.arange(len(keys))
            entries.append((n, at(m, "v_shortfall", [position[j] for j in owner]), np.ones(len(n))))
        add_rows(m, name, keys, entries, lower, INF)


def _count_targets(m, pr: AllocationProblem) -> None:
    r"""Counts of clusters over a threshold ("5 clusters over 1000亿"), soft or hard.

    count_cluster[j,c]:   X_c(u)/threshold_j ≥ v_counted[j,c]
    count_cluster_below[j,c]: X_c(u)/high_j + (X̄_c/high_j − 1)·v_counted[j,c] ≤ X̄_c/high_j
    count_shortfall[j]:   Σ_c v_counted[j,c]/r_j + v_shortfall[j] ≥ 1
    count_required[j]:    Σ_c v_counted[j,c] ≥ r_j                          (hard targets)

    The row below the band's top is for a band of counts (``count_between``, low to high), so
    that a counted cluster stays at or below high; X̄_c, the most any allocation gives the
    cluster, makes the row empty for a cluster that is not counted.
    """
    rows, scale, lower = [], [], []
    for j in m.N:
        d = m.by_id[j]
        for r in d.cluster_rows:
            rows.append(r)
            scale.append(1.0 / d.spec.threshold)
            lower.append(-r.const[0] / d.spec.threshold)
    n = len(m.pairs)
    counted = (np.arange(n), at(m, "v_counted", np.arange(n)), -np.ones(n))
    add_rows(
        m, "count_cluster", m.pairs, [_u_entries(m, rows, np.array(scale)), counted], lower, INF
    )
    _count_band(m)
    pair_of = np.array([list(m.N).index(j) for j, _ in m.pairs], dtype=int)
    position = {j: i for i, j in enumerate(m.J)}
    for name, ids in (
        ("count_shortfall", [j for j in m.N if j in position]),
        ("count_required", [j for j in m.N if j not in position]),
    ):
        which = {list(m.N).index(j): i for i, j in enumerate(ids)}
        keep = np.array([p in which for p in pair_of], dtype=bool)
        row = np.array([which[p] for p in pair_of[keep]], dtype=int)
        req = np.array([float(m.by_id[j].required[0]) for j in ids])
        if name == "count_shortfall":
            entries = [
                (row, at(m, "v_counted", np.flatnonzero(keep)), 1.0 / req[row]),
                (
                    np.arange(len(ids)),
                    at(m, "v_shortfall", [position[j] for j in ids]),
                    np.ones(len(ids)),
                ),
            ]
            add_rows(m, name, ids, entries, 1.0, INF)
        else:
            entries = [(row, at(m, "v_counted", np.flatnonzero(keep)), np.ones(len(row)))]
            add_rows(m, name, ids, entries, req, INF)


def _count_band(m) -> None:
    """count_cluster_below rows (see :func:`_count_targets`), one per counted pair of a band."""
    keys, rows, scale, upper, pair = [], [], [], [], []
    member = {}  # target → position of the pair's cluster among its members
    for p, (j, _) in enumerate(m.pairs):
        d = m.by_id[j]
        k = member[j] = member.get(j, -1) + 1
        hi = d.spec.threshold_hi
        if hi is None:
            continue
        most = max(float(d.cluster_max[k]), hi)
        keys.append(m.pairs[p])
        rows.append(d.cluster_rows[k])
        scale.append(1.0 / hi)
        upper.append((most - d.cluster_rows[k].const[0]) / hi)
        pair.append((p, most / hi - 1.0))
    n = len(keys)
    counted = (
        np.arange(n),
        at(m, "v_counted", [p for p, _ in pair]),
        np.array([c for _, c in pair]),
    )
    add_rows(
        m,
        "count_cluster_below",
        keys,
        [_u_entries(m, rows, np.array(scale)), counted],
        -INF,
        np.array(upper),
    )


def _met_indicators(m, pr: AllocationProblem) -> None:
    r"""target_met[j]:        v_shortfall[j] ≤ S̄_j · (1 − v_met[j])             (targets-met)"""
    n = len(m.J)
    bound = np.array([max(m.by_id[j].shortfall_bound, 1.0) for j in m.J])
    rows = np.arange(n)
    entries = [(rows, at(m, "v_shortfall", rows), np.ones(n)), (rows, at(m, "v_met", rows), bound)]
    add_rows(m, "target_met", list(m.J), entries, -INF, bound)


def _worst(m) -> None:
    r"""shortfall_below_worst[j]: v_shortfall[j] ≤ v_worst                        (worst)"""
    n = len(m.J)
    rows = np.arange(n)
    worst = np.full(n, at(m, "v_worst"))
    entries = [(rows, at(m, "v_shortfall", rows), np.ones(n)), (rows, worst, -np.ones(n))]
    add_rows(m, "shortfall_below_worst", list(m.J), entries, -INF, 0.0)


# --------------------------------------------------------------------------- aims


def _aims(m, pr: AllocationProblem, stages: tuple[str, ...]) -> None:
    r"""The aims, each an objective of one lexicographic stage (``m.aims`` in stage order).

    weighted_shortfall:  min Σ_j w_j·v_shortfall[j]
    worst_shortfall:     min v_worst
    targets_met:         max Σ_j w_j·v_met[j]
    fund_effect:         max Σ_(c,t) e[c,t]·v_effective[c,t],   e[c,t] = 1 + Σ_τ K[c,τ,t]
    extra_budget:        min Σ_t v_extra_budget[t]                 (elastic model)
    """
    weight = [m.by_id[j].spec.weight for j in m.J]
    exprs = {
        "weighted_shortfall": (lambda: linear(0, weight, m.v_shortfall.values()), pyo.minimize),
        "worst_shortfall": (lambda: linear(0, [1.0], [m.v_worst]), pyo.minimize),
        "targets_met": (lambda: linear(0, weight, m.v_met.values()), pyo.maximize),
        "fund_effect": (
            lambda: linear(0, pr.effect.reshape(-1), m.v_effective.values()),
            pyo.maximize,
        ),
        "extra_budget": (
            lambda: linear(0, [1.0] * len(m.T), m.v_extra_budget.values()),
            pyo.minimize,
        ),
    }
    m.aims = []
    for name in stages:
        expr, sense = exprs[name]
        objective = pyo.Objective(expr=expr(), sense=sense)
        setattr(m, name, objective)
        m.aims.append(objective)
