"""The number of 规上 firms: a fund-independent primary flow, firms₀·Π(1 + net entry)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from click.testing import CliRunner

from simulator import indicators
from simulator.allocation.optimise import optimise
from simulator.allocation.problem import build_problem
from simulator.cli import main
from simulator.core.projection import project, scope_values
from simulator.core.targets import ledger
from simulator.runs import run

from .conftest import ROOT, compiled

JINHUA = ROOT / "scenarios" / "jinhua-2020.yaml"


def with_firms(data: dict) -> dict:
    """tiny.yaml with firm counts (alpha 120家 at 3 %/yr, beta 80家 at 2, −1, 4 %/yr) and a
    target of 250家 for both clusters in 2023."""
    data = copy.deepcopy(data)
    firms = {"alpha": (120, 3), "beta": (80, [2, -1, 4])}
    for c in data["clusters"]:
        count, rate = firms[c["id"]]
        c["baseline"]["firms"] = {"value": count, "unit": "家", "assumption": "test"}
        c["growth"]["firms"] = {"value": rate, "unit": "%/yr", "assumption": "test"}
    data["targets"].append(
        {
            "id": "firms_250",
            "indicator": "firms",
            "scope": "total",
            "year": 2023,
            "sense": ">=",
            "level": {"value": 250, "unit": "家", "assumption": "test target"},
        }
    )
    return data


def test_firms_is_a_count_indicator_on_its_own_primary():
    e = indicators.EXTENSIVE["firms"]
    assert (e.primary, e.factor, e.kind, e.needs) == ("firms", None, "count", ("firms",))


def test_projected_firms_compound_the_net_entry_rate(tiny_data):
    _s, a, _specs = compiled(with_firms(tiny_data))
    p = project(a)
    alpha = [120 * 1.03**k for k in range(4)]
    beta = [80, 80 * 1.02, 80 * 1.02 * 0.99, 80 * 1.02 * 0.99 * 1.04]
    assert p.primary["firms"][0] == pytest.approx(np.array([alpha, beta]), rel=1e-12)
    total = scope_values(p, "firms", np.arange(2))[0]
    assert total == pytest.approx(np.add(alpha, beta), rel=1e-12)


def test_without_a_firms_baseline_the_path_is_missing(tiny_data):
    _s, a, _specs = compiled(tiny_data)
    assert np.isnan(project(a).primary["firms"]).all()


def test_the_fund_does_not_move_firms(tiny_data):
    _s, a, specs = compiled(with_firms(tiny_data))
    j = [s.id for s in specs].index("firms_250")
    pr = build_problem(a, specs)
    target = pr.targets[j]
    assert not target.movable
    assert target.row.coef.size == 0  # no fund coefficient …
    expected = 120 * 1.03**3 + 80 * 1.02 * 0.99 * 1.04
    assert target.row.const[0] == pytest.approx(expected, rel=1e-12)  # … the constant counts
    opt = optimise(a, specs)
    assert not opt.movable[j]
    assert opt.projection.primary["firms"] == pytest.approx(project(a).primary["firms"])
    led = ledger(opt.projection, specs, project(a))
    assert led.projected[j, 0] == pytest.approx(expected, rel=1e-12)
    assert not led.met[j, 0]  # ≈215 < 250, and no allocation changes that


def test_jinhua_run_shows_the_firm_count_target(tmp_path):
    out = CliRunner().invoke(main, ["run", str(JINHUA), "--out", str(tmp_path / "jinhua")])
    assert out.exit_code == 0, out.output
    assert "firms_5000" in out.output
    result = run(JINHUA)
    ids = [s.id for s in result.ledger.specs]
    assert "firms_5000" in ids
    j = ids.index("firms_5000")
    assert result.ledger.required[j, 0] == pytest.approx(5000)
    assert result.ledger.projected[j, 0] == pytest.approx(4337 * 1.03**3, rel=1e-12)
