"""Laws of the optimiser on random synthetic scenarios, and the hand-off's fidelity.

- ``optimise`` always ends in an allocation (exit 0) or a named infeasibility (exit 3), whatever
  the size, budget, forced spending, binding land and energy limits and objective; the audit
  (every rule on the projection, the model's revenue and objective equal the projection's) holds
  on every allocation it returns;
- the matrix handed to HiGHS is the Pyomo model's own rows and bounds.
"""

from __future__ import annotations

import copy

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.allocation.model import build_model
from simulator.allocation.objectives import OBJECTIVES
from simulator.allocation.optimise import optimise
from simulator.allocation.problem import build_problem
from simulator.allocation.solve import HighsModel
from simulator.core.limits import TOLERANCE
from simulator.core.projection import project, scope_values
from simulator.errors import InfeasibleError, SolverStopped
from simulator.scenario.load import merge_defaults
from simulator.synth import synthetic

from .conftest import ROOT, TINY, compiled, raw

SCENARIOS = st.fixed_dictionaries(
    {
        "clusters": st.integers(1, 60),
        "years": st.integers(1, 6),
        "seed": st.integers(0, 10_000),
        "budget_scale": st.sampled_from([0.0, 0.3, 1.0, 3.0, 10.0]),
        "must_spend": st.booleans(),
        "land_scale": st.sampled_from([None, 1.0, 1.05, 1.5, 3.0]),
        "energy_scale": st.sampled_from([None, 1.0, 1.002, 1.02, 1.2]),
        "objective": st.sampled_from(list(OBJECTIVES)),
    }
)


def synthetic_case(case: dict) -> dict:
    data = merge_defaults(synthetic(case["clusters"], case["years"], case["seed"]))
    funds = data["funds"]
    funds["budget"]["value"] = round(funds["budget"]["value"] * case["budget_scale"], 6)
    funds["must_spend"] = case["must_spend"]
    if case["land_scale"] is None:
        data["limits"].pop("new_land")
    else:
        data["limits"]["new_land"]["value"] *= case["land_scale"]
    if case["energy_scale"] is not None:
        # the no-fund energy use of each plan year times the scale: binds once the fund adds
        # output (at 1.0 exactly: any effective grant breaks it, so the fund must stay out)
        _, a, _ = compiled(data)
        energy = scope_values(project(a), "energy", np.arange(a.n_clusters))[0, 1:]
        data["limits"]["energy_cap"] = {
            "value": [float(e * case["energy_scale"]) * (1 + 1e-9) for e in energy],
            "unit": "万tce",
            "assumption": "test",
        }
    return data


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=SCENARIOS)
def test_optimise_ends_in_an_audited_allocation_or_a_named_infeasibility(case):
    _, a, specs = compiled(synthetic_case(case))
    try:
        opt = optimise(a, specs, case["objective"], time_limit=10)
    except InfeasibleError as exc:
        assert str(exc).startswith("infeasible"), str(exc)
        return
    except SolverStopped:  # the time limit ran out before any allocation was found (exit 4)
        return
    # a hard MIP (targets-met, forced spending) may stop at the time limit: its best allocation
    # is returned, audited like an optimal one (exit 4), never called infeasible
    assert opt.status in ("optimal", "time_limit"), opt.status
    assert any("predicted revenue equals" in c for c in opt.checks)
    assert any(f"model's {case['objective']}" in c for c in opt.checks)
    spent = opt.grant.sum(axis=(0, 2))
    # within the rule tolerance `run --allocation` checks (1e-6 relative, 1e-6 亿元 at a zero
    # budget: HiGHS meets rows to 1e-7 of their scaled form)
    assert (spent <= a.budget + TOLERANCE * np.maximum(1.0, a.budget)).all()
    if a.must_spend:
        assert np.allclose(spent[a.fund_years], a.budget[a.fund_years], rtol=1e-6, atol=1e-9)


def _model_cases():
    tiny = raw(TINY)
    forced = copy.deepcopy(tiny)
    forced["funds"]["must_spend"] = True
    yield "tiny", compiled(tiny), {}
    yield "tiny-ordered", compiled(forced), {"ordered_pipeline": True}
    yield "tiny-elastic", compiled(tiny), {"elastic_budget": True}
    yield "cixi", compiled(raw(ROOT / "scenarios" / "cixi-2020.yaml")), {}
    for objective in ("worst", "targets-met"):
        yield f"tiny-{objective}", compiled(tiny), {"objective": objective}


@pytest.mark.parametrize("name, case, options", list(_model_cases()), ids=lambda x: str(x)[:20])
def test_the_matrix_handed_to_highs_is_the_models_own_rows(name, case, options):
    _, a, specs = case
    m = build_model(build_problem(a, specs), **options)
    hm = HighsModel(m)
    c = hm.compiled
    column = {id(v): i for i, v in enumerate(c.columns)}
    rows = list(m.component_data_objects(pyo.Constraint, active=True))
    assert len(rows) == len(c.rows) == len(c.starts) - 1
    for r, con in enumerate(rows):
        assert con is c.rows[r]
        body = con.body
        expected = {}
        for coef, var in zip(body.linear_coefs, body.linear_vars, strict=True):
            expected[column[id(var)]] = expected.get(column[id(var)], 0.0) + float(coef)
        span = slice(c.starts[r], c.starts[r + 1])
        got = dict(zip(c.index[span].tolist(), c.value[span].tolist(), strict=True))
        assert {k: v for k, v in expected.items() if v} == pytest.approx(got), con.name
        lower = -np.inf if con.lower is None else float(pyo.value(con.lower))
        upper = np.inf if con.upper is None else float(pyo.value(con.upper))
        assert (c.row_lower[r], c.row_upper[r]) == (lower, upper), con.name
    for i, var in enumerate(c.columns):
        lb, ub = var.bounds
        assert c.lower[i] == (-np.inf if lb is None else lb), var.name
        assert c.upper[i] == (np.inf if ub is None else ub), var.name
        assert bool(c.integer[i]) == var.is_integer(), var.name
