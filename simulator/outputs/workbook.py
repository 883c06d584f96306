"""``report.xlsx``: the run as an Excel workbook a planner can edit and hand back.

Sheets: 摘要 summary, 目标台账 the target ledger, 资金分配 the allocation (an input sheet: the
yellow cells are the grants; totals, the budget and the share rules beside them are live
formulas), 假设 the assumptions (an input sheet: growth rates, baselines and factors with their
provenance), and 比较 / 扫描 when a comparison or a sweep is given.

The two input sheets read back: ``run FILE --allocation report.xlsx`` and ``--what-if
report.xlsx`` (:mod:`simulator.scenario.workbook_file`, which also holds the layout both sides
share). Every number is written at full precision (the shortest repr that reads back to the same
float), so an unedited workbook reproduces the run exactly.

Written with XlsxWriter; numbers come from the same result objects and tables as the CSVs.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from .. import __version__
from ..scenario import workbook_file as layout
from . import tables

#: a font with CJK glyphs on planners' PCs (Windows); Excel substitutes where it is missing
FONT = "Microsoft YaHei"
INPUT_FILL = "#FFF2CC"
HEADER_FILL = "#DDEBF7"
MAX_WIDTH = 60

PROVENANCE_ZH = {
    "plan": "规划 plan",
    "statistic": "统计 statistic",
    "assumption": "假设 assumption",
}


class _FullPrecisionSheet(Worksheet):
    """A worksheet that writes numbers as their shortest round-trip repr (XlsxWriter writes 16
    significant digits, which can change a float's last bit)."""

    def _xml_number_element(self, number, attributes=None) -> None:
        attr = "".join(f' {k}="{self._escape_attributes(v)}"' for k, v in attributes or [])
        if isinstance(number, int | np.integer) and not isinstance(number, bool):
            text = str(int(number))
        else:
            text = repr(float(number))
        self.fh.write(f"<c{attr}><v>{text}</v></c>")


def text_width(text) -> int:
    """Display width of a cell's text: CJK (wide) characters count 2."""
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


class _Sheet:
    """A worksheet with the widths its cells need (wide characters count 2)."""

    def __init__(self, book: _Book, name: str):
        self.book = book
        self.ws: Worksheet = book.wb.add_worksheet(name, worksheet_class=_FullPrecisionSheet)
        self.name = name
        self.widths: dict[int, int] = {}

    def fit(self, col: int, text, cap: int = MAX_WIDTH) -> None:
        self.widths[col] = max(self.widths.get(col, 0), min(text_width(text) + 2, cap))

    def text(self, r: int, c: int, s, fmt=None, fit: bool = True, cap: int = MAX_WIDTH) -> None:
        s = "" if s is None else str(s)
        self.ws.write_string(r, c, s, fmt or self.book.f["text"])
        if fit:
            self.fit(c, s, cap)

    def num(self, r: int, c: int, x, fmt=None) -> None:
        """A number (blank for NaN or None)."""
        fmt = fmt or self.book.f["number"]
        if x is None or (isinstance(x, float | np.floating) and not np.isfinite(x)):
            self.ws.write_blank(r, c, None, fmt)
            return
        if isinstance(x, bool | np.bool_):
            self.ws.write_boolean(r, c, bool(x), fmt)
            return
        self.ws.write_number(r, c, x.item() if isinstance(x, np.generic) else x, fmt)
        self.fit(c, f"{float(x):,.4f}", 22)

    def formula(self, r: int, c: int, f: str, value: float, fmt=None) -> None:
        value = float(value)
        self.ws.write_formula(r, c, f, fmt or self.book.f["number"], value)
        self.fit(c, f"{value:,.4f}", 22)

    def header(self, r: int, c: int, labels, fmt=None) -> None:
        for i, label in enumerate(labels):
            if isinstance(label, int | np.integer):
                self.ws.write_number(r, c + i, int(label), self.book.f["year_header"])
                self.fit(c + i, str(label))
            else:
                self.text(r, c + i, label, fmt or self.book.f["header"])

    def finish(self) -> None:
        for c, w in self.widths.items():
            self.ws.set_column(c, c, max(w, 6))


class _Book:
    def __init__(self, path: Path):
        self.wb = Workbook(
            str(path), {"default_format_properties": {"font_name": FONT, "font_size": 10}}
        )
        add = self.wb.add_format
        border = {"border": 1, "border_color": "#BFBFBF"}
        self.f = {
            "text": add({}),
            "wrap": add({"text_wrap": True, "valign": "top"}),
            "title": add({"bold": True, "font_size": 14}),
            "bold": add({"bold": True}),
            "note": add({"italic": True, "font_color": "#595959"}),
            "header": add({"bold": True, "bg_color": HEADER_FILL, **border, "text_wrap": True}),
            "year_header": add(
                {"bold": True, "bg_color": HEADER_FILL, **border, "num_format": "0"}
            ),
            "number": add({"num_format": "#,##0.00##"}),
            "int": add({"num_format": "#,##0"}),
            "percent": add({"num_format": "0.0%"}),
            "met": add({"font_color": "#006100", "bg_color": "#C6EFCE"}),
            "missed": add({"font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            "grey": add({"bg_color": "#F2F2F2", **border}),
        }
        self._units: dict[tuple, object] = {}
        self.exact: list[tuple[str, str, str]] = []  # (sheet, cell, repr) of every input cell

    def input_number(self, sheet: _Sheet, r: int, c: int, x: float, fmt) -> None:
        """An input cell: the number, and its exact repr in the hidden sheet."""
        x = x.item() if isinstance(x, np.generic) else x
        sheet.ws.write_number(r, c, x, fmt)
        self.exact.append((sheet.name, xl_rowcol_to_cell(r, c), repr(x)))

    def write_exact(self) -> None:
        ws = self.wb.add_worksheet(layout.EXACT)
        for i, row in enumerate(self.exact):
            for j, text in enumerate(row):
                ws.write_string(i, j, text)
        ws.very_hidden()

    def unit(self, unit: str, decimals: int = 2, *, editable: bool = False, total=False):
        """A number format that shows the unit (``#,##0.00"亿元"``)."""
        key = (unit, decimals, editable, total)
        if key not in self._units:
            digits = "0." + "0" * decimals if decimals else "0"
            shown = unit.replace('"', "")
            props = {"num_format": f'#,##0{digits[1:]}"{shown}"' if shown else f"#,##{digits}"}
            if editable:
                props.update(locked=False, bg_color=INPUT_FILL, border=1, border_color="#BF9000")
            if total:
                props.update(bold=True, top=1)
            self._units[key] = self.wb.add_format(props)
        return self._units[key]


def _money_decimals(unit: str) -> int:
    return 4 if unit == "亿元" else 2


# --------------------------------------------------------------------------- entry point


def write_workbook(
    path: Path,
    *,
    prepared,
    ledger,
    no_fund,
    grant: np.ndarray,
    compare=None,
    sweep=None,
    uncertainty=None,
) -> None:
    """Write ``report.xlsx`` at ``path``: summary, ledger, allocation (input), assumptions
    (input), and compare / sweep when given. ``grant`` is (cluster, year, category) in 亿元.
    ``uncertainty`` is accepted and not written yet."""
    del uncertainty  # no sheet yet
    path = Path(path)
    book = _Book(path)
    a = prepared.arrays
    grant = np.asarray(grant, dtype=float)
    summary = _Sheet(book, layout.SUMMARY)
    led = _Sheet(book, layout.LEDGER)
    alloc = _Sheet(book, layout.ALLOCATION) if a.fundable.any() else None
    assume = _Sheet(book, layout.ASSUMPTIONS)
    budget_cells = _assumptions(assume, prepared)
    cluster_block = _allocation(alloc, prepared, grant, budget_cells) if alloc else None
    _ledger(led, prepared, ledger, no_fund)
    if compare is not None:
        _compare(_Sheet(book, layout.COMPARE), compare)
    if sweep is not None:
        _sweep(_Sheet(book, layout.SWEEP), sweep)
    _summary(summary, prepared, ledger, no_fund, grant, cluster_block, compare, sweep)
    for sheet in (summary, led, alloc, assume):
        if sheet is not None:
            sheet.finish()
    book.write_exact()
    book.wb.close()


# --------------------------------------------------------------------------- 摘要


def _summary(s: _Sheet, prep, ledger, no_fund, grant, cluster_block, compare, sweep) -> None:
    a, loaded = prep.arrays, prep.loaded
    meta = loaded.scenario.scenario
    f = s.book.f
    s.ws.set_column(0, 0, 24)
    s.text(0, 0, f"{meta.title}", f["title"], fit=False)
    n = ledger.met.shape[0]
    met, met0 = int(ledger.met[:, 0].sum()), int(no_fund.met[:, 0].sum())
    rows = [
        ("地区 jurisdiction", meta.jurisdiction),
        ("情景 scenario", meta.id),
        ("情景文件 scenario file", loaded.file),
        ("SHA-256", loaded.sha256),
        ("假设调整 what-ifs", ", ".join(loaded.what_ifs) or "—"),
        ("--set", ", ".join(loaded.sets) or "—"),
        ("年份 years", f"{a.years[0]}–{a.years[-1]} (基期 base {a.years[0]})"),
        ("目标达成 targets met", f"{met} / {n} (无资金 without the fund: {met0} / {n})"),
        ("版本 version", f"simulator {__version__}"),
    ]
    funds = loaded.scenario.funds
    if funds is not None:
        money = a.fund_unit_factor
        spent = grant.sum() / money
        budget = a.budget[a.fund_years].sum() / money
        rows.insert(
            7,
            (
                "专项资金 fund",
                f"{funds.name}: {spent:,.4g} of {budget:,.4g} {a.fund_unit} "
                f"over {a.years[a.fund_years][0]}–{a.years[a.fund_years][-1]}",
            ),
        )
    r = 2
    for label, value in rows:
        s.text(r, 0, label, f["bold"], fit=False)
        s.text(r, 1, value, cap=90)
        r += 1
    r += 1
    s.text(r, 0, "工作表 sheets", f["bold"], fit=False)
    guide = [
        (
            layout.LEDGER,
            "每个目标: 要求、无资金与有资金的预测、差距、达标 — every target, required, "
            "projected without and with the fund, gap, met",
        ),
        (
            layout.ALLOCATION,
            "资金分配 (可编辑黄色单元格) — the allocation; edit the yellow cells, then "
            "`simulator run FILE --allocation report.xlsx`",
        ),
        (
            layout.ASSUMPTIONS,
            "假设 (可编辑黄色单元格) — growth rates, baselines, factors with provenance; "
            "edit, then `simulator run FILE --what-if report.xlsx`",
        ),
    ]
    if cluster_block is None:  # no fund to allocate: no allocation sheet
        guide = [g for g in guide if g[0] != layout.ALLOCATION]
    if compare is not None:
        guide.append((layout.COMPARE, "分配方案比较 — allocations side by side"))
    if sweep is not None:
        guide.append((layout.SWEEP, "预算扫描 — the objective over annual budgets"))
    for name, text in guide:
        r += 1
        s.ws.write_url(r, 0, f"internal:'{name}'!A1", string=name)
        s.text(r, 1, text, cap=90)
    if cluster_block is not None:
        chart = _allocation_chart(s.book, a, cluster_block)
        s.ws.insert_chart(r + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})
    s.ws.hide_gridlines(2)


# --------------------------------------------------------------------------- 目标台账


def _ledger(s: _Sheet, prep, ledger, no_fund) -> None:
    a = prep.arrays
    f = s.book.f
    after = tables.targets_frame(ledger, a.years).to_pandas()
    before = tables.targets_frame(no_fund, a.years).to_pandas()
    s.text(0, 0, "目标台账 target ledger", f["title"], fit=False)
    s.text(
        1,
        0,
        "无资金 = the projection without the fund; 有资金 = with this allocation. "
        "Gaps in the target's unit; relative gap = gap / required.",
        f["note"],
        fit=False,
    )
    head = [
        "target_id",
        "名称 name",
        "指标 indicator",
        "范围 scope",
        "年份 year",
        "单位 unit",
        "要求 required",
        "无资金 without fund",
        "有资金 with fund",
        "差距 gap",
        "相对差距 无资金 rel. gap without",
        "相对差距 有资金 rel. gap with",
        "无资金达标 met without",
        "达标 met",
        "来源 provenance",
    ]
    h = 3
    s.header(h, 0, head)
    for i, (_, row) in enumerate(after.iterrows()):
        r = h + 1 + i
        unit = str(row["unit"])
        fmt = s.book.unit(unit, 2)
        b = before.iloc[i]
        s.text(r, 0, row["target_id"])
        s.text(r, 1, row["name"] or "", cap=40)
        s.text(r, 2, row["indicator"])
        s.text(r, 3, row["scope"])
        s.num(r, 4, int(row["year"]), f["int"])
        s.text(r, 5, unit)
        s.num(r, 6, float(row["required"]), fmt)
        s.num(r, 7, float(b["projected"]), fmt)
        s.num(r, 8, float(row["projected"]), fmt)
        s.num(r, 9, float(row["gap"]), fmt)
        s.num(r, 10, float(b["gap_rel"]), f["percent"])
        s.num(r, 11, float(row["gap_rel"]), f["percent"])
        s.text(
            r,
            12,
            "达标 met" if b["met"] else "未达标 missed",
            f["met"] if b["met"] else f["missed"],
        )
        s.text(
            r,
            13,
            "达标 met" if row["met"] else "未达标 missed",
            f["met"] if row["met"] else f["missed"],
        )
        s.text(r, 14, row["provenance"] or "", cap=50)
    last = h + len(after)
    s.ws.freeze_panes(h + 1, 1)
    s.ws.autofilter(h, 0, last, len(head) - 1)
    if len(after):
        chart = s.book.wb.add_chart({"type": "bar"})
        for col, name, color in (
            (10, "无资金 without fund", "#A5A5A5"),
            (11, "有资金 with fund", "#4472C4"),
        ):
            chart.add_series(
                {
                    "name": name,
                    "categories": [s.name, h + 1, 0, last, 0],
                    "values": [s.name, h + 1, col, last, col],
                    "fill": {"color": color},
                }
            )
        chart.set_title({"name": "相对差距 relative gap (≥ 0: met)"})
        chart.set_x_axis({"num_format": "0%", "name": "gap / required"})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 820, "height": 40 + 22 * len(after)})
        s.ws.insert_chart(last + 2, 1, chart)


# --------------------------------------------------------------------------- 资金分配


def _allocation(s: _Sheet, prep, grant: np.ndarray, budget_cells: dict) -> dict:
    """The grid a planner edits, its totals, the budget and the share rules. Returns where the
    per-cluster block is (for the charts)."""
    a = prep.arrays
    f = s.book.f
    funds = prep.loaded.scenario.funds
    unit, money = a.fund_unit, a.fund_unit_factor
    dec = _money_decimals(unit)
    edit = s.book.unit(unit, dec, editable=True)
    shown = s.book.unit(unit, dec)
    total_fmt = s.book.unit(unit, dec, total=True)
    clusters = np.flatnonzero(a.fundable)
    years = np.flatnonzero(a.fund_years)
    with_cat = a.category_ids != ("all",)
    cats = range(len(a.category_ids))
    names = dict(zip(a.cluster_ids, a.cluster_names, strict=True))
    cat_names = {c.id: c.name for c in funds.categories} if funds else {}

    s.text(
        0, 0, f"资金分配 allocation: {funds.name if funds else ''} ({unit})", f["title"], fit=False
    )
    s.text(
        1,
        0,
        f"编辑黄色单元格(金额 ≥ 0,单位 {unit}),保存后运行 — edit the yellow cells "
        f"(amounts ≥ 0 in {unit}), save, then: simulator run FILE --allocation report.xlsx",
        f["note"],
        fit=False,
    )
    rules = []
    if a.must_spend:
        rules.append(
            "每年须用完预算 must spend the whole budget"
            + (" (the total)" if np.isfinite(a.fund_total) else " each year")
        )
    if np.isfinite(a.fund_total):
        rules.append(f"资金总额 fund total {a.fund_total / money:g} {unit}")
    s.text(
        2,
        0,
        "规则 rules: " + ("; ".join(rules) or "预算为上限 the budget is an upper limit"),
        f["note"],
        fit=False,
    )

    h = 3
    fixed = [layout.CLUSTER_HEADER, layout.NAME_HEADER]
    if with_cat:
        fixed += [layout.CATEGORY_HEADER, layout.CATEGORY_NAME_HEADER]
    y0 = len(fixed)
    s.header(h, 0, [*fixed, *(int(a.years[t]) for t in years), layout.TOTAL_HEADER])
    tc = y0 + len(years)  # the total column
    first = h + 1
    r = first
    for c in clusters:
        for k in cats:
            s.text(r, 0, a.cluster_ids[c])
            s.text(r, 1, names[a.cluster_ids[c]], cap=36)
            if with_cat:
                s.text(r, 2, a.category_ids[k])
                s.text(r, 3, cat_names.get(a.category_ids[k], ""), cap=36)
            for j, t in enumerate(years):
                s.book.input_number(s, r, y0 + j, float(grant[c, t, k] / money), edit)
                s.fit(y0 + j, f"{grant[c, t, k] / money:,.4f}{unit}", 22)
            row_sum = grant[c, years, k].sum() / money
            s.formula(r, tc, f"=SUM({_cell(r, y0)}:{_cell(r, tc - 1)})", row_sum, shown)
            r += 1
    last = r - 1
    s.ws.data_validation(
        first,
        y0,
        last,
        tc - 1,
        {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "error_title": "金额 amount",
            "error_message": f"金额须为 ≥ 0 的数字 (单位 {unit}) — an amount ≥ 0 in {unit}",
        },
    )
    # totals, budget, what is left
    spent = grant.sum(axis=(0, 2)) / money
    budget = a.budget / money
    r_total, r_budget, r_left = last + 1, last + 2, last + 3
    s.text(r_total, 0, layout.TOTAL_HEADER, f["bold"])
    s.text(r_budget, 0, "预算 budget", f["bold"])
    s.text(r_left, 0, "余额 left", f["bold"])
    for j, t in enumerate(years):
        col = y0 + j
        s.formula(
            r_total, col, f"=SUM({_cell(first, col)}:{_cell(last, col)})", spent[t], total_fmt
        )
        where = budget_cells.get(int(a.years[t]))
        if where:
            s.formula(r_budget, col, f"='{layout.ASSUMPTIONS}'!{where}", budget[t], shown)
        else:
            s.num(r_budget, col, float(budget[t]), shown)
        s.formula(
            r_left,
            col,
            f"={_cell(r_budget, col)}-{_cell(r_total, col)}",
            budget[t] - spent[t],
            shown,
        )
    for row, value in ((r_total, spent[years].sum()), (r_budget, budget[years].sum())):
        s.formula(row, tc, f"=SUM({_cell(row, y0)}:{_cell(row, tc - 1)})", value, total_fmt)
    s.formula(
        r_left,
        tc,
        f"={_cell(r_budget, tc)}-{_cell(r_total, tc)}",
        budget[years].sum() - spent[years].sum(),
        shown,
    )
    grand = _cell(r_total, tc, absolute=True)

    # per cluster and per use, beside the grid: live sums and the share rules
    bc = tc + 2
    s.text(
        h - 1, bc, "每个集群 per cluster (占年度资金的比例 share of the fund)", f["bold"], fit=False
    )
    s.header(
        h,
        bc,
        [
            "集群 cluster",
            "名称 name",
            *(int(a.years[t]) for t in years),
            "合计 total",
            "占比 share",
            "最低 min share",
            "最高 max share",
        ],
    )
    ids = f"{_cell(first, 0, absolute=True)}:{_cell(last, 0, absolute=True)}"
    per_cluster = grant.sum(axis=2) / money
    grand_value = spent[years].sum()
    for i, c in enumerate(clusters):
        row = h + 1 + i
        s.text(row, bc, a.cluster_ids[c])
        s.text(row, bc + 1, names[a.cluster_ids[c]], cap=36)
        for j, t in enumerate(years):
            col = y0 + j
            rng = f"{_cell(first, col, col_abs=True)}:{_cell(last, col, col_abs=True)}"
            s.formula(
                row,
                bc + 2 + j,
                f"=SUMIFS({rng},{ids},{_cell(row, bc, col_abs=True)})",
                per_cluster[c, t],
                shown,
            )
        ct = bc + 2 + len(years)
        total_c = per_cluster[c, years].sum()
        s.formula(row, ct, f"=SUM({_cell(row, bc + 2)}:{_cell(row, ct - 1)})", total_c, total_fmt)
        s.formula(
            row,
            ct + 1,
            f"=IF({grand}=0,0,{_cell(row, ct)}/{grand})",
            total_c / grand_value if grand_value else 0.0,
            f["percent"],
        )
        s.num(row, ct + 2, float(a.share_min[c]), f["percent"])
        s.num(row, ct + 3, float(a.share_max[c]), f["percent"])
    block = {
        "sheet": s.name,
        "first": h + 1,
        "last": h + len(clusters),
        "name_col": bc + 1,
        "year_cols": [(int(a.years[t]), bc + 2 + j) for j, t in enumerate(years)],
    }
    r2 = h + len(clusters) + 3
    if with_cat:
        s.text(r2 - 1, bc, "每个用途 per use of the fund", f["bold"], fit=False)
        s.header(
            r2,
            bc,
            [
                "用途 use",
                "名称 name",
                *(int(a.years[t]) for t in years),
                "合计 total",
                "占比 share",
                "最低 min share",
                "最高 max share",
            ],
        )
        cat_col = f"{_cell(first, 2, absolute=True)}:{_cell(last, 2, absolute=True)}"
        per_cat = grant.sum(axis=0) / money
        for k in cats:
            row = r2 + 1 + k
            s.text(row, bc, a.category_ids[k])
            s.text(row, bc + 1, cat_names.get(a.category_ids[k], ""), cap=36)
            for j, t in enumerate(years):
                col = y0 + j
                rng = f"{_cell(first, col, col_abs=True)}:{_cell(last, col, col_abs=True)}"
                s.formula(
                    row,
                    bc + 2 + j,
                    f"=SUMIFS({rng},{cat_col},{_cell(row, bc, col_abs=True)})",
                    per_cat[t, k],
                    shown,
                )
            ct = bc + 2 + len(years)
            total_k = per_cat[years, k].sum()
            s.formula(
                row, ct, f"=SUM({_cell(row, bc + 2)}:{_cell(row, ct - 1)})", total_k, total_fmt
            )
            s.formula(
                row,
                ct + 1,
                f"=IF({grand}=0,0,{_cell(row, ct)}/{grand})",
                total_k / grand_value if grand_value else 0.0,
                f["percent"],
            )
            s.num(row, ct + 2, float(a.category_min[k]), f["percent"])
            s.num(row, ct + 3, float(a.category_max[k]), f["percent"])
        s.text(
            r2 + len(a.category_ids) + 1,
            bc,
            "占比按年度资金计 — the shares apply to each year's fund",
            f["note"],
            fit=False,
        )
    s.ws.freeze_panes(h + 1, 2)
    s.ws.insert_chart(
        r_left + 2, 0, _allocation_chart(s.book, a, block), {"x_scale": 1.4, "y_scale": 1.2}
    )
    s.ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )
    return block


def _allocation_chart(book: _Book, a, block: dict):
    chart = book.wb.add_chart({"type": "column", "subtype": "stacked"})
    for year, col in block["year_cols"]:
        chart.add_series(
            {
                "name": str(year),
                "categories": [
                    block["sheet"],
                    block["first"],
                    block["name_col"],
                    block["last"],
                    block["name_col"],
                ],
                "values": [block["sheet"], block["first"], col, block["last"], col],
            }
        )
    chart.set_title({"name": f"资金分配 allocation per cluster ({a.fund_unit})"})
    chart.set_y_axis({"name": a.fund_unit, "num_format": "#,##0.0#"})
    chart.set_legend({"position": "bottom"})
    return chart


def _cell(r: int, c: int, *, absolute: bool = False, col_abs: bool = False) -> str:
    return xl_rowcol_to_cell(r, c, row_abs=absolute, col_abs=absolute or col_abs)


# --------------------------------------------------------------------------- 假设


def _assumptions(s: _Sheet, prep) -> dict[int, str]:
    """Every number a what-if may change, one row each, keyed by its ``--set`` path; returns
    the cells of the annual budget by year (the allocation sheet's budget row refers to them)."""
    f = s.book.f
    data = prep.loaded.resolved
    rows = layout.assumption_rows(data)
    plan, _ = layout.scenario_years(data)
    s.text(0, 0, "假设 assumptions", f["title"], fit=False)
    s.text(
        1,
        0,
        "编辑黄色单元格后运行 — edit the yellow cells, save, then: simulator run FILE "
        "--what-if report.xlsx (a cell left as it is changes nothing; column A is the "
        "--set path of its row: do not change it)",
        f["note"],
        fit=False,
    )
    s.text(2, 0, layout.SCENARIO_LABEL, f["bold"], fit=False)
    s.text(2, 1, layout.scenario_id(data), fit=False)
    h = 4
    value_col, y0 = 4, 5
    tail = y0 + len(plan)
    s.header(
        h,
        0,
        [
            layout.PATH_HEADER,
            "集群 cluster",
            "项目 item",
            "单位 unit",
            layout.VALUE_HEADER,
            *plan,
            "来源 provenance",
            "说明 source / reason",
            "原为 was (before a what-if)",
        ],
    )
    r = h + 1
    section = None
    budget_cells: dict[int, str] = {}
    checks = _Validations()
    cols = {y: y0 + i for i, y in enumerate(plan)}
    for row in rows:
        if row.section != section:
            section = row.section
            label = layout.SECTIONS[section]
            if section == "baseline":
                label += f" {plan[0] - 1}" if plan else ""
            s.text(r, 1, label, f["bold"], fit=False)
            r += 1
        s.text(r, 0, row.path, cap=46)
        s.text(r, 1, f"{row.cluster} {row.cluster_name}".strip(), cap=30)
        s.text(r, 2, row.label, cap=36)
        s.text(r, 3, row.unit)
        edit = s.book.unit(row.unit, 2, editable=True)
        if row.years is None:
            s.book.input_number(s, r, value_col, row.values[0], edit)
            s.fit(value_col, f"{row.values[0]:,.2f}{row.unit}", 22)
            checks.add(r, value_col, value_col, row)
            for y in plan:
                s.ws.write_blank(r, cols[y], None, f["grey"])
        else:
            s.ws.write_blank(r, value_col, None, f["grey"])
            for y in plan:
                if y in row.years:
                    v = row.values[row.years.index(y)]
                    s.book.input_number(s, r, cols[y], v, edit)
                    s.fit(cols[y], f"{v:,.2f}{row.unit}", 22)
                    if row.path == "funds.budget":
                        budget_cells[y] = _cell(r, cols[y], absolute=True)
                else:
                    s.ws.write_blank(r, cols[y], None, f["grey"])
            used = [cols[y] for y in row.years if y in cols]
            if used:
                checks.add(r, min(used), max(used), row)
        s.text(r, tail, PROVENANCE_ZH.get(row.provenance_kind, row.provenance_kind))
        s.text(r, tail + 1, row.provenance, f["text"], cap=80)
        s.text(r, tail + 2, row.was, cap=40)
        r += 1
    checks.write(s.ws)
    s.ws.freeze_panes(h + 1, 1)
    s.ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )
    return budget_cells


class _Validations:
    """The data validation of 假设's input cells, one per rule, over merged blocks of cells (a
    sheet of 1,000 clusters keeps a handful of rules, not tens of thousands)."""

    def __init__(self):
        self.blocks: dict[tuple, list[list[int]]] = {}

    def add(self, r: int, c0: int, c1: int, row) -> None:
        key = (row.minimum, row.unit if row.minimum not in (None, 0) else "")
        blocks = self.blocks.setdefault(key, [])
        last = blocks[-1] if blocks else None
        if last and last[2] == c0 and last[3] == c1 and last[1] == r - 1:
            last[1] = r
        else:
            blocks.append([r, r, c0, c1])

    def write(self, ws) -> None:
        for (minimum, unit), blocks in self.blocks.items():
            if minimum is None:
                rule = {"criteria": "between", "minimum": -1e300, "maximum": 1e300}
                message = "须为数字 — a number"
            elif minimum == 0:
                rule = {"criteria": ">=", "value": 0}
                message = "须为 ≥ 0 的数字 — a number ≥ 0"
            else:
                rule = {"criteria": ">", "value": minimum}
                message = f"须大于 {minimum:g} {unit} — a number above {minimum:g} {unit}"
            ranges = [xl_range(r0, c0, r1, c1) for r0, r1, c0, c1 in blocks]
            r0, r1, c0, c1 = blocks[0]
            ws.data_validation(
                r0,
                c0,
                r1,
                c1,
                {
                    "validate": "decimal",
                    **rule,
                    "error_title": "假设 assumption",
                    "error_message": message,
                    "multi_range": " ".join(ranges),
                },
            )


# --------------------------------------------------------------------------- 比较, 扫描


def _frame(s: _Sheet, df, h: int, formats: dict | None = None) -> None:
    formats = formats or {}
    s.header(h, 0, list(df.columns))
    for i, row in enumerate(df.itertuples(index=False)):
        for j, x in enumerate(row):
            col = df.columns[j]
            if isinstance(x, str):
                s.text(h + 1 + i, j, x, cap=50)
            elif x is None or x is pd.NA:
                s.ws.write_blank(h + 1 + i, j, None)
            else:
                s.num(h + 1 + i, j, x, formats.get(col))
    s.ws.freeze_panes(h + 1, 1)
    s.finish()


def _compare(s: _Sheet, res) -> None:
    from .records import comparison_frame

    f = s.book.f
    df = comparison_frame(res)
    a = res.prepared.arrays
    s.text(
        0,
        0,
        f"比较 allocations compared (objective: {res.objective}; lower is better "
        "unless the objective says otherwise)",
        f["title"],
        fit=False,
    )
    money = s.book.unit(a.fund_unit, _money_decimals(a.fund_unit))
    _frame(s, df, 2, {"spent": money, "targets_met": f["int"]})
    n = len(df)
    if n:
        chart = s.book.wb.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": "目标达成 targets met",
                "categories": [s.name, 3, 0, 2 + n, 0],
                "values": [
                    s.name,
                    3,
                    list(df.columns).index("targets_met"),
                    2 + n,
                    list(df.columns).index("targets_met"),
                ],
            }
        )
        chart.set_title({"name": "每个方案的达标目标数 targets met per allocation"})
        chart.set_legend({"none": True})
        s.ws.insert_chart(n + 5, 0, chart, {"x_scale": 1.2})


def _sweep(s: _Sheet, res) -> None:
    from .records import sweep_frames

    f = s.book.f
    summary, _ = sweep_frames(res)
    a = res.prepared.arrays
    s.text(0, 0, f"扫描 budget sweep (objective: {res.objective})", f["title"], fit=False)
    money = s.book.unit(a.fund_unit, _money_decimals(a.fund_unit))
    _frame(s, summary, 2, {"budget": money, "spent": money, "targets_met": f["int"]})
    n = len(summary)
    if n:
        cols = list(summary.columns)
        chart = s.book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        chart.add_series(
            {
                "name": "目标函数 objective",
                "categories": [s.name, 3, cols.index("budget"), 2 + n, cols.index("budget")],
                "values": [s.name, 3, cols.index("objective"), 2 + n, cols.index("objective")],
            }
        )
        chart.add_series(
            {
                "name": "目标达成 targets met",
                "categories": [s.name, 3, cols.index("budget"), 2 + n, cols.index("budget")],
                "values": [s.name, 3, cols.index("targets_met"), 2 + n, cols.index("targets_met")],
                "y2_axis": True,
            }
        )
        chart.set_title({"name": "预算扫描 objective and targets met over the annual budget"})
        chart.set_x_axis({"name": f"年度预算 annual budget ({a.fund_unit})"})
        chart.set_y_axis({"name": "objective"})
        chart.set_y2_axis({"name": "targets met"})
        chart.set_legend({"position": "bottom"})
        s.ws.insert_chart(n + 5, 0, chart, {"x_scale": 1.3})
