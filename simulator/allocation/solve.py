"""Hand the Pyomo model to HiGHS and read the answer back.

The hand-off is Pyomo's ``LinearStandardFormCompiler`` (mixed form: rows keep their ≤, ≥, =)
then ``highspy.Highs.passModel`` with the matrix in column-wise form — measured the fastest
verifiable Pyomo path (docs/performance.md). The ``Highs`` object is kept, so a budget sweep
changes row bounds and re-solves from the previous basis instead of rebuilding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

INF = highspy.kHighsInf


@dataclass
class Solution:
    """HiGHS's answer as arrays over columns and rows, read through the model's index maps."""

    status: str  # "optimal", "infeasible", …
    objective: float  # the model's objective value (with its tie-breaks)
    x: np.ndarray | None  # column values
    row_dual: np.ndarray | None  # per row: objective change per unit of rhs (LP only)
    row_slack: np.ndarray | None  # per row: ≥ 0 when satisfied, 0 when binding
    is_mip: bool
    index: HighsModel
    timings: dict = field(default_factory=dict)

    def value(self, var) -> float:
        """Value of a Pyomo variable (0 for one no row or objective uses)."""
        i = self.index.column_of.get(id(var))
        return 0.0 if i is None or self.x is None else float(self.x[i])

    def values(self, positions: np.ndarray) -> np.ndarray:
        """Values of the columns at ``positions`` (−1: a column the model dropped → 0)."""
        out = np.zeros(len(positions))
        ok = positions >= 0
        out[ok] = self.x[positions[ok]]
        return out

    @property
    def has_duals(self) -> bool:
        return self.row_dual is not None

    def dual(self, con) -> float:
        """Dual of a constraint (summed over its rows, e.g. the two sides of a range)."""
        return (
            float(self.row_dual[self.index.row_index[con]].sum())
            if con in self.index.row_index
            else 0.0
        )

    def slack(self, con) -> float | None:
        rows = self.index.row_index.get(con)
        return None if rows is None or self.row_slack is None else float(self.row_slack[rows].min())


class HighsModel:
    """A Pyomo model compiled once into a persistent HiGHS instance."""

    def __init__(self, model: pyo.ConcreteModel, *, time_limit: float | None = None):
        clock = time.perf_counter()
        info = LinearStandardFormCompiler().write(model, mixed_form=True)
        self.model = model
        self.columns = info.columns
        self.rows = info.rows  # (ConstraintData, +1 ≤ / −1 ≥ / 0 =)
        self.column_of = {id(v): i for i, v in enumerate(self.columns)}
        n, r = len(self.columns), len(self.rows)
        lower = np.array([-INF if v.lb is None else v.lb for v in self.columns], dtype=float)
        upper = np.array([INF if v.ub is None else v.ub for v in self.columns], dtype=float)
        rhs = np.asarray(info.rhs, dtype=float)
        sense = np.array([s for _, s in self.rows])
        row_lower = np.where(sense >= 0, -INF, rhs)
        row_lower = np.where(sense == 0, rhs, row_lower)
        row_upper = np.where(sense <= 0, INF, rhs)
        row_upper = np.where(sense == 0, rhs, row_upper)
        self.integer = np.array([v.is_integer() or v.is_binary() for v in self.columns])
        cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(n)
        self.offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
        a = info.A.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, r
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.offset_ = self.offset
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        if self.integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in self.integer
            ]
        self.highs = highspy.Highs()
        self.highs.silent()
        # HiGHS's default MIP gap (1e-4) is too loose for "never beaten" comparisons
        self.highs.setOptionValue("mip_rel_gap", 1e-7)
        if time_limit is not None:
            self.highs.setOptionValue("time_limit", float(time_limit))
        self.highs.passModel(lp)
        self.rhs = rhs
        self.sense = sense
        self.row_index: dict = {}
        for i, (con, _) in enumerate(self.rows):
            self.row_index.setdefault(con, []).append(i)
        self.n_nonzeros = int(a.nnz)
        self.handoff_seconds = time.perf_counter() - clock

    @property
    def is_mip(self) -> bool:
        return bool(self.integer.any())

    def set_rhs(self, changes: dict) -> None:
        """New right-hand sides {ConstraintData: value} (bounds change; the basis is kept)."""
        idx, lo, up = [], [], []
        for con, value in changes.items():
            for i in self.row_index.get(con, []):
                s = self.sense[i]
                idx.append(i)
                lo.append(value if s <= 0 else -INF)
                up.append(value if s >= 0 else INF)
                self.rhs[i] = value
        if idx:
            self.highs.changeRowsBounds(
                len(idx), np.array(idx, dtype=np.int32), np.array(lo), np.array(up)
            )

    def solve(self) -> Solution:
        clock = time.perf_counter()
        self.highs.run()
        solve_seconds = time.perf_counter() - clock
        status = self.highs.getModelStatus()
        name = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kInfeasible: "infeasible",
            highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
            highspy.HighsModelStatus.kUnbounded: "unbounded",
            highspy.HighsModelStatus.kTimeLimit: "time_limit",
        }.get(status, self.highs.modelStatusToString(status))
        x = duals = slack = None
        objective = float("nan")
        if name in ("optimal", "time_limit") and self.highs.getInfo().primal_solution_status:
            sol = self.highs.getSolution()
            x = np.asarray(sol.col_value)
            objective = float(self.highs.getInfo().objective_function_value)
            activity = np.asarray(sol.row_value)
            slack = np.where(self.sense > 0, self.rhs - activity, activity - self.rhs)
            slack = np.where(self.sense == 0, -np.abs(activity - self.rhs), slack)
            if not self.is_mip and sol.dual_valid:
                duals = np.asarray(sol.row_dual)
        return Solution(
            name, objective, x, duals, slack, self.is_mip, self, {"solve_seconds": solve_seconds}
        )

    def positions(self, variables) -> np.ndarray:
        """Column positions of Pyomo variables (−1 for one the compiled model dropped)."""
        return np.array([self.column_of.get(id(v), -1) for v in variables], dtype=int)

    def write(self, path: str) -> None:
        """Write the model solved, with readable names: MPS from HiGHS itself; LP through
        Pyomo's LP writer (HiGHS 1.15's LP writer drops names), from the same Pyomo model."""
        if str(path).lower().endswith(".lp"):
            self.model.write(str(path), io_options={"symbolic_solver_labels": True})
            return
        for i, v in enumerate(self.columns):
            self.highs.passColName(i, _safe(v.name))
        seen: dict[str, int] = {}
        for i, (con, _) in enumerate(self.rows):
            name = _safe(con.name)
            seen[name] = seen.get(name, 0) + 1
            self.highs.passRowName(i, name if seen[name] == 1 else f"{name}_{seen[name]}")
        self.highs.writeModel(str(path))

    def iis(self) -> tuple[list, list]:
        """An irreducible infeasible subset: (constraints, variables whose bounds take part)."""
        # HiGHS 1.15: strategy 0 (light) may return an empty set; 2 reliably gives one
        self.highs.setOptionValue("iis_strategy", 2)
        _, iis = self.highs.getIis()
        rows = sorted({self.rows[i][0] for i in iis.row_index_}, key=lambda c: c.name)
        cols = [self.columns[i] for i in iis.col_index_]
        return rows, cols


def _safe(name: str) -> str:
    """MPS names may not contain spaces."""
    return "".join("_" if ch.isspace() else ch for ch in name)
