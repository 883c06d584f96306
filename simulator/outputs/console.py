"""What each command prints: plain-text tables (CJK characters counted two columns wide) and
the sentences a planner reads — targets before and after, what binds, what one more unit is
worth. Made from the same tables as the files (:mod:`.tables`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..allocation.objectives import BETTER, OBJECTIVES


def format_number(x: float) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"


def render(head: list[str], body: list[list[str]], right: set[int] = frozenset()) -> str:
    def width(s: str) -> int:  # CJK characters take two columns
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cols = [max(width(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (cols[i] - width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * c for c in cols)
    return "\n".join([line(head), rule, *(line(r) for r in body)])


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + format_number(x)


def targets_table(df: pd.DataFrame) -> str:
    """A plain-text table of targets for the terminal."""
    head = ["target", "year", "required", "projected", "gap", "unit", "met"]
    body = [
        [
            r.target_id,
            str(r.year),
            format_number(r.required),
            format_number(r.projected),
            _signed(r.gap),
            r.unit,
            "yes" if r.met else "NO",
        ]
        for r in df.itertuples()
    ]
    return render(head, body, right={2, 3, 4})


def limits_lines(df: pd.DataFrame) -> list[str]:
    """One line per breached rule."""
    return [
        f"BREACH {r.limit}{'' if pd.isna(r.year) else f' ({r.year})'}: "
        f"{format_number(r.value)} {r.unit}, {'bound' if r.sense != '==' else 'must be'} "
        f"{format_number(r.bound)} {r.unit}"
        for r in df.itertuples()
        if r.breached
    ]


def allocation_table(df: pd.DataFrame, a) -> str:
    """Cluster × fund-year table of an allocation frame (:func:`.tables.allocation_frame`)."""
    per = df.groupby(["cluster", "year"], sort=False).amount.sum().unstack("year")
    years = [int(a.years[t]) for t in np.flatnonzero(a.fund_years)]
    head = ["cluster", *map(str, years), "total"]
    body = [
        [c, *(format_number(per.loc[c, y]) for y in years), format_number(per.loc[c].sum())]
        for c in per.index
    ]
    body.append(
        ["total", *(format_number(per[y].sum()) for y in years), format_number(per.values.sum())]
    )
    budget = [a.budget[a.year_index(y)] / a.fund_unit_factor for y in years]
    body.append(["budget", *map(format_number, budget), format_number(sum(budget))])
    text = f"allocation ({a.fund_unit}):\n" + render(head, body, right=set(range(1, len(head))))
    if "category" in df:
        split = df.groupby("category", sort=False).amount.sum()
        text += "\nby use: " + ", ".join(f"{k} {format_number(v)}" for k, v in split.items())
    return text


def before_after_table(df: pd.DataFrame) -> str:
    head = [
        "target",
        "year",
        "required",
        "no fund",
        "optimised",
        "gap",
        "unit",
        "met",
        "fund moves it",
    ]
    body = []
    for r in df.itertuples():
        met = ("yes" if r.met_after else "NO") + (
            " (new)" if r.met_after and not r.met_before else ""
        )
        body.append(
            [
                r.target_id,
                str(r.year),
                format_number(r.required),
                format_number(r.before),
                format_number(r.after),
                _signed(r.gap_after),
                r.unit,
                met,
                "yes" if r.fund_can_move else "no",
            ]
        )
    return render(head, body, right={2, 3, 4, 5})


def marginal_sentences(marginals: list, limits: list[dict], objective: str) -> list[str]:
    o = OBJECTIVES[objective]
    lines = []
    for e in marginals:
        head = f"+{format_number(e.extra)}{e.unit} in {e.year}"
        parts = []
        if e.objective_change is not None:
            change = e.objective_change
            verb = o.improves if change >= 0 else o.worsens
            parts.append(f"{verb} {abs(change):.4g}")
            if e.targets_met_change:
                parts.append(f"targets met {e.targets_met_change:+d}")
            if e.best_cluster:
                parts.append(
                    f"the best use is {e.best_cluster} (+{format_number(e.best_cluster_amount)}"
                    f"{e.unit} there), worth {format_number(e.horizon_revenue_gain)} 亿元 of "
                    f"{e.horizon_year} revenue"
                )
        if e.dual_rate is not None:
            parts.append(f"dual rate {e.dual_rate:.4g} per {e.unit}")
        if e.note:
            parts.append(e.note)
        lines.append(head + " " + "; ".join(parts))
    for e in limits:
        if e["binding"] and e["rate_per_unit"] is not None:
            lines.append(
                f"+100 {e['unit']} of {e['limit']} in {e['year']} {o.improves} "
                f"{100 * e['rate_per_unit']:.4g}"
            )
        elif e["binding"]:
            lines.append(f"{e['limit']} {e['year']} binds")
    return lines


# --------------------------------------------------------------------------- per command


def run_text(res, targets: pd.DataFrame, limits: pd.DataFrame, out) -> str:
    m = res.prepared.loaded.scenario.scenario
    loaded = res.prepared.loaded
    a = res.prepared.arrays
    lines = [f"{m.jurisdiction} — {m.title} ({m.base_year}→{m.horizon})"]
    changes = [f"what-if {w}" for w in loaded.what_ifs] + [f"--set {x}" for x in loaded.sets]
    if changes:
        lines.append("changed: " + ", ".join(changes))
    if res.grant is not None:
        total = res.grant.sum() / a.fund_unit_factor
        lines.append(f"allocation: {res.allocation} ({total:g} {a.fund_unit} in all)")
    lines += ["", targets_table(targets) if len(targets) else "(no targets: projection only)", ""]
    broken = limits_lines(limits)
    if res.grant is not None:
        lines += broken or ["the allocation keeps every rule of the fund and the limits"]
    elif broken:
        lines += broken
    met = int(targets.met.sum()) if len(targets) else 0
    from ..core.targets import weighted_shortfall

    short = float(weighted_shortfall(res.ledger)[0]) if len(targets) else 0.0
    lines.append(
        f"{met} of {len(targets)} targets met; weighted relative shortfall {short:.4f}. "
        f"Results in {out}/"
    )
    return "\n".join(lines)


def optimise_text(res, table: pd.DataFrame, allocation: pd.DataFrame, out) -> str:
    opt = res.opt
    a = res.prepared.arrays
    m = res.prepared.loaded.scenario.scenario
    specs = res.prepared.specs
    lines = [
        f"{m.jurisdiction} — {res.prepared.loaded.scenario.funds.name}, objective {opt.objective_name}"
    ]
    lines += ["", allocation_table(allocation, a), "", before_after_table(table), ""]
    lines.append(
        f"{int(opt.ledger.met[:, 0].sum())} of {len(specs)} targets met (without the fund: "
        f"{int(res.no_fund.met[:, 0].sum())}); the fund can move {int(opt.movable.sum())} of them. "
        f"Objective ({opt.objective_name}, {BETTER[opt.objective_name]} is better): {opt.objective:.6g}"
    )
    if opt.status == "time_limit":
        gap = opt.solution.mip_gap
        lines.append(
            "STOPPED by the time limit: the best allocation found is shown"
            + (f" (proven gap {gap:.2%})" if gap is not None else "")
        )
    lines.append("binding: " + (", ".join(res.binding) or "nothing binds"))
    lines += [
        "  " + s for s in marginal_sentences(res.marginals, res.limit_marginals, opt.objective_name)
    ]
    t = opt.timings
    total = t["build_seconds"] + t["handoff_seconds"] + t["solve_seconds"]
    lines.append(
        f"solved by HiGHS {res.solver['solver_version']} in {total:.3f} s "
        f"({res.solver['n_variables']} variables, {res.solver['n_constraints']} constraints; "
        f"stages {opt.solution.stages_solved} of {len(res.solver['aims'])}; pipeline "
        f"{opt.pipeline}). Results in {out}/"
    )
    return "\n".join(lines)


def compare_text(res, df: pd.DataFrame, out) -> str:
    a = res.prepared.arrays
    n = len(res.prepared.specs)
    head = [
        "allocation",
        f"objective ({res.objective}, {BETTER[res.objective]} is better)",
        "targets met",
        "weighted shortfall",
        f"spent ({a.fund_unit})",
        "within limits",
    ]
    body = [
        [
            r.allocation,
            f"{r.objective:.6g}",
            f"{r.targets_met}/{n}",
            f"{r.weighted_shortfall:.6g}",
            format_number(r.spent),
            "yes" if r.feasible else "NO: " + _shorten(r.breaks),
        ]
        for r in df.itertuples()
    ]
    lines = [render(head, body, right={1, 2, 3, 4}), f"\nper-target gaps in {out}/comparison.csv"]
    if not df.feasible.all():
        lines.append(
            "An allocation that breaks a limit is not comparable: the optimiser is held to every limit."
        )
    return "\n".join(lines)


def _shorten(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def sweep_text(res, df: pd.DataFrame, out) -> str:
    a = res.prepared.arrays
    n = len(res.prepared.specs)
    head = [f"budget ({a.fund_unit}/yr)", "status", "objective", "targets met", "spent"]
    body = [
        [
            format_number(r.budget),
            r.status,
            "—" if pd.isna(r.objective) else f"{r.objective:.6g}",
            "—" if pd.isna(r.targets_met) else f"{int(r.targets_met)}/{n}",
            format_number(r.spent),
        ]
        for r in df.itertuples()
    ]
    return render(head, body, right={0, 2, 3, 4}) + f"\n\nallocation per budget in {out}/sweep.csv"
