"""Grouped Sobol' indices (``simulator sensitivity``): the estimators' wiring on a model with
known indices, a scenario where one driver group alone moves a target, every index in range and
never NaN, identical output for identical seed and any executor, and bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from scipy.special import ndtri

from simulator import runs
from simulator.scenario.uncertainty import COPULA_DRIVERS
from simulator.uncertainty import sensitivity as sa
from simulator.uncertainty.sampling import from_latent
from simulator.uncertainty.spec import compile_spec

from .conftest import ROOT

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)], capture_output=True, text=True
    )


def rows(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def scenario(tmp_path, block):
    """Cixi with its uncertainty block replaced by ``block``."""
    data = yaml.safe_load(CIXI.read_text(encoding="utf-8"))
    data["uncertainty"] = block
    path = tmp_path / "one-driver.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cixi():
    return runs.sensitivity(CIXI, samples=512, seed=3)


def test_an_additive_model_gives_its_analytic_indices():
    # y = 3·u_a + (u_b1 + u_b2), u uniform: V_a = 9/12, V_b = 2/12, no interaction
    groups = {"a": [0], "b": [1, 2]}
    prob = sa.problem(groups)
    x = sa.design(prob, 4096, seed=5)
    assert x.shape == (4096 * 4, 3) and x.min() >= 0 and x.max() <= 1
    y = 3 * x[:, 0] + x[:, 1] + x[:, 2]
    r = sa.analyze(prob, y[None, :], seed=5)
    want = np.array([9 / 11, 2 / 11])
    assert np.allclose(r["S1"][0], want, atol=0.03)
    assert np.allclose(r["ST"][0], want, atol=0.03)
    assert np.all(r["S1_conf"][0] > 0) and np.all(r["ST_conf"][0] < 0.1)


def test_only_the_group_that_moves_a_target_explains_it(tmp_path):
    # two drivers with a spread: base-year revenue errors and the energy-intensity level.
    # A cluster's revenue target is moved by the first alone: ST ≈ S1 ≈ 1 and exactly 0.
    block = {
        "base_levels": {"revenue": {"value": 10, "unit": "%", "assumption": "test"}},
        "factors": {"energy_intensity": {"level": {"value": 10, "unit": "%", "assumption": "t"}}},
    }
    res = runs.sensitivity(scenario(tmp_path, block), samples=1024, seed=1)
    ix = res.indices
    assert set(ix.groups) == {"base levels", "energy intensity"}
    assert ix.runs == 1024 * 4
    base, energy = ix.groups.index("base levels"), ix.groups.index("energy intensity")
    revenue = [j for j, s in enumerate(res.prepared.specs) if s.id.endswith("_revenue_2022")]
    assert len(revenue) == 6
    for j in revenue:
        if ix.notes[j]:  # met in every future
            continue
        assert ix.ST[j, base] == pytest.approx(1.0, abs=0.1)
        assert ix.S1[j, base] == pytest.approx(1.0, abs=0.15)
        assert ix.S1[j, energy] == 0.0 and ix.ST[j, energy] == 0.0


def test_a_latent_column_is_its_own_drivers_score():
    # Cixi correlates macro growth with revenue per 亩's drift: the leverage column must still
    # move the leverage regime and nothing else, and the macro column macro growth first.
    prep = runs.prepare(CIXI)
    a, spec = prep.arrays, compile_spec(prep.loaded.scenario.uncertainty)
    d_macro, d_cluster = sa.latent_width(a.n_clusters, a.n_years - 1)
    groups = sa.groups(spec, a.n_clusters, a.n_years - 1)
    job = sa.make_job(a, prep.specs, spec, None, groups)
    k = len(COPULA_DRIVERS)
    for name in ("leverage", "macro"):
        z = np.zeros((2, d_macro + d_cluster))
        z[1, COPULA_DRIVERS.index(name)] = ndtri(0.99)
        z[:, :k] = z[:, :k] @ job.rotation.T
        f = from_latent(spec, a.n_clusters, a.n_years, z[:, :d_macro], z[:, d_macro:])
        if name == "leverage":
            assert f.leverage_scale[1] == 2.0 and f.leverage_scale[0] == 1.0
            assert np.all(f.growth_shift["revenue"] == 0)
            assert all(np.all(s == 1.0) for s in f.factor_scale.values())
        else:
            assert np.all(f.leverage_scale == 1.0)
            assert f.growth_shift["revenue"][1, 0, 1] > 0.01  # 2.3 sd of 0.77 %/yr, mostly
            # correlated (0.3): its drift moves by 0.8 %/yr, not the 5.2 %/yr of its own score
            drift = f.factor_scale["revenue_per_mu"][1, 1] - 1.0
            assert 0.0 < drift < 0.02


def test_indices_are_in_range_never_nan_and_constant_targets_are_zero(cixi):
    ix = cixi.indices
    for m in (ix.S1, ix.ST, ix.S1_conf, ix.ST_conf):
        assert np.all(np.isfinite(m))
    assert np.all((ix.S1 >= -0.1) & (ix.S1 <= 1.1)) and np.all((ix.ST >= -0.1) & (ix.ST <= 1.1))
    assert np.all(ix.ST + ix.ST_conf + ix.S1_conf + 0.05 >= ix.S1)
    flat = [j for j, n in enumerate(ix.notes) if n]
    assert flat, "Cixi has targets missed by the same amount in every future"
    for j in flat:
        assert np.all(ix.S1[j] == 0) and np.all(ix.ST[j] == 0)
        assert np.all(ix.S1_conf[j] == 0) and np.all(ix.ST_conf[j] == 0)
    assert {"cluster growth", "base levels", "macro growth"} <= set(ix.groups)
    # without the fund, leverage and lag change nothing
    for name in ("leverage", "lag"):
        g = ix.groups.index(name)
        assert np.all(ix.ST[:, g] == 0)


def test_any_executor_gives_identical_indices(cixi):
    again = runs.sensitivity(CIXI, samples=512, seed=3, workers=2)
    for name in ("S1", "ST", "S1_conf", "ST_conf", "variance"):
        assert np.array_equal(getattr(cixi.indices, name), getattr(again.indices, name)), name


def test_the_same_seed_reproduces_the_file_and_another_changes_it(tmp_path):
    for tag, seed in (("a", 4), ("b", 4), ("c", 5)):
        r = cli("sensitivity", CIXI, "--samples", 64, "--seed", seed, "--out", tmp_path / tag)
        assert r.returncode == 0, r.stderr
    read = lambda t: (tmp_path / t / "sensitivity.csv").read_bytes()  # noqa: E731
    assert read("a") == read("b") and read("a") != read("c")
    table = rows(tmp_path / "a" / "sensitivity.csv")
    assert list(table[0])[:6] == ["target", "driver", "S1", "ST", "S1_conf", "ST_conf"]
    assert {r["target"] for r in table} == {s.id for s in runs.prepare(CIXI).specs}


def test_console_names_the_top_two_drivers_and_json_is_one_document(tmp_path):
    r = cli("sensitivity", CIXI, "--samples", 100, "--out", tmp_path / "s")
    assert r.returncode == 0, r.stderr
    assert "--samples 100 rounded up to 128" in r.stdout
    line = next(x for x in r.stdout.splitlines() if x.startswith("智能家电"))
    assert "of its shortfall's variance is cluster growth" in line and "base levels" in line
    r = cli("sensitivity", CIXI, "--samples", 32, "--allocation", "equal", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["samples"] == 32 and doc["model_runs"] == 32 * (len(doc["drivers"]) + 2)
    assert len(doc["indices"]) == len(doc["ranking"]) * len(doc["drivers"])
    assert doc["allocation"] == "equal"


@pytest.mark.parametrize(
    "args",
    [
        ("--samples", 0),
        ("--samples", -5),
        ("--samples", 8, "--seed", -1),
        ("--samples", 8, "--workers", 0),
        ("--samples", 8, "--allocation", "no-such-file.csv"),
        ("--samples", 10**7),
        ("--samples", 8, "--set", "uncertainty=null"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args):
    r = cli("sensitivity", CIXI, *args, "--out", tmp_path / "o")
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()
