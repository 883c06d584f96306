"""Laws of the allocation model: optimality, monotonicity, marginal values, hand-worked optima,
one source of truth with the projection, and infeasibility diagnosis."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.allocation import strategies
from simulator.allocation.marginal import budget_marginals
from simulator.allocation.objectives import objective_value
from simulator.allocation.optimise import optimise
from simulator.allocation.problem import build_problem
from simulator.allocation.sweep import sweep
from simulator.core.limits import breaches, check_rules
from simulator.core.projection import project
from simulator.core.targets import ledger
from simulator.errors import InfeasibleError

from .conftest import HAND, compiled, raw

SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roomy(data: dict) -> dict:
    """tiny.yaml with a land quota that does not bind and no count target (an LP)."""
    data = copy.deepcopy(data)
    data["limits"]["new_land"]["value"] = 5000
    data["targets"] = [t for t in data["targets"] if "count_over" not in t]
    return data


def score(a, specs, grant, movable, objective="shortfall"):
    p = project(a, grant)
    return objective_value(ledger(p, specs, project(a)), movable, objective), breaches(
        check_rules(a, grant, p)
    )


# ------------------------------------------------------------------ hand-worked optimum


def test_hand_worked_optimum():
    """a: leverage 5, b: leverage 2, revenue 1:1, same year, both at 100亿, budget 1亿.
    a's target 103 needs 3/5 = 0.6亿 and is worth 5/103 per 亿, more than b's 2/102: a gets
    0.6, b the remaining 0.4 → b at 100.8, shortfall (102 − 100.8)/102."""
    _s, a, specs = compiled(raw(HAND))
    opt = optimise(a, specs)
    grant = opt.grant.sum(axis=2)[:, 1]
    assert grant == pytest.approx([0.6, 0.4], abs=1e-9)
    assert opt.objective == pytest.approx(1.2 / 102, rel=1e-9)
    # one more 亿 goes to b: worth 2/102 per 亿 (the dual), and 0.6 of it closes b's gap
    m = budget_marginals(opt)[0]
    assert m.dual_rate == pytest.approx(2 / 102, rel=1e-6)
    assert m.objective_change == pytest.approx(1.2 / 102, rel=1e-6)
    assert m.best_cluster == "b"
    assert m.best_cluster_amount <= 1.0 + 1e-9  # never more than the extra money


def test_hand_worked_optimum_with_diminishing_returns():
    """a's pipeline: 2亿 of mobilised investment at slope 1, then 0.5. a still pays better
    (2.5/103 > 2/102 per 亿) until met: 2 + 0.5·(5x − 2) = 3 → x = 0.8; b gets 0.2."""
    data = raw(HAND)
    data["clusters"][0]["response"]["pipeline"] = {
        "widths": [2],
        "slopes": [1.0, 0.5],
        "unit": "亿元",
        "assumption": "test",
    }
    _, a, specs = compiled(data)
    opt = optimise(a, specs)
    assert opt.grant.sum(axis=2)[:, 1] == pytest.approx([0.8, 0.2], abs=1e-9)
    assert opt.objective == pytest.approx(1.6 / 102, rel=1e-9)


def test_worst_objective_equalises_relative_shortfalls():
    """min max(s_a, s_b): (3 − 5x)/103 = (2 − 2(1 − x))/102 … solved by hand: x = 0.5288…"""
    _, a, specs = compiled(raw(HAND))
    opt = optimise(a, specs, "worst")
    x = opt.grant.sum(axis=2)[0, 1]
    # (3 − 5x)/103 = 2x/102 → x = 306 / (510 + 206)
    assert x == pytest.approx(306 / 716, rel=1e-6)
    assert opt.objective == pytest.approx((3 - 5 * x) / 103, rel=1e-6)


def test_targets_met_objective_meets_the_cheaper_target():
    """Meeting a costs 0.6亿 and meeting b 1亿: both would need 1.6亿 > 1亿, so the best the
    MIP can do is one target met."""
    _, a, specs = compiled(raw(HAND))
    opt = optimise(a, specs, "targets-met")
    assert opt.objective == 1
    assert opt.solution.is_mip


# ------------------------------------------------------------------ laws


@pytest.fixture(scope="module")
def lp():
    _, a, specs = compiled(roomy(raw()))
    opt = optimise(a, specs)
    return a, specs, opt


def test_optimised_is_never_worse_than_simple_or_random_feasible_allocations(lp):
    a, specs, opt = lp
    movable = opt.movable
    no_fund = ledger(project(a), specs)
    for name in strategies.STRATEGIES:
        value, broken = score(a, specs, strategies.strategy(name, a, no_fund), movable)
        assert not broken, name
        assert opt.objective <= value + 1e-7, name
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(200):
        grant = np.zeros_like(opt.grant)
        for t in np.flatnonzero(a.fund_years):
            share = rng.dirichlet(np.ones(a.n_clusters)) * rng.uniform(0, 1)
            share = np.minimum(share, a.share_max)  # respect the max shares
            grant[:, t, 0] = share * a.budget[t]
        value, broken = score(a, specs, grant, movable)
        if broken:
            continue
        checked += 1
        assert opt.objective <= value + 1e-7
    assert checked >= 150  # the random draws are mostly feasible: the law was really tested


def test_model_predicts_what_the_projection_computes(lp):
    _a, _specs, opt = lp
    assert "model's predicted revenue equals the projection (1e-6)" in opt.checks
    # and the objective HiGHS reports is the numpy objective up to the tie-breaks
    assert opt.solution.objective == pytest.approx(opt.objective, abs=1e-5)


def test_objective_does_not_increase_as_the_budget_grows(lp):
    _a, _specs, opt = lp
    values = [point.result.objective for point in sweep(opt, np.linspace(0, 6, 13))]
    assert np.all(np.diff(values) <= 1e-9)
    assert values[0] > values[-1]  # money helps in this scenario


def test_zero_budget_gives_the_no_fund_projection(tiny_data):
    data = roomy(tiny_data)
    data["funds"]["budget"]["value"] = 0
    _, a, specs = compiled(data)
    opt = optimise(a, specs)
    assert opt.grant.sum() == 0
    assert np.allclose(opt.projection.primary["revenue"], project(a).primary["revenue"])


def test_marginal_value_of_budget_matches_a_finite_difference(lp):
    a, specs, opt = lp
    for entry, t in zip(
        budget_marginals(opt, delta=1e-4), np.flatnonzero(a.fund_years), strict=True
    ):
        values = []
        for bump in (0.0, 1e-4):
            budget = a.budget.copy()
            budget[t] += bump
            values.append(optimise(dataclasses.replace(a, budget=budget), specs).objective)
        finite = (values[0] - values[1]) / 1e-4
        assert entry.dual_rate == pytest.approx(finite, rel=1e-3, abs=1e-6)


@SLOW
@given(budget=st.floats(0.0, 8.0), beta_max=st.floats(0.2, 1.0))
@pytest.mark.slow
def test_optimum_obeys_every_limit_and_beats_equal_split(budget, beta_max):
    data = roomy(raw())
    data["funds"]["budget"]["value"] = budget
    data["funds"]["shares"]["beta"]["max"] = 100 * beta_max
    _, a, specs = compiled(data)
    opt = optimise(a, specs)  # audits itself: raises on any violation
    value, broken = score(a, specs, strategies.equal(a), opt.movable)
    if not broken:
        assert opt.objective <= value + 1e-7


# ------------------------------------------------------------------ infeasibility


def test_minimum_shares_over_the_budget_are_infeasible(tiny_data):
    data = copy.deepcopy(tiny_data)
    data["funds"]["shares"] = {
        "alpha": {"min": 60, "unit": "%", "assumption": "test"},
        "beta": {"min": 50, "unit": "%", "assumption": "test"},
    }
    _, a, specs = compiled(data)
    with pytest.raises(InfeasibleError) as err:
        optimise(a, specs)
    text = str(err.value)
    assert "funds.shares.alpha.min" in text and "funds.shares.beta.min" in text
    assert "funds.budget" in text


def test_hard_target_short_of_money_names_it_and_the_smallest_budget(tiny_data):
    data = roomy(tiny_data)
    target = next(t for t in data["targets"] if t["id"] == "alpha_rev")
    target["hard"] = True
    target["level"]["value"] = 150
    _, a, specs = compiled(data)
    with pytest.raises(InfeasibleError) as err:
        optimise(a, specs)
    text = str(err.value)
    assert "targets.alpha_rev (hard)" in text and "funds.budget" in text
    assert "smallest budget" in text
    # and that budget is enough: check it by solving with it
    import re

    amounts = [float(x) for x in re.findall(r"20\d\d: ([\d.]+)", text)]
    budget = a.budget.copy()
    budget[a.fund_years] = np.array(amounts) * 1.0001
    optimise(dataclasses.replace(a, budget=budget), specs)


def test_land_quota_below_what_a_hard_target_needs(tiny_data):
    data = copy.deepcopy(tiny_data)
    target = next(t for t in data["targets"] if t["id"] == "beta_rev")
    target["hard"] = True
    target["level"]["value"] = 80
    _, a, specs = compiled(data)
    with pytest.raises(InfeasibleError) as err:
        optimise(a, specs)
    assert "limits.new_land (2023)" in str(err.value)
    assert "targets.beta_rev (hard)" in str(err.value)


def test_a_limit_broken_before_any_fund_can_act(tiny_data):
    data = copy.deepcopy(tiny_data)
    data["limits"]["new_land"]["value"] = 0
    _, a, specs = compiled(data)
    with pytest.raises(InfeasibleError, match=r"limits.new_land \(2021\) allows 0 亩"):
        optimise(a, specs)


def test_targets_the_fund_cannot_move_are_reported(tiny_data):
    """A target in the base year + 1 with lags starting a year later cannot be moved."""
    data = copy.deepcopy(tiny_data)
    data["targets"].append(
        {
            "id": "early",
            "indicator": "revenue",
            "scope": "alpha",
            "year": 2021,
            "level": {"value": 200, "unit": "亿元", "assumption": "test"},
        }
    )
    _, a, specs = compiled(data)
    problem = build_problem(a, specs)
    movable = {d.spec.id: d.movable for d in problem.targets}
    assert movable["early"] is False
    assert movable["alpha_rev"] is True


def test_forced_spending_with_tight_land_keeps_the_pipeline_in_order(tiny_data):
    """must_spend + a binding land quota: the LP would fill low-slope segments first (wasting
    money to use less land), which the projection never does. The optimiser detects it and
    solves the ordered-pipeline MIP; the result passes the audit (model = projection)."""
    from simulator.allocation.audit import AuditError

    data = copy.deepcopy(tiny_data)
    data["funds"]["must_spend"] = True
    data["limits"]["new_land"]["value"] = 560
    data["targets"] = [t for t in data["targets"] if "count_over" not in t]
    _, a, specs = compiled(data)
    with pytest.raises(AuditError):
        optimise(a, specs, ordered=False)
    opt = optimise(a, specs)
    assert opt.solution.is_mip
    assert "model's predicted revenue equals the projection (1e-6)" in opt.checks
    assert opt.grant.sum() == pytest.approx(4.0)  # all of it spent
    # with a roomier quota no ordering is needed and the LP answers
    data["limits"]["new_land"]["value"] = 5000
    _, a, specs = compiled(data)
    assert not optimise(a, specs).solution.is_mip


def test_sweep_with_forced_spending_matches_fresh_solves(tiny_data):
    """The ordered model's big-M is sized for the largest budget of the sweep, so every point
    equals a fresh solve at that budget (a bug once: it was sized for the base budget)."""
    data = copy.deepcopy(tiny_data)
    data["funds"]["must_spend"] = True
    data["limits"]["new_land"]["value"] = 900
    data["targets"] = [t for t in data["targets"] if "count_over" not in t]
    for cluster in data["clusters"]:  # a narrow first segment: the big-M binds at 4亿
        cluster["response"]["pipeline"]["widths"] = [2]
    _, a, specs = compiled(data)
    values = np.array([2.0, 3.0, 4.0])
    opt = optimise(a, specs, ordered=True, budget_ceiling=values.max())
    for point in sweep(opt, values):
        value, res = point.budget, point.result
        budget = a.budget.copy()
        budget[a.fund_years] = value
        fresh = optimise(dataclasses.replace(a, budget=budget), specs, ordered=True)
        assert res.objective == pytest.approx(fresh.objective, rel=1e-7, abs=1e-9), value
    with pytest.raises(ValueError, match="budget_ceiling"):
        list(sweep(opt, np.array([10.0])))


def test_a_ratio_no_allocation_can_move_stays_out_of_the_objective(tiny_data):
    """The VA rate of both clusters together moves with the fund only when their VA rates
    differ; with equal rates no allocation changes the ratio, so the target is not movable
    (and does not pull the optimiser towards less revenue)."""
    data = roomy(tiny_data)
    data["targets"].append(
        {
            "id": "va_rate_total",
            "indicator": "va_rate",
            "scope": "total",
            "year": 2023,
            "level": {"value": 30, "unit": "%", "assumption": "test"},
        }
    )
    _, a, specs = compiled(data)
    movable = {d.spec.id: d.movable for d in build_problem(a, specs).targets}
    assert movable["va_rate_total"] is True  # 20 % and 25 %: funding beta raises the ratio
    for cluster in data["clusters"]:
        cluster["baseline"]["va_rate"]["value"] = 22
    _, a, specs = compiled(data)
    movable = {d.spec.id: d.movable for d in build_problem(a, specs).targets}
    assert movable["va_rate_total"] is False
    opt = optimise(a, specs)
    assert opt.objective == pytest.approx(
        optimise(a, [s for s in specs if s.id != "va_rate_total"]).objective, rel=1e-9
    )


@given(x=st.floats(1e-6, 1e6))
@settings(max_examples=200, deadline=None)
def test_smallest_budget_rounding_goes_up_to_four_significant_figures(x):
    from simulator.allocation.diagnose import round_up

    y = round_up(x)
    assert y >= x * (1 - 1e-12)  # never below what is needed
    assert y <= x * (1 + 1e-3) + 1e-12  # at most one step of the fourth figure above
    assert float(f"{y:.3e}") == y  # four significant figures, printed as it is: no binary noise
