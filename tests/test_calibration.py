"""Baselines reconciled with published totals: the ``calibration:`` block and what ``validate``
says about it.

The coverage is checked against sums worked out here from the YAML numbers alone (not through
the projection), bad calibration input is refused with one line naming the file and the field,
and every shipped plan carries at least two published statistics.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.runs import calibration_report
from simulator.scenario import load

from .conftest import ROOT, SCENARIOS, TINY, raw

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path: Path, data: dict, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def statistic(value, unit, scope="规上工业 of the whole county", **extra) -> dict:
    return {"value": value, "unit": unit, "scope": scope, "statistic": "test", **extra}


def tiny_with_calibration(**figures) -> dict:
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["calibration"] = {
        "tolerance": {"value": 10, "unit": "%", "assumption": "test value"},
        "figures": figures or {"revenue": statistic(200, "亿元")},
    }
    return data


# --------------------------------------------------------------------------- coverage


def test_cixi_coverage_equals_the_yaml_sums_over_the_published_totals():
    """Value added = Σ revenue × VA rate, land = Σ land, tax = Σ tax, from the file's numbers."""
    clusters = raw(CIXI)["clusters"]
    units = {
        (f, c["baseline"][f]["unit"])
        for c in clusters
        for f in ("revenue", "va_rate", "land", "tax")
    }
    # the sums below read the numbers as written: 亿元, %, 亩
    assert units == {("revenue", "亿元"), ("va_rate", "%"), ("land", "亩"), ("tax", "亿元")}
    by_hand = {
        "value_added": sum(
            c["baseline"]["revenue"]["value"] * c["baseline"]["va_rate"]["value"] / 100
            for c in clusters
        ),
        "land": sum(c["baseline"]["land"]["value"] for c in clusters),
        "tax": sum(c["baseline"]["tax"]["value"] for c in clusters),
    }
    figures = raw(CIXI)["calibration"]["figures"]
    rows = {r.key: r for r in calibration_report(load(CIXI))}
    assert set(rows) == set(figures)
    for key, figure in figures.items():
        field = figure.get("field", key)
        expected = by_hand[field] / figure["value"]
        row = rows[key]
        assert row.field == field
        assert row.total == figure["value"]
        assert row.modelled == pytest.approx(by_hand[field], rel=1e-9)
        assert row.coverage == pytest.approx(expected, rel=1e-9)
        assert row.within_tolerance == (abs(expected - 1) <= 0.10)
        assert row.provenance.startswith("statistic: ")
    # and validate prints the same percentage on the figure's coverage line
    result = invoke("validate", CIXI)
    assert result.exit_code == 0, result.output
    for key, figure in figures.items():
        field = figure.get("field", key)
        percent = f"({100 * by_hand[field] / figure['value']:.1f} %)"
        label = field if key == field else f"{field} ({key})"
        (line,) = [x for x in result.stdout.splitlines() if f": coverage {label} 2019 " in x]
        assert percent in line, line


def test_validate_prints_coverage_and_warns_outside_the_tolerance_with_exit_0(tmp_path):
    # tiny: revenue 100 + 50 = 150亿; 200亿 published → 75 %, outside 10 %
    path = write(tmp_path, tiny_with_calibration(revenue=statistic(200, "亿元")))
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    coverage = [x for x in lines if ": coverage revenue 2020: " in x]
    assert len(coverage) == 1 and "clusters 150亿元 of 200亿元 (75.0 %)" in coverage[0]
    assert coverage[0].startswith(f"{path}: ")
    warnings = [x for x in lines if x.startswith(f"{path}: warning: calibration.figures.revenue")]
    assert len(warnings) == 1 and "outside the 10 % tolerance" in warnings[0]
    assert lines[-1] == "1 scenario file valid"


def test_within_tolerance_no_warning_and_a_figure_tolerance_overrides_the_block(tmp_path):
    figures = {
        "revenue": statistic(160, "亿元"),  # 150 / 160 = 93.75 %: within 10 %
        # 100·20 % + 50·25 % = 32.5亿元 = 325,000万元: in another money unit, exactly 100 %
        "value_added": statistic(
            325_000, "万元", tolerance={"value": 5, "unit": "%", "assumption": "test value"}
        ),
    }
    path = write(tmp_path, tiny_with_calibration(**figures))
    rows = {r.key: r for r in calibration_report(load(path))}
    assert rows["revenue"].coverage == pytest.approx(150 / 160)
    assert rows["revenue"].within_tolerance and rows["revenue"].warning() is None
    assert rows["value_added"].modelled == pytest.approx(325_000)  # in the figure's unit
    assert rows["value_added"].coverage == pytest.approx(1.0)
    assert rows["value_added"].tolerance == pytest.approx(0.05)


def test_a_cluster_without_the_baseline_is_named_and_firms_are_not_compared(tmp_path):
    data = tiny_with_calibration(
        energy=statistic(1, "万tce"),
        firms=statistic(300, "家"),
        land_all=statistic(4000, "亩", field="land"),
    )
    del data["clusters"][1]["baseline"]["energy_intensity"]
    # the targets and limits on energy need every cluster's intensity: not this test's subject
    data["targets"] = [t for t in data["targets"] if "energy" not in t["indicator"]]
    data["limits"] = {k: v for k, v in data.get("limits", {}).items() if "energy" not in k}
    rows = {r.key: r for r in calibration_report(load(write(tmp_path, data)))}
    energy = rows["energy"]
    assert energy.counted == ("alpha",) and energy.missing == ("beta",)
    assert energy.modelled == pytest.approx(100 * 0.20 * 0.5)  # 亿元 × share × tce/万元 = 万tce
    assert "1 of 2 clusters" in energy.line() and "beta" in energy.line()
    assert rows["firms"].modelled is None and rows["firms"].coverage is None
    assert "not compared" in rows["firms"].line() and rows["firms"].warning() is None
    # beta's land is 100 公顷 = 1500 亩
    assert rows["land_all"].field == "land"
    assert rows["land_all"].modelled == pytest.approx(3500)


def test_a_scenario_without_calibration_validates_as_before():
    result = invoke("validate", TINY)
    assert result.exit_code == 0 and "coverage" not in result.stdout


# --------------------------------------------------------------------------- bad input


def _refused(tmp_path, data) -> list[str]:
    path = write(tmp_path, data)
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:"), result.stderr
    return lines


def test_a_negative_calibration_value_exits_2_naming_the_field(tmp_path):
    data = yaml.safe_load(CIXI.read_text(encoding="utf-8"))
    data["calibration"]["figures"]["value_added"]["value"] = -325.7
    (line,) = _refused(tmp_path, data)
    assert "calibration.figures.value_added.value" in line and "negative" in line


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda f: f["figures"]["revenue"].update(unit="亩"),
            "calibration.figures.revenue",
            "money",
        ),
        (lambda f: f["figures"]["revenue"].update(value=[1, 2]), "figures.revenue.value", "single"),
        (lambda f: f["tolerance"].update(value=150), "calibration.tolerance", "0 to 100 %"),
        (lambda f: f["tolerance"].update(value=-5), "calibration.tolerance", "0 to 100 %"),
        (lambda f: f.update(tolerance=0.1), "calibration.tolerance", "share"),
        (
            lambda f: f["figures"]["revenue"].update(
                tolerance={"value": 2, "unit": "1", "assumption": "x"}
            ),
            "calibration.figures.revenue.tolerance",
            "0 to 100 %",
        ),
        (lambda f: f["figures"].update(output=statistic(1, "亿元")), "figures.output", "output"),
        (lambda f: f["figures"]["revenue"].pop("scope"), "figures.revenue.scope", "required"),
        (lambda f: f["figures"]["revenue"].pop("statistic"), "figures.revenue", "provenance"),
        (lambda f: f["figures"]["revenue"].update(year=2021), "figures.revenue.year", "base year"),
    ],
    ids=[
        "wrong-unit-kind",
        "not-one-number",
        "tolerance-above-1",
        "tolerance-negative",
        "tolerance-bare-number",
        "figure-tolerance-above-1",
        "unknown-field",
        "no-scope",
        "no-provenance",
        "after-base-year",
    ],
)
def test_bad_calibration_exits_2_with_one_line_naming_the_field(tmp_path, change, field, words):
    data = tiny_with_calibration()
    change(data["calibration"])
    (line,) = _refused(tmp_path, copy.deepcopy(data))
    assert field in line and words in line, line


# --------------------------------------------------------------------------- shipped plans


def _statistics(node) -> int:
    if isinstance(node, dict):
        return bool(node.get("statistic")) + sum(_statistics(v) for v in node.values())
    if isinstance(node, list):
        return sum(_statistics(v) for v in node)
    return 0


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_plan_has_at_least_two_published_statistics(path):
    block = raw(path).get("calibration")
    assert block, "each plan reconciles its clusters with published totals"
    assert _statistics(block["figures"]) >= 2
    s = load(path).scenario
    for key, f in s.calibration.figures.items():
        if f.statistic:
            assert f.source and re.search(r"https?://|seed \d{3}_", f.source), (key, f.source)
    rows = calibration_report(load(path))
    assert [r.key for r in rows] == list(s.calibration.figures)
    assert all(r.coverage is not None for r in rows if r.field != "firms")


def test_validate_of_every_shipped_plan_shows_coverage_and_exits_0():
    result = invoke("validate", *SCENARIOS)
    assert result.exit_code == 0, result.output
    for path in SCENARIOS:
        assert f"{path}: coverage " in result.stdout, path.name
