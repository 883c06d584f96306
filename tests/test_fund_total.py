"""A fund over several years (funds.total): the optimiser chooses the timing within the annual
budgets, never spends more than the total (all of it when it must be spent), run reports a
breach of it, and a total below what the shares force is rejected."""

from __future__ import annotations

import copy

import pytest

from simulator.allocation.optimise import optimise
from simulator.core.limits import breaches, check_rules
from simulator.core.projection import project
from simulator.errors import InputError
from simulator.scenario.load import validate

from .conftest import TINY, compiled, raw


def with_total(total: float, must_spend: bool = False) -> dict:
    data = copy.deepcopy(raw(TINY))
    data["limits"]["new_land"]["value"] = 5000  # roomy: the total is what binds
    data["funds"]["total"] = {"value": total, "unit": "亿元", "assumption": "test"}
    data["funds"]["must_spend"] = must_spend
    return data


def test_the_total_bounds_the_allocation_and_the_years_share_it():
    _, a, specs = compiled(with_total(2.5))
    budgets = a.budget[a.fund_years].sum()
    assert budgets > 2.5  # the total binds, not the annual budgets
    opt = optimise(a, specs)
    assert opt.grant.sum() <= 2.5 + 1e-9
    assert (opt.grant.sum(axis=(0, 2)) <= a.budget + 1e-9).all()


def test_must_spend_with_a_total_spends_the_total_not_every_budget():
    _, a, specs = compiled(with_total(2.5, must_spend=True))
    opt = optimise(a, specs)
    assert opt.grant.sum() == pytest.approx(2.5, abs=1e-7)


def test_an_allocation_over_the_total_is_a_breach():
    _, a, _ = compiled(with_total(1.0))
    grant = project(a).grant.copy()
    t = int(a.fund_years.nonzero()[0][0])
    c = int(a.fundable.nonzero()[0][0])
    grant[c, t, 0] = 1.5  # within the year's budget, over the total
    assert "funds.total" in breaches(check_rules(a, grant, project(a, grant)))


def test_a_total_below_the_minimum_shares_is_rejected():
    data = with_total(0.5)
    data["funds"]["shares"] = {
        "alpha": {"min": 50, "unit": "%", "assumption": "test"},
    }
    with pytest.raises(InputError) as err:
        validate(data, "scenario.yaml")
    assert "funds.total" in err.value.one_line() and "minimums" in err.value.one_line()
