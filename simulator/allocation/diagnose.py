"""Explain an infeasible allocation in the scenario's own names.

1. **Which rules conflict.** A deletion filter over the rows a planner set (budget, shares,
   land and energy limits, hard targets): start from HiGHS's irreducible infeasible subset
   when it gives one (else from all of them), relax every other such row, then drop each row
   in turn and keep it dropped if the rest is still infeasible. What remains is irreducible:
   relaxing any one of its rows makes the problem feasible. The model's definitions (the
   response, the shortfalls) are never dropped.
2. **How much money would do.** A second model with an elastic budget (B_t + extra_t in every
   row the budget enters; min Σ extra) gives the least budget; it is rounded up to four
   significant figures and checked with a solve before it is printed.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import InfeasibleError
from ..units import DISPLAY, display_factor
from .model import build_model
from .problem import AllocationProblem
from .solve import INF, HighsModel

FIELD = {
    "annual_budget": "funds.budget",
    "fund_total": "funds.total",
    "cluster_share_min": "funds.shares.{0}.min",
    "cluster_share_max": "funds.shares.{0}.max",
    "category_share_min": "funds.categories.{0}.share.min",
    "category_share_max": "funds.categories.{0}.share.max",
    "target_required": "targets.{0}",
    "count_required": "targets.{0}",
    "target_yearly_required": "targets.{0}",
}

#: at most this many feasibility solves in a deletion filter
MAX_FILTER_SOLVES = 200

#: seconds the diagnosis may take when the model has no time limit
DIAGNOSIS_SECONDS = 60.0


def _fields() -> dict:
    from ..core.limits import LIMITS

    return {**FIELD, **{limit.name: limit.field for limit in LIMITS}}


def conflict(con, model) -> dict | None:
    """``cluster_share_min[auto,2021]`` → ``{"field": "funds.shares.auto.min", "year": 2021,
    "name": "funds.shares.auto.min (2021)"}``; None for the model's internal rows."""
    family = con.parent_component().local_name
    fields = _fields()
    if family not in fields:
        return None
    from .blocks import row_key

    index = row_key(con)
    index = index if isinstance(index, tuple) else (index,)
    field = fields[family].format(*index)
    years = [int(i) for i in index if isinstance(i, int)]
    if family in ("target_required", "count_required", "target_yearly_required"):
        spec = model.by_id[index[0]].spec
        year = index[1] if family == "target_yearly_required" else model.calendar[spec.t]
        what = spec.name if str(year) in spec.name else f"{spec.name} {year}"
        return {"field": field, "year": year, "name": f"{field} (hard): {what}"}
    name = f"{field} ({', '.join(map(str, years))})" if years else field
    return {"field": field, "year": years[0] if years else None, "name": name}


def no_fund_excess(pr: AllocationProblem) -> list[tuple[str, str]]:
    """(field, text) for each limit the projection breaks with no fund at all."""
    out = []
    for d in pr.limits:
        const = float(d.row.const[0])
        if not d.limit.broken(const, d.rhs):
            continue
        field = d.limit.field
        if d.limit.indicator in ("energy_intensity",):
            out.append((field, f"{field} ({d.year}) is already exceeded without any fund"))
            continue
        unit, f = DISPLAY[d.limit.unit_kind], display_factor(d.limit.unit_kind)
        if d.limit.sense > 0:
            text = (
                f"{field} ({d.year}) requires at least {d.rhs * f:,.6g} {unit} but the "
                f"projection has {const * f:,.6g} {unit} without any fund"
            )
        else:
            text = (
                f"{field} ({d.year}) allows {d.rhs * f:,.6g} {unit} but the projection needs "
                f"{const * f:,.6g} {unit} without any fund"
            )
        out.append((field, text))
    return out


def _feasible(hm: HighsModel, deadline: float | None) -> bool | None:
    """Is the model (with its current row bounds) feasible? None when the solver gave no answer
    (the time allowed for the diagnosis ran out)."""
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and left <= 0:
        return None
    status = hm.solve(time_limit=left, aims=1).status
    return None if status not in ("optimal", "infeasible") else status == "optimal"


def _relax(hm: HighsModel, rows: list[int], relax: bool) -> None:
    idx = np.asarray(rows, dtype=np.int32)
    lo = np.full(len(rows), -INF) if relax else hm.rhs_lower[idx]
    hi = np.full(len(rows), INF) if relax else hm.rhs_upper[idx]
    if len(rows):
        hm.highs.changeRowsBounds(len(rows), idx, lo, hi)


def irreducible(
    hm: HighsModel, candidates: list[int], start: list[int] | None, deadline: float | None
) -> tuple[list[int], bool]:
    """A deletion filter over ``candidates`` (row indices), from ``start`` when it is itself
    infeasible with every other candidate relaxed. Returns (rows, proved irreducible): a row
    whose test ran out of time is kept, and the set is then not proved irreducible."""
    keep = list(start or candidates)
    _relax(hm, [i for i in candidates if i not in keep], True)
    if start and _feasible(hm, deadline) is not False:
        _relax(hm, candidates, False)
        keep = list(candidates)
    proved = len(keep) <= MAX_FILTER_SOLVES
    for i in list(keep)[:MAX_FILTER_SOLVES]:
        _relax(hm, [i], True)
        answer = _feasible(hm, deadline)
        if answer is False:
            keep.remove(i)  # still infeasible without it: not needed
        else:
            proved = proved and answer is True
            _relax(hm, [i], False)
    _relax(hm, candidates, False)
    return keep, proved


def diagnose(pr: AllocationProblem, hm: HighsModel) -> InfeasibleError:
    """The typed error for an infeasible model: its conflicts and the smallest budget, found
    within the model's time limit (default :data:`DIAGNOSIS_SECONDS`)."""
    limit = hm.time_limit if hm.time_limit is not None else DIAGNOSIS_SECONDS
    deadline = time.perf_counter() + limit
    named = {i: conflict(con, hm.model) for i, con in enumerate(hm.rows)}
    # the deletion filter keeps the rows it tests last: limits and hard targets go first, so
    # that among several conflicts the one in the fund's own rules is named
    candidates = sorted(
        (i for i, c in named.items() if c is not None),
        key=lambda i: (named[i]["field"].startswith("funds."), i),
    )
    iis = hm.iis_rows()
    start = [hm.row_index[con] for con in iis if named[hm.row_index[con]]] if iis else None
    rows, proved = irreducible(hm, candidates, start, deadline)
    conflicts = [named[i] for i in rows]
    short_of_money = any(c["field"] in ("funds.budget", "funds.total") for c in conflicts)
    least = smallest_budget(pr, hm, deadline) if short_of_money else None
    head = "these cannot all hold" + ("" if proved else " (not proved minimal: time ran out)")
    parts = [f"{head}: " + "; ".join(c["name"] for c in conflicts)] if conflicts else []
    parts = parts or ["the hard constraints cannot all hold"]
    parts += [text for _, text in no_fund_excess(pr)]
    unit = pr.arrays.fund_unit
    if least is not None:
        text = ", ".join(f"{y}: {b:.6g}" for y, b in least.items() if y != "total")
        if "total" in least:
            text += f" a year, and a total of {least['total']:.6g}"
        parts.append(f"the smallest budget that makes it feasible is {text} {unit}")
    elif short_of_money:
        parts.append("more budget does not make it feasible: other limits conflict too")
    return InfeasibleError(
        "infeasible — " + "; ".join(parts), conflicts=conflicts, smallest_budget=least, unit=unit
    )


def round_up(x: float, digits: int = 4) -> float:
    """``x`` rounded up to ``digits`` significant figures."""
    if x <= 0:
        return 0.0
    exponent = math.floor(math.log10(x)) - digits + 1
    step = 10.0**exponent
    # round() drops the binary noise of ceil(·)·step (2.171, not 2.1710000000000003)
    return round(math.ceil(x / step - 1e-9) * step, max(0, -exponent))


def smallest_budget(
    pr: AllocationProblem, hm: HighsModel, deadline: float | None = None
) -> dict | None:
    """{year: budget in the fund's unit} that makes the hard constraints hold, rounded up and
    verified with a solve of ``hm`` (whose budget rows are restored), or None."""
    a = pr.arrays
    m = build_model(pr, elastic_budget=True)
    elastic = HighsModel(m)
    left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
    if left == 0.0:
        return None
    sol = elastic.solve(time_limit=left)
    if sol.status != "optimal":
        return None
    cols, _ = elastic.block("v_extra_budget")  # one per fund year, in order
    extra = np.maximum(sol.x[cols], 0.0)
    if extra.max() <= 1e-9:
        return None  # money is not what is short
    money = a.fund_unit_factor
    need = (a.budget[pr.years] + extra) / money
    has_total = not np.isnan(a.fund_total)
    total_rows = list(hm.model.fund_total.values()) if has_total else []
    need_total = (a.fund_total + extra.sum()) / money if has_total else 0.0
    original = {
        con: mult * a.budget[pr.years[pos]] for con, (pos, mult) in hm.model.budget_rows.items()
    }
    original.update({con: a.fund_total for con in total_rows})
    for bump in (1.0, 1.001, 1.01, 1.05):
        budget = np.array([round_up(b * bump) for b in need])
        total = round_up(need_total * bump) if has_total else 0.0
        changes = {
            con: mult * budget[pos] * money for con, (pos, mult) in hm.model.budget_rows.items()
        }
        changes.update({con: total * money for con in total_rows})
        hm.set_rhs(changes)
        ok = _feasible(hm, deadline)
        hm.set_rhs(original)
        if ok:
            years = [int(a.years[t]) for t in pr.years]
            least = dict(zip(years, budget.tolist(), strict=True))
            return {**least, "total": total} if has_total else least
    return None
