"""``simulator report``: one offline, bilingual report.html whose numbers are the CSVs' numbers,
and ``--report`` on optimise, compare and sweep. Every shipped plan's page is opened in headless
Chromium with the network cut off (issue 9 §4; skipped only when no Chromium is installed and
``CI`` is unset, a failure under ``CI``), and its report.xlsx read back with openpyxl."""

from __future__ import annotations

import math
import re
import struct

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator import runs
from simulator.cli import main
from simulator.outputs.console import format_number
from simulator.scenario import workbook_file as layout

from . import browser
from .conftest import ROOT, SCENARIOS, TINY

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"

ROW = re.compile(r'<tr data-(?P<key>target|cluster|allocation|budget|year)="(?P<id>[^"]*)"[^>]*>(?P<body>.*?)</tr>', re.S)  # fmt: skip
CELL = re.compile(r'data-col="(?P<col>[^"]+)" data-v="(?P<v>[^"]*)">(?P<text>[^<]*)<')


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def rows(html: str, key: str, section: str | None = None) -> dict[str, dict[str, tuple[str, str]]]:
    """``{row id: {column: (exact value, shown text)}}`` of the rows tagged ``data-<key>`` (in
    ``<section id="section">`` only, when given: the sweep's cost-of-certainty table tags its
    rows ``data-target`` too)."""
    if section is not None:
        html = html[html.index(f'<section id="{section}">') :]
        html = html[: html.index("</section>")]
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
def shipped(tmp_path_factory):
    """``shipped(path)``: the run folder of ``simulator report PATH`` (default options), written
    once per module and plan."""
    base = tmp_path_factory.mktemp("shipped")
    done: dict[str, object] = {}

    def report(path):
        if path.stem not in done:
            out = base / path.stem
            result = invoke("report", path, "--out", out)
            assert result.exit_code == 0, (path.name, result.output)
            done[path.stem] = out
        return done[path.stem]

    return report


@pytest.fixture(scope="module")
def cixi_report(shipped):
    out = shipped(CIXI)
    return out, (out / "report.html").read_text(encoding="utf-8")


def test_every_ledger_number_is_the_csvs_number(cixi_report):
    out, html = cixi_report
    targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
    ledger = rows(html, "target", "ledger")
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
        shown = rows(html, "target", "ledger")
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
    for values in rows(html, "target", "ledger").values():
        assert 0.0 <= float(values["p_met"][0]) <= 1.0


PLANS = pytest.mark.parametrize("plan", SCENARIOS, ids=[p.stem for p in SCENARIOS])


@PLANS
def test_every_shipped_plan_makes_a_small_report(shipped, plan):
    size = (shipped(plan) / "report.html").stat().st_size
    assert size < 1_000_000, (plan.name, size)


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


def test_the_browser_check_catches_what_it_looks_for(tmp_path):
    """The harness itself: a page that fetches, logs an error, throws and has an empty chart
    fails every check the report pages must pass."""
    binary = browser.chromium_or_skip()
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><html><body><img src="http://example.com/a.png">'
        '<svg width="100" height="50"><rect width="10" height="10"/></svg><svg></svg>'
        '<script>console.error("boom"); no_such_function();</script></body></html>',
        encoding="utf-8",
    )
    page = browser.open_page(binary, bad)
    assert "http://example.com/a.png" in page.requests and page.failed
    assert any("console.error: boom" in e for e in page.errors)
    assert any("no_such_function" in e for e in page.errors)
    assert [s["drawn"] for s in page.svgs] == [1, 0]


@PLANS
def test_the_report_in_headless_chromium_offline(shipped, plan):
    """Issue 9 §4: the page opened with no network: no request but the page itself (and the
    heat map's inline data: image), none failed, no console error; every chart drawn and of
    a real size; the ledger in the rendered DOM equal to targets.csv; a screenshot beside it."""
    binary = browser.chromium_or_skip()
    out = shipped(plan)
    html = (out / "report.html").read_text(encoding="utf-8")
    page = browser.open_page(binary, out / "report.html", out / "report.png")
    assert page.offline  # how the network was cut off, for the failure messages
    # requests: only the file itself, and inline data: URIs; nothing failed, nothing logged
    assert [u for u in page.requests if not u.startswith("data:")] == [page.url], page.requests
    assert page.failed == [], page.failed
    assert page.errors == [], page.errors
    # charts: every <svg> of the page rendered, with drawing in it and a size on screen
    assert len(page.svgs) == html.count("<svg") >= 4, page.svgs
    for svg in page.svgs:
        assert svg["drawn"] >= 5 and svg["width"] > 100 and svg["height"] > 50, svg
    sections = {svg["id"] for svg in page.svgs}
    assert {"ledger", "allocation", "compare", "sweep"} <= sections, sections
    # the ledger as rendered: every target, its exact numbers those of targets.csv
    targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
    ledger = rows(page.dom, "target", "ledger")
    assert list(ledger) == list(targets.target_id)
    for t in targets.itertuples():
        row = ledger[t.target_id]
        for col in ("required", "projected", "gap"):
            assert same(row[col][0], getattr(t, col)), (plan.stem, t.target_id, col, row[col])
            assert row[col][1] == format_number(float(row[col][0])), (t.target_id, col)
        assert row["met"][0] == str(bool(t.met)), t.target_id
    assert f'id="met-with">{int(targets.met.sum())}<' in page.dom
    assert len(re.findall(r"[\u4e00-\u9fff]", page.dom)) > 200
    # the screenshot, for a person to look at
    assert page.screenshot == out / "report.png"
    assert png_size(out / "report.png") == (1280, 2400)
    assert (out / "report.png").stat().st_size > 10_000


def sheet_rows(ws, header_row: int) -> list[dict]:
    """The rows under ``header_row`` as ``{header: value}``, until column A is empty."""
    head = [c.value for c in ws[header_row]]
    out = []
    for r in range(header_row + 1, ws.max_row + 1):
        values = [c.value for c in ws[r]]
        if values[0] is None:
            break
        out.append(dict(zip(head, values, strict=False)))
    return out


@PLANS
def test_the_report_workbook_reads_back(shipped, plan):
    """Issue 9 §4: report.xlsx opened with openpyxl: the sheets, totals that are formulas with
    cached values equal to the sums, and values equal to the run's CSVs."""
    out = shipped(plan)
    book = out / "report.xlsx"
    wb = openpyxl.load_workbook(book)  # formulas as written
    vb = openpyxl.load_workbook(book, data_only=True)  # the values saved with them
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["摘要", "目标台账", "资金分配", "假设", "比较", "扫描"]
    assert wb.sheetnames == [*visible, layout.EXACT]
    assert wb[layout.EXACT].sheet_state == "veryHidden"

    # 目标台账: every target, with targets.csv's exact numbers
    targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig")
    ledger = sheet_rows(vb[layout.LEDGER], 4)
    assert [r["target_id"] for r in ledger] == list(targets.target_id)
    for r, t in zip(ledger, targets.itertuples(), strict=True):
        assert r["要求 required"] == t.required, t.target_id
        assert r["有资金 with fund"] == t.projected, t.target_id
        assert r["差距 gap"] == t.gap, t.target_id
        assert r["年份 year"] == t.year and r["单位 unit"] == t.unit, t.target_id
        assert r["达标 met"] == ("达标 met" if t.met else "未达标 missed"), t.target_id

    # 资金分配: the grid equals allocation.csv; totals are formulas whose cached values are sums
    alloc = pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")
    ws, vs = wb[layout.ALLOCATION], vb[layout.ALLOCATION]
    h = next(r for r in range(1, 20) if ws.cell(r, 1).value == layout.CLUSTER_HEADER)
    head = [c.value for c in ws[h]]
    years = sorted(set(alloc.year))
    cols = {y: head.index(y) + 1 for y in years}
    total_col = head.index(layout.TOTAL_HEADER) + 1
    with_cat = layout.CATEGORY_HEADER in head
    amounts = {
        (r.cluster, r.category if with_cat else None, int(r.year)): r.amount
        for r in alloc.itertuples()
    }
    grid_rows = []
    r = h + 1
    while ws.cell(r, 1).value != layout.TOTAL_HEADER:
        grid_rows.append(r)
        r += 1
    total_row = r
    seen = set()
    for r in grid_rows:
        cluster = ws.cell(r, 1).value
        category = ws.cell(r, 3).value if with_cat else None
        row_sum = 0.0
        for y, c in cols.items():
            value = vs.cell(r, c).value
            assert value == amounts[(cluster, category, y)], (cluster, category, y, value)
            seen.add((cluster, category, y))
            row_sum += value
        formula = ws.cell(r, total_col)
        assert formula.data_type == "f" and str(formula.value).startswith("=SUM("), formula
        assert vs.cell(r, total_col).value == pytest.approx(row_sum, rel=1e-12, abs=1e-12)
    assert seen == set(amounts)  # every row of allocation.csv is a cell of the grid
    per_year = alloc.groupby("year").amount.sum()
    for y, c in cols.items():
        formula = ws.cell(total_row, c)
        assert formula.data_type == "f" and str(formula.value).startswith("=SUM("), formula
        assert vs.cell(total_row, c).value == pytest.approx(per_year[y], rel=1e-12, abs=1e-12)
        budget = ws.cell(total_row + 1, c)  # the budget: a formula pointing at 假设
        assert budget.data_type == "f", budget
        sheet, cell = str(budget.value)[1:].split("!")
        assert sheet.strip("'") == layout.ASSUMPTIONS
        assert vs.cell(total_row + 1, c).value == vb[layout.ASSUMPTIONS][cell].value
    grand = ws.cell(total_row, total_col)
    assert grand.data_type == "f" and str(grand.value).startswith("=SUM(")
    assert vs.cell(total_row, total_col).value == pytest.approx(alloc.amount.sum(), rel=1e-12)

    # 比较 and 扫描: the rows of comparison.csv and sweep.csv
    for sheet, name, key in ((layout.COMPARE, "comparison.csv", "allocation"),
                             (layout.SWEEP, "sweep.csv", "budget")):  # fmt: skip
        frame = pd.read_csv(out / name, encoding="utf-8-sig")
        shown = sheet_rows(vb[sheet], 3)
        assert [r[key] for r in shown] == list(frame[key]), sheet
        for r, csv_row in zip(shown, frame.itertuples(), strict=True):
            assert same(str(r["objective"]), csv_row.objective), (sheet, r[key])
            assert r["targets_met"] == csv_row.targets_met, (sheet, r[key])


def test_samples_without_the_uncertainty_engine_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.delattr(runs, "uncertain", raising=False)
    out = tmp_path / "r"
    result = invoke("report", TINY, "--samples", "8", "--out", out)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --samples: uncertainty is not available yet in this version"
    ]
    assert not out.exists()
