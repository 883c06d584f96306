"""What a planner reads: CSVs Excel opens (UTF-8 with a BOM), plain text when piped, Chinese
names beside ids, and targets as average yearly growth.

Every expected rate is computed here from projection.csv or from the scenario file's own
numbers, never copied from the tool's output.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from rich.cells import cell_len

from simulator.cli import main
from simulator.outputs import console

from .conftest import ROOT, TINY

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"
BOM = b"\xef\xbb\xbf"
RATE = r"([+-]\d+\.\d)%/yr"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def cixi_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("console") / "run"
    return invoke("run", CIXI, "--out", out).output, out


@pytest.fixture(scope="module")
def cixi_optimise(tmp_path_factory):
    out = tmp_path_factory.mktemp("console") / "optimise"
    return invoke("optimise", CIXI, "--out", out).output, out


def scenario() -> dict:
    return yaml.safe_load(CIXI.read_text(encoding="utf-8"))


def row_of(text: str, target_id: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(target_id + " ")]
    assert len(rows) == 1, (target_id, rows)
    return rows[0]


def test_every_csv_every_command_writes_starts_with_a_bom(tmp_path, cixi_optimise):
    _, opt = cixi_optimise
    invoke("run", TINY, "--out", tmp_path / "run")
    invoke(
        "compare",
        TINY,
        "--allocation",
        "equal",
        "--allocation",
        "optimised",
        "--out",
        tmp_path / "c",
    )
    invoke("sweep", TINY, "--budget", "1:2:1", "--out", tmp_path / "s")
    files = sorted(opt.glob("*.csv")) + sorted(tmp_path.glob("*/*.csv"))
    names = {f.name for f in files}
    assert {
        "projection.csv",
        "targets.csv",
        "limits.csv",
        "allocation.csv",
        "marginal.csv",
    } <= names
    assert {"comparison.csv", "sweep.csv", "sweep_allocations.csv"} <= names
    for f in files:
        assert f.read_bytes().startswith(BOM), f
        assert not pd.read_csv(f).columns[0].startswith("\ufeff"), f  # pandas reads it as UTF-8


def test_piped_output_is_plain_text_and_json_is_one_document(cixi_run, cixi_optimise, tmp_path):
    for text, _ in (cixi_run, cixi_optimise):
        assert "\x1b[" not in text
    doc = invoke("optimise", TINY, "--json", "--out", tmp_path / "o").output
    assert "\x1b[" not in doc
    assert json.loads(doc)["status"] == "optimal"


def _scope_path(projection: pd.DataFrame, target: dict, groups: dict) -> pd.Series:
    """The target's indicator over its scope, by year, from projection.csv."""
    rows = projection[projection.indicator == target["indicator"]]
    members = groups.get(target["scope"], [target["scope"]])
    rows = rows[rows.cluster.isin(members)]
    assert len(rows), target["id"]
    return rows.groupby("year").value.sum()


def test_growth_targets_show_the_projections_own_growth(cixi_run, cixi_optimise):
    """Shown rate = (projected/base)^(1/years) − 1 from projection.csv, to the one decimal shown."""
    data = scenario()
    base_year = data["scenario"]["base_year"]
    groups = {"total": ["total"], **data.get("groups", {})}
    ratios = {"va_rate", "productivity", "tax_per_mu", "energy_intensity", "va_per_mu"}
    checked = 0
    for (text, out), word in ((cixi_run, "projected"), (cixi_optimise, "optimised")):
        projection = pd.read_csv(out / "projection.csv")
        for t in data["targets"]:
            if "growth" not in t or (t["indicator"] in ratios and t["scope"] != "total"):
                continue
            path = _scope_path(projection, t, groups)
            years = t["year"] - base_year
            cagr = (path[t["year"]] / path[base_year]) ** (1 / years) - 1
            m = re.search(RATE + " required, " + RATE + " " + word, row_of(text, t["id"]))
            assert m, row_of(text, t["id"])
            assert float(m.group(1)) == pytest.approx(t["growth"]["value"], abs=0.05)
            assert float(m.group(2)) == pytest.approx(100 * cagr, abs=0.05 + 1e-9), t["id"]
            checked += 1
    assert checked >= 10


def test_level_targets_show_the_growth_their_level_asks(cixi_run):
    """A cluster's revenue target asks (required/base)^(1/years) − 1 from the file's numbers."""
    text, _ = cixi_run
    data = scenario()
    base_year = data["scenario"]["base_year"]
    clusters = {c["id"]: c for c in data["clusters"]}
    checked = 0
    for t in data["targets"]:
        if "level" not in t or t["indicator"] != "revenue" or t["scope"] not in clusters:
            continue
        base = clusters[t["scope"]]["baseline"]["revenue"]
        assert base["unit"] == t["level"]["unit"] == "亿元"
        asked = (t["level"]["value"] / base["value"]) ** (1 / (t["year"] - base_year)) - 1
        m = re.search("asks " + RATE, row_of(text, t["id"]))
        assert m, row_of(text, t["id"])
        assert float(m.group(1)) == pytest.approx(100 * asked, abs=0.05 + 1e-9), t["id"]
        checked += 1
    assert checked == 6


def test_chinese_names_stand_beside_the_ids(cixi_run, cixi_optimise):
    data = scenario()
    run_text, _ = cixi_run
    opt_text, _ = cixi_optimise
    for c in data["clusters"]:
        if c["id"] == "other":  # not eligible for the fund: not in the allocation
            continue
        chinese = c["name"].split()[0]
        assert any(c["id"] in line and chinese in line for line in opt_text.splitlines()), c
    for t in data["targets"]:
        assert t["name"][:6] in row_of(run_text, t["id"]), t["id"]
    assert "智能家电" in opt_text
    assert "by use (亿元):" in opt_text and "技术改造" in opt_text


def test_plain_tables_align_chinese_text_by_display_width():
    cols = [console.Col("id"), console.Col("name"), console.Col("amount", right=True)]
    rows = [["a", "智能家电 smart home", "1.00"], ["bb", "x", "22.5"], ["c", "汽车", "0.3000"]]
    lines = console.grid(cols, rows).splitlines()
    assert len({cell_len(line) for line in lines}) == 1  # every line ends at the last column
    starts = {cell_len(line[: line.index(r[1])]) for line, r in zip(lines[2:], rows, strict=True)}
    assert len(starts) == 1  # names start in the same column whatever their script
    assert "\x1b[" not in "\n".join(lines)
    long = console.cut("全市重点产业工业投资年均增长 key industries", 12)
    assert cell_len(long) <= 12 and long.endswith("…")


def test_a_terminal_gets_rich_tables_with_the_same_cells():
    cols = [console.Col("cluster"), console.Col("met", style=lambda s: "red")]
    text = console.grid(cols, [["智能家电", "NO"]], console.Screen(terminal=True, width=60))
    assert "\x1b[" in text and "智能家电" in text and "NO" in text
