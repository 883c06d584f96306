r"""The fund-allocation model in Pyomo. Each constraint family is one block whose docstring is
its equation; ``docs/optimisation.md`` shows the same equations (a test keeps them equal).

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

The objective is a sequence of aims solved lexicographically (:mod:`.objectives`); each aim is
one Pyomo ``Objective`` here, listed in stage order in ``m.aims``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from ..core.response import pipeline_segments
from .objectives import OBJECTIVES
from .problem import AllocationProblem, Row


def linear(const: float, coefs: Iterable[float], variables: Iterable) -> LinearExpression:
    return LinearExpression(
        constant=float(const), linear_coefs=[float(x) for x in coefs], linear_vars=list(variables)
    )


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
    spec = OBJECTIVES[objective]
    m = pyo.ConcreteModel(name="fund_allocation")
    _sets(m, pr)
    m.budget_ceiling = max(float(pr.arrays.budget.max()), budget_ceiling or 0.0)
    _variables(m, pr)
    _response(m, pr)
    if ordered_pipeline:
        _pipeline_order(m, pr)
    _budget(m, pr, elastic_budget)
    _limits(m, pr)
    _level_targets(m, pr)
    _count_targets(m, pr)
    if elastic_budget:
        m.extra_budget = pyo.Objective(expr=sum(m.v_extra_budget[t] for t in m.T))
        m.aims = [m.extra_budget]
        return m
    if "targets_met" in spec.stages:
        _met_indicators(m, pr)
    if "worst_shortfall" in spec.stages:
        _worst(m)
    _aims(m, pr, spec.stages)
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
        initialize=[d.spec.id for d in movable if d.spec.hard and d.row is not None], ordered=True
    )
    m.N = pyo.Set(
        initialize=[d.spec.id for d in movable if d.cluster_rows is not None], ordered=True
    )


def _variables(m, pr: AllocationProblem) -> None:
    _, widths, _ = pipeline_segments(pr.arrays)
    width = {
        (c, t, seg): (None if np.isinf(widths[i, seg]) else float(widths[i, seg]))
        for i, c in zip(pr.clusters, m.cid, strict=True)
        for t in m.year
        for seg in m.M
    }
    m.v_grant = pyo.Var(m.C, m.T, m.K, domain=pyo.NonNegativeReals)
    m.v_fill = pyo.Var(m.C, m.T, m.M, domain=pyo.NonNegativeReals, bounds=lambda _, *i: (0, width[i]))
    m.v_effective = pyo.Var(m.C, m.T, domain=pyo.NonNegativeReals)
    m.v_shortfall = pyo.Var(m.J, domain=pyo.NonNegativeReals)


def _u(m, row: Row) -> list:
    return [m.v_effective[m.cid[c], m.year[s]] for c, s in zip(row.c, row.s, strict=True)]


# --------------------------------------------------------------------------- response


def _response(m, pr: AllocationProblem) -> None:
    r"""Mobilised investment fills the pipeline; its segments' slopes make it effective.

    mobilised_investment[c,t]:  Σ_m v_fill[c,t,m] = a_c · Σ_k φ_k · v_grant[c,t,k]
    pipeline_effect[c,t]:       v_effective[c,t] = Σ_m β[c,m] · v_fill[c,t,m]
    """
    a = pr.arrays
    _, _, slopes = pipeline_segments(a)
    lev = dict(zip(m.cid, a.leverage[pr.clusters], strict=True))
    beta = dict(zip(m.cid, slopes[pr.clusters], strict=True))
    phi = a.category_factor
    segments = list(m.M)

    @m.Constraint(m.C, m.T)
    def mobilised_investment(m, c, t):
        fills = [m.v_fill[c, t, s] for s in segments]
        grants = [m.v_grant[c, t, k] for k in m.K]
        return linear(0, [1.0] * len(fills) + list(-lev[c] * phi), fills + grants) == 0

    @m.Constraint(m.C, m.T)
    def pipeline_effect(m, c, t):
        fills = [m.v_fill[c, t, s] for s in segments]
        return linear(0, [1.0, *(-beta[c])], [m.v_effective[c, t], *fills]) == 0


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
    m.P = pyo.Set(initialize=[s for s in m.M if s < len(m.M) - 1], ordered=True)
    m.v_full = pyo.Var(m.C, m.T, m.P, domain=pyo.Binary)
    most = (
        a.leverage * a.category_factor.max() * np.minimum(a.share_max, 1.0) * m.budget_ceiling
    )
    cap = {
        (c, seg): float(
            max(most[i], 1e-9) if np.isinf(widths[i, seg + 1]) else widths[i, seg + 1]
        )
        for i, c in zip(pr.clusters, m.cid, strict=True)
        for seg in m.P
    }
    width = {(c, seg): float(widths[i, seg]) for i, c in zip(pr.clusters, m.cid, strict=True) for seg in m.P}

    @m.Constraint(m.C, m.T, m.P)
    def segment_full(m, c, t, seg):
        return linear(0, [1.0, -width[c, seg]], [m.v_fill[c, t, seg], m.v_full[c, t, seg]]) >= 0

    @m.Constraint(m.C, m.T, m.P)
    def segment_next(m, c, t, seg):
        return linear(0, [1.0, -cap[c, seg]], [m.v_fill[c, t, seg + 1], m.v_full[c, t, seg]]) <= 0


# --------------------------------------------------------------------------- budget


def _budget(m, pr: AllocationProblem, elastic: bool) -> None:
    r"""The fund and its splits, as shares of each year's budget B_t.

    annual_budget[t]:          Σ_{c,k} v_grant[c,t,k] ≤ B_t   (= B_t when the fund must be spent)
    cluster_share_min[c,t]:    Σ_k v_grant[c,t,k] ≥ min_c · B_t
    cluster_share_max[c,t]:    Σ_k v_grant[c,t,k] ≤ max_c · B_t
    category_share_min[k,t]:   Σ_c v_grant[c,t,k] ≥ min_k · B_t
    category_share_max[k,t]:   Σ_c v_grant[c,t,k] ≤ max_k · B_t
    """
    a = pr.arrays
    budget = dict(zip(m.year, a.budget[pr.years], strict=True))
    if elastic:
        m.v_extra_budget = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.budget_rows = {}  # ConstraintData → (fund-year position, share of the budget)

    def spent(t, share, cs, ks):
        grants = [m.v_grant[c, t, k] for c in cs for k in ks]
        extra = [m.v_extra_budget[t]] if elastic else []
        return linear(0, [1.0] * len(grants) + [-share] * len(extra), grants + extra)

    def family(name, index, share_of, members, sense):
        def rule(m, key, t):
            body = spent(t, share_of[key], *members(key))
            return body <= share_of[key] * budget[t] if sense < 0 else body >= share_of[key] * budget[t]

        con = pyo.Constraint(index, rule=rule)
        setattr(m, name, con)
        for (key, t), data in con.items():
            m.budget_rows[data] = (m.year.index(t), share_of[key])

    smin = dict(zip(m.cid, a.share_min[pr.clusters], strict=True))
    smax = dict(zip(m.cid, a.share_max[pr.clusters], strict=True))
    kmin = dict(zip(a.category_ids, a.category_min, strict=True))
    kmax = dict(zip(a.category_ids, a.category_max, strict=True))
    clusters = lambda c: ([c], list(m.K))  # noqa: E731
    uses = lambda k: (list(m.C), [k])  # noqa: E731

    @m.Constraint(m.T)
    def annual_budget(m, t):
        body = spent(t, 1.0, list(m.C), list(m.K))
        return body == budget[t] if a.must_spend else body <= budget[t]

    for t, data in m.annual_budget.items():
        m.budget_rows[data] = (m.year.index(t), 1.0)
    family("cluster_share_min", [(c, t) for c in m.C for t in m.T if smin[c] > 0], smin, clusters, +1)
    family("cluster_share_max", [(c, t) for c in m.C for t in m.T if smax[c] < 1], smax, clusters, -1)
    family("category_share_min", [(k, t) for k in m.K for t in m.T if kmin[k] > 0], kmin, uses, +1)
    family("category_share_max", [(k, t) for k in m.K for t in m.T if kmax[k] < 1], kmax, uses, -1)


# --------------------------------------------------------------------------- limits


def _limits(m, pr: AllocationProblem) -> None:
    r"""Land and energy limits of the jurisdiction, per plan year y (rows from the projection).

    new_land_limit[y]:          Σ_c (L[c,y] − L[c,y−1]) ≤ Λ_y           [亩]
    energy_cap[y]:              Σ_c E[c,y] ≤ Ē_y                        [万tce]
    energy_intensity_limit[y]:  Σ_c E[c,y] − ē_y · Σ_c V[c,y] ≤ 0      [tce/万元]
    """
    from ..core.limits import LIMITS

    for limit in LIMITS:
        # a limit the fund cannot move is a constant: checked before the model is built
        rows = {d.year: d for d in pr.limits if d.limit is limit and len(d.row.coef)}

        def rule(m, y, rows=rows):
            d = rows[y]
            return linear(d.row.const[0], d.row.coef, _u(m, d.row)) <= d.rhs

        setattr(m, limit.name, pyo.Constraint(sorted(rows), rule=rule))


# --------------------------------------------------------------------------- targets


def _level_targets(m, pr: AllocationProblem) -> None:
    r"""Level and ratio targets the fund can move, relative to their required level.

    target_shortfall[j]:  σ_j·(lhs_j(u) − rhs_j)/norm_j + v_shortfall[j] ≥ 0
    target_required[j]:   σ_j·(lhs_j(u) − rhs_j)/norm_j ≥ 0                (hard targets)
    """

    def relative(j):
        d = m.by_id[j]
        f = d.spec.sense / float(d.norm[0])
        return d.row, f * (d.row.const[0] - d.rhs[0]), f * d.row.coef

    level = [j for j in m.J if m.by_id[j].row is not None]

    @m.Constraint(level)
    def target_shortfall(m, j):
        row, const, coef = relative(j)
        return linear(const, [*coef, 1.0], [*_u(m, row), m.v_shortfall[j]]) >= 0

    @m.Constraint(m.H)
    def target_required(m, j):
        row, const, coef = relative(j)
        return linear(const, coef, _u(m, row)) >= 0


def _count_targets(m, pr: AllocationProblem) -> None:
    r"""Counts of clusters over a threshold ("5 clusters over 1000亿"), soft or hard.

    count_cluster[j,c]:   X_c(u)/threshold_j ≥ v_counted[j,c]
    count_shortfall[j]:   Σ_c v_counted[j,c]/r_j + v_shortfall[j] ≥ 1
    count_required[j]:    Σ_c v_counted[j,c] ≥ r_j                          (hard targets)
    """
    a = pr.arrays
    pairs = [(j, a.cluster_ids[c]) for j in m.N for c in m.by_id[j].spec.members]
    m.v_counted = pyo.Var(pairs, domain=pyo.Binary)
    member_row = {
        (j, a.cluster_ids[c]): r
        for j in m.N
        for c, r in zip(m.by_id[j].spec.members, m.by_id[j].cluster_rows, strict=True)
    }

    @m.Constraint(pairs)
    def count_cluster(m, j, c):
        r, thr = member_row[j, c], m.by_id[j].spec.threshold
        return linear(r.const[0] / thr, [*(r.coef / thr), -1.0], [*_u(m, r), m.v_counted[j, c]]) >= 0

    def counted(j):
        return [m.v_counted[p] for p in pairs if p[0] == j]

    @m.Constraint([j for j in m.N if j in m.J])
    def count_shortfall(m, j):
        r = float(m.by_id[j].required[0])
        cs = counted(j)
        return linear(0, [1.0 / r] * len(cs) + [1.0], [*cs, m.v_shortfall[j]]) >= 1

    @m.Constraint([j for j in m.N if j not in m.J])
    def count_required(m, j):
        cs = counted(j)
        return linear(0, [1.0] * len(cs), cs) >= float(m.by_id[j].required[0])


def _met_indicators(m, pr: AllocationProblem) -> None:
    r"""target_met[j]:        v_shortfall[j] ≤ S̄_j · (1 − v_met[j])             (targets-met)"""
    m.v_met = pyo.Var(m.J, domain=pyo.Binary)

    @m.Constraint(m.J)
    def target_met(m, j):
        bound = max(m.by_id[j].shortfall_bound, 1.0)
        return linear(0, [1.0, bound], [m.v_shortfall[j], m.v_met[j]]) <= bound


def _worst(m) -> None:
    r"""shortfall_below_worst[j]: v_shortfall[j] ≤ v_worst                        (worst)"""
    m.v_worst = pyo.Var(domain=pyo.NonNegativeReals)

    @m.Constraint(m.J)
    def shortfall_below_worst(m, j):
        return linear(0, [1.0, -1.0], [m.v_shortfall[j], m.v_worst]) <= 0


# --------------------------------------------------------------------------- aims


def _aims(m, pr: AllocationProblem, stages: tuple[str, ...]) -> None:
    r"""The aims, each an objective of one lexicographic stage (``m.aims`` in stage order).

    weighted_shortfall:  min Σ_j w_j·v_shortfall[j]
    worst_shortfall:     min v_worst
    targets_met:         max Σ_j w_j·v_met[j]
    fund_effect:         max Σ_(c,t) e[c,t]·v_effective[c,t],   e[c,t] = 1 + Σ_τ K[c,τ,t]
    """
    weight = [m.by_id[j].spec.weight for j in m.J]
    effect = pr.effect.reshape(-1)
    u = [m.v_effective[c, t] for c in m.C for t in m.T]
    exprs = {
        "weighted_shortfall": (
            lambda: linear(0, weight, [m.v_shortfall[j] for j in m.J]),
            pyo.minimize,
        ),
        "worst_shortfall": (lambda: linear(0, [1.0], [m.v_worst]), pyo.minimize),
        "targets_met": (lambda: linear(0, weight, [m.v_met[j] for j in m.J]), pyo.maximize),
        "fund_effect": (lambda: linear(0, effect, u), pyo.maximize),
    }
    m.aims = []
    for name in stages:
        expr, sense = exprs[name]
        objective = pyo.Objective(expr=expr(), sense=sense)
        setattr(m, name, objective)
        m.aims.append(objective)

