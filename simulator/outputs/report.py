"""``report.html``: one self-contained, offline, bilingual page for the people who decide on a
fund, rendered with jinja2 from ``templates/report.html.j2``.

Every number on the page comes from the frames the run folder's CSVs are written from
(:mod:`.tables`: ``targets.csv``, ``allocation.csv``, ``marginal.csv``; :mod:`.records`:
``comparison.csv``, ``sweep.csv``): one source. Each numeric cell carries the exact value in
``data-v`` beside the rounded text, so a test can check the page against the CSVs.

The page is built from a :class:`simulator.runs.ReportResult`: ``simulator report`` makes a
full one (:func:`simulator.runs.report`); ``--report`` on optimise, compare and sweep makes one
from their own results (:func:`from_optimise`, :func:`from_compare`, :func:`from_sweep`) and
the page shows the sections it has. An uncertainty section (P(met) per target, fans) is shown
when the result carries one (:class:`Uncertainty`).
"""

from __future__ import annotations

import importlib
import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..allocation.objectives import BETTER
from ..core.limits import check_rules
from . import charts, files, tables
from .console import _cluster_label, format_number, rate_text, short_name

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: labels of the page, (Chinese, English); ``--lang en`` shows English first
LABELS: dict[str, tuple[str, str]] = {
    "report": ("情景报告", "Scenario report"),
    "verdict": ("结论", "Verdict"),
    "ledger": ("目标台账", "Target ledger"),
    "allocation": ("资金分配", "Allocation of the fund"),
    "categories": ("资金用途", "The fund by use"),
    "marginal": ("多一亿元的价值", "What one more 亿元 is worth"),
    "compare": ("分配方案比较", "Strategies compared"),
    "sweep": ("预算前沿", "Budget sweep frontier"),
    "uncertainty": ("不确定性", "Uncertainty"),
    "assumptions": ("假设与来源", "Assumptions and their sources"),
    "method": ("方法说明", "Method notes"),
    "provenance": ("本报告的出处", "How this report was made"),
    "target": ("目标", "target"),
    "year": ("年份", "year"),
    "required": ("要求", "required"),
    "without": ("无资金预测", "projected without the fund"),
    "projected": ("预测", "projected"),
    "gap": ("差距", "gap"),
    "unit": ("单位", "unit"),
    "met": ("是否达成", "met?"),
    "as_growth": ("折合年均增速", "as yearly growth"),
    "source": ("来源", "source"),
    "p_met": ("达成概率", "P(met)"),
    "p_no_fund": ("无资金达成概率", "P(met) without the fund"),
    "cluster": ("产业集群", "cluster"),
    "total": ("合计", "total"),
    "use": ("用途", "use"),
    "share": ("占比", "share"),
    "extra": ("追加", "extra"),
    "objective_change": ("目标函数改善", "objective improves by"),
    "targets_met_change": ("达成目标增加", "targets met +"),
    "best_cluster": ("最佳投向", "best use"),
    "best_amount": ("投向金额", "amount there"),
    "revenue_gain": ("期末营收增加", "revenue gained at the horizon"),
    "dual_rate": ("对偶价格", "dual rate"),
    "note": ("说明", "note"),
    "strategy": ("方案", "allocation"),
    "objective": ("目标函数", "objective"),
    "targets_met": ("达成目标数", "targets met"),
    "weighted_shortfall": ("加权缺口", "weighted shortfall"),
    "spent": ("支出", "spent"),
    "feasible": ("满足规则", "keeps the rules"),
    "budget": ("年度预算", "annual budget"),
    "status": ("状态", "status"),
    "field": ("参数", "figure"),
    "value": ("数值", "value"),
    "kind": ("类别", "kind"),
    "quote": ("原文或理由", "quote or reason"),
    "plan": ("规划", "plan"),
    "statistic": ("统计", "statistic"),
    "assumption": ("假设", "assumption"),
    "yes": ("达成", "met"),
    "no": ("未达成", "missed"),
    "command": ("命令", "command"),
    "version": ("版本", "version"),
    "input_hash": ("输入文件 SHA-256", "input SHA-256"),
    "scenario_file": ("情景文件", "scenario file"),
    "binding": ("起约束作用的条件", "what binds"),
    "breaches": ("违反的规则", "rules broken"),
    "not_modelled": ("未建模的规划指标", "plan figures not modelled"),
    "reason": ("原因", "reason"),
    "was": ("原值来源", "before the what-if"),
    "figure_heatmap": ("资金分配热图", "allocation heat map"),
    "figure_targets": ("各目标相对要求的差距", "each target's gap to its requirement"),
}

OBJECTIVE_NAMES = {
    "shortfall": ("加权相对缺口", "weighted relative shortfall"),
    "targets-met": ("达成目标的加权数", "weighted targets met"),
    "worst": ("最大相对缺口", "worst relative shortfall"),
}

#: the allocations' names in Chinese (the verdict's Chinese sentence)
ALLOCATION_ZH = {
    "optimised": "优化",
    "equal": "等额",
    "by-size": "按规模",
    "by-gap": "按缺口",
    "none": "不投入资金",
}

#: a target within this share of its requirement is "near the line" (without samples)
NEAR = 0.02
#: with samples, a target whose P(met) lies in this band is a toss-up
TOSS_UP = (0.2, 0.8)


@dataclass
class Uncertainty:
    """What the report shows of an uncertainty run: P(met) per target (same order as the
    ledger) with and without the fund, and optional fans: target id → (years, {quantile:
    path in the target's display unit}, required in display unit or None)."""

    samples: int
    p_met: np.ndarray
    p_met_no_fund: np.ndarray | None = None
    fans: dict[str, tuple] = field(default_factory=dict)
    seed: int | None = None


def uncertainty_section(obj) -> Uncertainty | None:
    """An :class:`Uncertainty` from a :func:`simulator.runs.uncertain` result (its
    ``distribution``: ``p_met``, ``p_met_no_fund``, ``fan``; its ``fan`` keys), or from any
    object with ``p_met`` (and optionally ``p_met_no_fund``, ``fans``, ``samples``, ``seed``);
    None for None."""
    if obj is None or isinstance(obj, Uncertainty):
        return obj
    dist = getattr(obj, "distribution", obj)
    p = getattr(dist, "p_met", None)
    if p is None:
        return None
    nf = getattr(dist, "p_met_no_fund", None)
    fans = dict(getattr(obj, "fans", None) or {})
    if not fans and hasattr(obj, "prepared") and getattr(dist, "fan", None) is not None:
        fans = _fans(obj.prepared, list(getattr(obj, "fan", []) or []), dist.fan)
    return Uncertainty(
        samples=int(getattr(dist, "samples", 0) or getattr(obj, "samples", 0) or 0),
        p_met=np.asarray(p, dtype=float).reshape(-1),
        p_met_no_fund=None if nf is None else np.asarray(nf, dtype=float).reshape(-1),
        fans=fans,
        seed=getattr(obj, "seed", None),
    )


#: the quantiles a fan shows: 5–95 %, 25–75 % and the median
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _fans(prep, keys: list, fan: np.ndarray, most: int = 12) -> dict[str, tuple]:
    """Fan charts' data from the sampled paths ``fan`` (keys, samples, years; canonical): each
    key's quantiles per year in its first target's display unit, and that target's requirement
    (nominal, like the paths)."""
    from ..units import display_factor

    a, specs = prep.arrays, prep.specs
    out = {}
    for i, key in enumerate(keys[:most]):
        spec = specs[key.target]
        # a count's or a share of GDP's fan is of another quantity than its requirement
        if spec.kind in ("count", "context_share") or i >= fan.shape[0] or fan.shape[1] == 0:
            continue
        f = display_factor(spec.unit_kind)
        q = np.nanquantile(fan[i], FAN_QUANTILES, axis=0) * f
        required = spec.level * f if spec.level is not None and spec.kind != "count" else None
        label = f"{key.indicator} · {key.scope}"
        out[label] = (np.asarray(a.years), dict(zip(FAN_QUANTILES, q, strict=True)), required)
    return out


def from_uncertain(res):
    """A report of ``uncertain``'s own result: its allocation's ledger with P(met)."""
    from ..core.projection import project
    from ..core.targets import ledger
    from ..runs import ReportResult

    a, specs = res.prepared.arrays, res.prepared.specs
    reference = project(a)
    p = project(a, res.grant) if res.grant is not None else reference
    rules = check_rules(a, res.grant, p) if res.grant is not None else []
    return ReportResult(
        res.prepared,
        res.allocation,
        p,
        res.deterministic,
        ledger(reference, specs),
        res.grant,
        None,
        rules,
        uncertainty=res,
    )


# --------------------------------------------------------------------------- from results


def from_optimise(res):
    """A report of ``optimise``'s own result: its allocation, ledger and marginals."""
    from ..runs import ReportResult

    o = res.opt
    a = res.prepared.arrays
    return ReportResult(
        res.prepared,
        "optimised",
        o.projection,
        o.ledger,
        res.no_fund,
        o.grant,
        o.movable,
        check_rules(a, o.grant, o.projection),
        optimised=res,
    )


def from_compare(res):
    """A report of ``compare``'s own result: the comparison, and the ledger of the optimised
    row (else the first allocation compared)."""
    from ..core.projection import project
    from ..core.targets import ledger
    from ..runs import ReportResult

    a, specs = res.prepared.arrays, res.prepared.specs
    row = next((r for r in res.rows if r.name == "optimised"), res.rows[0])
    reference = project(a)
    p = project(a, row.grant)
    return ReportResult(
        res.prepared,
        row.name,
        p,
        row.ledger,
        ledger(reference, specs),
        row.grant,
        res.movable,
        row.rules,
        compared=res,
    )


def from_sweep(res, budget_spec: str | None = None):
    """A report of ``sweep``'s own result: the frontier, and the ledger at the sweep point
    nearest the plan's budget."""
    from ..core.projection import project
    from ..core.targets import ledger
    from ..runs import ReportResult

    a, specs = res.prepared.arrays, res.prepared.specs
    reference = project(a)
    no_fund = ledger(reference, specs)
    plan = float(a.budget[a.fund_years].max()) if a.fund_years.any() else 0.0
    found = [pt for pt in res.points if pt.result is not None]
    if not found:
        return ReportResult(
            res.prepared,
            "none",
            reference,
            no_fund,
            no_fund,
            None,
            None,
            [],
            swept=res,
            budget_spec=budget_spec,
        )
    point = min(found, key=lambda pt: abs(pt.budget - plan))
    o = point.result
    label = f"optimised at {point.budget / a.fund_unit_factor:g} {a.fund_unit}/yr"
    return ReportResult(
        res.prepared,
        label,
        o.projection,
        o.ledger,
        no_fund,
        o.grant,
        o.movable,
        check_rules(a, o.grant, o.projection),
        swept=res,
        budget_spec=budget_spec,
    )


# --------------------------------------------------------------------------- the page


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``simulator`` and its arguments, shell-quoted."""
    argv = list(sys.argv if argv is None else argv)
    return shlex.join(["simulator", *argv[1:]])


def render(res, command: str | None = None, lang: str = "zh") -> str:
    """The page as HTML text."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["exact"] = _exact
    env.filters["pct"] = _pct
    return env.get_template("report.html.j2").render(**context(res, command, lang))


def _exact(x) -> str:
    """The value in ``data-v``: the shortest repr that reads back to the same float."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    return repr(float(x))


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100 * float(x):.0f}%"


def context(res, command: str | None, lang: str) -> dict:
    prep = res.prepared
    s, a = prep.loaded.scenario, prep.arrays
    first, second = (0, 1) if lang == "zh" else (1, 0)
    labels = {k: (v[first], v[second]) for k, v in LABELS.items()}
    names = dict(zip(a.cluster_ids, a.cluster_names, strict=True))
    ctx = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "alt_lang": "en" if lang == "zh" else "zh-CN",
        "L": labels,
        "meta": s.scenario,
        "fund": s.funds,
        "version": __version__,
        "command": command or command_line(),
        "loaded": prep.loaded,
        "allocation_name": res.allocation,
        "allocation_zh": ALLOCATION_ZH.get(res.allocation, res.allocation),
    }
    u = uncertainty_section(res.uncertainty)
    ledger = _ledger(res, u)
    ctx["ledger"] = ledger
    ctx["uncertainty"] = u
    ctx["verdict"] = _verdict(res, ledger, u, first)
    ctx["charts"] = charts_ = {}
    if len(ledger):
        charts_["targets"] = charts.targets_chart(
            _targets_chart_frame(ledger), " ".join(LABELS["figure_targets"])
        )
    ctx["allocation"] = _allocation(res, names, charts_) if res.grant is not None else None
    ctx["marginal"] = _marginal(res, names) if res.optimised is not None else None
    ctx["compare"] = _compare(res, charts_) if res.compared is not None else None
    ctx["sweep"] = _sweep(res, charts_) if res.swept is not None else None
    if u is not None:
        _uncertainty_charts(u, ledger, charts_)
    ctx["breaches"] = (
        tables.limits_frame([r for r in res.rules if r.breached]).to_pandas().to_dict("records")
    )
    ctx["assumptions"] = assumptions(s)
    ctx["not_modelled"] = list(s.not_modelled)
    ctx["objective"] = _objective_name(res)
    return ctx


def _objective_name(res) -> str | None:
    for part in (res.optimised, res.compared, res.swept):
        if part is None:
            continue
        name = part.opt.objective_name if hasattr(part, "opt") else part.objective
        return name
    return None


# --------------------------------------------------------------------------- sections


def _ledger(res, u: Uncertainty | None) -> pd.DataFrame:
    """targets.csv's frame (with the allocation) beside the projection without the fund."""
    a = res.prepared.arrays
    df = tables.targets_frame(res.ledger, a.years, res.movable).to_pandas()
    before = tables.targets_frame(res.no_fund, a.years).to_pandas()
    df["projected_without"] = before.projected.to_numpy()
    df["met_without"] = before.met.to_numpy()
    rates = tables.target_rates(res.ledger, res.projection).to_pandas()
    df["as_growth"] = [rate_text(r) for r in rates.itertuples()]
    df["provenance_kind"] = [p.split(":", 1)[0] for p in df.provenance]
    df["provenance_text"] = [p.split(":", 1)[1].strip() if ":" in p else p for p in df.provenance]
    if u is not None and len(u.p_met) == len(df):
        df["p_met"] = u.p_met
        df["p_met_without"] = (
            u.p_met_no_fund if u.p_met_no_fund is not None else np.full(len(df), np.nan)
        )
    return df


def _good(df: pd.DataFrame, column: str) -> np.ndarray:
    """The gap as a share of the requirement, signed so that ≥ 0 is met."""
    sign = np.where(df.sense == ">=", 1.0, -1.0)
    req = df.required.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sign * (df[column].to_numpy(float) - req) / np.abs(req)


def _targets_chart_frame(ledger: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": [f"{i} {short_name(n) or ''}".strip() for i, n in zip(ledger.target_id, ledger.name, strict=True)],
            "good_before": _good(ledger, "projected_without"),
            "good_after": _good(ledger, "projected"),
            "met_after": ledger.met.to_numpy(),
        }
    )  # fmt: skip


def _verdict(res, ledger: pd.DataFrame, u: Uncertainty | None, first: int) -> dict:
    n = len(ledger)
    met_with = int(ledger.met.sum())
    met_without = int(ledger.met_without.sum())
    near = ledger[np.abs(_good(ledger, "projected")) < NEAR]
    missed = ledger[~ledger.met.astype(bool)]
    toss = None
    if u is not None and "p_met" in ledger:
        lo, hi = TOSS_UP
        toss = ledger[(ledger.p_met > lo) & (ledger.p_met < hi)]
    spent = None
    a = res.prepared.arrays
    if res.grant is not None:
        spent = float(res.grant.sum() / a.fund_unit_factor)
    return {
        "n": n,
        "met_with": met_with,
        "met_without": met_without,
        "movable": None if res.movable is None else int(np.asarray(res.movable).sum()),
        "missed": missed.to_dict("records"),
        "near": near.to_dict("records"),
        "toss": None if toss is None else toss.to_dict("records"),
        "spent": spent,
        "unit": a.fund_unit,
        "has_fund": res.grant is not None,
    }


def _allocation(res, names: dict[str, str], out: dict) -> dict:
    """allocation.csv's frame as cluster × year (and use × year)."""
    a = res.prepared.arrays
    df = tables.allocation_frame(res.grant, a).to_pandas()
    label = {c: _cluster_label(c, names) for c in a.cluster_ids}
    per = df.groupby(["cluster", "year"], sort=False).amount.sum().unstack("year")
    per = per.reindex(columns=sorted(per.columns))
    heat = per.rename(index=label)
    out["heatmap"] = charts.heatmap(heat, a.fund_unit, " ".join(LABELS["figure_heatmap"]))
    rows = [
        {"id": c, "name": names.get(c, c), "values": list(per.loc[c]), "total": per.loc[c].sum()}
        for c in per.index
    ]
    years = [int(y) for y in per.columns]
    result = {
        "years": years,
        "rows": rows,
        "year_totals": list(per.sum(axis=0)),
        "total": float(per.to_numpy().sum()),
        "unit": a.fund_unit,
        "categories": None,
    }
    if "category" in df:
        funds = res.prepared.loaded.scenario.funds
        cat_names = {c.id: c.name for c in funds.categories} if funds else {}
        uses = df.groupby(["category", "year"], sort=False).amount.sum().unstack("year")
        uses = uses.reindex(columns=sorted(uses.columns))
        total = float(uses.to_numpy().sum())
        result["categories"] = [
            {
                "id": k,
                "name": cat_names.get(k, k),
                "values": list(uses.loc[k]),
                "total": float(uses.loc[k].sum()),
                "share": float(uses.loc[k].sum()) / total if total > 0 else np.nan,
            }
            for k in uses.index
        ]
        out["categories"] = charts.category_chart(
            uses.rename(index=lambda k: cat_names.get(k, k)),
            a.fund_unit,
            " ".join(LABELS["categories"]),
        )
    return result


def _marginal(res, names: dict[str, str]) -> dict:
    """marginal.csv's frame, the binding rows and the limits' marginal values."""
    df = tables.marginal_frame(res.optimised.marginals).to_pandas()
    df["best_label"] = [
        _cluster_label(c, names) if isinstance(c, str) else "—" for c in df.best_cluster
    ]
    return {
        "rows": df.to_dict("records"),
        "binding": list(res.optimised.binding),
        "limits": [e for e in res.optimised.limit_marginals if e.get("binding")],
    }


def _compare(res, out: dict) -> dict:
    """comparison.csv's frame."""
    from .records import comparison_frame

    df = comparison_frame(res.compared)
    label = _objective_label(res.compared.objective)
    out["compare"] = charts.strategies_chart(df, label, " ".join(LABELS["compare"]))
    cols = ["allocation", "objective", "targets_met", "weighted_shortfall", "spent", "feasible"]
    return {"rows": df[[*cols, "breaks"]].to_dict("records"), "objective": res.compared.objective}


def _objective_label(name: str) -> str:
    zh, en = OBJECTIVE_NAMES.get(name, (name, name))
    return f"{zh}\n{en} ({BETTER.get(name, '')} is better)"


def _sweep(res, out: dict) -> dict:
    """sweep.csv's frame."""
    from .records import sweep_frames

    a = res.prepared.arrays
    summary, _ = sweep_frames(res.swept)
    plan = float(a.budget[a.fund_years].max()) / a.fund_unit_factor if a.fund_years.any() else 0
    label = _objective_label(res.swept.objective)
    out["sweep"] = charts.frontier_chart(
        summary, plan, a.fund_unit, label, " ".join(LABELS["sweep"])
    )
    cols = [c for c in ("budget", "objective", "targets_met", "spent", "status") if c in summary]
    rows = summary[cols].to_dict("records")
    for r in rows:
        r.setdefault("spent", np.nan)
        if r["targets_met"] is pd.NA:
            r["targets_met"] = None
    certainty = None
    if res.swept.certainty:  # --samples: the cost of certainty, from certainty.csv's frame
        probs = tables.sweep_probabilities_frame(res.swept).to_pandas()
        out["certainty"] = charts.certainty_chart(
            probs, plan, a.fund_unit, "把握的代价 the cost of certainty"
        )
        certainty = tables.certainty_frame(res.swept).to_pandas().to_dict("records")
    return {
        "rows": rows,
        "plan_budget": plan,
        "unit": a.fund_unit,
        "spec": res.budget_spec,
        "certainty": certainty,
        "samples": res.swept.samples,
    }


def _uncertainty_charts(u: Uncertainty, ledger: pd.DataFrame, out: dict) -> None:
    if "p_met" in ledger:
        frame = pd.DataFrame(
            {
                "label": [f"{i}" for i in ledger.target_id],
                "p_met": ledger.p_met.to_numpy(float),
                "p_no_fund": ledger.p_met_without.to_numpy(float),
            }
        )
        out["pmet"] = charts.pmet_chart(frame, "P(met)")
    fans = []
    for tid, (years, quantiles, required) in list(u.fans.items())[:12]:
        fans.append(charts.fan_chart(np.asarray(years), quantiles, required, str(tid)))
    out["fans"] = fans


# --------------------------------------------------------------------------- assumptions


def _value_text(q) -> str:
    v = getattr(q, "value", None)
    unit = getattr(q, "unit", "") or ""
    if v is None:  # a pipeline or share bounds: its own fields
        parts = []
        for name in ("min", "max", "widths", "slopes"):
            x = getattr(q, name, None)
            if x is not None:
                parts.append(f"{name} {_plain(x)}")
        return " ".join(parts) + (f" {unit}" if unit else "")
    return f"{_plain(v)} {unit}".strip()


def _plain(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_plain(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_plain(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def assumptions(scenario) -> list[dict]:
    """Every number of the scenario with its provenance (plan / statistic / assumption), its
    quote or reason and its source; the same figure with the same words in several clusters
    (the cluster defaults) is one row naming the clusters."""
    from pydantic import BaseModel

    found: dict[tuple, dict] = {}

    def walk(obj, path: tuple, cluster: str | None):
        if isinstance(obj, BaseModel):
            kind = _kind(obj)
            if kind is not None:
                text = getattr(obj, kind)
                value = _value_text(obj)
                key = (path, value, kind, text, obj.source, getattr(obj, "was", None))
                row = found.get(key)
                if row is None:
                    found[key] = {
                        "field": ".".join(path),
                        "value": value,
                        "kind": kind,
                        "text": text,
                        "source": obj.source,
                        "was": getattr(obj, "was", None),
                        "clusters": [cluster] if cluster else [],
                    }
                elif cluster:
                    row["clusters"].append(cluster)
            for name in type(obj).model_fields:
                if name in ("what_ifs", "not_modelled"):
                    continue
                walk(getattr(obj, name), (*path, name), cluster)
        elif isinstance(obj, list | tuple):
            for i, x in enumerate(obj):
                ident = getattr(x, "id", None)
                if path == ("clusters",) and ident:
                    walk(x, ("clusters", "*"), ident)
                else:
                    walk(x, (*path, str(ident if ident else i)), cluster)
        elif isinstance(obj, dict):
            for k, x in obj.items():
                walk(x, (*path, str(k)), cluster)

    walk(scenario, (), None)
    rows = list(found.values())
    order = {}
    for r in rows:  # the clusters' rows of one figure together, in the file's order
        order.setdefault(r["field"], len(order))
    return sorted(rows, key=lambda r: order[r["field"]])


def _kind(obj) -> str | None:
    if "source" not in type(obj).model_fields:  # not a number with a provenance
        return None
    for kind in ("plan", "statistic", "assumption"):
        if kind in type(obj).model_fields and getattr(obj, kind, None):
            return kind
    return None


# --------------------------------------------------------------------------- files


def write_html(folder: Path, res, command: str | None = None, lang: str = "zh") -> Path:
    path = Path(folder) / "report.html"
    path.write_text(render(res, command, lang), encoding="utf-8")
    return path


def workbook_writer():
    """``simulator.outputs.workbook.write_workbook`` when that module is there, else None."""
    try:
        module = importlib.import_module("simulator.outputs.workbook")
    except ImportError:
        return None
    return getattr(module, "write_workbook", None)


def write_report(out: Path, res, command: str | None = None, lang: str = "zh") -> None:
    """The run folder of ``simulator report``: the CSVs of the runs it made, ``report.html``
    made from the same frames, and ``report.xlsx`` when the workbook writer is installed; all
    or nothing (:func:`.files.atomic_dir`)."""
    from .records import comparison_frame, solver_document, sweep_frames

    a = res.prepared.arrays
    with files.atomic_dir(out) as tmp:
        settings = {
            "command": "report",
            "allocation": res.allocation,
            "budget": res.budget_spec,
            "lang": lang,
            "command_line": command,
        }
        targets = tables.targets_frame(res.ledger, a.years, res.movable)
        files._run_files(tmp, res.prepared, res.projection, targets, settings, res.timings)
        files.write_csv(tmp / "limits.csv", tables.limits_frame(res.rules))
        if res.grant is not None:
            files.write_allocation(tmp / "allocation.csv", res.grant, a)
        if res.optimised is not None:
            files.write_csv(tmp / "marginal.csv", tables.marginal_frame(res.optimised.marginals))
            files.write_json(tmp / "solver.json", solver_document(res.optimised))
        if res.compared is not None:
            files.write_csv(tmp / "comparison.csv", comparison_frame(res.compared))
        if res.swept is not None:
            summary, long = sweep_frames(res.swept)
            files.write_csv(tmp / "sweep.csv", summary)
            files.write_csv(tmp / "sweep_allocations.csv", long)
        write_html(tmp, res, command, lang)
        writer = workbook_writer()
        if writer is not None:
            grant = (
                res.grant
                if res.grant is not None
                else np.zeros((len(a.cluster_ids), len(a.years), len(a.category_ids)))
            )
            writer(
                tmp / "report.xlsx",
                prepared=res.prepared,
                ledger=res.ledger,
                no_fund=res.no_fund,
                grant=grant,
                compare=res.compared,
                sweep=res.swept,
                uncertainty=res.uncertainty,
            )


# --------------------------------------------------------------------------- console


def summary(res, out: Path) -> dict:
    """What ``simulator report`` prints (``--json``: this document)."""
    folder = Path(out)
    page = folder / "report.html"
    book = folder / "report.xlsx"
    return {
        "scenario": res.prepared.loaded.scenario.scenario.id,
        "allocation": res.allocation,
        "targets": len(res.prepared.specs),
        "targets_met": int(res.ledger.met[:, 0].sum()),
        "targets_met_without_fund": int(res.no_fund.met[:, 0].sum()),
        "report": str(page),
        "report_bytes": page.stat().st_size if page.exists() else None,
        "workbook": str(book) if book.exists() else None,
        "out": str(folder),
    }


def summary_text(doc: dict) -> str:
    lines = [
        f"{doc['targets_met']} of {doc['targets']} targets met with the allocation "
        f"{doc['allocation']} (without the fund: {doc['targets_met_without_fund']})",
        f"report: {doc['report']} ({doc['report_bytes'] / 1e3:.0f} KB)",
    ]
    if doc["workbook"]:
        lines.append(f"workbook: {doc['workbook']}")
    lines.append(f"Results in {doc['out']}/")
    return "\n".join(lines)
