"""Classification shares (high-tech, digital core) and targets stated as shares of GDP."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from simulator.allocation.optimise import optimise
from simulator.cli import main
from simulator.core.projection import project, scope_values
from simulator.core.targets import ledger
from simulator.scenario.load import load

from .conftest import ROOT, compiled, raw

GDP, GDP_GROWTH = 400.0, 6.0  # 亿元 in 2020, %/yr
DIGITAL = {"alpha": 10.0, "beta": 40.0}  # % of each cluster's VA
HIGHTECH = {"alpha": 50.0, "beta": 80.0}  # % of each cluster's VA


def _with_classifications(data: dict, context: bool = True) -> dict:
    for c in data["clusters"]:
        for field, shares in (("digital_core_va_share", DIGITAL), ("hightech_va_share", HIGHTECH)):
            c["baseline"][field] = {"value": shares[c["id"]], "unit": "%", "assumption": "test"}
            c["growth"][field] = {"value": 0, "unit": "%/yr", "assumption": "test"}
    if context:
        data["context"] = {
            "gdp": {"value": GDP, "unit": "亿元", "assumption": "test"},
            "gdp_growth": {"value": GDP_GROWTH, "unit": "%/yr", "assumption": "test"},
        }
    data["targets"] += [
        {
            "id": "digital_gdp",
            "indicator": "digital_core_va",
            "scope": "total",
            "of": "gdp",
            "year": 2023,
            "level": {"value": 6, "unit": "%", "assumption": "test"},
        },
        {
            "id": "hightech",
            "indicator": "hightech_va_rate",
            "scope": "total",
            "year": 2023,
            "level": {"value": 60, "unit": "%", "assumption": "test"},
        },
    ]
    return data


def _row(led, target_id: str) -> int:
    return next(j for j, s in enumerate(led.specs) if s.id == target_id)


def test_context_share_required_and_projected_from_the_yaml_numbers():
    _, a, specs = compiled(_with_classifications(raw()))
    led = ledger(project(a), specs)
    j = _row(led, "digital_gdp")
    # by hand from tiny.yaml: revenue alpha 100·1.05³, beta 50·1.06·1.07·1.08; VA rates 20, 25 %
    alpha, beta = 100 * 1.05**3, 50 * 1.06 * 1.07 * 1.08
    digital = alpha * 0.20 * 0.10 + beta * 0.25 * 0.40
    gdp = GDP * (1 + GDP_GROWTH / 100) ** 3
    assert led.specs[j].kind == "context_share"
    assert led.required[j, 0] == pytest.approx(0.06, rel=1e-12)
    assert led.projected[j, 0] == pytest.approx(digital / gdp, rel=1e-12)
    assert bool(led.met[j, 0]) == (digital >= 0.06 * gdp)
    assert led.shortfall[j, 0] == pytest.approx(max(0.0, 0.06 * gdp - digital) / (0.06 * gdp))


def test_classification_ratio_is_the_share_weighted_va_over_va():
    _, a, specs = compiled(_with_classifications(raw()))
    p = project(a)
    members = np.arange(a.n_clusters)
    alpha, beta = 100 * 1.05**3, 50 * 1.06 * 1.07 * 1.08
    va = np.array([alpha * 0.20, beta * 0.25])
    expected = (va @ np.array([0.50, 0.80])) / va.sum()
    assert scope_values(p, "hightech_va_rate", members)[0, -1] == pytest.approx(expected)
    led = ledger(p, specs)
    assert led.projected[_row(led, "hightech"), 0] == pytest.approx(expected)


def test_of_gdp_without_a_context_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "scenario.yaml"
    data = _with_classifications(raw(), context=False)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert path.name in lines[0] and "of" in lines[0] and "context.gdp" in lines[0]


def test_the_optimiser_and_the_ledger_agree_on_a_context_share_target():
    data = _with_classifications(raw())
    next(t for t in data["targets"] if t["id"] == "digital_gdp")["level"]["value"] = 4.0
    _, a, specs = compiled(data)
    opt = optimise(a, specs)  # the post-solve audit compares the model with the ledger
    assert opt.solution.status == "optimal"
    j = _row(opt.ledger, "digital_gdp")
    assert opt.movable[j]  # a level row the fund moves (through revenue)
    gdp = GDP * (1 + GDP_GROWTH / 100) ** 3
    assert opt.ledger.projected[j, 0] * gdp == pytest.approx(
        scope_values(project(a, opt.grant), "digital_core_va", np.arange(2))[0, -1]
    )


def _met(path) -> dict[str, str]:
    with open(path, encoding="utf-8-sig") as fh:
        return {r["target_id"]: r["met"] for r in csv.DictReader(fh)}


def test_chaohu_optimise_and_run_on_its_allocation_agree(tmp_path):
    scenario = ROOT / "scenarios" / "chaohu-2018.yaml"
    s = load(scenario).scenario
    assert {t.id for t in s.targets} >= {"hightech_output_share", "rd_share_of_gdp"}
    runner = CliRunner()
    opt, rerun = tmp_path / "opt", tmp_path / "run"
    result = runner.invoke(main, ["optimise", str(scenario), "--out", str(opt)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main,
        ["run", str(scenario), "--allocation", str(opt / "allocation.csv"), "--out", str(rerun)],
    )
    assert result.exit_code == 0, result.output
    assert _met(opt / "targets.csv") == _met(rerun / "targets.csv")
