"""report.xlsx: what it holds, and the round trip (issue 9 §2).

A workbook is written from a real optimise of Cixi; cells are edited with openpyxl the way a
planner edits them in Excel, and the re-run must equal the same edit made through an allocation
CSV or ``--set``. An unedited workbook must give exactly the plain run; a bad cell gives one line
naming the file, sheet and cell, exit 2, and nothing written.
"""

from __future__ import annotations

import csv
import shutil

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from simulator import runs
from simulator.cli import main
from simulator.outputs import files
from simulator.outputs.workbook import text_width, write_workbook
from simulator.scenario import workbook_file as layout
from simulator.scenario.allocation_file import read_allocation

from .conftest import ROOT

CIXI = ROOT / "scenarios" / "cixi-2020.yaml"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(folder, optimise result, the workbook, the optimiser's allocation.csv)."""
    folder = tmp_path_factory.mktemp("workbook")
    res = runs.optimise(CIXI)
    files.write_optimise(folder / "opt", res)
    compared = runs.compare(CIXI, allocations=["equal", "by-size", "optimised"])
    swept = runs.sweep(CIXI, budget_spec="0:4:2")
    book = folder / "report.xlsx"
    write_workbook(
        book,
        prepared=res.prepared,
        ledger=res.opt.ledger,
        no_fund=res.no_fund,
        grant=res.opt.grant,
        compare=compared,
        sweep=swept,
    )
    return folder, res, book, folder / "opt" / "allocation.csv"


def copy_of(book, tmp_path, name="edited.xlsx"):
    target = tmp_path / name
    shutil.copy(book, target)
    return target


def targets(folder):
    with open(folder / "targets.csv", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def run(tmp_path, name, *args):
    out = tmp_path / name
    result = invoke("run", CIXI, *args, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def grid_cell(ws, cluster, category, year):
    """The 资金分配 cell of one cluster, use and year."""
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == layout.CLUSTER_HEADER)
    col = next(c for c in range(1, ws.max_column + 1) if ws.cell(header, c).value == year)
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, 1).value == cluster and ws.cell(r, 3).value == category:
            return ws.cell(r, col)
    raise LookupError((cluster, category, year))


def assumption_row(ws, path):
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == path)


def year_col(ws, year):
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == layout.PATH_HEADER)
    return next(c for c in range(1, ws.max_column + 1) if ws.cell(header, c).value == year)


# --------------------------------------------------------------------------- what it holds


def test_sheets_formulas_inputs_and_fonts(made):
    _, res, book, _ = made
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [
        layout.SUMMARY,
        layout.LEDGER,
        layout.ALLOCATION,
        layout.ASSUMPTIONS,
        layout.COMPARE,
        layout.SWEEP,
        layout.EXACT,  # very hidden: the exact numbers of the input cells
    ]
    assert wb[layout.EXACT].sheet_state == "veryHidden"
    ws = wb[layout.ALLOCATION]
    cell = grid_cell(ws, "appliances", "tech_upgrade", 2022)
    assert cell.protection.locked is False  # an input cell
    assert ws.protection.sheet  # the rest is protected
    assert ws.cell(4, 1).protection.locked is not False
    assert any(
        cell.coordinate in dv.sqref and dv.operator == "greaterThanOrEqual"
        for dv in ws.data_validations.dataValidation
    )
    assert ws.freeze_panes
    assert cell.font.name == "Microsoft YaHei"
    # totals are live formulas with cached values equal to the allocation
    values = openpyxl.load_workbook(book, data_only=True)[layout.ALLOCATION]
    total_row = next(r for r in range(1, ws.max_row) if ws.cell(r, 1).value == layout.TOTAL_HEADER)
    years = [2020, 2021, 2022]
    for j, year in enumerate(years):
        col = cell.column - 2 + j
        assert str(ws.cell(total_row, col).value).startswith("=SUM(")
        t = res.prepared.arrays.year_index(year)
        assert values.cell(total_row, col).value == pytest.approx(res.opt.grant[:, t].sum())
    budget = ws.cell(total_row + 1, cell.column).value
    assert budget.startswith(f"='{layout.ASSUMPTIONS}'!")  # the budget is the 假设 cell
    assert wb[layout.ALLOCATION]._charts and wb[layout.LEDGER]._charts
    # the ledger holds every target with the same numbers as targets.csv
    led = openpyxl.load_workbook(book, data_only=True)[layout.LEDGER]
    ids = [led.cell(r, 1).value for r in range(5, 5 + len(res.prepared.specs))]
    assert ids == [s.id for s in res.prepared.specs]
    assert text_width("智能家电 ab") == 11


# --------------------------------------------------------------------------- allocation


def test_unedited_allocation_reads_back_bit_for_bit(made, tmp_path):
    _, res, book, alloc = made
    a = res.prepared.arrays
    assert np.array_equal(read_allocation(book, a), res.opt.grant)
    assert np.array_equal(read_allocation(book, a), read_allocation(alloc, a))
    csv_run = run(tmp_path, "csv", "--allocation", alloc)
    xlsx_run = run(tmp_path, "xlsx", "--allocation", book)
    for name in ("targets.csv", "projection.csv", "limits.csv"):
        assert (csv_run / name).read_bytes() == (xlsx_run / name).read_bytes()


def test_edited_allocation_equals_the_same_edit_in_csv(made, tmp_path):
    _, _, book, alloc = made
    edited = copy_of(book, tmp_path)
    wb = openpyxl.load_workbook(edited)
    ws = wb[layout.ALLOCATION]
    edits = {
        ("appliances", "tech_upgrade", 2020): 0.35,
        ("equipment", "firm_tiers", 2021): 0.3,
        ("components", "tech_upgrade", 2020): 0,
    }
    for (c, k, y), v in edits.items():
        grid_cell(ws, c, k, y).value = v
    grid_cell(ws, "automotive", "key_technology", 2022).value = None  # a cleared cell is 0
    wb.save(edited)
    edits[("automotive", "key_technology", 2022)] = 0.0
    with open(alloc, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        key = (row["cluster"], row["category"], int(row["year"]))
        if key in edits:
            row["amount"] = repr(float(edits[key]))
    same = tmp_path / "edited.csv"
    with open(same, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    by_csv = run(tmp_path, "csv", "--allocation", same)
    by_xlsx = run(tmp_path, "xlsx", "--allocation", edited)
    for name in ("targets.csv", "projection.csv", "limits.csv"):
        assert (by_csv / name).read_bytes() == (by_xlsx / name).read_bytes()
    assert targets(by_xlsx) != targets(run(tmp_path, "orig", "--allocation", alloc))


# --------------------------------------------------------------------------- what-if


def test_unedited_workbook_as_what_if_is_the_plain_run(made, tmp_path):
    _, _, book, _ = made
    plain = run(tmp_path, "plain")
    what_if = run(tmp_path, "whatif", "--what-if", book)
    for name in ("targets.csv", "projection.csv", "limits.csv"):
        assert (plain / name).read_bytes() == (what_if / name).read_bytes()


@pytest.mark.parametrize(
    "path, years, value, sets",
    [
        # a growth rate edited in every year is --set PATH=VALUE
        (
            "clusters.appliances.growth.revenue",
            [2020, 2021, 2022],
            5.25,
            ["clusters.appliances.growth.revenue=5.25"],
        ),
        # one year's growth: the value year by year
        (
            "clusters.automotive.growth.revenue",
            [2021],
            4,
            ["clusters.automotive.growth.revenue.value={2020: 10, 2021: 4, 2022: 10}"],
        ),
        # a single number (a fund-response factor), and the budget of one year
        (
            "clusters.automotive.response.leverage",
            None,
            3.5,
            ["clusters.automotive.response.leverage=3.5"],
        ),
        ("funds.budget", [2021], 3, ["funds.budget.value={2020: 2, 2021: 3, 2022: 2}"]),
    ],
)
def test_edited_assumptions_equal_set(made, tmp_path, path, years, value, sets):
    _, _, book, alloc = made
    edited = copy_of(book, tmp_path)
    wb = openpyxl.load_workbook(edited)
    ws = wb[layout.ASSUMPTIONS]
    r = assumption_row(ws, path)
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == layout.PATH_HEADER)
    if years is None:
        col = next(c for c in range(1, 10) if ws.cell(header, c).value == layout.VALUE_HEADER)
        ws.cell(r, col).value = value
    for y in years or []:
        ws.cell(r, year_col(ws, y)).value = value
    wb.save(edited)
    # with the optimiser's allocation, so the fund response and the budget rule count too
    by_set = run(tmp_path, "set", "--allocation", alloc, *(x for s in sets for x in ("--set", s)))
    by_xlsx = run(tmp_path, "xlsx", "--allocation", alloc, "--what-if", edited)
    plain = run(tmp_path, "plain", "--allocation", alloc)
    names = ("targets.csv", "projection.csv", "limits.csv")
    for name in names:
        assert (by_set / name).read_bytes() == (by_xlsx / name).read_bytes()
    assert any((by_xlsx / n).read_bytes() != (plain / n).read_bytes() for n in names)


def test_optimise_with_the_workbook_as_what_if_and_allocation(made, tmp_path):
    """The edited workbook drives optimise and compare as well (what-ifs are shared)."""
    _, _, book, _ = made
    out = tmp_path / "o"
    result = invoke("optimise", CIXI, "--what-if", book, "--out", out)
    assert result.exit_code == 0, result.output
    result = invoke(
        "compare", CIXI, "--allocation", book, "--allocation", "equal", "--out", tmp_path / "c"
    )
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- bad cells


def _edit(book, tmp_path, sheet, change):
    edited = copy_of(book, tmp_path)
    wb = openpyxl.load_workbook(edited)
    change(wb[sheet] if sheet else wb)
    wb.save(edited)
    return edited


@pytest.mark.parametrize(
    "sheet, change, option, where, words",
    [
        (
            layout.ALLOCATION,
            lambda ws: setattr(grid_cell(ws, "appliances", "tech_upgrade", 2021), "value", "abc"),
            "--allocation",
            f"{layout.ALLOCATION}!F5",
            "not a number",
        ),
        (
            layout.ALLOCATION,
            lambda ws: setattr(grid_cell(ws, "components", "firm_tiers", 2020), "value", -0.5),
            "--allocation",
            f"{layout.ALLOCATION}!E14",
            "negative",
        ),
        (
            layout.ALLOCATION,
            lambda ws: setattr(ws["A5"], "value", "appliance"),
            "--allocation",
            f"{layout.ALLOCATION}!A5",
            "unknown cluster",
        ),
        (
            layout.ALLOCATION,
            lambda ws: setattr(grid_cell(ws, "appliances", "tech_upgrade", 2021), "value", "=1+1"),
            "--allocation",
            f"{layout.ALLOCATION}!F5",
            "formula without a saved value",
        ),
        (
            None,  # the whole workbook
            lambda wb: wb.remove(wb[layout.ALLOCATION]),
            "--allocation",
            "资金分配",
            "no sheet",
        ),
        (
            layout.ASSUMPTIONS,
            lambda ws: setattr(
                ws.cell(
                    assumption_row(ws, "clusters.appliances.growth.revenue"), year_col(ws, 2021)
                ),
                "value",
                "fast",
            ),
            "--what-if",
            f"{layout.ASSUMPTIONS}!G",
            "not a number",
        ),
        (
            layout.ASSUMPTIONS,
            lambda ws: setattr(
                ws.cell(assumption_row(ws, "clusters.appliances.growth.revenue"), 1),
                "value",
                "clusters.appliances.growth.revenu",
            ),
            "--what-if",
            f"{layout.ASSUMPTIONS}!A",
            "not a number of this scenario",
        ),
        (
            layout.ASSUMPTIONS,
            lambda ws: setattr(
                ws.cell(assumption_row(ws, "clusters.equipment.baseline.revenue"), 5),
                "value",
                -3,
            ),
            "--what-if",
            f"{layout.ASSUMPTIONS}!E",
            "negative",
        ),
    ],
)
def test_bad_cells_name_sheet_and_cell_and_write_nothing(
    made, tmp_path, sheet, change, option, where, words
):
    _, _, book, _ = made
    edited = _edit(book, tmp_path, sheet, change)
    out = tmp_path / "never"
    result = invoke("run", CIXI, option, edited, "--out", out)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert str(edited) in lines[0] and where in lines[0] and words in lines[0], lines[0]
    assert not out.exists()


def test_compare_rejects_a_workbook_over_budget_naming_the_total(made, tmp_path):
    _, _, book, _ = made
    edited = _edit(
        book,
        tmp_path,
        layout.ALLOCATION,
        lambda ws: setattr(grid_cell(ws, "equipment", "firm_tiers", 2021), "value", 5),
    )
    result = invoke("compare", CIXI, "--allocation", edited, "--out", tmp_path / "never")
    assert result.exit_code == 2, result.output
    assert f"{layout.ALLOCATION}!F35" in result.output and "over the budget" in result.output
    assert not (tmp_path / "never").exists()


def test_not_a_workbook(tmp_path):
    fake = tmp_path / "report.xlsx"
    fake.write_text("cluster,year,amount\n", encoding="utf-8")
    result = invoke("run", CIXI, "--allocation", fake, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "not an Excel workbook" in result.output
    result = invoke("run", CIXI, "--what-if", tmp_path / "missing.xlsx", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "no such file" in result.output
