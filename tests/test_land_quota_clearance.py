"""The new-land limit as share × city quota, land released by clearance with a share kept for
key clusters, and classification shares declared exclusive (issue 10, land and bad input).

Hand values, from tests/data/tiny.yaml: land = revenue / revenue per mu, so a cluster's land
grows at (1 + g_R)/(1 + g_rpm) − 1 a year. Alpha: 2,000亩, revenue +5 %, revenue per mu +2 %;
beta: 100公顷 = 1,500亩, revenue +6 %, +7 %, +8 %, revenue per mu +2 %. In 2021:

    ΔL_alpha = 2000·(1.05/1.02 − 1) = 58.8235亩      ΔL_beta = 1500·(1.06/1.02 − 1) = 58.8235亩
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from simulator.allocation.optimise import optimise
from simulator.allocation.problem import build_problem
from simulator.cli import main
from simulator.core.limits import breaches, check_rules
from simulator.core.projection import project
from simulator.errors import InfeasibleError, InputError
from simulator.scenario.load import apply_overrides, validate

from .conftest import TINY, compiled, raw

ALPHA_2021 = 2000 * (1.05 / 1.02 - 1)  # 58.8235…
BETA_2021 = 1500 * (1.06 / 1.02 - 1)  # 58.8235…


def q(value, unit="亩", **provenance):
    return {"value": value, "unit": unit, **(provenance or {"assumption": "test"})}


def with_limits(**limits) -> dict:
    data = raw(TINY)
    data["limits"] = {k: v for k, v in {**data["limits"], **limits}.items() if v is not None}
    return data


def rules(data: dict) -> dict:
    _, a, _ = compiled(data)
    p = project(a)
    return {(r.limit, r.year): r for r in check_rules(a, p.grant, p)}


def one_line(data: dict) -> str:
    with pytest.raises(InputError) as err:
        validate(copy.deepcopy(data), "tiny.yaml")
    return err.value.one_line()


# --------------------------------------------------------------------------- share × quota


def test_the_new_land_limit_is_share_times_quota_and_the_tighter_of_the_two():
    share = q(35, "%", plan="全市新增用地指标35%用于工业")
    data = with_limits(new_land=None, new_land_share=share, new_land_quota=q(2000))
    _, a, _ = compiled(data)
    assert a.new_land_limit[1:].tolist() == [700.0, 700.0, 700.0]  # exact: no binary noise
    assert np.isnan(a.new_land_limit[0])
    # with limits.new_land as well, the tighter of the two, year by year
    data["limits"]["new_land"] = q([300, 800, 700])
    _, a, _ = compiled(data)
    assert a.new_land_limit[1:].tolist() == [300.0, 700.0, 700.0]
    # a quota in 公顷 and a share per year
    data = with_limits(
        new_land=None, new_land_share=q([10, 20, 50], "%"), new_land_quota=q(100, "公顷")
    )
    _, a, _ = compiled(data)
    assert a.new_land_limit[1:] == pytest.approx([150.0, 300.0, 750.0])


def test_share_times_quota_is_checked_on_the_projection_like_new_land():
    # 20 % × 500亩 = 100亩 ≥ 117.6亩 of new land in 2021? No: breached. 30 % × 500 = 150: kept.
    tight = rules(with_limits(new_land=None, new_land_share=q(20, "%"), new_land_quota=q(500)))
    roomy = rules(with_limits(new_land=None, new_land_share=q(30, "%"), new_land_quota=q(500)))
    r = tight["limits.new_land", 2021]
    assert r.value == pytest.approx(ALPHA_2021 + BETA_2021) and r.bound == pytest.approx(100.0)
    assert r.breached
    assert not roomy["limits.new_land", 2021].breached


def test_set_new_land_zero_works_when_the_file_writes_share_times_quota():
    data = with_limits(new_land=None, new_land_share=q(35, "%"), new_land_quota=q(2000))
    changed = apply_overrides(data, "tiny.yaml", [], ["limits.new_land=0"])
    assert changed["limits"]["new_land"]["value"] == 0
    assert "command line" in changed["limits"]["new_land"]["assumption"]
    _, a, _ = compiled(changed)
    assert a.new_land_limit[1:].tolist() == [0.0, 0.0, 0.0]
    assert rules(changed)["limits.new_land", 2021].breached


@pytest.mark.parametrize(
    ("given", "missing"),
    [("new_land_share", "new_land_quota"), ("new_land_quota", "new_land_share")],
)
def test_half_of_share_times_quota_is_refused_naming_the_field(given, missing):
    value = q(35, "%") if given == "new_land_share" else q(2000)
    line = one_line(with_limits(**{given: value}))
    assert line.startswith("tiny.yaml") and f"limits.{given}" in line and missing in line
    assert "\n" not in line


def test_a_share_over_100_percent_is_refused():
    line = one_line(with_limits(new_land_share=q(135, "%"), new_land_quota=q(2000)))
    assert "limits.new_land_share" in line and "100" in line


# --------------------------------------------------------------------------- clearance


def clearance(released, share=60, key=("alpha",), inside=None, per="year") -> dict:
    out = {
        "released": q(released),
        "reuse_min_share": q(share, "%"),
        "key": list(key),
        "per": per,
    }
    if inside is not None:
        out["in_modelled_land"] = q(inside)
    return out


def test_released_land_is_room_beyond_the_limit_and_the_non_key_share_is_capped():
    """Λ = 0, R = 100亩/yr, ρ = 60 %, key = alpha: all clusters ≤ 100, beta ≤ 40 (2021: 117.6
    and 58.8, both breached); with R = 200: ≤ 200 and ≤ 80, both kept."""
    small = rules(with_limits(new_land=q(0), land_clearance=clearance(100)))
    total, reuse = small["limits.new_land", 2021], small["limits.land_clearance", 2021]
    assert total.bound == pytest.approx(100.0) and reuse.bound == pytest.approx(40.0)
    assert total.value == pytest.approx(ALPHA_2021 + BETA_2021)
    assert reuse.value == pytest.approx(BETA_2021)  # beta alone: alpha is the key cluster
    assert total.breached and reuse.breached
    big = rules(with_limits(new_land=q(0), land_clearance=clearance(200)))
    assert not big["limits.new_land", 2021].breached
    assert not big["limits.land_clearance", 2021].breached
    assert big["limits.land_clearance", 2021].bound == pytest.approx(80.0)


def test_a_total_over_the_plan_is_released_evenly_and_land_already_given_up_is_not_counted_twice():
    # 600亩 over the three plan years = 200 a year; 90 of it a year inside beta's own land:
    # all clusters ≤ 0 + 200 − 90 = 110, beta ≤ 0 + 0.4·200 − 90 = −10
    r = rules(with_limits(new_land=q(0), land_clearance=clearance(600, inside=270, per="plan")))
    for year in (2021, 2022, 2023):
        assert r["limits.new_land", year].bound == pytest.approx(110.0)
        assert r["limits.land_clearance", year].bound == pytest.approx(-10.0)
    assert r["limits.land_clearance", 2021].breached  # beta grows: it may not


def test_a_group_as_key_leaves_no_reuse_row_when_every_cluster_is_key():
    r = rules(with_limits(new_land=q(0), land_clearance=clearance(200, key=["both"])))
    assert ("limits.new_land", 2021) in r
    assert not any(limit == "limits.land_clearance" for limit, _ in r)


def test_the_optimiser_writes_the_same_rows_the_check_reads():
    """At the optimum, each land row's constant + Σ coef·u equals the check's value, and the
    allocation keeps both rows (or the problem is infeasible, naming one)."""
    data = with_limits(new_land=q(0), land_clearance=clearance(400))  # ≤ 400 and ≤ 160 a year
    data["funds"]["budget"]["value"] = 8
    _, a, specs = compiled(data)
    try:
        opt = optimise(a, specs)
    except InfeasibleError as exc:  # pragma: no cover - the bounds above leave room
        pytest.fail(str(exc))
    checks = {(r.limit, r.year): r for r in check_rules(a, opt.grant, opt.projection)}
    pr = build_problem(a, specs)
    u = opt.projection.effective
    rows = [d for d in pr.limits if d.limit.name in ("new_land_limit", "land_reuse_limit")]
    assert {d.limit.name for d in rows} == {"new_land_limit", "land_reuse_limit"}
    for d in rows:
        value = d.row.const[0] + np.sum(d.row.coef * u[pr.clusters[d.row.c], pr.years[d.row.s]])
        check = checks[d.limit.field, d.year]
        assert value == pytest.approx(check.value, rel=1e-9, abs=1e-9)
        assert d.rhs == pytest.approx(check.bound)
    assert not [b for b in breaches(list(checks.values())) if b.startswith("limits.")]


def test_the_optimiser_keeps_a_binding_reuse_limit():
    """Beta's land grows 58.8, 76.4 and 96.2亩 in 2021–23 without the fund; reuse limits of
    60, 78 and 98亩 (R = 150, 195, 245, ρ = 60 %) leave it little room, which the fund's extra
    beta revenue would use up: the unconstrained optimum breaks them, the optimiser keeps them."""
    data = with_limits(new_land=q(0), land_clearance=clearance([150, 195, 245]))
    data["funds"]["budget"]["value"] = 8
    data["funds"]["shares"] = {}
    _, a, specs = compiled(data)
    free = with_limits(new_land=q(5000))
    free["funds"]["budget"]["value"] = 8
    free["funds"]["shares"] = {}
    _, a_free, specs_free = compiled(free)
    unconstrained = optimise(a_free, specs_free)
    p = unconstrained.projection
    over = [r for r in check_rules(a, unconstrained.grant, p) if r.breached]
    opt = optimise(a, specs)
    kept = check_rules(a, opt.grant, opt.projection)
    assert not [r for r in kept if r.breached]
    assert "limits.land_clearance" in {r.limit for r in over}  # without the row it would break


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.update(key=["gamma"]), ("limits.land_clearance.key", "gamma")),
        (lambda c: c.update(in_modelled_land=q(150)), ("in_modelled_land", "more than")),
        (lambda c: c.update(reuse_min_share=q(120, "%")), ("reuse_min_share", "100")),
        (lambda c: c.update(released=q([1, 2])), ("limits.land_clearance.released", "per year")),
        (lambda c: c.update(per="plan", released=q([1, 2, 3])), ("released", "one total")),
    ],
)
def test_bad_clearances_are_refused_naming_the_field(change, words):
    c = clearance(100)
    change(c)
    line = one_line(with_limits(new_land=q(0), land_clearance=c))
    assert line.startswith("tiny.yaml") and all(w in line for w in words), line


def test_a_clearance_without_a_new_land_limit_is_refused():
    line = one_line(with_limits(new_land=None, land_clearance=clearance(100)))
    assert "limits.land_clearance" in line and "new_land" in line


# --------------------------------------------------------------------------- exclusive shares


def with_classes(alpha: dict, exclusive=None) -> dict:
    data = raw(TINY)
    cluster = data["clusters"][0]
    for name, (share, drift) in alpha.items():
        cluster["baseline"][name] = q(share, "%")
        cluster["growth"][name] = q(drift, "%/yr")
    if exclusive is not None:
        data["classifications"] = {"exclusive": [{"shares": exclusive, "reason": "test"}]}
    return data


SHARES = {"hightech_va_share": (60, 0), "digital_core_va_share": (50, 0)}


def test_overlapping_classifications_may_add_up_over_100_percent():
    compiled(with_classes(SHARES))  # not declared exclusive: high-tech and digital core overlap


def test_exclusive_classifications_over_100_percent_are_refused_naming_the_field():
    line = one_line(with_classes(SHARES, ["hightech_va_share", "digital_core_va_share"]))
    assert line.startswith("tiny.yaml") and "clusters.alpha.baseline.hightech_va_share" in line
    assert "digital_core_va_share" in line and "110.0%" in line and "2020" in line


def test_exclusive_shares_are_checked_along_their_drift():
    # 60 % + 38 % = 98 % in 2020; the digital share grows 10 %/yr: 60 + 41.8 = 101.8 % in 2021
    shares = {"hightech_va_share": (60, 0), "digital_core_va_share": (38, 10)}
    exclusive = ["hightech_va_share", "digital_core_va_share"]
    line = one_line(with_classes(shares, exclusive))
    assert "101.8%" in line and "2021" in line
    shares["digital_core_va_share"] = (38, 0)
    compiled(with_classes(shares, exclusive))  # 98 % every year: fine


def test_only_shares_of_one_base_can_exclude_each_other():
    shares = {"hightech_va_share": (10, 0), "hightech_output_share": (10, 0)}
    line = one_line(with_classes(shares, ["hightech_va_share", "hightech_output_share"]))
    assert "classifications.exclusive" in line and "same base" in line


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"new_land_share": q(35, "%")}, "limits.new_land_share"),
        ({"new_land": q(0), "land_clearance": clearance(100, key=["gamma"])}, "limits.land"),
    ],
)
def test_bad_land_input_exits_2_with_one_line_and_writes_nothing(limits, field, tmp_path):
    data = yaml.safe_load(Path(TINY).read_text(encoding="utf-8"))
    data["limits"] = {**data["limits"], **limits}
    if "new_land" not in limits:
        data["limits"].pop("new_land")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "bad.yaml" in lines[0] and field in lines[0], result.output
    assert not out.exists()


def test_the_exclusive_classification_error_exits_2_too(tmp_path):
    data = yaml.safe_load(Path(TINY).read_text(encoding="utf-8"))
    alpha = data["clusters"][0]
    alpha["baseline"]["hightech_va_share"] = q(60, "%")
    alpha["baseline"]["digital_core_va_share"] = q(50, "%")
    alpha.setdefault("growth", {})["hightech_va_share"] = q(0, "%/yr")
    alpha["growth"]["digital_core_va_share"] = q(0, "%/yr")
    data["classifications"] = {
        "exclusive": [{"shares": ["hightech_va_share", "digital_core_va_share"], "reason": "t"}]
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "hightech_va_share" in lines[0]
    assert not out.exists()
