"""Laws a user relies on without checking: clean JSON, reproducible allocations, honest exits.

Every expected value here is either a property (one output agrees with another) or worked out
independently of the tool (from the scenario YAML or by hand), never copied from its output.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main

from .conftest import HAND, ROOT, TINY

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"
JINHUA = ROOT / "scenarios" / "jinhua-2020.yaml"
OBJECTIVES = ("shortfall", "targets-met", "worst")


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def weighted_shortfall(targets: pd.DataFrame) -> float:
    return float((targets.weight * targets.shortfall_rel).sum())


def significant_digits(text: str) -> int:
    mantissa = text.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(mantissa.rstrip("0")) if "." in text else len(mantissa)


# 1 ----------------------------------------------------------------------------------------


def test_json_flag_prints_exactly_one_json_document_and_nothing_else(tmp_path):
    commands = {
        "run": ["run", TINY],
        "optimise": ["optimise", TINY],
        "compare": ["compare", TINY, "--allocation", "equal", "--allocation", "optimised"],
        "sweep": ["sweep", TINY, "--budget", "0:4:2"],
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "simulator", *map(str, args), "--json", "--out", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        for name, args in commands.items()
    }
    docs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        stdout, stderr = out.decode("utf-8"), err.decode("utf-8", "replace")
        assert proc.returncode == 0, (name, stdout, stderr)
        assert "Running HiGHS" not in stdout + stderr, name
        assert "Traceback" not in stderr, (name, stderr)
        # json.loads rejects anything before or after the one document (whitespace aside)
        docs[name] = json.loads(stdout)
        assert isinstance(docs[name], dict), name
    rows = docs["optimise"]["allocation"]
    assert isinstance(rows, list) and rows
    for row in rows:
        assert {"cluster", "year", "amount"} <= set(row)


# 2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [TINY, HAND, CIXI], ids=["tiny", "hand", "cixi"])
def test_run_with_the_optimised_allocation_reproduces_the_optimum(tmp_path, scenario):
    digits = []
    for objective in OBJECTIVES:
        opt, rerun = tmp_path / f"opt-{objective}", tmp_path / f"run-{objective}"
        result = invoke("optimise", scenario, "--objective", objective, "--out", opt)
        assert result.exit_code == 0, result.output
        result = invoke("run", scenario, "--allocation", opt / "allocation.csv", "--out", rerun)
        assert result.exit_code == 0, result.output
        a = pd.read_csv(opt / "targets.csv").set_index("target_id")
        b = pd.read_csv(rerun / "targets.csv").set_index("target_id")
        assert list(a.index) == list(b.index)
        assert (a.met == b.met).all(), (objective, a.met[a.met != b.met], b.met[a.met != b.met])
        assert weighted_shortfall(a) == pytest.approx(weighted_shortfall(b), abs=1e-9)
        # the amounts as written carry the full value: they add up to the money spent each year
        text = pd.read_csv(opt / "allocation.csv", dtype={"amount": str})
        for s in text.amount:
            assert math.isfinite(float(s))
            digits.append(significant_digits(s))
        amounts = text.assign(amount=text.amount.astype(float))
        spent = amounts.groupby("year").amount.sum()
        limits = pd.read_csv(opt / "limits.csv")
        budget_rows = limits[limits.limit == "funds.budget"].set_index("year").value
        for year, value in budget_rows.items():
            assert spent.get(year, 0.0) == pytest.approx(value, rel=1e-12, abs=1e-12), year
    # exactness is checked above (amounts add up to the spend); hand's optimum is 0.6 / 0.4,
    # the others are not short decimals, so rounding to a few digits would show here
    if scenario is not HAND:
        assert max(digits) > 6, "amounts look rounded"


# 3 ----------------------------------------------------------------------------------------


def test_limits_csv_reports_a_breached_land_limit(tmp_path):
    opt = tmp_path / "opt"
    assert invoke("optimise", CIXI, "--out", opt).exit_code == 0
    out = tmp_path / "breach"
    result = invoke(
        "run",
        CIXI,
        "--allocation",
        opt / "allocation.csv",
        "--set",
        "limits.new_land=1",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    limits = pd.read_csv(out / "limits.csv")
    assert list(limits.columns[:5]) == ["limit", "year", "value", "bound", "breached"]
    land = limits[limits.limit.str.contains("new_land")]
    assert land.breached.astype(bool).any()
    assert (land.breached.astype(bool) == (land.value > land.bound + 1e-9)).all()
    assert "breach" in result.output.lower() and "new_land" in result.output

    plain = tmp_path / "plain"
    result = invoke("run", CIXI, "--out", plain)
    assert result.exit_code == 0, result.output
    limits = pd.read_csv(plain / "limits.csv")
    assert list(limits.columns[:5]) == ["limit", "year", "value", "bound", "breached"]
    assert len(limits) > 0
    assert not limits.limit.str.startswith("funds.").any(), "no fund rules without an allocation"


# 4 ----------------------------------------------------------------------------------------


def test_worst_objective_spends_at_least_half_the_fund(tmp_path):
    data = load_yaml(JINHUA)
    years = data["funds"].get("years") or list(
        range(data["scenario"]["base_year"] + 1, data["scenario"]["horizon"] + 1)
    )
    total = data["funds"]["budget"]["value"] * len(years)
    out = tmp_path / "w"
    result = invoke("optimise", JINHUA, "--objective", "worst", "--out", out)
    assert result.exit_code == 0, result.output
    spent = pd.read_csv(out / "allocation.csv").amount.sum()
    assert spent >= 0.5 * total - 1e-9, (spent, total)


# 5 ----------------------------------------------------------------------------------------


def test_a_hard_count_target_that_cannot_be_met_is_infeasible(tmp_path):
    data = load_yaml(JINHUA)
    target = next(t for t in data["targets"] if t["id"] == "clusters_over_100")
    assert "count_over" in target
    members = data["groups"][target["scope"]]
    assert target["level"]["value"] > len(members), "count is achievable: test needs rework"
    out = tmp_path / "h"
    result = invoke(
        "optimise", JINHUA, "--set", "targets.clusters_over_100.hard=true", "--out", out
    )
    assert result.exit_code in (2, 3), result.output
    assert "clusters_over_100" in result.output
    assert not out.exists()


# 6 ----------------------------------------------------------------------------------------


def test_infeasible_json_names_the_conflict_and_a_budget_that_works(tmp_path):
    hard = ("--set", "targets.appliances_revenue_2022.hard=true")
    result = invoke(
        "optimise", CIXI, *hard, "--set", "funds.budget=0.01", "--json", "--out", tmp_path / "x"
    )
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "infeasible"
    assert doc["conflicts"]
    assert "appliances_revenue_2022" in json.dumps(doc["conflicts"], ensure_ascii=False)
    smallest = doc["smallest_budget"]
    needed = max(smallest.values()) if isinstance(smallest, dict) else smallest
    assert needed > 0.01
    result = invoke(
        "optimise", CIXI, *hard, "--set", f"funds.budget={needed}", "--out", tmp_path / "y"
    )
    assert result.exit_code == 0, result.output


# 7 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "synth.yaml"
    result = invoke("synth", "--clusters", 40, "--years", 5, "--seed", 1, "--out", path)
    assert result.exit_code == 0, result.output
    return path


def test_a_time_limit_stop_exits_4_and_keeps_the_best_allocation(tmp_path, synthetic):
    out = tmp_path / "t"
    result = invoke(
        "optimise", synthetic, "--objective", "targets-met", "--time-limit", 0.5, "--out", out
    )
    assert "infeasible" not in result.output.lower()
    assert result.exit_code == 4, result.output
    assert (out / "allocation.csv").exists()
    solver = json.loads((out / "solver.json").read_text(encoding="utf-8"))
    assert solver["status"] == "time_limit"


def test_a_time_limit_is_never_reported_as_infeasible(tmp_path, synthetic):
    # must-spend of a large fund, land no object: feasible, but hard for the MIP
    budget = load_yaml(synthetic)["funds"]["budget"]["value"]
    out = tmp_path / "t"
    result = invoke(
        "optimise",
        synthetic,
        "--objective",
        "targets-met",
        "--time-limit",
        0.5,
        "--set",
        "funds.must_spend=true",
        "--set",
        f"funds.budget={2.4 * budget}",
        "--set",
        "limits.new_land=1000000",
        "--out",
        out,
    )
    assert result.exit_code == 4, result.output
    assert "infeasible" not in result.output.lower()
    if (out / "solver.json").exists():
        solver = json.loads((out / "solver.json").read_text(encoding="utf-8"))
        assert solver["status"] == "time_limit"
        assert (out / "allocation.csv").exists()


# 8 ----------------------------------------------------------------------------------------


MARGINAL_COLUMNS = [
    "year",
    "extra",
    "unit",
    "objective_change",
    "targets_met_change",
    "best_cluster",
    "note",
]


@pytest.mark.parametrize("scenario", [TINY, HAND], ids=["tiny", "hand"])
def test_marginal_csv_one_row_per_fund_year(tmp_path, scenario):
    data = load_yaml(scenario)
    years = data["funds"].get("years") or list(
        range(data["scenario"]["base_year"] + 1, data["scenario"]["horizon"] + 1)
    )
    out = tmp_path / "m"
    result = invoke("optimise", scenario, "--out", out)
    assert result.exit_code == 0, result.output
    marginal = pd.read_csv(out / "marginal.csv")
    assert list(marginal.columns[: len(MARGINAL_COLUMNS)]) == MARGINAL_COLUMNS
    assert sorted(marginal.year) == sorted(years)
    assert (marginal.best_cluster_amount.fillna(0) <= marginal.extra + 1e-9).all()
    if scenario is HAND:
        # budget 1: a gets 0.6 (closes its 3亿 gap at 5/亿), b 0.4; one more 亿 goes to b at
        # 2/102 per 亿 of relative shortfall, and 0.6 of it closes b's remaining 1.2亿 gap
        row = marginal.set_index("year").loc[2021]
        assert row.objective_change == pytest.approx(1.2 / 102, rel=1e-6)
        assert row.best_cluster == "b"
        assert row.targets_met_change == 1


# 9 ----------------------------------------------------------------------------------------


def test_sweep_continues_past_infeasible_budgets(tmp_path):
    # alpha grows 5%/yr from 100: 100 * 1.05**3 = 115.76 without the fund, so 118 needs money
    assert 100 * 1.05**3 < 118
    out = tmp_path / "s"
    result = invoke(
        "sweep",
        TINY,
        "--set",
        "targets.alpha_rev.hard=true",
        "--set",
        "targets.alpha_rev.level.value=118",
        "--budget",
        "0:8:1",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    sweep = pd.read_csv(out / "sweep.csv")
    assert list(sweep.columns[:3]) == ["budget", "objective", "targets_met"]
    assert len(sweep) == 9
    statuses = set(sweep.status)
    assert "infeasible" in statuses and "optimal" in statuses
    assert sweep.set_index("budget").status[0.0] == "infeasible"
    met_columns = {c for c in sweep.columns if c.startswith("met:")}
    assert {f"met:{t['id']}" for t in load_yaml(TINY)["targets"]} <= met_columns


# 10 ---------------------------------------------------------------------------------------


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    what_if = next(iter(load_yaml(TINY)["what_ifs"]))
    runs = [
        ("optimise", TINY, "--objective", "shortfall"),
        ("optimise", TINY, "--objective", "worst"),
        ("optimise", TINY, "--what-if", what_if),
        ("optimise", TINY, "--set", "funds.budget=3"),
    ]
    folders = []
    for args in runs:
        before = set((tmp_path / "results").glob("*")) if (tmp_path / "results").exists() else set()
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        new = set((tmp_path / "results").glob("*")) - before
        assert len(new) == 1, (args, new)
        folder = new.pop()
        assert folder.is_dir() and (folder / "allocation.csv").exists()
        assert folder.name in result.output, (folder.name, result.output[-300:])
        folders.append(folder)
    assert len(set(folders)) == 4


# 11 ---------------------------------------------------------------------------------------


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    data = load_yaml(TINY)
    data["targets"] = []
    empty = tmp_path / "no_targets.yaml"
    empty.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "empty"
    result = invoke("run", empty, "--out", out)
    if result.exit_code == 0:
        targets = pd.read_csv(out / "targets.csv")
        assert len(targets) == 0 and "target_id" in targets.columns
    else:
        assert result.exit_code == 2, result.output
        _one_error_line(result)
        assert not out.exists()

    out = tmp_path / "fall"
    result = invoke("run", TINY, "--set", "clusters.alpha.growth.revenue=-150", "--out", out)
    assert result.exit_code == 2, result.output
    _one_error_line(result)
    assert not out.exists()

    out = tmp_path / "unit"
    result = invoke("run", TINY, "--set", "funds.budget=2亿元", "--out", out)
    assert result.exit_code == 2, result.output
    assert "--set funds.budget" in _one_error_line(result)
    assert not out.exists()


# 12 ---------------------------------------------------------------------------------------


def test_run_reads_gbk_and_bom_allocation_files(tmp_path):
    text = "cluster,year,amount,unit\nalpha,2021,0.5,亿元\nbeta,2021,1.25,亿元\nalpha,2022,1,亿元\n"
    files = {"utf8": "utf-8", "gbk": "gbk", "bom": "utf-8-sig"}
    results = {}
    for name, encoding in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(text.encode(encoding))
        out = tmp_path / f"r-{name}"
        result = invoke("run", TINY, "--allocation", path, "--out", out)
        assert result.exit_code == 0, (name, result.output)
        results[name] = (out / "targets.csv").read_text(encoding="utf-8")
    assert (tmp_path / "gbk.csv").read_bytes() != (tmp_path / "utf8.csv").read_bytes()
    assert results["gbk"] == results["utf8"] == results["bom"]
    # the grants were read: 1.75亿 in 2021, not the no-fund projection
    grants = pd.read_csv(tmp_path / "r-gbk" / "projection.csv")
    grant = grants[(grants.indicator == "grant") & (grants.cluster != "total")]
    assert grant.groupby("year").value.sum().get(2021) == pytest.approx(0.5 + 1.25)


# 13 ---------------------------------------------------------------------------------------


def test_an_audit_failure_is_an_internal_error_exit_70_with_the_model_saved(tmp_path, monkeypatch):
    """A check of the tool's own result that fails is a bug: one line, exit 70, the model kept
    in the run folder for the report, never a traceback."""
    from simulator.allocation import optimise as optimise_module

    def planted(*args, **kwargs):
        raise optimise_module.AuditError("planted: the model and the projection disagree")

    monkeypatch.setattr(optimise_module, "audit", planted)
    out = tmp_path / "o"
    result = invoke("optimise", HAND, "--out", out)
    assert result.exit_code == 70
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "internal error" in lines[0] and "planted" in lines[0]
    assert (out / "model.mps").exists() and (out / "error.json").exists()
    assert not (out / "allocation.csv").exists()
