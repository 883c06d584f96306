"""A band of counts (count_between: [low, high]): the ledger counts the clusters inside the
band, both ends included; the optimiser keeps a counted cluster inside it; bad bands exit 2."""

from __future__ import annotations

import copy

import pytest

from simulator.allocation.optimise import optimise
from simulator.core.projection import cluster_values, project
from simulator.errors import InfeasibleError, InputError
from simulator.scenario.load import validate

from .conftest import HAND, compiled, raw


def banded(data: dict, low: float, high: float, count: int, hard: bool = False) -> dict:
    data = copy.deepcopy(data)
    data["targets"] = [
        {
            "id": "band",
            "indicator": "revenue",
            "scope": "total",
            "year": data["scenario"]["horizon"],
            "count_between": {"value": [low, high], "unit": "亿元", "assumption": "test"},
            "level": {"value": count, "unit": "个", "assumption": "test"},
            "hard": hard,
        }
    ]
    return data


def test_the_ledger_counts_clusters_inside_the_band_both_ends_included():
    data = raw(HAND)  # a and b at 100亿, no growth, one plan year
    for low, high, expected in ((100, 101, 2), (99, 100, 2), (100.5, 200, 0), (50, 99, 0)):
        _, a, specs = compiled(banded(data, low, high, 2))
        p = project(a)
        revenue = cluster_values(p, "revenue")[0, :, -1]
        by_hand = int(((revenue >= low) & (revenue <= high)).sum())
        assert by_hand == expected
        from simulator.core.targets import ledger

        assert ledger(p, specs).projected[0, 0] == expected


def test_the_optimiser_keeps_a_counted_cluster_inside_the_band():
    """hand.yaml: one 亿 gives a +5亿 (leverage 5, ρ 1) or b +2亿. A band [100, 102] counts
    both clusters only if neither is pushed above 102: a hard count of 2 must hold, and the
    fund may not lift a over 102 while counting it."""
    _, a, specs = compiled(banded(raw(HAND), 100, 102, 2, hard=True))
    opt = optimise(a, specs)
    revenue = cluster_values(opt.projection, "revenue")[0, :, -1]
    assert ((revenue >= 100 - 1e-9) & (revenue <= 102 + 1e-6)).all()
    assert opt.ledger.met[0, 0]


def test_a_band_no_allocation_can_fill_is_infeasible_and_named():
    _, a, specs = compiled(banded(raw(HAND), 110, 120, 1, hard=True))
    with pytest.raises(InfeasibleError, match=r"targets\.band"):
        optimise(a, specs)


@pytest.mark.parametrize(
    "band, message", [([1000, 500], "low < high"), ([500], "[low, high]"), (500, "[low, high]")]
)
def test_a_bad_band_is_one_error_naming_the_field(band, message):
    data = banded(raw(HAND), 0, 1, 1)
    data["targets"][0]["count_between"]["value"] = band
    with pytest.raises(InputError) as err:
        validate(data, "scenario.yaml")
    assert "targets.band" in err.value.one_line() and message in err.value.one_line()


def test_count_over_and_count_between_together_are_rejected():
    data = banded(raw(HAND), 0, 1, 1)
    data["targets"][0]["count_over"] = {"value": 1, "unit": "亿元", "assumption": "test"}
    with pytest.raises(InputError, match="one of count_over or count_between"):
        validate(data, "scenario.yaml")


def test_set_can_switch_a_count_to_the_band_reading():
    from simulator.scenario import load

    from .conftest import ROOT

    loaded = load(
        ROOT / "scenarios" / "jinhua-2020.yaml",
        sets=[
            "targets.clusters_over_500.count_over=null",
            "targets.clusters_over_500.count_between={value: [500, 1000], unit: 亿元, "
            "assumption: tier reading}",
        ],
    )
    target = next(t for t in loaded.scenario.targets if t.id == "clusters_over_500")
    assert target.count_over is None and target.count_between.values() == [500, 1000]
