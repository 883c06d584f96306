"""What each command prints: tables and the sentences a planner reads — targets before and
after (with their Chinese names, and as average yearly growth from the base year), the fund by
cluster and by use, what binds, what one more unit is worth. Made from the same tables as the
files (:mod:`.tables`).

Where it goes decides how it looks (:class:`Screen`): at a terminal, tables are drawn by
``rich`` (boxes, colours, fitted to the window); anywhere else — a pipe, a file, a test — they
are plain text aligned in columns with no escape code at all, so the text can be grepped and
diffed. Both count a Chinese character two columns wide (``rich.cells.cell_len``). Progress bars
(:func:`progress`) go to stderr, and only when it is a terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len

from ..allocation.objectives import BETTER, OBJECTIVES
from . import tables
from .table import Table, missing

# --------------------------------------------------------------------------- screens and tables


@dataclass(frozen=True)
class Screen:
    """Where the text goes: a terminal ``width`` columns wide, or plain text (``terminal=False``)."""

    terminal: bool = False
    width: int = 100


#: plain text: pipes, files, tests
PLAIN = Screen()


def screen_for(stream=None) -> Screen:
    """A terminal screen when ``stream`` (default stdout) is an interactive terminal, else
    :data:`PLAIN`."""
    stream = sys.stdout if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        tty = False
    if not tty or os.environ.get("TERM") == "dumb":
        return PLAIN
    return Screen(terminal=True, width=shutil.get_terminal_size((100, 24)).columns)


@dataclass(frozen=True)
class Col:
    """A table column: its header, alignment, the most columns a cell may take (longer text
    is cut with "…"), and at a terminal a style per cell text and whether it may wrap."""

    head: str
    right: bool = False
    limit: int | None = None
    style: Callable[[str], str | None] | None = None
    wrap: bool = False


def cut(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` terminal columns (CJK two each), ending in "…" when cut."""
    if limit is None or cell_len(text) <= limit:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > limit - 1:
            break
        out += ch
    return out.rstrip() + "…"


def render(head: list[str], body: list[list[str]], right: set[int] = frozenset()) -> str:
    """A plain-text table: a header, a rule of dashes, rows; columns two spaces apart, widths
    in terminal columns (a Chinese character counts two)."""
    cols = [max(cell_len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (cols[i] - cell_len(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * c for c in cols)
    return "\n".join([line(head), rule, *(line(r) for r in body)])


def grid(
    cols: Sequence[Col], rows: list[list[str]], screen: Screen = PLAIN, *, totals: int = 0
) -> str:
    """A table in the screen's form; the last ``totals`` rows are totals (ruled off at a
    terminal)."""
    if not screen.terminal:
        rows = [[cut(cell, c.limit) for c, cell in zip(cols, row, strict=True)] for row in rows]
        return render([c.head for c in cols], rows, {i for i, c in enumerate(cols) if c.right})
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Names and sentences wrap to fit the window; numbers, ids, units and years never shrink.
    # A window narrower than even that gets the table at its least width (the terminal wraps).
    flexible = [c.wrap or c.limit is not None for c in cols]
    least = []
    for i, (c, f) in enumerate(zip(cols, flexible, strict=True)):
        w = max(cell_len(x) for x in [c.head, *(r[i] for r in rows)])
        least.append(min(w, 16) if f else w)
    table = Table(
        box=_ruled(), show_edge=False, pad_edge=False, collapse_padding=True, header_style="bold"
    )
    for c, w, f in zip(cols, least, flexible, strict=True):
        justify = "right" if c.right else "left"
        overflow = "fold" if f else "ellipsis"
        table.add_column(
            c.head,
            justify=justify,
            no_wrap=not f,
            overflow=overflow,
            min_width=w,
            max_width=c.limit,
        )
    for i, row in enumerate(rows):
        cells = [
            Text(cell, style=(c.style(cell) if c.style else None) or "")
            for c, cell in zip(cols, row, strict=True)
        ]
        table.add_row(*cells, end_section=totals > 0 and i == len(rows) - totals - 1)
    width = max(screen.width, sum(least) + 2 * (len(cols) - 1))
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=True, highlight=False).print(table)
    return buf.getvalue().rstrip("\n")


def _ruled():
    from rich.box import Box

    # a rule under the header and above the totals; no other lines
    return Box("    \n    \n ── \n    \n ── \n    \n    \n    \n")


def _met_style(text: str) -> str | None:
    return "bold red" if text.startswith("NO") else "green" if text.startswith("yes") else None


@contextlib.contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Meter]:
    """A progress bar on stderr while a long step runs — a bar with a count once the total is
    known (:meth:`Meter.start`), a spinner with the time spent before — cleared when it ends.
    Nothing at all when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    if not screen_for(sys.stderr).terminal:  # a pipe, a file, a test: nothing
        yield Meter(None, None)
        return
    err = Console(stderr=True)
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    columns += [MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        yield Meter(bar, bar.add_task(label, total=total))


class Meter:
    """What a long step reports to its progress bar (does nothing without one)."""

    def __init__(self, bar, task):
        self.bar, self.task = bar, task

    def start(self, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, steps)


# --------------------------------------------------------------------------- numbers and names


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


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + format_number(x)


def rate(x: float) -> str:
    """A yearly growth rate as "+6.5%/yr" (one decimal, no "-0.0")."""
    return f"{round(100 * x, 1) + 0.0:+.1f}%/yr"


def rate_text(r, shown: str = "projected") -> str:
    """A target as growth (a row of :func:`.tables.target_rates`): "+6.5%/yr required, +6.3%/yr
    projected" for a target given as a growth rate, "asks +8.0%/yr, assumed +7.5%/yr" for a
    level (the growth its level asks from the base year; the growth the scenario's assumptions
    give without the fund). Empty for count targets and where a rate has no meaning."""
    if missing(r.required_rate):
        return ""
    if r.given_as_growth:
        text = f"{rate(r.required_rate)} required"
        return text if missing(r.projected_rate) else f"{text}, {rate(r.projected_rate)} {shown}"
    text = f"asks {rate(r.required_rate)}"
    return text if missing(r.assumed_rate) else f"{text}, assumed {rate(r.assumed_rate)}"


#: the most terminal columns a name takes in a table
NAME_WIDTH = 30


def _name(name, ident: str) -> str:
    return "" if not isinstance(name, str) or name == ident else name


def short_name(name: str) -> str:
    """The Chinese part at the head of a bilingual name ("智能家电 smart home appliances" →
    "智能家电"); empty when the name does not start in Chinese."""
    head = name.split(" ", 1)[0] if name else ""
    return head if head and ord(head[0]) > 0x2E80 else ""


def _cluster_label(cid: str, names: dict[str, str]) -> str:
    short = short_name(names.get(cid, ""))
    return f"{cid} {short}" if short else cid


# --------------------------------------------------------------------------- tables


def targets_table(df: Table, rates: Table | None = None, screen: Screen = PLAIN) -> str:
    """Targets for the terminal: id, name, year, required, projected, gap, unit, met and, with
    ``rates`` (:func:`.tables.target_rates`, same order), the target as growth."""
    ids = df["target_id"]
    names = [_name(n, t) for n, t in zip(df.get("name", ids), ids, strict=True)]
    cols = [Col("target")]
    if any(names):
        cols.append(Col("name", limit=NAME_WIDTH))
    cols += [Col("year"), Col("required", True), Col("projected", True), Col("gap", True)]
    cols += [Col("unit"), Col("met", style=_met_style)]
    if rates is not None:
        cols.append(Col("per year", wrap=True))
    body = []
    per_year = list(rates.itertuples()) if rates is not None else None
    for i, r in enumerate(df.itertuples()):
        row = [r.target_id] + ([names[i]] if any(names) else [])
        row += [str(r.year), format_number(r.required), format_number(r.projected)]
        row += [_signed(r.gap), r.unit, "yes" if r.met else "NO"]
        if per_year is not None:
            row.append(rate_text(per_year[i]))
        body.append(row)
    return grid(cols, body, screen)


def limits_lines(df: Table) -> list[str]:
    """One line per breached rule."""
    return [
        f"BREACH {r.limit}{'' if missing(r.year) else f' ({r.year})'}: "
        f"{format_number(r.value)} {r.unit}, {'bound' if r.sense != '==' else 'must be'} "
        f"{format_number(r.bound)} {r.unit}"
        for r in df.itertuples()
        if r.breached
    ]


def allocation_table(
    df: Table, a, screen: Screen = PLAIN, category_names: dict[str, str] | None = None
) -> str:
    """Cluster × fund-year table of an allocation table (:func:`.tables.allocation_frame`),
    with the clusters' names, and with categories the split by use as a second table."""
    clusters, _, per = _sum_by(df["cluster"], df["year"], df["amount"])
    years = [int(a.years[t]) for t in np.flatnonzero(a.fund_years)]
    names = dict(zip(a.cluster_ids, a.cluster_names, strict=True))
    shown = [_name(names.get(c), c) for c in clusters]
    cols = [Col("cluster")] + ([Col("name", limit=NAME_WIDTH)] if any(shown) else [])
    cols += [Col(str(y), True) for y in years] + [Col("total", True)]
    budget = [a.budget[a.year_index(y)] / a.fund_unit_factor for y in years]
    amounts = np.array([[row.get(y, np.nan) for y in years] for row in per]).reshape(-1, len(years))
    lines = [(c, n, list(v)) for c, n, v in zip(clusters, shown, amounts, strict=True)]
    lines += [("total", "", list(amounts.sum(axis=0))), ("budget", "", budget)]
    body = [
        [label, *([name] if any(shown) else []), *map(format_number, [*v, sum(v)])]
        for label, name, v in lines
    ]
    text = f"allocation ({a.fund_unit}):\n" + grid(cols, body, screen, totals=2)
    if "category" in df:
        text += "\n\n" + uses_table(df, a, screen, category_names or {})
    return text


def _sum_by(rows, columns, amounts) -> tuple[list, list, list[dict]]:
    """Amounts summed per (row label, column label), both in order of first appearance: (row
    labels, column labels, one {column label: sum} per row label)."""
    position: dict = {}
    sums: list[dict] = []
    seen: dict = {}
    for r, c, x in zip(list(rows), list(columns), np.asarray(amounts, float).tolist(), strict=True):
        i = position.setdefault(r, len(position))
        if i == len(sums):
            sums.append({})
        sums[i][c] = sums[i].get(c, 0.0) + x
        seen.setdefault(c, None)
    return list(position), list(seen), sums


def uses_table(df: Table, a, screen: Screen = PLAIN, names: dict[str, str] | None = None):
    """The fund's split by use (category) and year, with each use's share of the money."""
    names = names or {}
    uses, years, per = _sum_by(df["category"], df["year"], df["amount"])
    whole = float(sum(sum(row.values()) for row in per))
    shown = [_name(names.get(k), k) for k in uses]
    cols = [Col("use")] + ([Col("name", limit=NAME_WIDTH)] if any(shown) else [])
    cols += [Col(str(y), True) for y in years] + [Col("total", True), Col("share", True)]
    body = []
    for k, n, row in zip(uses, shown, per, strict=True):
        total = float(sum(row.values()))
        share = f"{100 * total / whole:.1f}%" if whole > 0 else "—"
        amounts = [format_number(row.get(y, np.nan)) for y in years]
        body.append([k, *([n] if any(shown) else []), *amounts, format_number(total), share])
    return f"by use ({a.fund_unit}):\n" + grid(cols, body, screen)


def before_after_table(df: Table, rates: Table | None = None, screen: Screen = PLAIN) -> str:
    """Every target without the fund and with the allocation (:func:`.tables.before_after`);
    with ``rates`` (same order) the target as growth, the optimised projection's included."""
    ids = df["target_id"]
    names = [_name(n, t) for n, t in zip(df.get("name", ids), ids, strict=True)]
    cols = [Col("target")] + ([Col("name", limit=NAME_WIDTH)] if any(names) else [])
    cols += [Col("year"), Col("required", True), Col("no fund", True), Col("optimised", True)]
    cols += [Col("gap", True), Col("unit"), Col("met", style=_met_style), Col("fund moves it")]
    if rates is not None:
        cols.append(Col("per year", wrap=True))
    body = []
    per_year = list(rates.itertuples()) if rates is not None else None
    for i, r in enumerate(df.itertuples()):
        met = ("yes" if r.met_after else "NO") + (
            " (new)" if r.met_after and not r.met_before else ""
        )
        row = [r.target_id] + ([names[i]] if any(names) else [])
        row += [str(r.year), format_number(r.required), format_number(r.before)]
        row += [format_number(r.after), _signed(r.gap_after), r.unit, met]
        row.append("yes" if r.fund_can_move else "no")
        if per_year is not None:
            row.append(rate_text(per_year[i], "optimised"))
        body.append(row)
    return grid(cols, body, screen)


def marginal_sentences(
    marginals: list, limits: list[dict], objective: str, names: dict[str, str] | None = None
) -> list[str]:
    """What one more fund unit each year, and one more unit of each binding limit, is worth;
    a cluster is named by its id and the Chinese head of its name (``names``: id → name)."""
    o = OBJECTIVES[objective]
    names = names or {}
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
                    f"the best use is {_cluster_label(e.best_cluster, names)} (+{format_number(e.best_cluster_amount)}"
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


def run_text(res, targets: Table, limits: Table, out, screen: Screen = PLAIN) -> str:
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
    if len(targets):
        rates = tables.target_rates(res.ledger, res.reference)
        lines += ["", targets_table(targets, rates, screen), ""]
    else:
        lines += ["", "(no targets: projection only)", ""]
    broken = limits_lines(limits)
    if res.grant is not None:
        lines += broken or ["the allocation keeps every rule of the fund and the limits"]
    elif broken:
        lines += broken
    met = int(sum(targets["met"])) if len(targets) else 0
    from ..core.targets import weighted_shortfall

    short = float(weighted_shortfall(res.ledger)[0]) if len(targets) else 0.0
    lines.append(
        f"{met} of {len(targets)} targets met; weighted relative shortfall {short:.4f}. "
        f"Results in {out}/"
    )
    return "\n".join(lines)


def optimise_text(res, table: Table, allocation: Table, out, screen: Screen = PLAIN) -> str:
    opt = res.opt
    a = res.prepared.arrays
    m = res.prepared.loaded.scenario.scenario
    specs = res.prepared.specs
    lines = [
        f"{m.jurisdiction} — {res.prepared.loaded.scenario.funds.name}, objective {opt.objective_name}"
    ]
    funds = res.prepared.loaded.scenario.funds
    uses = {c.id: c.name for c in funds.categories}
    rates = tables.target_rates(opt.ledger, opt.problem.reference)
    lines += ["", allocation_table(allocation, a, screen, uses), ""]
    lines += [before_after_table(table, rates, screen), ""]
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
    names = dict(zip(a.cluster_ids, a.cluster_names, strict=True))
    sentences = marginal_sentences(res.marginals, res.limit_marginals, opt.objective_name, names)
    lines += ["  " + s for s in sentences]
    t = opt.timings
    total = t["build_seconds"] + t["handoff_seconds"] + t["solve_seconds"]
    lines.append(
        f"solved by HiGHS {res.solver['solver_version']} in {total:.3f} s "
        f"({res.solver['n_variables']} variables, {res.solver['n_constraints']} constraints; "
        f"stages {opt.solution.stages_solved} of {len(res.solver['aims'])}; pipeline "
        f"{opt.pipeline}). Results in {out}/"
    )
    return "\n".join(lines)


def compare_text(res, df, out, screen: Screen = PLAIN) -> str:
    a = res.prepared.arrays
    n = len(res.prepared.specs)
    cols = [
        Col("allocation"),
        Col(f"objective ({res.objective}, {BETTER[res.objective]} is better)", True),
        Col("targets met", True),
        Col("weighted shortfall", True),
        Col(f"spent ({a.fund_unit})", True),
        Col("within limits", style=_met_style),
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
    lines = [grid(cols, body, screen), f"\nper-target gaps in {out}/comparison.csv"]
    if not df.feasible.all():
        lines.append(
            "An allocation that breaks a limit is not comparable: the optimiser is held to every limit."
        )
    return "\n".join(lines)


def _shorten(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def sweep_text(res, df, out, screen: Screen = PLAIN) -> str:
    a = res.prepared.arrays
    n = len(res.prepared.specs)
    cols = [Col(f"budget ({a.fund_unit}/yr)", True), Col("status"), Col("objective", True)]
    cols += [Col("targets met", True), Col("spent", True)]
    body = [
        [
            format_number(r.budget),
            r.status,
            "—" if missing(r.objective) else f"{r.objective:.6g}",
            "—" if missing(r.targets_met) else f"{int(r.targets_met)}/{n}",
            format_number(r.spent),
        ]
        for r in df.itertuples()
    ]
    return grid(cols, body, screen) + f"\n\nallocation per budget in {out}/sweep.csv"


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%"


def _verdict_style(text: str) -> str | None:
    return {"likely": "green", "unlikely": "bold red", "toss-up": "yellow"}.get(text)


def uncertain_text(res, probs, out, screen: Screen = PLAIN) -> str:
    """The ledger with P(met) without the fund and with the allocation, and the counts of
    likely (≥ 80 %), toss-up and unlikely (≤ 20 %) targets."""
    from ..uncertainty.montecarlo import cvar

    d = res.distribution
    m = res.prepared.loaded.scenario.scenario
    lines = [
        f"{m.jurisdiction} — {m.title}: {d.samples} sampled futures (seed {res.seed}), "
        f"allocation {res.allocation}"
    ]
    if not res.has_block:
        lines.append(
            "the scenario has no uncertainty block: every future is the deterministic scenario"
        )
    names = [
        _name(n, t)
        for n, t in zip(probs.get("name", probs["target"]), probs["target"], strict=True)
    ]
    cols = [Col("target")] + ([Col("name", limit=NAME_WIDTH)] if any(names) else [])
    cols += [Col("year"), Col("required", True), Col("p5", True), Col("p50", True)]
    cols += [Col("p95", True), Col("unit"), Col("P no fund", True), Col("P(met)", True)]
    cols += [Col("verdict", style=_verdict_style)]
    body = []
    for i, r in enumerate(probs.itertuples()):
        row = [r.target] + ([names[i]] if any(names) else [])
        row += [str(r.year), format_number(r.required), format_number(r.p5)]
        row += [format_number(r.p50), format_number(r.p95), r.unit]
        row += [_percent(r.p_met_no_fund), _percent(r.p_met), r.verdict]
        body.append(row)
    if body:
        lines += ["", grid(cols, body, screen), ""]
    counts = Counter(probs["verdict"]) if len(probs) else {}
    lines.append(
        f"{int(counts.get('likely', 0))} targets likely (P ≥ 80%), "
        f"{int(counts.get('toss-up', 0))} toss-ups, {int(counts.get('unlikely', 0))} unlikely "
        f"(P ≤ 20%) of {len(probs)}; expected weighted shortfall {d.loss.mean():.4f} "
        f"(worst 10% of futures: {cvar(d.loss):.4f}; without the fund "
        f"{d.loss_no_fund.mean():.4f}). Results in {out}/"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- sensitivity

#: what a planner can do about each driver group's uncertainty
DRIVER_ACTIONS = {
    "macro growth": "test the plan against slower and faster city-wide growth, not one path",
    "cluster growth": "firm up {whose} growth {assumption} (orders, projects under way)",
    "base levels": "check {whose} base-year figures against the statistics",
    "leverage": "firm up how much investment each 亿元 of grant draws in",
    "lag": "check how soon funded projects start producing",
    "va rate": "pin down the value-added rate",
    "tax rate": "pin down the tax rate",
    "revenue per mu": "pin down revenue per 亩",
    "energy intensity": "pin down energy use per unit of value added",
    "productivity": "pin down labour productivity",
}
#: a driver below this total index is not named as the second one
MINOR = 0.05
#: a confidence half-width above this asks for more samples
WIDE = 0.1


def _action(driver: str, clusters: int) -> str:
    whose = "the cluster's" if clusters == 1 else "the clusters'"
    assumption = "assumption" if clusters == 1 else "assumptions"
    text = DRIVER_ACTIONS.get(driver, "check the correlations and spreads of the uncertainty block")
    return text.format(whose=whose, assumption=assumption)


def pct(x: float) -> str:
    """An index as a share of the variance (estimates stray outside [0, 1]: shown clipped)."""
    return _percent(min(1.0, max(0.0, x)))


def sensitivity_sentence(r: dict, clusters: int = 2, wide: bool = False) -> str:
    """One target's verdict (a row of :func:`.tables.sensitivity_ranking`): its top two drivers
    as shares of its shortfall's variance, alone (S1) and with interactions (ST), and what to
    firm up."""
    label = r["name"] if r["name"] and r["name"] != r["target"] else r["target"]
    if str(r["year"]) not in label:
        label += f" {r['year']}"
    if r["note"]:
        if r["p_miss"] == 0:
            return f"{label}: met in every sampled future — no assumption puts it at risk."
        return (
            f"{label}: misses by the same amount in every sampled future — no assumption in the "
            "uncertainty block moves it; only the plan or the fund can."
        )
    miss = f" (missed in {_percent(r['p_miss'])} of futures)"
    first, second = r["drivers"][0], (r["drivers"][1:] or [None])[0]
    text = (
        f"{label}{miss}: {pct(first['S1'])} of its shortfall's variance is {first['driver']} "
        f"({pct(first['ST'])} with interactions)"
    )
    if second is not None and second["ST"] >= MINOR:
        text += f", {pct(second['S1'])} {second['driver']} ({pct(second['ST'])})"
    else:
        text += f"; no other driver reaches {_percent(MINOR)}"
    text += f" — {_action(first['driver'], clusters)}."
    if wide:
        text += " (Wide intervals: run more --samples.)"
    return text


def sensitivity_text(res, out, screen: Screen = PLAIN) -> str:
    """A sentence per target naming its top two drivers and what to firm up, then the run."""
    ix = res.indices
    m = res.prepared.loaded.scenario.scenario
    specs = res.prepared.specs
    lines = [
        f"{m.jurisdiction} — {m.title}: what drives each target's shortfall "
        f"(allocation {res.allocation}), {len(ix.groups)} drivers, "
        f"{ix.samples} × {len(ix.groups) + 2} = {ix.runs:,} sampled futures (seed {res.seed})"
    ]
    if ix.samples != ix.samples_requested:
        lines.append(
            f"--samples {ix.samples_requested} rounded up to {ix.samples}: "
            "Sobol' points are balanced at powers of 2"
        )
    lines.append("")
    for j, r in enumerate(tables.sensitivity_ranking(res)):
        top = int(np.argmax(ix.ST[j])) if len(ix.groups) else 0
        wide = bool(ix.ST_conf[j, top] > WIDE or ix.S1_conf[j, top] > WIDE)
        lines.append(sensitivity_sentence(r, len(specs[j].members), wide))
    lines += [
        "",
        "Shares are first-order Sobol' indices (S1: the driver alone); in brackets the total "
        "index (ST: with its interactions). Drivers: " + ", ".join(ix.groups) + ".",
        f"Indices with 95% intervals in {out}/sensitivity.csv",
    ]
    return "\n".join(lines)


def robust_text(res, out, screen: Screen = PLAIN) -> str:
    """The robust allocation, each target's P(met) in and out of sample beside the
    deterministic optimum's, and whether the robust allocation is better out of sample."""
    from .records import robust_summary

    a = res.prepared.arrays
    m = res.prepared.loaded.scenario.scenario
    funds = res.prepared.loaded.scenario.funds
    s = robust_summary(res)
    lines = [
        f"{m.jurisdiction} — {funds.name}, robust over {res.solver['samples']} futures "
        f"(seed {res.solver['seed']}), risk {res.solver['risk']}"
    ]
    uses = {c.id: c.name for c in funds.categories}
    lines += ["", allocation_table(tables.allocation_frame(res.opt.grant, a), a, screen, uses), ""]
    df = tables.out_of_sample_frame(res)
    names = [_name(n, t) for n, t in zip(df["name"], df["target"], strict=True)]
    cols = [Col("target")] + ([Col("name", limit=NAME_WIDTH)] if any(names) else [])
    cols += [Col("year"), Col("no fund", True), Col("robust in", True), Col("robust out", True)]
    cols += [Col("determ. out", True)]
    body = []
    for i, r in enumerate(df.itertuples()):
        row = [r.target] + ([names[i]] if any(names) else []) + [str(r.year)]
        row += [_percent(r.p_met_no_fund_out_of_sample), _percent(r.p_met_in_sample)]
        row += [_percent(r.p_met_out_of_sample), _percent(r.p_met_deterministic_out_of_sample)]
        body.append(row)
    if body:
        lines += ["P(met) — in sample and on fresh futures (out):", grid(cols, body, screen), ""]
    vss = s["value_of_stochastic_solution"]
    verdict = (
        "better than the deterministic optimum"
        if vss > 1e-12
        else "as good as the deterministic optimum, not better"
        if vss >= -1e-12
        else "NOT better than the deterministic optimum: it does worse on fresh futures"
    )
    lines.append(
        f"{s['measure']} ({s['better']} is better): robust {s['robust_in_sample']:.4f} in sample, "
        f"{s['robust_out_of_sample']:.4f} on {s['out_of_sample_futures']} fresh futures (seed "
        f"{s['out_of_sample_seed']}); the deterministic optimum {s['deterministic_out_of_sample']:.4f}"
        f" there. Out of sample the robust allocation is {verdict} (value of the stochastic "
        f"solution {s['value_of_stochastic_solution']:+.4f})."
    )
    if res.status == "gap":
        bound = (
            f", and no allocation can do better than {res.opt.bound:.4f} in sample (gap "
            f"{res.opt.gap:.2%})"
            if res.opt.bound is not None
            else " (no bound is proven)"
        )
        how = {
            "held": "every pipeline cell was held to the segment the trimmed grants reach and "
            "the allocation re-optimised within them",
            "trimmed": "the grants were trimmed to what the pipelines count",
        }.get(res.opt.repair, "the allocation was made exact")
        lines.append(
            "NOT PROVEN OPTIMAL: a limit made the relaxed model fill pipelines out of order and "
            f"the exact model (a MIP) was too large or too slow; {how}, so every rule holds" + bound
        )
    elif res.status == "time_limit":
        lines.append("STOPPED by the time limit: the best allocation found is shown")
    if res.solver["not_in_robust_objective"]:
        lines.append(
            "counts of clusters are evaluated but not optimised under uncertainty: "
            + ", ".join(res.solver["not_in_robust_objective"])
        )
    t = res.solver
    total = t["build_seconds"] + t["handoff_seconds"] + t["solve_seconds"]
    lines.append(
        f"solved by HiGHS {t['solver_version']} in {total:.3f} s ({t['n_variables']} variables, "
        f"{t['n_constraints']} constraints, {t['n_nonzeros']} nonzeros). Results in {out}/"
    )
    return "\n".join(lines)


def certainty_text(res, screen: Screen = PLAIN) -> str:
    """The cost of certainty: the least swept budget at which each target is met in at least
    50 %, 80 % and 95 % of the sampled futures."""
    df = tables.certainty_frame(res)
    unit = res.prepared.arrays.fund_unit
    names = [_name(n, t) for n, t in zip(df["name"], df["target"], strict=True)]
    cols = [Col("target")] + ([Col("name", limit=NAME_WIDTH)] if any(names) else [])
    cols += [Col("P no fund", True), Col("P at top", True)]
    cols += [Col(f"{unit}/yr for {p}%", True) for p in (50, 80, 95)]
    body = []
    for i, r in enumerate(df.itertuples()):
        row = [r.target] + ([names[i]] if any(names) else [])
        row += [_percent(r.p_met_no_fund), _percent(r.p_met_at_largest_budget)]
        row += [
            "beyond" if np.isnan(v) else format_number(v)
            for v in (r.budget_p50, r.budget_p80, r.budget_p95)
        ]
        body.append(row)
    head = (
        f"the cost of certainty over {res.samples} sampled futures (seed {res.seed}): the least "
        f"swept budget at which the optimised allocation meets each target in 50/80/95% of them "
        f'("beyond": not within the sweep)'
    )
    return "\n".join([head, grid(cols, body, screen)])
