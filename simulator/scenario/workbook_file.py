"""The round trip of ``report.xlsx``: its layout, and reading its two input sheets back.

A workbook written by :mod:`simulator.outputs.workbook` has two sheets a planner may edit:

- **资金分配** (the allocation): one row per fundable cluster (and use of the fund), one column
  per fund year. ``run --allocation report.xlsx`` reads it: the cells become the rows of an
  allocation CSV (``cluster, year, amount[, category]``) and go through the same checks as a
  CSV (:func:`.allocation_file.allocation_from_rows`), with every problem named by its cell.
- **假设** (the assumptions): one row per number of the scenario a what-if may change, keyed by
  its ``--set`` path in column A. ``--what-if report.xlsx`` compares every cell with the
  scenario's number at that path and turns the cells that differ into the ``set`` of a what-if,
  so an unedited workbook changes nothing, and editing a growth rate in every year is exactly
  ``--set clusters.<id>.growth.<name>=<value>``.

Both the writer and the reader take the rows of 假设 from :func:`assumption_rows`, so they
always agree on what the sheet holds. Numbers are written at full precision.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..units import factor
from .arrays import ScenarioArrays

SUMMARY = "摘要"
LEDGER = "目标台账"
ALLOCATION = "资金分配"
ASSUMPTIONS = "假设"
COMPARE = "比较"
SWEEP = "扫描"
#: a very hidden sheet: the exact number written in every input cell, as text (sheet, cell,
#: repr), so that a tool saving numbers to 15 or 16 digits does not move an unedited cell
EXACT = "_exact"

#: header cells of the allocation grid (column A's header marks the header row)
CLUSTER_HEADER = "cluster 集群"
NAME_HEADER = "名称 name"
CATEGORY_HEADER = "category 用途"
CATEGORY_NAME_HEADER = "用途名称 use"
TOTAL_HEADER = "合计 total"

#: header cells of the assumptions table
PATH_HEADER = "path 路径"
VALUE_HEADER = "值 value"
#: the cell beside which 假设 names the scenario it was written for
SCENARIO_LABEL = "scenario 情景"

PROVENANCE_KEYS = ("plan", "statistic", "assumption")

#: Chinese labels of the fields 假设 shows
LABELS = {
    "revenue": "主营业务收入 revenue",
    "va_rate": "增加值率 VA rate",
    "investment": "工业投资 investment",
    "tech_investment": "技改投资 技改 investment",
    "land": "工业用地 land",
    "energy_intensity": "单位增加值能耗 energy per VA",
    "tax": "税收 taxes",
    "employment": "从业人员 employment",
    "rd_share": "研发经费占比 R&D share",
    "new_product_share": "新产品产值率 new-product share",
    "export_share": "出口占比 export share",
    "profit_share": "利润率 profit share",
    "hightech_va_share": "高新技术增加值占比 high-tech VA share",
    "hightech_output_share": "高新技术产值占比 high-tech output share",
    "digital_core_va_share": "数字经济核心产业占比 digital-core VA share",
    "firms": "规上企业数 firms",
    "revenue_per_mu": "亩均营业收入 revenue per 亩",
    "tax_rate": "税收/收入 tax rate",
    "productivity": "劳动生产率 productivity",
    "leverage": "撬动投资 leverage",
    "revenue_per_investment": "投资产出比 revenue per investment",
    "tech_share": "技改占比 技改 share",
    "leverage_factor": "用途撬动系数 leverage factor",
    "budget": "年度预算 annual budget",
    "total": "资金总额 fund total",
    "deflator": "价格指数增速 deflator",
    "gdp": "地区生产总值 GDP",
    "gdp_growth": "GDP 增速 GDP growth",
    "new_land": "新增工业用地上限 new land limit",
    "energy_cap": "能耗总量上限 energy cap",
    "land_floor": "工业用地下限 land floor",
}

#: sections of 假设, in order
SECTIONS = {
    "baseline": "基期值 baseline",
    "growth": "增长率 growth (per year)",
    "response": "资金响应 fund response",
    "funds": "专项资金 fund",
    "prices": "价格 prices",
    "context": "背景 context",
    "limits": "限制 limits",
}


@dataclass
class AssumptionRow:
    """One number of the scenario a what-if may change, as 假设 shows it."""

    path: str  # the --set path
    section: str  # a key of SECTIONS
    cluster: str  # cluster id, or "" for the jurisdiction
    cluster_name: str
    item: str  # the field's name
    unit: str
    years: tuple[int, ...] | None  # per-year rows: the years it has a value in; None: one value
    values: tuple[float, ...]  # one, or one per year
    provenance_kind: str
    provenance: str
    was: str
    minimum: float | None  # the least value the schema accepts (None: any number)

    @property
    def label(self) -> str:
        return LABELS.get(self.item, self.item)


def _provenance(q: dict) -> tuple[str, str, str]:
    kind = next((k for k in PROVENANCE_KEYS if q.get(k)), "")
    text = str(q.get(kind, "")) if kind else ""
    if q.get("source"):
        text = f"{text} [{q['source']}]"
    return kind, text, str(q.get("was") or "")


def _per_year(value: Any, years: list[int]) -> tuple[float, ...] | None:
    """A quantity's value in each of ``years`` (None when it has another shape)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return tuple(value for _ in years)
    if isinstance(value, list) and len(value) == len(years):
        return tuple(value)
    if isinstance(value, dict) and all(y in value for y in years):
        return tuple(value[y] for y in years)
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _quantity(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "unit" in node


def scenario_years(data: dict) -> tuple[list[int], list[int]]:
    """(plan years, fund years) of raw scenario data; empty when the data does not say."""
    meta = data.get("scenario") if isinstance(data, dict) else None
    try:
        base, horizon = int(meta["base_year"]), int(meta["horizon"])
    except (TypeError, KeyError, ValueError):
        return [], []
    plan = list(range(base + 1, horizon + 1))
    funds = data.get("funds")
    fund_years = plan
    if isinstance(funds, dict) and isinstance(funds.get("years"), list):
        fund_years = [y for y in funds["years"] if isinstance(y, int)]
    return plan, fund_years


def assumption_rows(data: dict) -> list[AssumptionRow]:
    """Every number of raw scenario data (defaults merged) that 假设 shows, in sheet order."""
    plan, fund_years = scenario_years(data)
    rows: list[AssumptionRow] = []

    def add(path, section, cluster, name, item, q, years=None, minimum=0.0):
        if not _quantity(q):
            return
        value = q["value"]
        if years is None:
            if not _is_number(value):
                return
            values = (value,)
        else:
            values = _per_year(value, years)
            if values is None or not all(_is_number(v) for v in values):
                return
        kind, text, was = _provenance(q)
        unit = str(q["unit"])
        rows.append(
            AssumptionRow(
                path,
                section,
                cluster,
                name,
                item,
                unit,
                None if years is None else tuple(years),
                tuple(values),
                kind,
                text,
                was,
                minimum,
            )
        )

    clusters = [c for c in data.get("clusters") or [] if isinstance(c, dict) and "id" in c]
    for section in ("baseline", "growth", "response"):
        for c in clusters:
            cid, name = str(c["id"]), str(c.get("name", ""))
            entries = c.get(section) or {}
            if not isinstance(entries, dict):
                continue
            for item, q in entries.items():
                path = f"clusters.{cid}.{section}.{item}"
                if section == "growth":
                    add(path, section, cid, name, item, q, plan, minimum=_growth_floor(q))
                elif section == "response" and item in ("lag", "pipeline"):
                    continue  # shapes, not single numbers
                else:
                    add(path, section, cid, name, item, q)
    funds = data.get("funds")
    if isinstance(funds, dict):
        add("funds.budget", "funds", "", "", "budget", funds.get("budget"), fund_years)
        add("funds.total", "funds", "", "", "total", funds.get("total"))
        for cat in funds.get("categories") or []:
            if isinstance(cat, dict) and "id" in cat:
                path = f"funds.categories.{cat['id']}.leverage_factor"
                add(
                    path,
                    "funds",
                    str(cat["id"]),
                    str(cat.get("name", "")),
                    "leverage_factor",
                    cat.get("leverage_factor"),
                )
    prices = data.get("prices")
    if isinstance(prices, dict):
        q = prices.get("deflator")
        add("prices.deflator", "prices", "", "", "deflator", q, plan, minimum=_growth_floor(q))
    context = data.get("context")
    if isinstance(context, dict):
        add("context.gdp", "context", "", "", "gdp", context.get("gdp"))
        q = context.get("gdp_growth")
        add(
            "context.gdp_growth", "context", "", "", "gdp_growth", q, plan, minimum=_growth_floor(q)
        )
    limits = data.get("limits")
    if isinstance(limits, dict):
        for item, q in limits.items():  # per year where the file gives it per year
            per_year = _quantity(q) and isinstance(q["value"], list | dict)
            add(f"limits.{item}", "limits", "", "", item, q, plan if per_year else None)
    return rows


def _growth_floor(q: Any) -> float | None:
    """A growth rate must stay above −100 %/yr: −100 in %/yr, −1 in 1/yr."""
    if not _quantity(q):
        return None
    try:
        return -1.0 / factor(str(q["unit"]), "growth")
    except (ValueError, ZeroDivisionError):
        return None


# --------------------------------------------------------------------------- reading


def _cell_name(row: int, col: int) -> str:
    """1-based (row, column) → ``D7``."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


class _Sheet:
    """A sheet's cells as values: the value Excel saved for a formula, else the cell itself."""

    def __init__(self, book: _Book, name: str):
        self.book, self.name = book, name
        self.ws = book.formulas[name]
        self._values = None

    def where(self, row: int, col: int) -> str:
        return f"{self.name}!{_cell_name(row, col)}"

    def error(self, message: str, row: int, col: int) -> InputError:
        return InputError(message, file=self.book.file, field=self.where(row, col))

    def value(self, row: int, col: int) -> Any:
        cell = self.ws.cell(row=row, column=col)
        if cell.data_type != "f":
            return cell.value
        if self._values is None:
            self._values = self.book.values()[self.name]
        saved = self._values.cell(row=row, column=col).value
        if saved is None:
            raise self.error(
                "a formula without a saved value: type the number, or open and save the "
                "workbook in Excel so the formula is computed",
                row,
                col,
            )
        return saved

    @property
    def max_row(self) -> int:
        return self.ws.max_row

    @property
    def max_column(self) -> int:
        return self.ws.max_column


class _Book:
    """A workbook opened twice when needed: formulas as written, and the values Excel saved."""

    def __init__(self, path: str | Path):
        import openpyxl

        self.path, self.file = Path(path), str(path)
        if not self.path.exists():
            raise InputError("no such file", file=self.file)
        try:
            self.formulas = openpyxl.load_workbook(self.path, data_only=False)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
            raise InputError(
                f"not an Excel workbook (.xlsx) that can be read: {exc}", file=self.file
            ) from None
        self._values = None
        self._exact: dict | None = None

    def values(self):
        import openpyxl

        if self._values is None:
            self._values = openpyxl.load_workbook(self.path, data_only=True)
        return self._values

    def exact(self, sheet: str, row: int, col: int, value: Any) -> Any:
        """``value``, or the exact number written in that cell when ``value`` is that number
        rounded to 15 or 16 digits (the cell was not edited; a tool saved it rounded)."""
        if self._exact is None:
            self._exact = {}
            if EXACT in self.formulas.sheetnames:
                for name, cell, text in self.formulas[EXACT].iter_rows(values_only=True):
                    try:
                        self._exact[(str(name), str(cell))] = float(text)
                    except (TypeError, ValueError):
                        continue
        return same_number(value, self._exact.get((sheet, _cell_name(row, col))))

    def sheet(self, name: str) -> _Sheet:
        if name not in self.formulas.sheetnames:
            raise InputError(
                f"no sheet {name} (has: {', '.join(self.formulas.sheetnames)})",
                file=self.file,
                field=name,
            )
        return _Sheet(self, name)


def same_number(value: Any, exact: float | None) -> Any:
    """``exact`` when ``value`` is ``exact`` rounded to 15 or 16 significant digits (what Excel
    shows and what some tools save), else ``value``."""
    if exact is None or not _is_number(value) or value == exact:
        return value
    if any(float(f"{exact:.{d}g}") == value for d in (15, 16)):
        return exact
    return value


def _text(x: Any) -> str:
    """A cell as the text a CSV would hold: numbers at full precision (repr)."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x).upper()
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
    return str(x).strip()


def _find_header(sheet: _Sheet, label: str, limit: int = 30) -> int:
    for r in range(1, min(sheet.max_row, limit) + 1):
        if _text(sheet.value(r, 1)) == label:
            return r
    raise InputError(
        f"no header row (column A saying {label!r} in the first {limit} rows)",
        file=sheet.book.file,
        field=sheet.name,
    )


def read_workbook_allocation(
    path: str | Path,
    a: ScenarioArrays,
    rows_to_grant: Callable[..., np.ndarray],
    *,
    check_budget: bool = True,
) -> np.ndarray:
    """Grant array (c, t, k) in 亿元 from the 资金分配 sheet: its cells as the rows of an
    allocation CSV, checked by the CSV's own rules (``rows_to_grant``:
    :func:`.allocation_file.allocation_from_rows`), every problem named by its cell. An empty
    cell is 0."""
    book = _Book(path)
    sheet = book.sheet(ALLOCATION)
    h = _find_header(sheet, CLUSTER_HEADER)
    header = [_text(sheet.value(h, c)) for c in range(1, sheet.max_column + 1)]
    col_category = header.index(CATEGORY_HEADER) + 1 if CATEGORY_HEADER in header else None
    fixed = (CLUSTER_HEADER, NAME_HEADER, CATEGORY_HEADER, CATEGORY_NAME_HEADER)
    first = 1  # the first year column: after the cluster columns at the left
    while first <= len(header) and header[first - 1] in fixed:
        first += 1
    year_cols = []
    for c in range(first, len(header) + 1):
        if header[c - 1] in ("", TOTAL_HEADER):
            break
        year_cols.append(c)
    if not year_cols:
        raise sheet.error("no year columns after the cluster columns", h, first)
    columns = ["cluster", "year", "amount"] + (["category"] if col_category else [])
    rows: list[list[str]] = [columns]
    where: dict[int, tuple[int, int]] = {}  # CSV line → (sheet row, year column)
    end = h + 1  # the row after the grid: its totals
    for r in range(h + 1, sheet.max_row + 1):
        cluster = _text(sheet.value(r, 1))
        if cluster == "" or cluster == TOTAL_HEADER:
            break
        end = r + 1
        category = [_text(sheet.value(r, col_category))] if col_category else []
        for c in year_cols:
            amount = book.exact(ALLOCATION, r, c, sheet.value(r, c))
            if isinstance(amount, bool):
                raise sheet.error(f"{amount} is not an amount", r, c)
            rows.append([cluster, _text(sheet.value(h, c)), _text(amount) or "0", *category])
            where[len(rows)] = (r, c)
    try:
        return rows_to_grant(rows, a, book.file, check_budget=check_budget)
    except InputError as exc:
        if exc.line is None and check_budget:  # over a year's budget: name that year's total
            spent = rows_to_grant(rows, a, book.file, check_budget=False).sum(axis=(0, 2))
            over = [int(a.years[t]) for t in np.flatnonzero(spent > a.budget)]
            col = {_text(sheet.value(h, c)): c for c in year_cols}.get(str(over[0]) if over else "")
            if col:
                raise sheet.error(exc.message, end, col) from None
        if exc.line is None or exc.line not in where:
            raise InputError(exc.message, file=book.file, field=ALLOCATION) from None
        r, c = where[exc.line]
        cells = {"cluster": (r, 1), "year": (h, c), "category": (r, col_category or 1)}
        row, col = cells.get(exc.field or "", (r, c))
        raise sheet.error(exc.message, row, col) from None


def _number(sheet: _Sheet, row: int, col: int) -> float:
    x = sheet.value(row, col)
    if isinstance(x, str):
        try:
            x = float(x.strip())
        except ValueError:
            raise sheet.error(f"{x!r} is not a number", row, col) from None
    if x is None:
        raise sheet.error("empty: a number is needed", row, col)
    if not _is_number(x):
        raise sheet.error(f"{x!r} is not a finite number", row, col)
    return x


def what_if_from_workbook(path: str | Path, data: dict) -> dict:
    """The 假设 sheet as a what-if (``description``, ``set``) on raw scenario ``data``: every
    cell that differs from the scenario's number at its row's path. A row whose years all hold
    one value sets that value (what ``--set PATH=VALUE`` does); different values per year set
    the quantity's value year by year."""
    book = _Book(path)
    sheet = book.sheet(ASSUMPTIONS)
    want = scenario_id(data)
    for r in range(1, min(sheet.max_row, 10) + 1):
        if _text(sheet.value(r, 1)) == SCENARIO_LABEL:
            have = _text(sheet.value(r, 2))
            if want and have != want:
                raise sheet.error(
                    f"written for scenario {have!r}, not {want!r}: write a workbook for this one "
                    "with simulator report",
                    r,
                    2,
                )
    h = _find_header(sheet, PATH_HEADER)
    header = [sheet.value(h, c) for c in range(1, sheet.max_column + 1)]
    texts = [_text(x) for x in header]
    if VALUE_HEADER not in texts:
        raise sheet.error(f"no {VALUE_HEADER!r} column in the header row", h, 1)
    col_value = texts.index(VALUE_HEADER) + 1
    col_year = {}
    for c, x in enumerate(header, start=1):
        if _is_number(x) and float(x).is_integer():
            col_year[int(x)] = c
        elif isinstance(x, str) and x.strip().isdigit():
            col_year[int(x.strip())] = c
    known = {row.path: row for row in assumption_rows(data)}
    seen: dict[str, int] = {}
    edited: dict[str, Any] = {}
    cells: list[str] = []
    for r in range(h + 1, sheet.max_row + 1):
        key = _text(sheet.value(r, 1))
        if not key:
            continue  # a section heading or a blank line
        if key not in known:
            raise sheet.error(
                f"{key!r} is not a number of this scenario a what-if can change", r, 1
            )
        if key in seen:
            raise sheet.error(f"{key} is also in row {seen[key]}", r, 1)
        seen[key] = r
        row = known[key]
        if row.years is None:
            new = same_number(_number(sheet, r, col_value), row.values[0])
            _check_minimum(sheet, row, new, r, col_value)
            if new != row.values[0]:
                edited[key] = new
                cells.append(_cell_name(r, col_value))
            continue
        values = []
        for y in row.years:
            if y not in col_year:
                raise sheet.error(f"no column for the year {y} in the header row", h, 1)
            v = same_number(_number(sheet, r, col_year[y]), row.values[row.years.index(y)])
            _check_minimum(sheet, row, v, r, col_year[y])
            values.append(v)
            if v != row.values[row.years.index(y)]:
                cells.append(_cell_name(r, col_year[y]))
        if tuple(values) == row.values:
            continue
        if len(set(values)) == 1:
            edited[key] = values[0]
        else:
            edited[key] = {"value": dict(zip(row.years, values, strict=True)), "unit": row.unit}
    label = Path(path).name
    shown = ", ".join(cells[:8]) + (f" and {len(cells) - 8} more" if len(cells) > 8 else "")
    description = f"cells edited in {label} {ASSUMPTIONS}: {shown or 'none'}"
    for p, value in edited.items():
        if isinstance(value, dict):  # a whole quantity: its provenance says what changed it
            old = known[p]
            if old.provenance_kind:
                value["was"] = f"{old.provenance_kind}: {old.provenance}"
            value["assumption"] = f"what-if {Path(path).stem}: {description}"
    return {"description": description, "set": edited}


def _check_minimum(sheet: _Sheet, row: AssumptionRow, value: float, r: int, c: int) -> None:
    if row.minimum is None:
        return
    if row.minimum == 0 and value < 0:
        raise sheet.error(f"{value:g} is negative; {row.label} is at least 0", r, c)
    if row.minimum < 0 and value <= row.minimum:
        raise sheet.error(
            f"{value:g} {row.unit}: a growth rate must be above {row.minimum:g} {row.unit}", r, c
        )


def scenario_id(data: dict) -> str:
    meta = data.get("scenario") if isinstance(data, dict) else None
    return str(meta.get("id", "")) if isinstance(meta, dict) else ""
