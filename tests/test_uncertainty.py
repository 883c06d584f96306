"""The laws of the Monte Carlo evaluation: zero spread is the deterministic scenario, draws are
reproducible whatever the batching or executor, P(met) rises with the fund and with growth,
CVaR is at least the mean, and bad uncertainty input is one line and exit 2."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import runs
from simulator.allocation import strategies
from simulator.core.projection import project
from simulator.core.targets import ledger
from simulator.uncertainty import montecarlo as mc
from simulator.uncertainty.executor import executor
from simulator.uncertainty.sampling import BLOCK, future
from simulator.uncertainty.spec import Spread, UncertaintySpec, compile_spec

from .conftest import ROOT, compiled, raw

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def rows(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cixi():
    prep = runs.prepare(CIXI)
    return prep.arrays, prep.specs, compile_spec(prep.loaded.scenario.uncertainty)


def job(a, specs, spec, grant=None, samples=512, seed=7):
    fan = mc.fan_keys(specs)
    return mc.Job(a, specs, spec, grant, np.ones(len(specs), bool), fan, seed, samples, samples)


def run_all(j, cuts=None):
    cuts = cuts or mc.batches(j.samples, j.arrays)
    return mc.merge([mc.run_batch(j, s, e) for s, e in cuts], j.samples)


# --------------------------------------------------------------------------- zero spread


def test_zero_spread_gives_the_deterministic_verdicts_exactly(cixi):
    a, specs, _ = cixi
    grant = strategies.strategy("by-size", a, ledger(project(a), specs))
    d = run_all(job(a, specs, UncertaintySpec(), grant, samples=64))
    det = ledger(project(a, grant), specs, project(a))
    assert np.array_equal(d.p_met, det.met[:, 0].astype(float))
    np.testing.assert_allclose(d.values, np.repeat(det.projected, 64, axis=1), rtol=1e-12)
    zero = UncertaintySpec(macro=Spread(0.0), year=Spread(0.0), year_ar1=0.5, noise_ar1=0.3)
    assert zero.is_deterministic
    assert np.array_equal(run_all(job(a, specs, zero, grant, samples=64)).p_met, d.p_met)


def test_without_a_block_uncertain_reports_the_run_verdicts(tmp_path):
    r = cli(
        "uncertain", CIXI, "--samples", 16, "--set", "uncertainty=null", "--out", tmp_path / "u"
    )
    assert r.returncode == 0, r.stderr
    assert "no uncertainty block" in r.stdout
    cli("run", CIXI, "--out", tmp_path / "r")
    p = {x["target"]: x for x in rows(tmp_path / "u" / "probabilities.csv")}
    for t in rows(tmp_path / "r" / "targets.csv"):
        assert float(p[t["target_id"]]["p_met"]) == (1.0 if t["met"] == "True" else 0.0)
        assert float(p[t["target_id"]]["p50"]) == pytest.approx(float(t["projected"]), rel=1e-9)


# --------------------------------------------------------------------------- reproducible


def test_futures_depend_only_on_seed_and_index(cixi):
    a, _, spec = cixi
    whole = future(spec, a.n_clusters, a.n_years, 3, 0, 3 * BLOCK)
    part = future(spec, a.n_clusters, a.n_years, 3, BLOCK - 5, 2 * BLOCK + 9)
    sl = slice(BLOCK - 5, 2 * BLOCK + 9)
    assert np.array_equal(whole.growth_shift["revenue"][sl], part.growth_shift["revenue"])
    assert np.array_equal(whole.leverage_scale[sl], part.leverage_scale)
    for k, v in whole.base_scale.items():
        assert np.array_equal(v[sl], part.base_scale[k])
    other = future(spec, a.n_clusters, a.n_years, 4, 0, 3 * BLOCK)
    assert not np.array_equal(other.growth_shift["revenue"], whole.growth_shift["revenue"])


def test_any_batching_and_executor_give_identical_numbers(cixi):
    a, specs, spec = cixi
    j = job(a, specs, spec, samples=700)
    one = run_all(j, [(0, 700)])
    cut = run_all(j, [(0, 37), (37, 300), (300, 700)])
    with executor(workers=2) as ex:
        parts = ex.map(mc.run_batch, [j] * 3, [0, 250, 600], [250, 600, 700])
    pooled = mc.merge(parts, 700)
    for d in (cut, pooled):
        for name in ("p_met", "p_met_no_fund", "values", "fan", "loss", "loss_no_fund"):
            assert np.array_equal(getattr(one, name), getattr(d, name), equal_nan=True), name


def _slow_square(k):
    import os
    import time

    time.sleep(0.02)
    return os.getpid(), k * k


def test_workers_count_this_process_and_return_every_result_once_in_order():
    """``--workers 2`` is this process and one forked worker: both run tasks (this one from
    the end of the list while it waits), and every result comes back once, in order."""
    import os

    from simulator.uncertainty.executor import Pool

    pool = Pool(2)
    try:
        out = pool.map(_slow_square, range(30))
    finally:
        pool.close()
    assert [v for _, v in out] == [k * k for k in range(30)]
    pids = {pid for pid, _ in out}
    assert os.getpid() in pids and len(pids) == 2


def test_the_same_seed_reproduces_the_files_and_another_changes_them(tmp_path):
    for tag, seed in (("a", 5), ("b", 5), ("c", 6)):
        r = cli("uncertain", CIXI, "--samples", 300, "--seed", seed, "--out", tmp_path / tag)
        assert r.returncode == 0, r.stderr
    read = lambda t, f: (tmp_path / t / f).read_bytes()  # noqa: E731
    assert read("a", "probabilities.csv") == read("b", "probabilities.csv")
    assert read("a", "fan.csv") == read("b", "fan.csv")
    assert read("a", "fan.csv") != read("c", "fan.csv")


# --------------------------------------------------------------------------- monotone laws

#: indicators the fund and growth can only raise (a ≥ level target on them gets likelier)
RISING = {"revenue", "value_added", "investment", "tech_investment", "tax"}


def rising(specs):
    return np.array(
        [s.kind == "level" and s.sense > 0 and s.indicator in RISING for s in specs], bool
    )


@settings(max_examples=6, deadline=None)
@given(small=st.floats(0.0, 1.0), extra=st.floats(0.05, 2.0), seed=st.integers(0, 50))
def test_p_met_never_falls_when_the_fund_grows(cixi, small, extra, seed):
    a, specs, spec = cixi
    base = strategies.strategy("equal", a, ledger(project(a), specs))
    lo = run_all(job(a, specs, spec, base * small, samples=256, seed=seed))
    hi = run_all(job(a, specs, spec, base * (small + extra), samples=256, seed=seed))
    up = rising(specs)
    assert up.any()
    assert np.all(hi.p_met[up] >= lo.p_met[up])


@settings(max_examples=6, deadline=None)
@given(shift=st.floats(0.001, 0.05), seed=st.integers(0, 50))
def test_p_met_never_falls_when_growth_is_higher(cixi, shift, seed):
    a, specs, spec = cixi
    growth = dict(a.growth)
    growth["revenue"] = a.growth["revenue"] + np.r_[0.0, np.full(a.n_years - 1, shift)]
    faster = dataclasses.replace(a, growth=growth)
    lo = run_all(job(a, specs, spec, samples=256, seed=seed))
    hi = run_all(job(faster, specs, spec, samples=256, seed=seed))
    up = rising(specs) & np.array([s.growth is None for s in specs])  # fixed levels
    assert up.any()
    assert np.all(hi.p_met_no_fund[up] >= lo.p_met_no_fund[up])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=1, max_size=200), st.floats(0.0, 0.99))
def test_cvar_is_at_least_the_mean(losses, alpha):
    x = np.array(losses)
    assert mc.cvar(x, alpha) >= x.mean() - 1e-12 * max(1.0, x.max())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=1, max_size=60), st.floats(0.05, 0.95))
def test_cvar_is_the_rockafellar_uryasev_minimum(losses, alpha):
    """The CVaR the robust model minimises, η + Σ(L − η)⁺/((1−α)N), is smallest at one of the
    losses: the projection's CVaR is that minimum whether or not (1−α)·N is whole."""
    x = np.array(losses)
    m = (1.0 - alpha) * len(x)
    ru = min(eta + np.maximum(x - eta, 0.0).sum() / m for eta in x)
    assert abs(mc.cvar(x, alpha) - ru) <= 1e-9 * max(1.0, ru)


# --------------------------------------------------------------------------- spreads move P


def test_a_wider_spread_moves_a_sure_verdict_towards_a_toss_up(cixi):
    a, specs, _ = cixi
    narrow = UncertaintySpec(macro=Spread(0.001))
    wide = UncertaintySpec(macro=Spread(0.08))
    p0 = run_all(job(a, specs, narrow, samples=512)).p_met_no_fund
    p1 = run_all(job(a, specs, wide, samples=512)).p_met_no_fund
    sure = (p0 == 0.0) | (p0 == 1.0)
    assert sure.any()
    assert np.all(np.abs(p1[sure] - 0.5) <= np.abs(p0[sure] - 0.5))
    assert np.any(np.abs(p1[sure] - 0.5) < 0.5)


# --------------------------------------------------------------------------- bad input


def bad_block(tmp_path, change):
    data = yaml.safe_load(CIXI.read_text(encoding="utf-8"))
    data["uncertainty"] = u = copy.deepcopy(data.get("uncertainty") or {})
    change(u)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


BAD = {
    "negative spread": lambda u: u.setdefault("growth", {}).update(
        macro={"value": -1, "unit": "%/yr", "assumption": "x"}
    ),
    "unknown distribution": lambda u: u.setdefault("growth", {}).update(
        year={"value": 1, "unit": "%/yr", "assumption": "x", "distribution": "cauchy"}
    ),
    "not positive semi-definite": lambda u: u.update(
        correlations=[
            {"between": ["macro", "leverage"], "value": 0.9, "assumption": "x"},
            {"between": ["leverage", "lag"], "value": 0.9, "assumption": "x"},
            {"between": ["macro", "lag"], "value": -0.9, "assumption": "x"},
        ]
    ),
    "probabilities not summing to 1": lambda u: u.update(
        leverage={
            "regimes": [
                {"multiplier": 1, "probability": 0.5, "assumption": "x"},
                {"multiplier": 2, "probability": 0.3, "assumption": "x"},
            ]
        }
    ),
    "probability above 1": lambda u: u.update(
        lag={"regimes": [{"delay": 0, "probability": 1.5, "assumption": "x"}]}
    ),
    "no provenance": lambda u: u.setdefault("growth", {}).update(
        noise={"value": 1, "unit": "%/yr"}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uncertainty_is_one_line_and_exit_2(tmp_path, case):
    path = bad_block(tmp_path, BAD[case])
    r = cli("uncertain", path, "--samples", 8, "--out", tmp_path / "o")
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "uncertainty" in lines[0] and str(path) in lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args", [("--samples", 0), ("--samples", -5), ("--samples", 8, "--workers", 0)]
)
def test_bad_sampling_options_are_one_line_and_exit_2(tmp_path, args):
    r = cli("uncertain", CIXI, *args, "--out", tmp_path / "o")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o").exists()


def test_json_is_one_document_with_the_objective_distribution(tmp_path):
    r = cli("uncertain", CIXI, "--samples", 200, "--allocation", "equal", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["objective_cvar90"] >= doc["objective_mean"]
    assert len(doc["targets"]) == len(runs.prepare(CIXI).specs)
    assert doc["likely"] + doc["toss_ups"] + doc["unlikely"] == len(doc["targets"])


def test_tiny_scenario_compiles_without_a_block():
    s, _, _ = compiled(raw())
    assert compile_spec(s.uncertainty).is_deterministic


def test_sweep_samples_gives_the_cost_of_certainty_read_off_its_own_probabilities(tmp_path):
    r = cli(
        "sweep", CIXI, "--budget", "0:4:2", "--samples", 200, "--seed", 1, "--out", tmp_path / "s"
    )
    assert r.returncode == 0, r.stderr
    assert "cost of certainty" in r.stdout
    probs = rows(tmp_path / "s" / "sweep_probabilities.csv")
    cert = {x["target"]: x for x in rows(tmp_path / "s" / "certainty.csv")}
    budgets = sorted({float(x["budget"]) for x in probs})
    assert budgets == [0.0, 2.0, 4.0]
    for target, c in cert.items():
        p = {float(x["budget"]): float(x["p_met"]) for x in probs if x["target"] == target}
        for level in (50, 80, 95):
            first = next((b for b in budgets if p[b] >= level / 100 - 1e-12), None)
            got = c[f"budget_p{level}"]
            assert (got == "" and first is None) or float(got) == first, (target, level)
        # the futures are the same at every budget: P without the fund does not move
        no_fund = {x["p_met_no_fund"] for x in probs if x["target"] == target}
        assert len(no_fund) == 1


def test_uncertain_report_is_written_with_the_probabilities(tmp_path):
    r = cli("uncertain", CIXI, "--samples", 100, "--report", "--out", tmp_path / "u")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "u" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "P(met)" in html


def test_report_with_samples_shows_the_cost_of_certainty(tmp_path):
    import re

    r = cli("report", CIXI, "--samples", 100, "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "The cost of certainty" in html
    table = html[html.index('<table class="certainty">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-target="([^"]+)">', table)
    assert rows == [s.id for s in runs.prepare(CIXI).specs]


def test_the_ledger_reads_one_cluster_targets_in_one_gather_exactly(tmp_path):
    """The ledger's gather of every one-cluster level target gives, bit for bit, what it
    gives target by target (a synthetic plan has one revenue target per cluster)."""
    from simulator.core import targets as T
    from simulator.synth import synthetic

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(synthetic(12, 4, 5), allow_unicode=True), encoding="utf-8")
    prep = runs.prepare(path)
    a, specs = prep.arrays, prep.specs
    assert sum(len(s.members) == 1 and s.kind == "level" for s in specs) >= 2
    spec = compile_spec(prep.loaded.scenario.uncertainty)
    f = future(spec, a.n_clusters, a.n_years, 3, 0, 64)
    grant = np.full((a.n_clusters, a.n_years, len(a.category_ids)), 0.05)
    p0, p = project(a, None, future=f), project(a, grant, future=f)
    fast = T.ledger(p, specs, p0, first_met=False)
    none = np.zeros(len(specs), bool)
    original = T._one_cluster_levels
    try:
        T._one_cluster_levels = lambda *args: none
        slow = T.ledger(
            project(a, grant, future=f), specs, project(a, None, future=f), first_met=False
        )
    finally:
        T._one_cluster_levels = original
    for k in ("required", "projected", "met", "shortfall", "stretch_required"):
        assert np.array_equal(getattr(fast, k), getattr(slow, k), equal_nan=True), k


def test_the_fund_response_per_regime_is_the_response_future_by_future(cixi):
    """The projection computes the fund's effect once per (leverage, delay) regime and gathers
    it; given the growth per sample it works future by future instead. Both give the same
    numbers bit for bit, and ledger.paths is values_at of every target."""
    from simulator.core.targets import values_at

    a, specs, spec = cixi
    f = future(spec, a.n_clusters, a.n_years, 11, 0, 300)
    assert len(np.unique(f.leverage_scale)) > 1 and len(np.unique(f.delay)) > 1
    grant = np.full((a.n_clusters, a.n_years, len(a.category_ids)), 0.3)
    gathered = project(a, grant, future=f)
    per_sample = {k: np.broadcast_to(v, (f.n, *v.shape)) for k, v in a.growth.items()}
    one_by_one = project(a, grant, growth=per_sample, future=f)
    for k in ("revenue", "investment", "tech_investment"):
        assert np.array_equal(gathered.primary[k], one_by_one.primary[k], equal_nan=True), k
    assert np.array_equal(gathered.effective, one_by_one.effective)
    led = ledger(gathered, specs, project(a, None, future=f))
    for j, s in enumerate(specs):
        assert np.array_equal(led.paths[j], values_at(gathered, s), equal_nan=True), s.id


def test_a_projection_is_freed_without_the_cyclic_collector(cixi):
    """The CLI turns the cyclic collector off: a projection's arrays must be freed by reference
    counting alone, or a Monte Carlo run's memory grows with every batch."""
    import gc
    import weakref

    a, specs, spec = cixi
    f = future(spec, a.n_clusters, a.n_years, 5, 0, 64)
    grant = np.full((a.n_clusters, a.n_years, len(a.category_ids)), 0.3)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        reference = project(a, None, future=f)
        p = project(a, grant, future=f, factors=reference.factor)
        ledger(p, specs, reference)
        arrays = [p.factor["va_rate"], p.primary["investment"], reference.primary["revenue"]]
        watched = [weakref.ref(x) for x in arrays]
        del reference, p, arrays
        assert all(w() is None for w in watched)
    finally:
        if enabled:
            gc.enable()
