"""The CLI's files, columns and exit codes: a contract other checks rely on."""

from __future__ import annotations

import json
import subprocess
import sys

import highspy
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.scenario import load

from .conftest import ROOT, TINY

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_run_writes_the_four_files_with_the_contract_columns(tmp_path):
    out = tmp_path / "cixi"
    result = invoke("run", CIXI, "--out", out)
    assert result.exit_code == 0, result.output
    assert "smart_appliances" in result.output or "targets met" in result.output
    projection = pd.read_csv(out / "projection.csv")
    assert list(projection.columns) == ["cluster", "indicator", "year", "value", "unit"]
    assert "total" in set(projection.cluster)
    assert {
        "revenue",
        "value_added",
        "investment",
        "tech_investment",
        "land",
        "new_land",
        "energy",
        "energy_intensity",
        "tax",
        "tax_per_mu",
    } <= set(projection.indicator)
    targets = pd.read_csv(out / "targets.csv")
    assert list(targets.columns[:10]) == [
        "target_id",
        "indicator",
        "scope",
        "year",
        "required",
        "projected",
        "gap",
        "met",
        "unit",
        "provenance",
    ]
    assert (targets.gap == targets.projected - targets.required).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {
        "version",
        "scenario_file",
        "scenario_sha256",
        "what_ifs",
        "settings",
        "timings_seconds",
    } <= set(manifest)
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["scenario"]["id"] == "cixi-2020"
    assert not list(tmp_path.glob(".cixi.*")), "no temporary folder left behind"


def test_totals_are_the_sum_of_the_clusters(tmp_path):
    invoke("run", TINY, "--out", tmp_path / "r")
    df = pd.read_csv(tmp_path / "r" / "projection.csv")
    rev = df[df.indicator == "revenue"].pivot(index="year", columns="cluster", values="value")
    assert (rev.total - rev.alpha - rev.beta).abs().max() < 1e-9


def test_run_json_and_allocation(tmp_path):
    alloc = tmp_path / "a.csv"
    alloc.write_text("cluster,year,amount\nalpha,2021,1\nbeta,2022,1\n", encoding="utf-8")
    result = invoke("run", TINY, "--allocation", alloc, "--out", tmp_path / "r", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"]["targets"] == 6
    df = pd.read_csv(tmp_path / "r" / "projection.csv")
    grant = df[(df.indicator == "grant") & (df.year == 2021)].set_index("cluster").value
    assert grant["alpha"] == 1 and grant["beta"] == 0


def test_what_ifs_combine_in_order_and_set_overrides(tmp_path):
    base = load(TINY).scenario
    both = load(TINY, ["slow_growth", "double_fund"], ["funds.budget=5"]).scenario
    assert both.clusters[0].growth.revenue.value == base.clusters[0].growth.revenue.value - 2
    assert both.funds.budget.value == 5  # --set comes after the what-ifs
    assert both.clusters[0].growth.revenue.provenance_kind == "assumption"
    assert "slow_growth" in both.clusters[0].growth.revenue.assumption
    what_if = tmp_path / "faster.yaml"
    what_if.write_text(
        "description: faster\nadd: {clusters.alpha.growth.revenue: 1}\n", encoding="utf-8"
    )
    faster = load(TINY, [str(what_if)]).scenario
    assert faster.clusters[0].growth.revenue.value == base.clusters[0].growth.revenue.value + 1


def test_optimise_writes_allocation_and_solver_record(tmp_path):
    out = tmp_path / "o"
    mps = tmp_path / "model.mps"
    result = invoke("optimise", CIXI, "--out", out, "--export-model", mps)
    assert result.exit_code == 0, result.output
    assert "lowers the weighted shortfall by" in result.output
    allocation = pd.read_csv(out / "allocation.csv")
    assert list(allocation.columns) == ["cluster", "year", "amount", "unit", "category"]
    per_year = allocation.groupby("year").amount.sum()
    assert (per_year <= 2.0 + 1e-6).all()  # Cixi's 2亿 a year
    solver = json.loads((out / "solver.json").read_text(encoding="utf-8"))
    for key in (
        "status",
        "objective",
        "solver",
        "solver_version",
        "build_seconds",
        "handoff_seconds",
        "solve_seconds",
        "n_variables",
        "n_constraints",
        "marginal_values",
    ):
        assert key in solver
    assert solver["status"] == "optimal"
    # the exported model, solved by HiGHS alone, gives the same optimum
    h = highspy.Highs()
    h.silent()
    h.readModel(str(mps))
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(
        solver["objective_with_tie_breaks"], rel=1e-7, abs=1e-9
    )
    for name in ("projection.csv", "targets.csv", "scenario.resolved.yaml", "manifest.json"):
        assert (out / name).exists()


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_exported_model_resolves_to_the_same_optimum_with_names(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    result = invoke(
        "optimise",
        ROOT / "tests" / "data" / "hand.yaml",
        "--out",
        tmp_path / "o",
        "--export-model",
        path,
    )
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert "annual_budget" in text and "v_grant" in text
    h = highspy.Highs()
    h.silent()
    h.readModel(str(path))
    h.run()
    solver = json.loads((tmp_path / "o" / "solver.json").read_text(encoding="utf-8"))
    assert h.getInfo().objective_function_value == pytest.approx(
        solver["objective_with_tie_breaks"], rel=1e-7, abs=1e-12
    )


def test_compare_rows_and_the_optimised_row_is_not_beaten(tmp_path):
    alloc = tmp_path / "mine.csv"
    alloc.write_text("cluster,year,amount\nalpha,2021,0.5\nbeta,2021,0.5\n", encoding="utf-8")
    result = invoke(
        "compare",
        TINY,
        "--set",
        "limits.new_land.value=5000",
        *[
            x
            for a in ("equal", "by-size", "by-gap", "optimised", alloc)
            for x in ("--allocation", a)
        ],
        "--out",
        tmp_path / "c",
    )
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "c" / "comparison.csv")
    assert list(df.columns[:4]) == ["allocation", "objective", "targets_met", "weighted_shortfall"]
    assert len(df) == 5 and any(c.startswith("gap:") for c in df.columns)
    feasible = df[df.feasible]
    best = feasible.objective.min()
    assert df.set_index("allocation").objective["optimised"] <= best + 1e-7


def test_compare_rejects_an_allocation_over_budget(tmp_path):
    alloc = tmp_path / "big.csv"
    alloc.write_text("cluster,year,amount\nalpha,2021,5\n", encoding="utf-8")
    result = invoke(
        "compare", TINY, "--allocation", "equal", "--allocation", alloc, "--out", tmp_path / "c"
    )
    assert result.exit_code == 2
    assert not (tmp_path / "c").exists()


def test_sweep_is_monotone(tmp_path):
    result = invoke(
        "sweep",
        TINY,
        "--set",
        "limits.new_land.value=5000",
        "--budget",
        "0:4:0.5",
        "--out",
        tmp_path / "s",
    )
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "s" / "sweep.csv")
    assert list(df.columns[:3]) == ["budget", "objective", "targets_met"]
    assert list(df.budget) == [0.5 * i for i in range(9)]
    assert (df.objective.diff().dropna() <= 1e-9).all()


def test_optimise_infeasible_exits_3_and_writes_nothing(tmp_path):
    result = invoke("optimise", TINY, "--set", "limits.new_land.value=0", "--out", tmp_path / "o")
    assert result.exit_code == 3
    assert "limits.new_land" in result.output
    assert not (tmp_path / "o").exists()


def test_synth_writes_a_valid_scenario_and_list_shows_the_plans(tmp_path):
    path = tmp_path / "s.yaml"
    assert (
        invoke("synth", "--clusters", 12, "--years", 4, "--seed", 3, "--out", path).exit_code == 0
    )
    assert invoke("validate", path).exit_code == 0
    assert len(load(path).scenario.clusters) == 12
    listing = invoke("list", "--dir", ROOT / "scenarios")
    assert listing.exit_code == 0
    for name in ("cixi-2020", "jinhua-2020", "ningbo-2018", "shaoxing-2022", "chaohu-2018"):
        assert name in listing.output


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "simulator" in result.stdout
