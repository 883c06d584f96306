"""Real and nominal targets (``basis``) and year-on-year growth targets (``form``)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from simulator.allocation.optimise import optimise
from simulator.cli import main
from simulator.core.projection import project, scope_values
from simulator.core.targets import ledger
from simulator.errors import InfeasibleError
from simulator.outputs.tables import targets_frame

from .conftest import compiled, raw

DEFLATOR = [2.0, 3.0, 4.0]  # %/yr for the plan years 2021–2023 of tiny.yaml


def _target(data: dict, target_id: str) -> dict:
    return next(t for t in data["targets"] if t["id"] == target_id)


def _with_prices(data: dict, value) -> dict:
    data["prices"] = {"deflator": {"value": value, "unit": "%/yr", "assumption": "test value"}}
    return data


def _row(data: dict, target_id: str):
    _, a, specs = compiled(data)
    led = ledger(project(a), specs)
    j = [s.id for s in specs].index(target_id)
    return led, j, targets_frame(led, a.years).to_pandas().iloc[j]


def test_real_growth_target_requires_real_growth_in_current_prices():
    data = _with_prices(raw(), DEFLATOR)
    _target(data, "va_growth")["basis"] = "real"
    led, j, row = _row(data, "va_growth")
    # worked out from tiny.yaml: 2020 VA = 100·20 % + 50·25 % = 32.5亿 (VA rates do not grow),
    # floor +7 %/yr over 2020→2023, prices up 2 %, 3 %, 4 %
    prices = 1.02 * 1.03 * 1.04
    assert led.required[j, 0] == pytest.approx(32.5 * 1.07**3 * prices, rel=1e-12)
    assert led.stretch_required[j, 0] == pytest.approx(32.5 * 1.08**3 * prices, rel=1e-12)
    # the ledger shows a real target in base-year prices
    assert row["required"] == pytest.approx(32.5 * 1.07**3, rel=1e-12)
    assert row["projected"] == pytest.approx(led.projected[j, 0] / prices, rel=1e-12)
    assert row["basis"] == "real"


def test_real_level_target_is_in_base_year_prices():
    data = _with_prices(raw(), 5.0)
    _target(data, "alpha_rev")["basis"] = "real"
    led, j, row = _row(data, "alpha_rev")
    assert led.required[j, 0] == pytest.approx(125 * 1.05**3, rel=1e-12)
    assert row["required"] == pytest.approx(125, rel=1e-12)


def test_with_a_zero_deflator_real_equals_nominal():
    nominal = _with_prices(raw(), 0)
    real = _with_prices(raw(), 0)
    for t in real["targets"]:
        if t["indicator"] in ("revenue", "value_added", "tax_per_mu") and "count_over" not in t:
            t["basis"] = "real"
    ln, _, fn = _row(nominal, "va_growth")
    lr, _, fr = _row(real, "va_growth")
    np.testing.assert_allclose(lr.required, ln.required, rtol=1e-15)
    np.testing.assert_allclose(lr.shortfall, ln.shortfall, rtol=1e-15)
    np.testing.assert_array_equal(lr.met, ln.met)
    assert fr["required"] == fn["required"] and fr["projected"] == fn["projected"]


def _year_on_year(g: float, scope: str = "beta") -> dict:
    data = raw()
    data["targets"].append(
        {
            "id": "yoy",
            "indicator": "revenue",
            "scope": scope,
            "year": 2023,
            "sense": ">=",
            "growth": {"value": g, "unit": "%/yr", "assumption": "test target"},
            "form": "year_on_year",
        }
    )
    return data


@pytest.mark.parametrize("g", [5.0, 6.0, 6.5, 7.0, 7.5, 8.5])
def test_year_on_year_is_met_iff_every_year_grows_enough(g):
    _, a, specs = compiled(_year_on_year(g))
    p = project(a)
    led = ledger(p, specs)
    j = [s.id for s in specs].index("yoy")
    x = scope_values(p, "revenue", specs[j].members)[0]  # beta grows 6, 7, 8 %
    growth = x[1:] / x[:-1] - 1
    assert bool(led.met[j, 0]) == bool(np.all(growth >= g / 100 - 1e-12))
    # its shortfall is the worst year's relative shortfall
    r = 1 + g / 100
    worst = np.max(np.maximum(0.0, r * x[:-1] - x[1:]) / (r * x[:-1]))
    assert led.shortfall[j, 0] == pytest.approx(worst, rel=1e-9, abs=1e-15)
    # an average (CAGR) target at the same rate is met when the 2020–23 CAGR (≈7 %) reaches it
    average = _year_on_year(g)
    _target(average, "yoy")["form"] = "average"
    _, a2, specs2 = compiled(average)
    cagr = (x[-1] / x[0]) ** (1 / 3) - 1
    assert bool(ledger(project(a2), specs2).met[j, 0]) == bool(cagr >= g / 100 - 1e-12)


@pytest.mark.parametrize("objective", ["shortfall", "targets-met", "worst"])
@pytest.mark.parametrize("hard", [False, True])
def test_optimiser_and_ledger_agree_on_year_on_year(objective, hard):
    data = _year_on_year(6.0, scope="alpha")  # alpha grows 5 % a year without the fund
    for c in data["clusters"]:  # revenue in the grant's year, grants every plan year
        c["response"]["lag"]["value"] = [100]
    data["funds"]["years"] = [2021, 2022, 2023]
    _target(data, "yoy")["hard"] = hard
    _, a, specs = compiled(data)
    opt = optimise(a, specs, objective)  # the audit checks the model's aim against the ledger
    j = [s.id for s in specs].index("yoy")
    x = scope_values(opt.projection, "revenue", specs[j].members)[0]
    every_year = bool(np.all(x[1:] >= 1.06 * x[:-1] * (1 - 1e-6)))
    assert bool(opt.ledger.met[j, 0]) == every_year
    assert bool(opt.movable[j])
    if hard:
        assert every_year


def test_a_hard_year_on_year_target_the_fund_cannot_reach_names_the_year():
    data = _year_on_year(8.0)  # tiny's lag: no revenue in the grant's year, so 2021 is fixed
    _target(data, "yoy")["hard"] = True
    _, a, specs = compiled(data)
    with pytest.raises(InfeasibleError, match="yoy 2021"):
        optimise(a, specs)


def _validate(tmp_path, data: dict):
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path, CliRunner().invoke(main, ["validate", str(path)])


def test_real_basis_without_a_deflator_is_refused_naming_the_field(tmp_path):
    data = raw()
    _target(data, "va_growth")["basis"] = "real"
    path, result = _validate(tmp_path, data)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert path.name in lines[0] and "basis" in lines[0] and "prices.deflator" in lines[0]


def test_real_basis_on_a_non_money_target_is_refused(tmp_path):
    data = _with_prices(raw(), 0)
    _target(data, "intensity")["basis"] = "real"
    _, result = _validate(tmp_path, data)
    assert result.exit_code == 2 and "basis" in result.stderr, result.output
