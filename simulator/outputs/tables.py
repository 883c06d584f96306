"""Results as tables with the contract columns, in display units.

One function per table; the files (:mod:`.files`), the console (:mod:`.console`) and the JSON
documents (:mod:`.records`) are all made from these, so every output shows the same numbers.
Every table here is a :class:`.table.Table`: ``run``, ``optimise``, ``uncertain``,
``sensitivity`` and ``optimise --robust`` import no pandas. The report and the workbook compute
on ``Table.to_pandas()``; the compare and sweep tables (:mod:`.records`) are DataFrames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from .. import indicators
from ..core.limits import RuleCheck
from ..core.projection import Projection, available, cluster_values, scope_values
from ..core.targets import Ledger, display, values_at
from ..scenario.arrays import ScenarioArrays
from ..units import DISPLAY, display_factor
from .table import Table


def projection_parts(p: Projection, a: ScenarioArrays) -> Iterator[Table]:
    """projection.csv, one indicator at a time (the CSV writer takes the parts, so the whole
    table — 90,000 rows at 1,000 clusters — is never held at once): the long rows ``cluster,
    indicator, year, value, unit`` (+ ``sample`` when n > 1).

    Clusters, then the jurisdiction total as cluster ``total`` (where every cluster has the
    indicator); values in display units. With a fund, the grant and the investment it
    mobilises are included per fundable cluster, in the fund's unit.
    """
    n, nc, nt = p.primary["revenue"].shape
    everyone = np.arange(nc)
    years = np.asarray(p.years)
    names = ["cluster", "indicator", "year", "value", "unit"] + (["sample"] if n > 1 else [])
    for name in indicators.ALL:
        ok = available(a, name)
        if not ok.any():
            continue
        kind = indicators.kind(name)
        values = cluster_values(p, name)[:, ok, :]
        labels = [cid for cid, keep in zip(a.cluster_ids, ok, strict=True) if keep]
        if ok.all():
            values = np.concatenate([values, scope_values(p, name, everyone)[:, None, :]], 1)
            labels.append("total")
        yield _long(labels, name, DISPLAY[kind], values * display_factor(kind), years, names)
    if p.grant.any():
        money = 1 / a.fund_unit_factor
        labels = [cid for cid, f in zip(a.cluster_ids, a.fundable, strict=True) if f]
        for name, arr in (("grant", p.grant.sum(axis=2)), ("mobilised_investment", p.mobilised)):
            values = np.broadcast_to(arr[a.fundable] * money, (n, len(labels), nt))
            yield _long(labels, name, a.fund_unit, values, years, names)


def _long(
    labels: list[str],
    indicator: str,
    unit: str,
    values: np.ndarray,
    years: np.ndarray,
    names: list[str],
) -> Table:
    """(n, m, t) values → long rows ordered by sample, label, year; rows without a value
    (NaN) left out."""
    n, m, nt = values.shape
    flat = values.reshape(-1)
    keep = ~np.isnan(flat)
    rows = int(keep.sum())
    columns = {
        "cluster": np.tile(np.repeat(np.asarray(labels, dtype=object), nt), n)[keep],
        "indicator": np.full(rows, indicator, dtype=object),
        "year": np.tile(years, n * m)[keep],
        "value": flat[keep],
        "unit": np.full(rows, unit, dtype=object),
        "sample": np.repeat(np.arange(n), m * nt)[keep],
    }
    return Table({c: columns[c] for c in names})


TARGET_COLUMNS = [
    "target_id",
    "indicator",
    "scope",
    "year",
    "required",
    "projected",
    "gap",
    "met",
    "unit",
    "provenance",
    "name",
    "sense",
    "gap_rel",
    "shortfall_rel",
    "stretch",
    "stretch_met",
    "first_met_year",
    "earliest_year",
    "weight",
    "fund_can_move",
    "basis",
    "form",
]


def targets_frame(
    led: Ledger, years: np.ndarray, movable: np.ndarray | None = None, sample: int = 0
) -> Table:
    """One row per target: the contract columns first, then details."""
    rows = []
    for j, spec in enumerate(led.specs):
        req, unit = display(spec, led.required[j, sample])
        proj, _ = display(spec, led.projected[j, sample])
        stretch, _ = display(spec, led.stretch_required[j, sample])
        first = led.first_met[j, sample]
        rows.append(
            {
                "target_id": spec.id,
                "indicator": spec.indicator,
                "scope": spec.scope,
                "year": int(years[spec.t]),
                "required": req,
                "projected": proj,
                "gap": proj - req,
                "met": bool(led.met[j, sample]),
                "unit": unit,
                "provenance": spec.provenance,
                "name": spec.name,
                "sense": ">=" if spec.sense > 0 else "<=",
                "gap_rel": (proj - req) / abs(req) if req else np.nan,
                "shortfall_rel": led.shortfall[j, sample],
                "stretch": stretch,
                "stretch_met": bool(led.stretch_met[j, sample]) if not np.isnan(stretch) else None,
                "first_met_year": int(years[first]) if first >= 0 else None,
                "earliest_year": int(years[spec.first_t]),
                "weight": spec.weight,
                "fund_can_move": None if movable is None else bool(movable[j]),
                "basis": spec.basis,
                "form": spec.form,
            }
        )
    return Table.from_rows(rows, TARGET_COLUMNS, first_met_year="Int64", earliest_year="Int64")


LIMIT_COLUMNS = ["limit", "year", "value", "bound", "breached", "unit", "sense"]


def limits_frame(rules: list[RuleCheck]) -> Table:
    """``limit, year, value, bound, breached`` (+ ``unit, sense``): every rule of the fund and
    the limits for one allocation, in display units."""
    return Table.from_rows([asdict(r) for r in rules], LIMIT_COLUMNS, year="Int64")


def allocation_frame(grant: np.ndarray, a: ScenarioArrays) -> Table:
    """``cluster, year, amount, unit`` (+ ``category`` when the fund has categories), in the
    fund's unit: one row per fundable cluster, fund year and use."""
    with_cat = a.category_ids != ("all",)
    c = np.flatnonzero(a.fundable)
    t = np.flatnonzero(a.fund_years)
    k = np.arange(len(a.category_ids))
    cc, tt, kk = (x.reshape(-1) for x in np.meshgrid(c, t, k, indexing="ij"))
    columns = {
        "cluster": np.asarray(a.cluster_ids, dtype=object)[cc],
        "year": a.years[tt].astype(int),
        "amount": grant[cc, tt, kk] / a.fund_unit_factor,
        "unit": np.full(len(cc), a.fund_unit, dtype=object),
    }
    if with_cat:
        columns["category"] = np.asarray(a.category_ids, dtype=object)[kk]
    return Table(columns)


BEFORE_AFTER_COLUMNS = [
    "target_id",
    "name",
    "year",
    "required",
    "before",
    "after",
    "gap_before",
    "gap_after",
    "unit",
    "met_before",
    "met_after",
    "fund_can_move",
]


def before_after(before: Ledger, after: Ledger, movable: np.ndarray, years) -> Table:
    """Every target without the fund and with the allocation."""
    rows = []
    for j, spec in enumerate(after.specs):
        req, unit = display(spec, after.required[j, 0])
        b, _ = display(spec, before.projected[j, 0])
        x, _ = display(spec, after.projected[j, 0])
        rows.append(
            {
                "target_id": spec.id,
                "name": spec.name,
                "year": int(years[spec.t]),
                "required": req,
                "before": b,
                "after": x,
                "gap_before": b - req,
                "gap_after": x - req,
                "unit": unit,
                "met_before": bool(before.met[j, 0]),
                "met_after": bool(after.met[j, 0]),
                "fund_can_move": bool(movable[j]),
            }
        )
    return Table.from_rows(rows, BEFORE_AFTER_COLUMNS)


def marginal_frame(marginals: list) -> Table:
    """``year, extra, unit, objective_change, targets_met_change, best_cluster, note`` (+ the
    dual rate, the best cluster's amount and the horizon revenue it adds)."""
    columns = [
        "year",
        "extra",
        "unit",
        "objective_change",
        "targets_met_change",
        "best_cluster",
        "note",
        "dual_rate",
        "best_cluster_amount",
        "horizon_revenue_gain",
        "horizon_year",
    ]
    return Table.from_rows([asdict(m) for m in marginals], columns)


def cagr(value: float, base: float, years: int) -> float:
    """Average yearly growth from ``base`` to ``value`` over ``years``: (value/base)^(1/years) − 1;
    NaN when it has no meaning (no years, a base or a value that is not positive)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = value / base
    if years <= 0 or not np.isfinite(ratio) or ratio <= 0 or base <= 0:
        return np.nan
    return float(ratio ** (1.0 / years) - 1.0)


def target_rates(led: Ledger, reference: Projection, sample: int = 0) -> Table:
    """Every target as average yearly growth from the base year (what the console shows beside
    the levels): ``target_id, given_as_growth, years, base, required_rate, projected_rate,
    assumed_rate``.

    ``base`` is the base-year value of the target's scope (canonical units); ``required_rate``
    is the plan's rate for a target given as growth, else the rate its level asks;
    ``projected_rate`` is the growth of the ledger's projection and ``assumed_rate`` that of
    ``reference``, the projection without the fund (what the scenario's assumptions give). NaN
    for count targets and wherever a rate has no meaning. A real target's rates are real (its
    values deflated by P_t/P_0); a year-on-year target's projected rate is still the average
    over the period (its ``met`` says whether every year grew enough).
    """
    rows = []
    for j, spec in enumerate(led.specs):
        row = {"target_id": spec.id, "given_as_growth": spec.growth is not None, "years": spec.t}
        if spec.kind == "count":
            nan = np.nan
            row.update(base=nan, required_rate=nan, projected_rate=nan, assumed_rate=nan)
        else:
            path = values_at(reference, spec)[sample]
            base = float(path[0])
            real = spec.price_ratio(spec.t)  # a real target's rates are real: values ·P_0/P_t
            required = float(led.required[j, sample]) / real
            row.update(
                base=base,
                required_rate=spec.growth
                if spec.growth is not None
                else cagr(required, base, spec.t),
                projected_rate=cagr(float(led.projected[j, sample]) / real, base, spec.t),
                assumed_rate=cagr(float(path[spec.t]) / real, base, spec.t),
            )
        rows.append(row)
    columns = [
        "target_id",
        "given_as_growth",
        "years",
        "base",
        "required_rate",
        "projected_rate",
        "assumed_rate",
    ]
    return Table.from_rows(rows, columns)


# --------------------------------------------------------------------------- uncertainty

PROBABILITY_COLUMNS = [
    "target",
    "name",
    "year",
    "required",
    "unit",
    "p_met_no_fund",
    "p_met",
    "p5",
    "p50",
    "p95",
]
FAN_COLUMNS = ["indicator", "scope", "year", "unit", "mean", "p5", "p25", "p50", "p75", "p95"]
#: P(met) at or above this is "likely", at or below UNLIKELY "unlikely", between a toss-up
LIKELY, UNLIKELY = 0.8, 0.2


def verdict(p: float) -> str:
    return "likely" if p >= LIKELY else "unlikely" if p <= UNLIKELY else "toss-up"


def probabilities_frame(res) -> Table:
    """One row per target: the deterministic required level, P(met) without the fund and with
    the allocation, and the 5/50/95th percentiles of the projected value (display units)."""
    d, led = res.distribution, res.deterministic
    years = res.prepared.arrays.years
    rows = []
    for j, spec in enumerate(led.specs):
        req, unit = display(spec, led.required[j, 0])
        q = display(spec, np.quantile(d.values[j], [0.05, 0.5, 0.95]))[0]
        rows.append(
            {
                "target": spec.id,
                "name": spec.name,
                "year": int(years[spec.t]),
                "required": req,
                "unit": unit,
                "p_met_no_fund": float(d.p_met_no_fund[j]),
                "p_met": float(d.p_met[j]),
                "p5": q[0],
                "p50": q[1],
                "p95": q[2],
                "mean": display(spec, float(np.mean(d.values[j])))[0],
                "deterministic": display(spec, led.projected[j, 0])[0],
                "met_deterministic": bool(led.met[j, 0]),
                "verdict": verdict(float(d.p_met[j])),
                "indicator": spec.indicator,
                "scope": spec.scope,
                "sense": ">=" if spec.sense > 0 else "<=",
                "basis": spec.basis,
            }
        )
    return Table.from_rows(rows, list(rows[0]) if rows else PROBABILITY_COLUMNS)


def fan_frame(res) -> Table:
    """Per indicator at each target's scope and year: mean and quantiles, with the allocation
    (display units; money in current prices)."""
    d = res.distribution
    years = res.prepared.arrays.years
    specs = res.prepared.specs
    rows = []
    for i, key in enumerate(res.fan):
        kind = specs[key.target].unit_kind
        f = display_factor(kind)
        values = d.fan[i] * f  # (keep, t)
        ok = np.isfinite(values).all(axis=0)
        q = np.quantile(values[:, ok], [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        mean = values[:, ok].mean(axis=0)
        for col, t in enumerate(np.flatnonzero(ok)):
            rows.append(
                {
                    "indicator": key.indicator,
                    "scope": key.scope,
                    "year": int(years[t]),
                    "unit": DISPLAY[kind],
                    "mean": mean[col],
                    "p5": q[0, col],
                    "p25": q[1, col],
                    "p50": q[2, col],
                    "p75": q[3, col],
                    "p95": q[4, col],
                }
            )
    return Table.from_rows(rows, FAN_COLUMNS)


# --------------------------------------------------------------------------- sensitivity

SENSITIVITY_COLUMNS = ["target", "driver", "S1", "ST", "S1_conf", "ST_conf"]


def sensitivity_frame(res) -> Table:
    """One row per (target, driver group): first-order and total index of the target's relative
    shortfall and their confidence half-widths, then ``name, year, variance, mean_shortfall,
    p_miss, note`` (the shortfall's variance and mean over the design's A and B futures, the
    share of them that miss the target, and why a target has no indices)."""
    ix = res.indices
    years = res.prepared.arrays.years
    rows = []
    for j, spec in enumerate(res.prepared.specs):
        for g, driver in enumerate(ix.groups):
            rows.append(
                {
                    "target": spec.id,
                    "driver": driver,
                    "S1": float(ix.S1[j, g]),
                    "ST": float(ix.ST[j, g]),
                    "S1_conf": float(ix.S1_conf[j, g]),
                    "ST_conf": float(ix.ST_conf[j, g]),
                    "name": spec.name,
                    "year": int(years[spec.t]),
                    "variance": float(ix.variance[j]),
                    "mean_shortfall": float(ix.mean[j]),
                    "p_miss": float(ix.p_miss[j]),
                    "note": ix.notes[j],
                }
            )
    extra = ["name", "year", "variance", "mean_shortfall", "p_miss", "note"]
    return Table.from_rows(rows, SENSITIVITY_COLUMNS + extra)


def sensitivity_ranking(res) -> list[dict]:
    """Per target: its drivers ranked by total index (largest first; ties in the drivers'
    order), with the shortfall's mean, the share of futures that miss, and any note."""
    ix = res.indices
    years = res.prepared.arrays.years
    out = []
    for j, spec in enumerate(res.prepared.specs):
        order = np.argsort(-ix.ST[j], kind="stable")
        out.append(
            {
                "target": spec.id,
                "name": spec.name,
                "year": int(years[spec.t]),
                "mean_shortfall": float(ix.mean[j]),
                "p_miss": float(ix.p_miss[j]),
                "note": ix.notes[j],
                "drivers": [
                    {"driver": ix.groups[g], "S1": float(ix.S1[j, g]), "ST": float(ix.ST[j, g])}
                    for g in order
                ],
            }
        )
    return out


# --------------------------------------------------------------------------- robust

OUT_OF_SAMPLE_COLUMNS = [
    "target",
    "name",
    "year",
    "p_met_in_sample",
    "p_met_out_of_sample",
    "p_met_deterministic_in_sample",
    "p_met_deterministic_out_of_sample",
    "p_met_no_fund_out_of_sample",
]


def out_of_sample_frame(res) -> Table:
    """Per target: P(met) of the robust allocation on the futures it was chosen on and on fresh
    ones, beside the deterministic optimum's on the same futures (the value of the stochastic
    solution, target by target)."""
    years = res.prepared.arrays.years
    rob, det = res.out_of_sample["robust"], res.out_of_sample["deterministic"]
    rows = []
    for j, spec in enumerate(res.prepared.specs):
        rows.append(
            {
                "target": spec.id,
                "name": spec.name,
                "year": int(years[spec.t]),
                "p_met_in_sample": float(res.in_sample.distribution.p_met[j]),
                "p_met_out_of_sample": float(rob.p_met[j]),
                "p_met_deterministic_in_sample": float(res.in_sample_deterministic.p_met[j]),
                "p_met_deterministic_out_of_sample": float(det.p_met[j]),
                "p_met_no_fund_out_of_sample": float(rob.p_met_no_fund[j]),
            }
        )
    return Table.from_rows(rows, OUT_OF_SAMPLE_COLUMNS)


# --------------------------------------------------------------------------- cost of certainty

#: the P(met) levels whose least budget ``sweep --samples`` reports
CERTAINTY_LEVELS = (0.5, 0.8, 0.95)


def sweep_probabilities_frame(res) -> Table:
    """``budget, target, name, year, p_met, p_met_no_fund``: each swept budget's optimised
    allocation over the same sampled futures (budget in the fund's unit per year)."""
    years = res.prepared.arrays.years
    money = res.prepared.arrays.fund_unit_factor
    rows = []
    for budget, d in sorted(res.certainty.items()):
        for j, spec in enumerate(res.prepared.specs):
            rows.append(
                {
                    "budget": budget / money,
                    "target": spec.id,
                    "name": spec.name,
                    "year": int(years[spec.t]),
                    "p_met": float(d.p_met[j]),
                    "p_met_no_fund": float(d.p_met_no_fund[j]),
                }
            )
    cols = ["budget", "target", "name", "year", "p_met", "p_met_no_fund"]
    return Table.from_rows(rows, cols)


def certainty_frame(res) -> Table:
    """Per target: P(met) without the fund and at the largest swept budget, and the least swept
    budget at which the optimised allocation meets it in at least 50 %, 80 % and 95 % of the
    futures (empty when no swept budget does) — the cost of certainty, to the sweep's step."""
    years = res.prepared.arrays.years
    money = res.prepared.arrays.fund_unit_factor
    budgets = sorted(res.certainty)
    p = np.array([res.certainty[b].p_met for b in budgets])  # (budgets, targets)
    rows = []
    for j, spec in enumerate(res.prepared.specs):
        row = {
            "target": spec.id,
            "name": spec.name,
            "year": int(years[spec.t]),
            "p_met_no_fund": float(res.certainty[budgets[0]].p_met_no_fund[j]),
            "p_met_at_largest_budget": float(p[-1, j]),
        }
        for level in CERTAINTY_LEVELS:
            reached = np.flatnonzero(p[:, j] >= level - 1e-12)
            row[f"budget_p{round(100 * level)}"] = (
                budgets[reached[0]] / money if len(reached) else np.nan
            )
        rows.append(row)
    columns = ["target", "name", "year", "p_met_no_fund", "p_met_at_largest_budget"]
    columns += [f"budget_p{round(100 * level)}" for level in CERTAINTY_LEVELS]
    return Table.from_rows(rows, columns)
