"""Factor-path indicators (R&D, new products, exports, profit): a share of revenue with a drift.

Expected values are worked out here from the YAML numbers of tests/data/tiny.yaml, not copied
from the tool's output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.core.linear import target_row
from simulator.core.projection import cluster_values, project, scope_values
from simulator.core.targets import ledger

from .conftest import ROOT, compiled, raw

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"
YEARS = 4  # 2020 (base) … 2023


def q(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "assumption": "test"}


def tiny_with_rd(alpha_pct: float = 2.5, beta_pct: float = 4.0, drift_pct: float = 2.0) -> dict:
    """tiny.yaml with an R&D share: alpha drifting at ``drift_pct`` %/yr, beta held flat."""
    data = raw()
    alpha, beta = data["clusters"]
    alpha["baseline"]["rd_share"] = q(alpha_pct, "%")
    alpha["growth"]["rd_share"] = q(drift_pct, "%/yr")
    beta["baseline"]["rd_share"] = q(beta_pct, "%")
    beta["growth"]["rd_share"] = q(0, "%/yr")
    return data


def revenue_by_hand() -> dict[str, np.ndarray]:
    """Revenue without the fund, 2020–2023, from tiny.yaml: alpha 100 at 5 %/yr, beta 50 at
    6, 7, 8 %/yr."""
    alpha = 100 * 1.05 ** np.arange(YEARS)
    beta = 50 * np.cumprod([1, 1.06, 1.07, 1.08])
    return {"alpha": alpha, "beta": beta}


def rd_by_hand(alpha_pct=2.5, beta_pct=4.0, drift_pct=2.0) -> dict[str, np.ndarray]:
    r = revenue_by_hand()
    return {
        "alpha": alpha_pct / 100 * (1 + drift_pct / 100) ** np.arange(YEARS) * r["alpha"],
        "beta": beta_pct / 100 * r["beta"],
    }


def test_projected_rd_is_share_times_drift_times_revenue():
    _, a, _ = compiled(tiny_with_rd())
    p = project(a)
    rd = cluster_values(p, "rd")[0]
    for cluster, expected in rd_by_hand().items():
        assert rd[a.cluster_ids.index(cluster)] == pytest.approx(expected, rel=1e-12)
    by_hand = rd_by_hand()
    ratio = (by_hand["alpha"] + by_hand["beta"]) / sum(revenue_by_hand().values())
    total = scope_values(p, "rd_intensity", np.arange(a.n_clusters))[0]
    assert total == pytest.approx(ratio, rel=1e-12)  # a ratio of sums, not a mean of ratios


def rd_target(data: dict, pct: float) -> dict:
    data["targets"] = [
        {
            "id": "rd",
            "indicator": "rd_intensity",
            "scope": "total",
            "year": 2023,
            "sense": ">=",
            "level": q(pct, "%"),
        }
    ]
    return data


@pytest.mark.parametrize("offset", [-1e-3, 1e-3])
def test_an_rd_intensity_target_is_met_iff_the_ratio_reaches_it(offset):
    by_hand = rd_by_hand()
    ratio = (by_hand["alpha"][-1] + by_hand["beta"][-1]) / (
        revenue_by_hand()["alpha"][-1] + revenue_by_hand()["beta"][-1]
    )
    required = 100 * ratio * (1 + offset)
    _, a, specs = compiled(rd_target(tiny_with_rd(), required))
    p = project(a)
    book = ledger(p, specs)
    assert bool(book.met[0, 0]) == (ratio >= required / 100)
    # the optimiser's row N − r·D has the same sign
    factor = {k: v[0] for k, v in p.factor.items()}
    row = target_row(specs[0], required / 100, factor, p)
    assert (row.form.evaluate(p.primary)[0] >= 0) == (ratio >= required / 100)


def test_every_factor_path_indicator_adds_up_and_has_its_ratio():
    data = raw()
    shares = {"rd_share": 3, "new_product_share": 30, "export_share": 25, "profit_share": 7}
    for c in data["clusters"]:
        for field, pct in shares.items():
            c["baseline"][field] = q(pct, "%")
            c["growth"][field] = q(0, "%/yr")
    _, a, _ = compiled(data)
    p = project(a)
    everyone = np.arange(a.n_clusters)
    revenue = scope_values(p, "revenue", everyone)[0]
    for extensive, ratio, field in [
        ("rd", "rd_intensity", "rd_share"),
        ("new_product", "new_product_rate", "new_product_share"),
        ("exports", "export_rate", "export_share"),
        ("profit", "profit_margin", "profit_share"),
    ]:
        level = scope_values(p, extensive, everyone)[0]
        assert level == pytest.approx(shares[field] / 100 * revenue, rel=1e-12), extensive
        assert scope_values(p, ratio, everyone)[0] == pytest.approx(shares[field] / 100), ratio


def test_optimise_cixi_then_run_its_allocation_reproduces_the_targets_met(tmp_path):
    runner = CliRunner()
    opt, rerun = tmp_path / "opt", tmp_path / "run"
    result = runner.invoke(main, ["optimise", str(CIXI), "--out", str(opt)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["run", str(CIXI), "--allocation", str(opt / "allocation.csv"), "--out", str(rerun)]
    )
    assert result.exit_code == 0, result.output
    a = pd.read_csv(opt / "targets.csv").set_index("target_id")
    b = pd.read_csv(rerun / "targets.csv").set_index("target_id")
    assert {"rd_intensity_2022", "new_product_rate_2022"} <= set(a.index)
    assert (a.met == b.met).all()
    projection = pd.read_csv(rerun / "projection.csv")
    assert {"rd", "rd_intensity", "new_product", "new_product_rate"} <= set(projection.indicator)


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_share_of_150_percent_is_rejected_naming_the_field(tmp_path):
    result = CliRunner().invoke(
        main, ["validate", str(write(tmp_path, tiny_with_rd(alpha_pct=150)))]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "clusters.alpha.baseline.rd_share" in lines[0], result.output


def test_a_target_over_clusters_without_the_baseline_is_rejected(tmp_path):
    data = rd_target(tiny_with_rd(), 3.0)
    del data["clusters"][1]["baseline"]["rd_share"]
    result = CliRunner().invoke(main, ["validate", str(write(tmp_path, data))])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "rd_intensity needs baseline.rd_share" in lines[0], result.output
