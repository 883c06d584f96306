"""A floor on the industrial land stock (改一补一): a lower limit the projection is checked
against, that the optimiser keeps, and that is rejected above the base-year stock."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulator.allocation.optimise import optimise
from simulator.core.limits import breaches, check_rules
from simulator.core.projection import project, scope_values
from simulator.errors import InfeasibleError, InputError
from simulator.scenario.load import validate

from .conftest import TINY, compiled, raw


def with_floor(value: float, data: dict | None = None) -> dict:
    data = copy.deepcopy(data or raw(TINY))
    data["limits"]["land_floor"] = {"value": value, "unit": "亩", "assumption": "test"}
    return data


def base_stock(data: dict) -> float:
    """The clusters' base-year land [亩], units converted (beta's is given in 公顷)."""
    _, a, _ = compiled(data)
    return float(np.nansum(a.baseline["land"]))


def test_a_floor_the_projection_keeps_is_not_breached_and_one_it_misses_is():
    data = raw(TINY)
    _, a, _ = compiled(with_floor(base_stock(data), data))
    land = scope_values(project(a), "land", [0, 1])[0]
    rules = {(r.limit, r.year): r for r in check_rules(a, project(a).grant, project(a))}
    for t in range(1, a.n_years):
        rule = rules["limits.land_floor", int(a.years[t])]
        assert rule.sense == ">="
        assert rule.breached == bool(land[t] < base_stock(data) * (1 - 1e-6))


def test_the_optimiser_keeps_the_floor_or_says_it_cannot():
    """With less land per 亿元 every year (revenue per mu growing faster than revenue), the
    stock falls without the fund; a floor at the base-year stock then needs the fund's extra
    output, or is infeasible and named."""
    data = raw(TINY)
    for cluster in data["clusters"]:
        cluster["growth"]["revenue_per_mu"]["value"] = 12  # land per 亿元 falls 12 %/yr
    data["limits"]["new_land"]["value"] = 5000
    _, a, specs = compiled(with_floor(base_stock(data) * 0.97, data))
    try:
        opt = optimise(a, specs)
    except InfeasibleError as exc:
        assert "limits.land_floor" in str(exc)
        return
    assert "limits.land_floor" not in " ".join(breaches(check_rules(a, opt.grant, opt.projection)))


def test_a_floor_above_the_base_year_stock_is_rejected():
    data = raw(TINY)
    with pytest.raises(InputError) as err:
        validate(with_floor(base_stock(data) * 1.5, data), "scenario.yaml")
    assert "limits.land_floor" in err.value.one_line() and "above" in err.value.one_line()
