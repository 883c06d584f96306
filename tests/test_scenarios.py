"""The shipped scenarios: valid, runnable, every number traceable, plan figures as the plans say."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.scenario import load

from .conftest import ROOT, SCENARIOS, raw

#: the plan figures extracted from the five seed documents, with their quotes (a copy of the
#: workspace's shared/data/seed_figures.csv, so the suite runs from a clean clone)
SEED_FIGURES = ROOT / "tests" / "data" / "seed_figures.csv"
EXPECTED = {"cixi-2020", "jinhua-2020", "ningbo-2018", "shaoxing-2022", "chaohu-2018"}
PROVENANCE = ("plan", "statistic", "assumption")
#: settings, not data: years, weights, flags
NOT_DATA = {"year", "years", "base_year", "horizon", "weight"}


def test_all_five_plans_are_shipped():
    assert {p.stem for p in SCENARIOS} == EXPECTED


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_validates_runs_and_has_what_ifs(path, tmp_path):
    loaded = load(path)
    s = loaded.scenario
    assert s.scenario.id == path.stem
    assert len(s.what_ifs) >= 2
    assert s.not_modelled, "a plan's other figures are listed with reasons"
    assert s.funds is not None
    runner = CliRunner()
    for what_if in [None, *s.what_ifs]:
        args = ["run", str(path), "--out", str(tmp_path / f"out-{what_if}")]
        args += ["--what-if", what_if] if what_if else []
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (what_if, result.output)
        assert (tmp_path / f"out-{what_if}" / "targets.csv").exists()


def _numbers_without_provenance(node, path=()):
    """Paths of numbers that are not inside a provenanced quantity."""
    if isinstance(node, dict):
        has_provenance = sum(bool(node.get(k)) for k in PROVENANCE) == 1
        if "value" in node or "widths" in node or {"min", "max", "multiplier", "delay"} & set(node):
            return [] if has_provenance else [path]
        out = []
        for k, v in node.items():
            if k in NOT_DATA or k == "what_ifs":  # what-ifs are changes, tagged when applied
                continue
            out += _numbers_without_provenance(v, (*path, k))
        return out
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _numbers_without_provenance(v, (*path, i))]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return [path]
    return []


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_number_has_provenance(path):
    assert _numbers_without_provenance(raw(path)) == []


def _numbers(text: str) -> set[float]:
    """ "620" → {620}; "-3" → {−3}; "800-1000", "8.0 / 10", "1~3" → both ends."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return {float(text)}
    return {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)}


def _figures() -> dict[str, list[tuple[set[float], set[float]]]]:
    """quote → [(values, numbers in the indicator's description)] from the seed figures."""
    out: dict[str, list] = {}
    with open(SEED_FIGURES, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["quote_zh"], []).append(
                (
                    _numbers(row["value"]),
                    _numbers(" ".join(re.findall(r"\d+(?:\.\d+)?", row["indicator_en"]))),
                )
            )
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_plan_targets_equal_the_seed_figures(path):
    figures = _figures()
    s = load(path).scenario
    checked = 0
    for t in s.targets:
        for q in (t.level, t.growth, t.count_over):
            if q is None or q.provenance_kind != "plan":
                continue
            rows = figures.get(q.plan)
            assert rows, f"{t.id}: plan quote not found in seed_figures.csv: {q.plan!r}"
            # a count's threshold ("超千亿") is in the indicator's description, not its value
            values = set().union(*(d if q is t.count_over else v for v, d in rows))
            for v in q.values():
                assert any(abs(v - x) <= 1e-9 * max(1, abs(x)) for x in values), (t.id, v, values)
            checked += 1
    assert checked >= 3, "each plan has at least three quantitative targets in its own words"


def test_cixi_targets_include_the_six_cluster_revenues():
    s = load(ROOT / "scenarios" / "cixi-2020.yaml").scenario
    levels = sorted(
        t.level.values()[0]
        for t in s.targets
        if t.indicator == "revenue" and t.scope != "total" and t.level is not None
    )
    assert levels == [80, 100, 100, 140, 160, 620]


def test_resolved_scenario_is_loadable_and_gives_the_same_results(tmp_path: Path):
    runner = CliRunner()
    path = ROOT / "scenarios" / "cixi-2020.yaml"
    first = runner.invoke(
        main, ["run", str(path), "--what-if", "slow_growth", "--out", str(tmp_path / "a")]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        main, ["run", str(tmp_path / "a" / "scenario.resolved.yaml"), "--out", str(tmp_path / "b")]
    )
    assert second.exit_code == 0, second.output
    a = (tmp_path / "a" / "targets.csv").read_text(encoding="utf-8")
    b = (tmp_path / "b" / "targets.csv").read_text(encoding="utf-8")
    assert a == b


def test_cixi_reference_optimisation():
    """Pins the Cixi optimum and model size: a change here is a change of model or data,
    to be explained in the commit that makes it."""
    from simulator.allocation.optimise import optimise
    from simulator.core.targets import compile_targets
    from simulator.scenario import compile_arrays

    s = load(ROOT / "scenarios" / "cixi-2020.yaml").scenario
    a = compile_arrays(s)
    opt = optimise(a, compile_targets(s, a))
    assert opt.solution.status == "optimal"
    assert (len(opt.highs.columns), len(opt.highs.rows)) == REFERENCE["size"]
    assert opt.objective == pytest.approx(REFERENCE["objective"], rel=1e-6)
    assert int(opt.ledger.met[:, 0].sum()) == REFERENCE["met"]


#: the R&D (3.25 %), new-product (38.5 %) and high-tech (63 % of VA) targets are in the ledger,
#: but every Cixi cluster carries the same shares, so no allocation can move those ratios: they
#: stay out of the model (fund moves it: no). The digital-core target (6.1 % of GDP) is a level
#: row against the fixed GDP path (one more shortfall column and row) with weight 0: its
#: cluster shares are judgement, so it does not steer the fund; the optimum is the six
#: clusters' one. The manufacturing-share target (制造业占GDP的比重保持不变, the clusters' VA not
#: below its 2019 share of GDP) adds one more level row against GDP; it is met without the fund,
#: so the objective is unchanged and one more target is met
REFERENCE = {"size": (180, 74), "objective": 0.18481357231206547, "met": 8}
