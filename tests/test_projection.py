"""Laws of the projection and the fund response (hypothesis draws the inputs)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import indicators
from simulator.core.growth import compound
from simulator.core.linear import indicator_form
from simulator.core.projection import available, project, scope_values
from simulator.core.response import effective_investment, revenue_kernel

from .conftest import compiled, raw

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
growths = st.floats(min_value=-0.2, max_value=0.3, allow_nan=False)
DRIVERS = (
    "revenue",
    "va_rate",
    "investment",
    "tech_investment",
    "revenue_per_mu",
    "energy_intensity",
    "tax_rate",
    "productivity",
    "rd_share",
    "new_product_share",
    "export_share",
    "profit_share",
    "hightech_va_share",
    "hightech_output_share",
    "digital_core_va_share",
    "firms",
)
SHARES = {
    "rd_share": 2.5,
    "new_product_share": 30,
    "export_share": 20,
    "profit_share": 6,
    "hightech_va_share": 60,
    "hightech_output_share": 55,
    "digital_core_va_share": 8,
}


def with_shares(data: dict) -> dict:
    """Every cluster with the factor-path baselines (shares of revenue) and the firm count, each
    with a 1 %/yr drift."""
    data = copy.deepcopy(data)
    for c in data["clusters"]:
        for field, pct in SHARES.items():
            c["baseline"][field] = {"value": pct, "unit": "%", "assumption": "test"}
            c.setdefault("growth", {})[field] = {"value": 1, "unit": "%/yr", "assumption": "test"}
        c["baseline"]["firms"] = {"value": 100, "unit": "家", "assumption": "test"}
        c["growth"]["firms"] = {"value": 1, "unit": "%/yr", "assumption": "test"}
    return data


def with_growth(data: dict, rate_pct: float, drivers=DRIVERS) -> dict:
    """Every cluster's ``drivers`` at ``rate_pct`` %/yr, the other drivers at 0."""
    data = copy.deepcopy(data)
    for c in data["clusters"]:
        for driver in DRIVERS:
            rate = rate_pct if driver in drivers else 0.0
            c["growth"][driver] = {"value": rate, "unit": "%/yr", "assumption": "test"}
    return data


def random_grant(a, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    grant = np.zeros((a.n_clusters, a.n_years, len(a.category_ids)))
    mask = a.fundable[:, None, None] & a.fund_years[None, :, None]
    return np.where(mask, rng.uniform(0, scale, grant.shape), 0.0)


# ------------------------------------------------------------------ growth


def test_zero_growth_no_fund_reproduces_the_baseline(tiny_data):
    _, a, _ = compiled(with_growth(with_shares(tiny_data), 0.0))
    p = project(a)
    for name in indicators.ALL:
        assert available(a, name).all(), name
        if name == "new_land":
            continue
        values = scope_values(p, name, np.arange(a.n_clusters))[0]
        assert np.allclose(values, values[0], rtol=1e-12), name
    assert np.allclose(p.primary["revenue"][0], a.baseline["revenue"][:, None])
    assert np.allclose(scope_values(p, "new_land", np.arange(a.n_clusters))[0, 1:], 0.0)


@FAST
@given(g=growths)
def test_one_year_at_growth_g_multiplies_by_one_plus_g(g):
    _, a, _ = compiled(with_growth(raw(), 100 * g))
    p = project(a)
    r = p.primary["revenue"][0]
    assert np.allclose(r[:, 1], r[:, 0] * (1 + g), rtol=1e-12)
    inv = p.primary["investment"][0]
    assert np.allclose(inv[:, 1], inv[:, 0] * (1 + g), rtol=1e-12)


@FAST
@given(g=growths)
def test_cagr_of_a_projected_path_equals_the_growth_used(g):
    _, a, _ = compiled(with_growth(raw(), 100 * g, ("revenue", "investment")))
    p = project(a)
    n = a.n_years - 1
    for name in ("revenue", "value_added", "investment", "tax", "employment", "land", "energy"):
        v = scope_values(p, name, np.arange(a.n_clusters))[0]
        assert (v[-1] / v[0]) ** (1 / n) - 1 == pytest.approx(g, abs=1e-12), name
    # a ratio's factor path at g/yr: energy intensity grows at exactly g
    _, a, _ = compiled(with_growth(raw(), 100 * g, ("energy_intensity",)))
    v = scope_values(project(a), "energy_intensity", np.arange(a.n_clusters))[0]
    assert (v[-1] / v[0]) ** (1 / n) - 1 == pytest.approx(g, abs=1e-12)


def test_compound_matches_a_hand_loop():
    start = np.array([100.0, 50.0])
    g = np.array([[0, 0.1, -0.05, 0.2], [0, 0.0, 0.3, 0.01]])
    add = np.array([[0, 1.0, 0, 2.0], [0, 0, 5.0, 0]])
    out = compound(start, g, add)
    for c in range(2):
        x = start[c]
        for t in range(1, 4):
            x = x * (1 + g[c, t]) + add[c, t]
            assert out[c, t] == pytest.approx(x)


# ------------------------------------------------------------------ monotone laws


@FAST
@given(g1=growths, bump=st.floats(min_value=0.0, max_value=0.1))
def test_more_growth_never_lowers_a_level_indicator(g1, bump):
    base, more = (
        project(compiled(with_growth(with_shares(raw()), 100 * g))[1]) for g in (g1, g1 + bump)
    )
    for name in indicators.EXTENSIVE:
        lo = scope_values(base, name, np.array([0, 1]))[0]
        hi = scope_values(more, name, np.array([0, 1]))[0]
        if name in ("land", "energy", "employment"):
            continue  # their factors fall with their own growth rates (productivity, …)
        assert np.all(hi >= lo - 1e-9 * np.abs(lo)), name


@FAST
@given(seed=st.integers(0, 10_000), extra=st.floats(min_value=0.0, max_value=5.0))
def test_more_fund_never_lowers_revenue(seed, extra):
    _, a, _ = compiled(raw())
    rng = np.random.default_rng(seed)
    grant = random_grant(a, rng)
    more = grant + np.where(grant > 0, extra * rng.uniform(0, 1, grant.shape), 0.0)
    r0 = project(a, grant).primary["revenue"]
    r1 = project(a, more).primary["revenue"]
    assert np.all(r1 >= r0 - 1e-12)
    assert np.all(project(a).primary["revenue"] <= r0 + 1e-12)


@FAST
@given(x=st.lists(st.floats(0, 50), min_size=2, max_size=2))
def test_pipeline_is_concave_and_never_beats_full_effect(x):
    _, a, _ = compiled(raw())
    lo, hi = sorted(x)
    raw_inv = np.array([lo, hi, (lo + hi) / 2])[None, :].repeat(a.n_clusters, 0)
    u = effective_investment(raw_inv, a)
    assert np.all(u <= raw_inv * a.pipeline_slopes.max() + 1e-12)
    assert np.all(u[:, 2] >= (u[:, 0] + u[:, 1]) / 2 - 1e-12)  # concave


@FAST
@given(
    widths=st.lists(st.floats(0.0, 20.0), min_size=0, max_size=3),
    drops=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
    x=st.lists(st.floats(0.0, 80.0), min_size=1, max_size=6),
)
def test_pipeline_is_its_segments_filled_in_order(widths, drops, x):
    """f(x) = Σ_m β_m·clip(x − e_m, 0, w_m), the pipeline's definition, whatever the
    segments (the code takes the lowest of the pieces' lines)."""
    import dataclasses

    _, a, _ = compiled(raw())
    slopes = np.cumprod([1.0, *drops[: len(widths)]])  # non-increasing
    nc = a.n_clusters
    a = dataclasses.replace(
        a,
        pipeline_widths=np.tile(np.asarray(widths, float), (nc, 1)).reshape(nc, len(widths)),
        pipeline_slopes=np.tile(slopes, (nc, 1)),
    )
    inv = np.tile(np.asarray(x, float), (nc, 1))
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    w = np.concatenate([widths, [np.inf]])
    expect = (np.clip(inv[..., None] - edges, 0.0, w) * slopes).sum(axis=-1)
    assert np.allclose(effective_investment(inv, a), expect, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ units, order


def test_money_in_wan_yuan_and_land_in_hectares_give_the_same_results(tiny_data):
    converted = copy.deepcopy(tiny_data)
    for c in converted["clusters"]:
        b = c["baseline"]
        for f in ("revenue", "investment", "tech_investment", "tax"):
            b[f] = {**b[f], "value": b[f]["value"] * 1e4, "unit": "万元"}
        land = b["land"]
        hectares = land["value"] / 15 if land["unit"] == "亩" else land["value"]
        b["land"] = {**land, "value": hectares, "unit": "公顷"}
        c["response"]["pipeline"]["widths"] = [w * 1e4 for w in c["response"]["pipeline"]["widths"]]
        c["response"]["pipeline"]["unit"] = "万元"
    converted["funds"]["budget"] = {**converted["funds"]["budget"], "value": 2e4, "unit": "万元"}
    converted["limits"]["new_land"] = {
        **converted["limits"]["new_land"],
        "value": 20,
        "unit": "公顷",
    }
    from simulator.core.targets import ledger

    results = []
    for data in (tiny_data, converted):
        _, a, specs = compiled(data)
        grant = np.zeros((a.n_clusters, a.n_years, 1))
        grant[:, 1, 0] = [0.5, 1.0]
        p = project(a, grant)
        results.append((p, ledger(p, specs)))
    (p1, l1), (p2, l2) = results
    for k in p1.primary:
        assert np.allclose(p1.primary[k], p2.primary[k], rtol=1e-12, equal_nan=True)
    assert np.allclose(l1.projected, l2.projected, rtol=1e-12)
    assert np.array_equal(l1.met, l2.met)


def test_reordering_clusters_changes_no_result(tiny_data):
    from simulator.core.targets import ledger

    flipped = copy.deepcopy(tiny_data)
    flipped["clusters"] = flipped["clusters"][::-1]
    out = []
    for data in (tiny_data, flipped):
        _, a, specs = compiled(data)
        grant = np.zeros((a.n_clusters, a.n_years, 1))
        grant[a.cluster_ids.index("alpha"), 1, 0] = 0.7
        grant[a.cluster_ids.index("beta"), 2, 0] = 1.1
        p = project(a, grant)
        order = [a.cluster_ids.index(c) for c in ("alpha", "beta")]
        out.append((p.primary["revenue"][0][order], ledger(p, specs)))
    assert np.allclose(out[0][0], out[1][0], rtol=1e-13)
    assert np.allclose(out[0][1].projected, out[1][1].projected, rtol=1e-13)


# ------------------------------------------------------------------ one source of truth


@FAST
@given(seed=st.integers(0, 10_000))
def test_linear_forms_equal_the_projection(seed):
    """The rows the optimiser uses evaluate to what the projection computes."""
    _, a, _ = compiled(with_shares(raw()))
    p = project(a, random_grant(a, np.random.default_rng(seed), 3.0))
    factor = {k: v[0] for k, v in p.factor.items()}
    members = np.arange(a.n_clusters)
    for name in (*indicators.EXTENSIVE, *indicators.CHANGES):
        for t in range(1, a.n_years):
            form = indicator_form(name, members, t, factor)
            assert form.evaluate(p.primary)[0] == pytest.approx(
                scope_values(p, name, members)[0, t], rel=1e-12
            ), (name, t)


@FAST
@given(seed=st.integers(0, 10_000))
def test_revenue_kernel_reproduces_the_recurrence(seed):
    _, a, _ = compiled(raw())
    p = project(a, random_grant(a, np.random.default_rng(seed), 3.0))
    reference = project(a)
    k = revenue_kernel(a)
    predicted = reference.primary["revenue"][0] + np.einsum("cts,cs->ct", k, p.effective)
    assert np.allclose(predicted, p.primary["revenue"][0], rtol=1e-12)


def test_hand_worked_response():
    """1亿 grant to alpha in 2021: leverage 5 → 5亿 mobilised (within the 10亿 pipeline),
    revenue ×2 per yuan with lag [0, 50%, 50%] → +5亿 in 2022 and 5·1.05 + 5 in 2023."""
    _, a, _ = compiled(raw())
    grant = np.zeros((a.n_clusters, a.n_years, 1))
    grant[0, 1, 0] = 1.0
    gain = project(a, grant).primary["revenue"][0, 0] - project(a).primary["revenue"][0, 0]
    assert gain == pytest.approx([0, 0, 5.0, 5.0 * 1.05 + 5.0])
    grant[0, 1, 0] = 3.0  # 15 mobilised: 10 at slope 1 + 5 at slope 0.5 = 12.5 effective
    gain = project(a, grant).primary["revenue"][0, 0] - project(a).primary["revenue"][0, 0]
    assert gain[2] == pytest.approx(12.5)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    c=st.integers(1, 60),
    t=st.integers(2, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_scope_sums_add_clusters_in_order_like_numpy(n, c, t, seed):
    """The cluster-by-cluster sum of Monte Carlo batches and numpy's reduction of a single
    projection give the same numbers bit for bit (numpy adds a strided axis in order), so a
    verdict never depends on which one summed it."""
    from simulator.core import projection as P

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, t)) * 10.0 ** rng.integers(-3, 6, size=(n, c, t))
    looped = x[:, 0, :].copy()
    for k in range(1, c):
        looped += x[:, k, :]
    assert np.array_equal(P.sum_over_clusters(x), looped)
    assert np.array_equal(x.sum(axis=1), looped)


def test_required_levels_of_every_target_at_once_are_required_target_by_target():
    """The ledger's vectorised required levels (and stretch levels) are, bit for bit, what
    required() gives target by target, on every shipped plan."""
    from simulator import runs
    from simulator.core.targets import required, required_all

    from .conftest import ROOT

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        specs = runs.prepare(path).specs
        base = np.random.default_rng(0).random((len(specs), 7)) * 100
        for stretch in (False, True):
            one_by_one = np.stack([required(s, base[j], stretch) for j, s in enumerate(specs)])
            at_once = required_all(specs, base, stretch)
            assert np.array_equal(one_by_one, at_once, equal_nan=True), (path.name, stretch)
