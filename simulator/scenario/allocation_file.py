"""Allocation tables (CSV ``cluster, year, amount[, category]``, amount in the fund's unit).

Reading checks everything a planner can get wrong and names the file, row and field:
missing columns, non-numbers, negative amounts, unknown clusters or categories, years outside
the fund years, clusters not eligible, duplicate rows, and spending over the annual budget.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..units import factor
from .arrays import ScenarioArrays
from .load import read_bytes

#: money allowed over the budget before it counts as over (rounding in a planner's table)
BUDGET_TOLERANCE = 1e-6


def read_text(path: str | Path) -> str:
    """A CSV's text: UTF-8 (with or without BOM) or GB18030/GBK, what Chinese Excel saves."""
    raw = read_bytes(path)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("not text in UTF-8 or GB18030/GBK", file=str(path))


def read_allocation(
    path: str | Path, a: ScenarioArrays, *, check_budget: bool = True
) -> np.ndarray:
    """Grant array (c, t, k) in canonical 亿元 from an allocation CSV. ``check_budget``: reject
    an allocation over a year's budget (``compare``); ``run`` reports it as a breach instead.
    A ``.xlsx`` file is a workbook from ``simulator report``: its 资金分配 sheet is read
    (:mod:`.workbook_file`) and checked by the same rules, with every problem named by its cell.
    """
    file = str(path)
    if Path(path).suffix.lower() == ".xlsx":
        from .workbook_file import read_workbook_allocation

        return read_workbook_allocation(path, a, allocation_from_rows, check_budget=check_budget)
    text = read_text(path)
    return allocation_from_rows(
        list(csv.reader(text.splitlines())), a, file, check_budget=check_budget
    )


def allocation_from_rows(
    rows: list[list[str]], a: ScenarioArrays, file: str, *, check_budget: bool = True
) -> np.ndarray:
    """Grant array (c, t, k) in 亿元 from an allocation table's rows (the header first, as
    text); errors name ``file``, the column as ``field`` and the row as ``line``."""
    if not rows:
        raise InputError("empty file; expected columns cluster, year, amount", file=file)
    header = [h.strip() for h in rows[0]]
    required = ["cluster", "year", "amount"]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; header is {header}",
            file=file,
            field="header",
            line=1,
        )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(
            f"repeated column(s) {', '.join(repeated)}", file=file, field="header", line=1
        )
    known = {"cluster", "year", "amount", "category", "unit"}
    unknown = [h for h in header if h not in known]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}", file=file, field="header", line=1
        )
    col = {h: i for i, h in enumerate(header)}
    has_categories = len(a.category_ids) > 1 or a.category_ids != ("all",)
    if has_categories and "category" not in col:
        raise InputError(
            f"this scenario splits the fund by category ({', '.join(a.category_ids)}): "
            "add a category column",
            file=file,
            field="header",
            line=1,
        )
    money = a.fund_unit_factor
    grant = np.zeros((a.n_clusters, a.n_years, len(a.category_ids)))
    seen: set[tuple] = set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"expected {len(header)} fields, got {len(row)}",
                file=file,
                field=f"row {n}",
                line=n,
            )
        cell = {h: row[i].strip() for h, i in col.items()}
        cluster = cell["cluster"]
        if cluster not in a.cluster_ids:
            raise InputError(f"unknown cluster {cluster!r}", file=file, field="cluster", line=n)
        c = a.cluster_ids.index(cluster)
        try:
            year = int(cell["year"])
        except ValueError:
            raise InputError(
                f"year {cell['year']!r} is not a year", file=file, field="year", line=n
            ) from None
        if year not in a.years or not a.fund_years[a.year_index(year)]:
            fy = a.years[a.fund_years]
            raise InputError(
                f"year {year} is not a fund year ({fy[0]}–{fy[-1]})",
                file=file,
                field="year",
                line=n,
            )
        try:
            amount = float(cell["amount"])
        except ValueError:
            raise InputError(
                f"amount {cell['amount']!r} is not a number", file=file, field="amount", line=n
            ) from None
        if not math.isfinite(amount):
            raise InputError("amount must be a finite number", file=file, field="amount", line=n)
        if amount < 0:
            raise InputError(f"negative amount {amount}", file=file, field="amount", line=n)
        if "unit" in cell and cell["unit"] and cell["unit"] != a.fund_unit:
            try:
                money_row = factor(cell["unit"], "money")
            except ValueError as exc:
                raise InputError(str(exc), file=file, field="unit", line=n) from None
        else:
            money_row = money
        if amount > 0 and not a.fundable[c]:
            raise InputError(
                f"cluster {cluster!r} is not eligible for the fund",
                file=file,
                field="cluster",
                line=n,
            )
        k = 0
        if "category" in col:
            category = cell["category"]
            if category not in a.category_ids:
                raise InputError(
                    f"unknown category {category!r} (have: {', '.join(a.category_ids)})",
                    file=file,
                    field="category",
                    line=n,
                )
            k = a.category_ids.index(category)
        key = (c, year, k)
        if key in seen:
            raise InputError(
                f"duplicate row for {cluster} {year}", file=file, field=f"row {n}", line=n
            )
        seen.add(key)
        grant[c, a.year_index(year), k] = amount * money_row
    if check_budget:
        over_budget(grant, a, file)
    return grant


def over_budget(grant: np.ndarray, a: ScenarioArrays, file: str) -> None:
    """An allocation must not spend more than the year's budget (nor less if must-spend)."""
    spent = grant.sum(axis=(0, 2))
    money = a.fund_unit_factor
    for t in np.flatnonzero(spent > a.budget * (1 + BUDGET_TOLERANCE) + BUDGET_TOLERANCE):
        raise InputError(
            f"spends {spent[t] / money:g} {a.fund_unit} in {a.years[t]}, over the budget of "
            f"{a.budget[t] / money:g} {a.fund_unit}",
            file=file,
            field="amount",
        )
