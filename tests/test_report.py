"""``simulator report``: one offline, bilingual report.html whose numbers are the CSVs' numbers,
and ``--report`` on optimise, compare and sweep. One test opens the page in headless Chromium
(skipped only when no Chromium is installed)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator import runs
from simulator.cli import main
from simulator.outputs.console import format_number

from .conftest import ROOT, SCENARIOS, TINY

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"

ROW = re.compile(r'<tr data-(?P<key>target|cluster|allocation|budget|year)="(?P<id>[^"]*)"[^>]*>(?P<body>.*?)</tr>', re.S)  # fmt: skip
CELL = re.compile(r'data-col="(?P<col>[^"]+)" data-v="(?P<v>[^"]*)">(?P<text>[^<]*)<')


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def rows(html: str, key: str) -> dict[str, dict[str, tuple[str, str]]]:
    """``{row id: {column: (exact value, shown text)}}`` of the rows tagged ``data-<key>``."""
    out = {}
    for m in ROW.finditer(html):
        if m["key"] == key:
            out[m["id"]] = {c["col"]: (c["v"], c["text"]) for c in CELL.finditer(m["body"])}
    return out


def same(exact: str, expected) -> bool:
    if pd.isna(expected):
        return exact == ""
    return float(exact) == float(expected)


@pytest.fixture(scope="module")
def cixi_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "cixi"
    result = invoke("report", CIXI, "--out", out)
    assert result.exit_code == 0, result.output
    return out, (out / "report.html").read_text(encoding="utf-8")


def test_every_ledger_number_is_the_csvs_number(cixi_report):
    out, html = cixi_report
    targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
    ledger = rows(html, "target")
    assert set(ledger) == set(targets.target_id)
    for t in targets.itertuples():
        row = ledger[t.target_id]
        for col in ("required", "projected", "gap"):
            exact, text = row[col]
            assert same(exact, getattr(t, col)), (t.target_id, col)
            assert text == format_number(float(exact)), (t.target_id, col)  # shown as rounded
        assert row["met"][0] == str(bool(t.met))
    n_met = int(targets.met.sum())
    assert f'id="met-with">{n_met}<' in html


def test_allocation_marginals_comparison_and_sweep_are_the_csvs(cixi_report):
    out, html = cixi_report
    alloc = pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")
    per = alloc.groupby(["cluster", "year"]).amount.sum()
    table = rows(html, "cluster")
    assert set(table) == set(alloc.cluster)
    for (cluster, year), amount in per.items():
        assert math.isclose(
            float(table[cluster][str(year)][0]), amount, rel_tol=1e-12, abs_tol=1e-12
        )
    comparison = pd.read_csv(out / "comparison.csv", encoding="utf-8-sig")
    shown = rows(html, "allocation")
    assert list(shown) == ["equal", "by-size", "by-gap", "optimised"]
    for r in comparison.itertuples():
        assert same(shown[r.allocation]["objective"][0], r.objective)
        assert int(shown[r.allocation]["targets_met"][0]) == r.targets_met
    sweep = pd.read_csv(out / "sweep.csv", encoding="utf-8-sig")
    points = rows(html, "budget")
    assert len(points) == len(sweep) >= 5
    for r in sweep.itertuples():
        assert same(points[repr(float(r.budget))]["objective"][0], r.objective)
    assert 2.0 in set(sweep.budget)  # the plan's own budget is a point of the frontier
    marginal = pd.read_csv(out / "marginal.csv", encoding="utf-8-sig")
    years = rows(html, "year")
    for r in marginal.itertuples():
        assert same(years[str(r.year)]["objective_change"][0], r.objective_change)


def test_the_page_is_offline_small_bilingual_and_says_where_it_came_from(cixi_report):
    out, html = cixi_report
    assert len(html.encode("utf-8")) < 1_000_000
    assert html.count("<svg") >= 4  # targets, heat map, uses, strategies, frontier
    # nothing fetched: no script, stylesheet, image or frame from anywhere
    assert not re.search(r"<(script|link|img|iframe)\b", html, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@page" in html and "@media print" in html and "Noto Sans CJK SC" in html
    assert "目标台账" in html and "Target ledger" in html
    assert "慈溪市推进制造业高质量发展实施方案" in html  # the plan's name, in the original
    assert "规上企业主营业务收入突破620亿元" in html  # a plan quote
    for badge in ("badge plan", "badge statistic", "badge assumption"):
        assert badge in html
    import hashlib

    digest = hashlib.sha256(CIXI.read_bytes()).hexdigest()
    assert f'<code id="sha256">{digest}</code>' in html
    assert "simulator report" in html
    assert (out / "manifest.json").exists() and (out / "targets.csv").exists()


def test_english_first(tmp_path):
    result = invoke("report", TINY, "--lang", "en", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert '<span class="l1">Verdict</span>' in html
    assert '<span class="l2" lang="zh-CN">结论</span>' in html


def test_another_allocation_and_json(tmp_path):
    result = invoke("report", TINY, "--allocation", "equal", "--out", tmp_path / "r", "--json")
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.output)
    assert doc["allocation"] == "equal"
    targets = pd.read_csv(tmp_path / "r" / "targets.csv", encoding="utf-8-sig")
    assert doc["targets_met"] == int(targets.met.sum())
    alloc = pd.read_csv(tmp_path / "r" / "allocation.csv", encoding="utf-8-sig")
    comparison = pd.read_csv(tmp_path / "r" / "comparison.csv", encoding="utf-8-sig")
    equal = comparison.set_index("allocation").loc["equal"]
    assert math.isclose(alloc.amount.sum(), equal.spent, rel_tol=1e-9)


def test_a_scenario_without_a_fund(tmp_path):
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data.pop("funds", None)
    for t in data.get("targets", []):
        t.pop("hard", None)
    path = tmp_path / "nofund.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bad = invoke("report", path, "--out", tmp_path / "r")
    assert bad.exit_code == 2 and "no fund" in bad.output
    assert not (tmp_path / "r").exists()
    result = invoke("report", path, "--allocation", "none", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="allocation"' not in html and 'id="ledger"' in html


def test_bad_allocation_file_writes_nothing(tmp_path):
    result = invoke(
        "report", TINY, "--allocation", tmp_path / "missing.csv", "--out", tmp_path / "r"
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["optimise", "compare", "sweep"])
def test_report_flag_on_other_commands(tmp_path, command):
    extra = {
        "optimise": [],
        "compare": ["--allocation", "equal", "--allocation", "optimised"],
        "sweep": ["--budget", "0:4:1"],
    }[command]
    out = tmp_path / command
    result = invoke(command, CIXI, *extra, "--report", "--out", out)
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="ledger"' in html and "<svg" in html
    section = {"optimise": 'id="marginal"', "compare": 'id="compare"', "sweep": 'id="sweep"'}
    assert section[command] in html
    if command == "optimise":  # the page's ledger is targets.csv of the same run
        targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
        shown = rows(html, "target")
        for t in targets.itertuples():
            assert same(shown[t.target_id]["projected"][0], t.projected)


def test_samples(tmp_path):
    out = tmp_path / "r"
    result = invoke("report", TINY, "--samples", "16", "--seed", "3", "--out", out)
    if not hasattr(runs, "uncertain"):
        assert result.exit_code == 2
        assert "uncertainty is not available yet" in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="uncertainty"' in html and 'data-col="p_met"' in html
    for values in rows(html, "target").values():
        assert 0.0 <= float(values["p_met"][0]) <= 1.0


def test_every_shipped_plan_makes_a_small_report(tmp_path):
    for path in SCENARIOS:
        out = tmp_path / path.stem
        result = invoke("report", path, "--out", out)
        assert result.exit_code == 0, (path.name, result.output)
        size = (out / "report.html").stat().st_size
        assert size < 1_000_000, (path.name, size)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="no chromium binary installed")
def test_the_report_renders_in_headless_chromium(cixi_report):
    out, _ = cixi_report
    page = (out / "report.html").resolve()
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu"]
    command += ["--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert len(re.findall(r"<svg\b", dom)) >= 3
    assert len(re.findall(r"[\u4e00-\u9fff]", dom)) > 50
    assert "目标台账" in dom and 'class="ledger"' in dom
    assert len(re.findall(r'<tr data-target="', dom)) == len(
        pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
    )


def test_samples_without_the_uncertainty_engine_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.delattr(runs, "uncertain", raising=False)
    out = tmp_path / "r"
    result = invoke("report", TINY, "--samples", "8", "--out", out)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --samples: uncertainty is not available yet in this version"
    ]
    assert not out.exists()
