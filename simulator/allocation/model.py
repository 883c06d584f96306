r"""The fund-allocation model in Pyomo. Each constraint family is one block whose docstring is
its equation; ``docs/optimisation.md`` shows the same equations.

Sets: C fundable clusters, T fund years, K fund categories, M pipeline segments, J targets the
fund can move (J_h of them hard, J_n counts of clusters), Y plan years with a limit.

Variables (money in 亿元)::

    v_grant[c,t,k] ≥ 0            the fund given to cluster c in year t for use k
    0 ≤ v_fill[c,t,m] ≤ w[c,m]    mobilised investment in pipeline segment m
    v_effective[c,t] ≥ 0          effective mobilised investment u[c,t]
    v_shortfall[j] ≥ 0            relative shortfall of target j
    v_counted[j,c] ∈ {0,1}        cluster c counts towards count target j
    v_met[j] ∈ {0,1}              target j is met (objective targets-met)
    v_worst ≥ 0                   the largest relative shortfall (objective worst)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .problem import AllocationProblem, Row

OBJECTIVES = ("shortfall", "targets-met", "worst")

#: weight of the secondary terms that break ties (more revenue by the horizon; smaller total
#: shortfall under targets-met / worst). Small enough never to trade against the main objective.
TIE_BREAK = 1e-6


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
    """Build the allocation model. ``elastic_budget`` instead finds the least extra budget
    that makes the hard constraints feasible (used to diagnose infeasibility).
    ``ordered_pipeline`` adds binaries that fill pipeline segments in order (needed only when
    spending is forced and wasting effect would pay, see :func:`_pipeline_order`);
    ``budget_ceiling`` [亿元/yr] is the largest annual budget the model will be re-solved with
    (a sweep), which bounds the ordered pipeline's big-M."""
    if objective not in OBJECTIVES:
        raise ValueError(objective)
    a = pr.arrays
    m = pyo.ConcreteModel(name="fund_allocation")
    cid = [a.cluster_ids[c] for c in pr.clusters]
    year = [int(a.years[t]) for t in pr.years]
    m.C = pyo.Set(initialize=cid, ordered=True)
    m.T = pyo.Set(initialize=year, ordered=True)
    m.K = pyo.Set(initialize=a.category_ids, ordered=True)
    m.M = pyo.Set(initialize=range(a.pipeline_slopes.shape[1]), ordered=True)
    soft = [d for d in pr.targets if d.movable and not d.spec.hard]
    m.J = pyo.Set(initialize=[d.spec.id for d in soft], ordered=True)
    m.budget_rows = {}  # constraint → (fund-year position, multiplier of the budget)

    _variables(m, pr, cid, year)
    _response(m, pr, cid, year)
    m.budget_ceiling = max(float(pr.arrays.budget.max()), budget_ceiling or 0.0)
    if ordered_pipeline:
        _pipeline_order(m, pr, cid)
    _budget(m, pr, cid, year, elastic_budget)
    _limits(m, pr, cid, year)
    _targets(m, pr, cid, year, soft, objective)
    _objective(m, pr, cid, year, soft, objective, elastic_budget)
    return m


def _u(m, cid, year, row: Row) -> list:
    return [m.v_effective[cid[c], year[s]] for c, s in zip(row.c, row.s, strict=True)]


def _variables(m, pr: AllocationProblem, cid, year):
    _, widths, _ = _segments(pr)
    m.v_grant = pyo.Var(m.C, m.T, m.K, domain=pyo.NonNegativeReals)
    width = {
        (cid[i], year[s], seg): (None if np.isinf(widths[i, seg]) else widths[i, seg])
        for i in range(len(cid))
        for s in range(len(year))
        for seg in m.M
    }
    m.v_fill = pyo.Var(
        m.C,
        m.T,
        m.M,
        domain=pyo.NonNegativeReals,
        bounds=lambda _, c, t, seg: (0, width[c, t, seg]),
    )
    m.v_effective = pyo.Var(m.C, m.T, domain=pyo.NonNegativeReals)


def _segments(pr: AllocationProblem):
    from ..core.response import pipeline_segments

    edges, widths, slopes = pipeline_segments(pr.arrays)
    return edges[pr.clusters], widths[pr.clusters], slopes[pr.clusters]


def _response(m, pr: AllocationProblem, cid, year):
    r"""Mobilised investment fills the pipeline; its segments' slopes make it effective.

    mobilised_investment[c,t]:  Σ_m v_fill[c,t,m] = a_c · Σ_k φ_k · v_grant[c,t,k]
    pipeline_effect[c,t]:       v_effective[c,t] = Σ_m β[c,m] · v_fill[c,t,m]
    """
    a = pr.arrays
    _, _, slopes = _segments(pr)
    lev = dict(zip(cid, a.leverage[pr.clusters], strict=True))
    phi = dict(zip(a.category_ids, a.category_factor, strict=True))
    beta = {(c, seg): slopes[i, seg] for i, c in enumerate(cid) for seg in m.M}

    @m.Constraint(m.C, m.T)
    def mobilised_investment(m, c, t):
        return (
            linear(
                0,
                [1.0] * len(m.M) + [-lev[c] * phi[k] for k in m.K],
                [m.v_fill[c, t, s] for s in m.M] + [m.v_grant[c, t, k] for k in m.K],
            )
            == 0
        )

    @m.Constraint(m.C, m.T)
    def pipeline_effect(m, c, t):
        return (
            linear(
                0,
                [1.0] + [-beta[c, s] for s in m.M],
                [m.v_effective[c, t]] + [m.v_fill[c, t, s] for s in m.M],
            )
            == 0
        )


def _pipeline_order(m, pr: AllocationProblem, cid):
    r"""Segments fill in order: segment m+1 only once segment m is full.

    segment_full[c,t,m]:   v_fill[c,t,m] ≥ w[c,m] · v_full[c,t,m]
    segment_next[c,t,m]:   v_fill[c,t,m+1] ≤ F̄[c,t] · v_full[c,t,m]

    F̄ bounds the mobilised investment (the largest annual budget the model will see times the
    cluster's leverage). An LP
    fills in order by itself unless spending is forced (must_spend, minimum shares) and less
    effect is wanted (a binding land or energy limit, a ≤ target): then these binaries keep
    the model equal to the projection.
    """
    a = pr.arrays
    _, widths, _ = _segments(pr)
    inner = [s for s in m.M if s < len(m.M) - 1]
    m.P = pyo.Set(initialize=inner, ordered=True)
    m.v_full = pyo.Var(m.C, m.T, m.P, domain=pyo.Binary)
    width = {(c, seg): widths[i, seg] for i, c in enumerate(cid) for seg in inner}
    most = {
        (c, t): a.leverage[pr.clusters[i]] * a.category_factor.max() * m.budget_ceiling
        for i, c in enumerate(cid)
        for t in m.T
    }

    @m.Constraint(m.C, m.T, m.P)
    def segment_full(m, c, t, seg):
        return m.v_fill[c, t, seg] >= width[c, seg] * m.v_full[c, t, seg]

    @m.Constraint(m.C, m.T, m.P)
    def segment_next(m, c, t, seg):
        return m.v_fill[c, t, seg + 1] <= max(most[c, t], 1e-9) * m.v_full[c, t, seg]


def _budget(m, pr: AllocationProblem, cid, year, elastic: bool):
    r"""The fund and its splits, as shares of each year's budget B_t.

    annual_budget[t]:          Σ_{c,k} v_grant[c,t,k] ≤ B_t   (= B_t when the fund must be spent)
    cluster_share_min[c,t]:    Σ_k v_grant[c,t,k] ≥ min_c · B_t
    cluster_share_max[c,t]:    Σ_k v_grant[c,t,k] ≤ max_c · B_t
    category_share_min[k,t]:   Σ_c v_grant[c,t,k] ≥ min_k · B_t
    category_share_max[k,t]:   Σ_c v_grant[c,t,k] ≤ max_k · B_t
    """
    a = pr.arrays
    budget = dict(zip(year, a.budget[pr.years], strict=True))
    pos = {t: i for i, t in enumerate(year)}
    if elastic:
        m.v_extra_budget = pyo.Var(m.T, domain=pyo.NonNegativeReals)

    def available(t, share=1.0):
        return share * budget[t] + (share * m.v_extra_budget[t] if elastic else 0.0)

    def spent(c=None, k=None, t=None):
        cs = [c] if c is not None else list(m.C)
        ks = [k] if k is not None else list(m.K)
        return linear(
            0, [1.0] * (len(cs) * len(ks)), [m.v_grant[ci, t, ki] for ci in cs for ki in ks]
        )

    @m.Constraint(m.T)
    def annual_budget(m, t):
        if a.must_spend:
            return spent(t=t) == available(t)
        return spent(t=t) <= available(t)

    smin = dict(zip(cid, a.share_min[pr.clusters], strict=True))
    smax = dict(zip(cid, a.share_max[pr.clusters], strict=True))
    m.cluster_share_min = pyo.Constraint(
        [(c, t) for c in m.C for t in m.T if smin[c] > 0],
        rule=lambda m, c, t: spent(c=c, t=t) >= available(t, smin[c]),
    )
    m.cluster_share_max = pyo.Constraint(
        [(c, t) for c in m.C for t in m.T if smax[c] < 1],
        rule=lambda m, c, t: spent(c=c, t=t) <= available(t, smax[c]),
    )
    kmin = dict(zip(a.category_ids, a.category_min, strict=True))
    kmax = dict(zip(a.category_ids, a.category_max, strict=True))
    m.category_share_min = pyo.Constraint(
        [(k, t) for k in m.K for t in m.T if kmin[k] > 0],
        rule=lambda m, k, t: spent(k=k, t=t) >= available(t, kmin[k]),
    )
    m.category_share_max = pyo.Constraint(
        [(k, t) for k in m.K for t in m.T if kmax[k] < 1],
        rule=lambda m, k, t: spent(k=k, t=t) <= available(t, kmax[k]),
    )

    for con, share in [
        (m.annual_budget, lambda i: 1.0),
        (m.cluster_share_min, lambda i: smin[i[0]]),
        (m.cluster_share_max, lambda i: smax[i[0]]),
        (m.category_share_min, lambda i: kmin[i[0]]),
        (m.category_share_max, lambda i: kmax[i[0]]),
    ]:
        for index in con:
            t = index if con is m.annual_budget else index[1]
            m.budget_rows[con[index]] = (pos[t], share(index))


def _limits(m, pr: AllocationProblem, cid, year):
    r"""Land and energy limits of the jurisdiction, per plan year y (rows from the projection).

    new_land_limit[y]:          Σ_c (L[c,y] − L[c,y−1]) ≤ Λ_y           [亩]
    energy_cap[y]:              Σ_c E[c,y] ≤ Ē_y                        [万tce]
    energy_intensity_limit[y]:  Σ_c E[c,y] − ē_y · Σ_c V[c,y] ≤ 0      [tce/万元]
    """
    for name in ("new_land_limit", "energy_cap", "energy_intensity_limit"):
        # a limit the fund cannot move is a constant: checked before the model is built
        rows = {d.year: d for d in pr.limits if d.name == name and len(d.row.coef)}

        def rule(m, y, rows=rows):
            d = rows[y]
            return linear(d.row.const, d.row.coef, _u(m, cid, year, d.row)) <= d.rhs

        setattr(m, name, pyo.Constraint(sorted(rows), rule=rule))


def _targets(m, pr: AllocationProblem, cid, year, soft, objective: str):
    r"""Targets the fund can move (j ∈ J), each relative to its required level r_j.

    target_shortfall[j]:  σ_j·(lhs_j(u) − rhs_j) + norm_j·v_shortfall[j] ≥ 0
    target_required[j]:   σ_j·(lhs_j(u) − rhs_j) ≥ 0                       (hard targets)
    count_cluster[j,c]:   X_c(u) ≥ threshold_j · v_counted[j,c]              (count targets)
    count_shortfall[j]:   Σ_c v_counted[j,c] + r_j·v_shortfall[j] ≥ r_j
    target_met[j]:        v_shortfall[j] ≤ S̄_j · (1 − v_met[j])             (targets-met)
    shortfall_below_worst[j]: v_shortfall[j] ≤ v_worst                        (worst)
    """
    m.v_shortfall = pyo.Var(m.J, domain=pyo.NonNegativeReals)
    by_id = {d.spec.id: d for d in pr.targets}
    level = [d.spec.id for d in soft if d.row is not None]
    counts = [d.spec.id for d in soft if d.cluster_rows is not None]
    hard = [d.spec.id for d in pr.targets if d.spec.hard and d.movable and d.row is not None]

    def lhs(d):
        return linear(d.row.const, d.row.coef, _u(m, cid, year, d.row))

    @m.Constraint(level)
    def target_shortfall(m, j):
        d = by_id[j]
        return d.spec.sense * (lhs(d) - d.rhs) + d.norm * m.v_shortfall[j] >= 0

    @m.Constraint(hard)
    def target_required(m, j):
        d = by_id[j]
        return d.spec.sense * (lhs(d) - d.rhs) >= 0

    pairs = [
        (j, a_id)
        for j in counts
        for a_id in (pr.arrays.cluster_ids[c] for c in by_id[j].spec.members)
    ]
    m.v_counted = pyo.Var(pairs, domain=pyo.Binary)
    member_row = {
        (j, pr.arrays.cluster_ids[c]): r
        for j in counts
        for c, r in zip(by_id[j].spec.members, by_id[j].cluster_rows, strict=True)
    }

    @m.Constraint(pairs)
    def count_cluster(m, j, c):
        r = member_row[j, c]
        thr = by_id[j].spec.threshold
        return linear(r.const, [*r.coef, -thr], [*_u(m, cid, year, r), m.v_counted[j, c]]) >= 0

    @m.Constraint(counts)
    def count_shortfall(m, j):
        d = by_id[j]
        members = [p for p in pairs if p[0] == j]
        return sum(m.v_counted[p] for p in members) + d.norm * m.v_shortfall[j] >= d.required

    if objective == "targets-met":
        m.v_met = pyo.Var(m.J, domain=pyo.Binary)

        @m.Constraint(m.J)
        def target_met(m, j):
            return m.v_shortfall[j] <= by_id[j].shortfall_bound * (1 - m.v_met[j])

    if objective == "worst":
        m.v_worst = pyo.Var(domain=pyo.NonNegativeReals)

        @m.Constraint(m.J)
        def shortfall_below_worst(m, j):
            return m.v_shortfall[j] <= m.v_worst


def _objective(m, pr: AllocationProblem, cid, year, soft, objective: str, elastic: bool):
    r"""shortfall:    min Σ_j w_j·v_shortfall[j]
    targets-met:  max Σ_j w_j·v_met[j]          (ties: smaller Σ_j w_j·v_shortfall[j])
    worst:        min v_worst                   (ties: smaller Σ_j w_j·v_shortfall[j])

    all with two tie-breaks of weight TIE_BREAK: more revenue by the horizon (relative), and a
    cost rising with the segment index on v_fill, so that when the objective is indifferent the
    pipeline fills in order, as the projection does (never more money for the same effect).
    """
    if elastic:
        m.least_extra_budget = pyo.Objective(expr=sum(m.v_extra_budget[t] for t in m.T))
        return
    w = {d.spec.id: d.spec.weight for d in soft}
    total_w = sum(w.values()) or 1.0
    weighted = sum(w[j] * m.v_shortfall[j] for j in m.J) if len(m.J) else 0.0
    growth = _horizon_revenue_gain(m, pr, cid, year) - _fill_order_cost(m, pr)
    if objective == "shortfall":
        expr = weighted - TIE_BREAK * growth
    elif objective == "targets-met":
        bound = max([d.shortfall_bound for d in soft] + [1.0])
        met = sum(w[j] * m.v_met[j] for j in m.J) if len(m.J) else 0.0
        expr = -met + 1e-4 * weighted / (total_w * bound) - TIE_BREAK * growth
    else:
        expr = m.v_worst + TIE_BREAK * weighted / total_w - TIE_BREAK * growth
    m.objective = pyo.Objective(expr=expr, sense=pyo.minimize)


def _fill_order_cost(m, pr: AllocationProblem):
    """Σ (m / |M|)·v_fill[c,t,m] relative to the fundable clusters' base revenue (not the
    budget, so a sweep keeps the same weighting): later segments cost more."""
    n_seg = len(m.M)
    if n_seg < 2:
        return 0.0
    total = max(float(pr.arrays.baseline["revenue"][pr.clusters].sum()), 1e-9)
    keys = [(c, t, s) for c in m.C for t in m.T for s in m.M if s > 0]
    return linear(0, [k[2] / n_seg / total for k in keys], [m.v_fill[k] for k in keys])


def _horizon_revenue_gain(m, pr: AllocationProblem, cid, year):
    """Fund-induced revenue of all clusters in the last plan year, relative to the total."""
    from ..core.linear import indicator_form
    from .problem import fund_row

    a = pr.arrays
    factor = {k: v[0] for k, v in pr.reference.factor.items()}
    form = indicator_form("revenue", np.arange(a.n_clusters), a.n_years - 1, factor)
    row = fund_row(form, a, pr.kernel, pr.reference, pr.clusters, pr.years)
    if not len(row.coef):
        return 0.0
    return linear(0, row.coef / max(row.const, 1e-9), _u(m, cid, year, row))
