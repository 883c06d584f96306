r"""Hand the Pyomo model to HiGHS, solve its aims lexicographically, read the answer back.

**Hand-off.** The model's matrices come from :mod:`.handoff` and are passed to one persistent
``Highs`` object.

**Stages.** The model's aims (``m.aims``) are solved in order on one persistent ``Highs``
object, each re-solve warm-started (from the last basis for an LP, the last solution for a
MIP). Between two aims the model is restricted to the optima of the first:

- an LP keeps its *optimal face*: every nonbasic column and inequality row whose reduced cost
  is nonzero (above :data:`DUAL_TOLERANCE`) is fixed where it is. That is exactly the set of
  optimal solutions, so the next aim gives up nothing of the earlier one (no tolerance);
- a MIP gets the row ``aim_k(x) ≥ z_k* − ε`` (≤ … + ε for a minimised aim) with
  ε = :data:`STAGE_TOLERANCE` · max(1, |z_k*|).

An LP whose optimum is unique (no nonbasic column or inequality with a zero reduced cost)
skips the later aims, which could not change it. ``--export-model`` writes the model with its
first aim; the stages are re-solves of it.

**Quiet.** HiGHS writes a banner to the process's stdout when the first ``Highs`` object is
made (highspy 1.16): the file descriptors are pointed at ``/dev/null`` around every call into
HiGHS, so nothing reaches the terminal unless a solver log file is asked for.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.core as pyo

from .handoff import Compiled, write_lp
from .objectives import AIMS

INF = highspy.kHighsInf

#: a later aim may give up at most this much (relative, at least 1e-7 absolute) of an earlier one
STAGE_TOLERANCE = 1e-7

#: reduced costs at or below this count as zero when deciding whether an optimum is unique
#: (HiGHS's dual feasibility tolerance)
DUAL_TOLERANCE = 1e-7

#: seconds the LP that polishes a MIP solution may take beyond the time limit
POLISH_SECONDS = 10.0

#: HiGHS's default relative MIP gap (1e-4) is too loose to compare allocations; ours
MIP_GAP = 1e-7

STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "time_limit",
    highspy.HighsModelStatus.kInterrupt: "time_limit",
}


@contextlib.contextmanager
def quiet():
    """Point file descriptors 1 and 2 at /dev/null while HiGHS runs (it prints from C++)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


@dataclass
class Solution:
    """HiGHS's answer as arrays over columns and rows of the compiled model."""

    status: str  # optimal | infeasible | time_limit | unbounded | error
    x: np.ndarray | None  # column values
    aim_values: list[float]  # every aim's value at x, in the aim's own sense
    first_duals: np.ndarray | None  # row duals of the first aim (LP only): d aim₁ / d rhs
    row_activity: np.ndarray | None  # per base row, at x
    is_mip: bool
    mip_gap: float | None
    stages_solved: int
    unique: bool  # the LP optimum of the last aim solved is unique
    timings: dict = field(default_factory=dict)
    note: str = ""
    #: a MIP's proven bound on its first aim (HiGHS's dual bound), in the aim's own sense
    dual_bound: float | None = None

    @property
    def has_duals(self) -> bool:
        return self.first_duals is not None

    @property
    def objective(self) -> float:
        """The first aim's value (the planner's objective), in model terms."""
        return self.aim_values[0] if self.aim_values else float("nan")


class HighsModel:
    """A Pyomo model compiled once into a persistent HiGHS instance."""

    def __init__(
        self, model: pyo.ConcreteModel, *, time_limit: float | None = None, log: str | None = None
    ):
        clock = time.perf_counter()
        self.model = model
        self.compiled = c = Compiled(model)
        self.columns, self.rows = c.columns, c.rows
        self.row_index = {con: i for i, con in enumerate(c.rows)}
        self.time_limit = time_limit
        self.n_base_rows = len(c.rows)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(c.columns), len(c.rows)
        lp.col_cost_ = np.zeros(len(c.columns))
        lp.col_lower_, lp.col_upper_ = c.lower, c.upper
        lp.row_lower_, lp.row_upper_ = c.row_lower, c.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = c.starts
        lp.a_matrix_.index_ = c.index
        lp.a_matrix_.value_ = c.value
        if c.integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in c.integer
            ]
        with quiet():
            self.highs = highspy.Highs()
            self.highs.setOptionValue("output_flag", log is not None)
            if log is not None:
                self.highs.setOptionValue("log_to_console", False)
                self.highs.setOptionValue("log_file", str(log))
            self.highs.setOptionValue("mip_rel_gap", MIP_GAP)
            self.highs.passModel(lp)
        self.rhs_lower = c.row_lower.copy()
        self.rhs_upper = c.row_upper.copy()
        self.col_lower = c.lower.copy()
        self.col_upper = c.upper.copy()
        self._face: tuple[np.ndarray, np.ndarray] | None = None
        self._first_basis = None  # the first aim's last optimal basis (LP)
        #: solve the first aim of an LP without a basis by the interior point method (then
        #: crossover to a basis, from which the later aims and re-solves start)
        self.interior_point_first = False
        self.handoff_seconds = time.perf_counter() - clock

    @property
    def is_mip(self) -> bool:
        return bool(self.compiled.integer.any())

    @property
    def n_nonzeros(self) -> int:
        return self.compiled.n_nonzeros

    # ----------------------------------------------------------------- changes

    def set_rhs(self, changes: dict) -> None:
        """New right-hand sides {ConstraintData: value} (the row's bounds that are finite move
        to ``value``; the basis is kept)."""
        idx, lo, up = [], [], []
        for con, value in changes.items():
            i = self.row_index.get(con)
            if i is None:
                continue
            if self.rhs_lower[i] > -INF:
                self.rhs_lower[i] = value
            if self.rhs_upper[i] < INF:
                self.rhs_upper[i] = value
            idx.append(i)
            lo.append(self.rhs_lower[i])
            up.append(self.rhs_upper[i])
        if idx:
            self.highs.changeRowsBounds(
                len(idx), np.array(idx, dtype=np.int32), np.array(lo), np.array(up)
            )

    def set_column_bounds(self, columns: np.ndarray, lower: np.ndarray, upper: np.ndarray):
        """New bounds of columns (kept when the stages are cleared)."""
        self._clear_stages()
        columns = np.asarray(columns, dtype=np.int32)
        self.col_lower[columns], self.col_upper[columns] = lower, upper
        self.highs.changeColsBounds(
            len(columns), columns, np.asarray(lower, float), np.asarray(upper, float)
        )

    def _clear_stages(self) -> None:
        """Back to the model as built: no stage rows, every bound as the model set it."""
        n = self.highs.getNumRow()
        if n > self.n_base_rows:
            extra = np.arange(self.n_base_rows, n, dtype=np.int32)
            self.highs.deleteRows(len(extra), extra)
        if self._face is not None:
            cols, rows = self._face
            self.highs.changeColsBounds(len(cols), cols, self.col_lower[cols], self.col_upper[cols])
            self.highs.changeRowsBounds(len(rows), rows, self.rhs_lower[rows], self.rhs_upper[rows])
            self._face = None

    def _keep_optimal_face(self, sol, x: np.ndarray) -> None:
        """Restrict the LP to the optimal face of the aim just solved: every column and row
        with a nonzero reduced cost (so nonbasic, at a bound) stays where it is. The feasible
        set is then exactly the set of optima, so the next aim cannot trade any of this one
        away."""
        zero_cols, zero_rows = self._zero_duals(sol)
        cols = np.flatnonzero(~zero_cols).astype(np.int32)
        rows = np.flatnonzero(~zero_rows[: self.n_base_rows]).astype(np.int32)
        activity = np.asarray(sol.row_value)[rows]
        if len(cols):
            self.highs.changeColsBounds(len(cols), cols, x[cols], x[cols])
        if len(rows):
            self.highs.changeRowsBounds(len(rows), rows, activity, activity)
        previous = self._face or (np.zeros(0, np.int32), np.zeros(0, np.int32))
        self._face = (
            np.union1d(previous[0], cols).astype(np.int32),
            np.union1d(previous[1], rows).astype(np.int32),
        )

    # ----------------------------------------------------------------- solving

    def _run(self, deadline: float | None) -> str:
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return "time_limit"
            self.highs.setOptionValue("time_limit", float(left))
        with quiet():
            self.highs.run()
        status = self.highs.getModelStatus()
        return STATUS.get(status, "error")

    def _zero_duals(self, sol) -> tuple[np.ndarray, np.ndarray]:
        """(columns, rows) whose reduced cost is zero (≤ :data:`DUAL_TOLERANCE`). Basic ones
        always are; a nonbasic one among them is a direction along which the optimum moves."""
        return (
            np.abs(np.asarray(sol.col_dual)) <= DUAL_TOLERANCE,
            np.abs(np.asarray(sol.row_dual)) <= DUAL_TOLERANCE,
        )

    def _unique(self, sol) -> bool:
        """Is the LP optimum unique? Only the basic variables (one per row) have a zero
        reduced cost: no nonbasic column or row can move without worsening the aim."""
        cols, rows = self._zero_duals(sol)
        return int(cols.sum() + rows.sum()) <= self.highs.getNumRow()

    def solve(self, time_limit: float | None = None, aims: int | None = None) -> Solution:
        """Solve the model's aims in order (the first ``aims`` of them), lexicographically."""
        clock = time.perf_counter()
        limit = self.time_limit if time_limit is None else time_limit
        deadline = None if limit is None else clock + limit
        self._clear_stages()
        costs = self.compiled.aims[: aims or None]
        senses = [AIMS[name] for name in self.compiled.aim_names[: len(costs)]]
        x, values, duals, status, unique, gap, note = None, [], None, "optimal", False, None, ""
        dual_bound = None
        solved = 0
        for k, (cost, sense) in enumerate(zip(costs, senses, strict=True)):
            self.highs.changeObjectiveSense(
                highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
            )
            self.highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
            if x is not None and self.is_mip:
                self._warm_start(x)
            if k == 0 and self._first_basis is not None:
                # a re-solve (sweep, marginal value) starts from the first aim's last optimal
                # basis, not from the later aims' restricted one: only the rhs changed
                self.highs.setBasis(self._first_basis)
            cold = k == 0 and self._first_basis is None and self.interior_point_first
            self.highs.setOptionValue("solver", "ipm" if cold and not self.is_mip else "choose")
            status = self._run(deadline)
            info = self.highs.getInfo()
            found = info.primal_solution_status == 2  # a feasible point
            if status != "optimal":
                if found and status == "time_limit":
                    x = np.asarray(self.highs.getSolution().col_value)
                    values.append(float(cost @ x))
                    gap = float(info.mip_gap) if self.is_mip else None
                elif k > 0 and status == "infeasible":  # never expected: keep the last stage
                    status, note = "optimal", f"aim {k + 1} not solved (numerically infeasible)"
                break
            sol = self.highs.getSolution()
            x = np.asarray(sol.col_value)
            values.append(float(cost @ x))
            solved = k + 1
            if k == 0 and self.is_mip:  # the first aim's proven relative gap and bound
                gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
                dual_bound = float(info.mip_dual_bound)
            if k == 0 and not self.is_mip and sol.dual_valid:
                duals = np.asarray(sol.row_dual)[: self.n_base_rows]
                self._first_basis = self.highs.getBasis()
            unique = not self.is_mip and self._unique(sol)
            if k == len(costs) - 1 or unique:
                break
            if self.is_mip:
                slack = STAGE_TOLERANCE * max(1.0, abs(values[-1]))
                nz = np.flatnonzero(cost)
                lo, hi = (values[-1] - slack, INF) if sense > 0 else (-INF, values[-1] + slack)
                self.highs.addRow(lo, hi, len(nz), nz.astype(np.int32), cost[nz])
            else:
                self._keep_optimal_face(sol, x)
        if self.is_mip and x is not None:
            x = self._polish(x, deadline)
        activity = None
        if x is not None:
            values = [float(cost @ x) for cost in costs]  # every aim at the allocation returned
            a = self.compiled
            activity = (
                np.add.reduceat(a.value * x[a.index], a.starts[:-1])
                if len(a.index)
                else np.zeros(len(a.rows))
            )
            empty = a.starts[:-1] == a.starts[1:]
            activity[empty] = 0.0
        return Solution(
            status,
            x,
            values,
            duals,
            activity,
            self.is_mip,
            gap,
            solved,
            unique,
            {"solve_seconds": time.perf_counter() - clock},
            note,
            dual_bound if dual_bound is not None and np.isfinite(dual_bound) else None,
        )

    def _polish(self, x: np.ndarray, deadline: float | None) -> np.ndarray:
        """Fix the integer variables at their rounded values and re-solve the last aim: a MIP
        solution is integral only to HiGHS's MIP feasibility tolerance (1e-6), which a big-M
        row (the ordered pipeline) turns into a leak; with the binaries exactly 0 or 1 every
        row holds as written."""
        cols = np.flatnonzero(self.compiled.integer).astype(np.int32)
        fixed = np.round(x[cols])
        kinds = highspy.HighsVarType
        self.highs.changeColsBounds(len(cols), cols, fixed, fixed)
        # solved as an LP (the binaries are fixed): its 1e-7 feasibility tolerance, not the
        # MIP's 1e-6 that accepted the incumbent
        self.highs.changeColsIntegrality(len(cols), cols, np.full(len(cols), kinds.kContinuous))
        # an LP with every binary fixed: quick, and needed for an exact allocation even when
        # the MIP used up the time limit
        floor = time.perf_counter() + POLISH_SECONDS
        try:
            if self._run(None if deadline is None else max(deadline, floor)) == "optimal":
                return np.asarray(self.highs.getSolution().col_value)
            return x
        finally:
            self.highs.changeColsIntegrality(len(cols), cols, np.full(len(cols), kinds.kInteger))
            self.highs.changeColsBounds(len(cols), cols, self.col_lower[cols], self.col_upper[cols])

    def _warm_start(self, x: np.ndarray) -> None:
        start = highspy.HighsSolution()
        start.col_value = list(x)
        start.value_valid = True
        with contextlib.suppress(Exception):
            self.highs.setSolution(start)

    # ----------------------------------------------------------------- reading back

    def block(self, name: str) -> tuple[np.ndarray, tuple]:
        """(column positions, shape) of a Var block; its entries are in index order."""
        first, shape = self.compiled.blocks[name]
        return first + np.arange(int(np.prod(shape))), shape

    def slack(self, sol: Solution, con) -> float | None:
        """≥ 0 when satisfied, 0 when binding (the tighter side of a range)."""
        i = self.row_index.get(con)
        if i is None or sol.row_activity is None:
            return None
        act = sol.row_activity[i]
        return float(min(self.rhs_upper[i] - act, act - self.rhs_lower[i]))

    def rhs(self, con) -> float:
        i = self.row_index[con]
        side = self.rhs_upper[i] if self.rhs_upper[i] < INF else self.rhs_lower[i]
        return float(side)

    def dual(self, sol: Solution, con) -> float:
        """d(first aim)/d(rhs) of a constraint (0 when it has no row)."""
        i = self.row_index.get(con)
        return 0.0 if i is None or sol.first_duals is None else float(sol.first_duals[i])

    def names(self) -> tuple[list[str], list[str]]:
        """Column and row names: ``v_grant[auto,2021,all]``, ``annual_budget[2021]``."""
        return self.compiled.names()

    def write(self, path: str) -> None:
        """Write the model as built, with its first aim (the planner's objective): MPS from
        HiGHS, LP in CPLEX LP format (HiGHS's LP writer drops names), both with the model's
        names. The later aims are re-solves of this model (see the module docstring)."""
        cols, rows = self.names()
        if str(path).lower().endswith(".lp"):
            write_lp(path, self.compiled, cols, rows)
            return
        self._clear_stages()
        cost, sense = self.compiled.aims[0], AIMS[self.compiled.aim_names[0]]
        self.highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
        )
        self.highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        with quiet():
            for i, name in enumerate(cols):
                self.highs.passColName(i, name)
            for i, name in enumerate(rows):
                self.highs.passRowName(i, name)
            self.highs.writeModel(str(path))

    def iis_rows(self) -> list | None:
        """HiGHS's irreducible infeasible subset of rows of the LP (of a MIP's relaxation: HiGHS
        computes IISs for LPs only), or None when it gives none — e.g. a MIP infeasible only
        because of its integers."""
        self._clear_stages()
        cols = np.flatnonzero(self.compiled.integer).astype(np.int32)
        kinds = highspy.HighsVarType
        if len(cols):
            self.highs.changeColsIntegrality(len(cols), cols, np.full(len(cols), kinds.kContinuous))
        try:
            with quiet():
                self.highs.setOptionValue("iis_strategy", 2)
                self.highs.setOptionValue("time_limit", 60.0)
                _, iis = self.highs.getIis()
        except Exception:
            return None
        finally:
            if len(cols):
                self.highs.changeColsIntegrality(
                    len(cols), cols, np.full(len(cols), kinds.kInteger)
                )
        rows = [self.rows[i] for i in iis.row_index_ if i < self.n_base_rows]
        return rows or None
