r"""Hand the Pyomo model to HiGHS, solve its aims lexicographically, read the answer back.

**Hand-off.** Every constraint and aim of the model is built as a Pyomo ``LinearExpression``
(:func:`simulator.allocation.model.linear`), so the matrix is read straight off the model:
columns are the model's variables in declaration order (a contiguous block per ``Var``),
rows its active constraints in declaration order, each row its expression's coefficients and
its bounds minus the expression's constant. That is what Pyomo's
``LinearStandardFormCompiler`` computes for such a model (a test checks the two agree on
every shipped plan), without its general expression walker, which cost more than HiGHS's own
solve at 1,000 clusters (docs/performance.md). A model with any other kind of expression
goes through the compiler.

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
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .objectives import AIMS

INF = highspy.kHighsInf

#: a later aim may give up at most this much (relative, at least 1e-7 absolute) of an earlier one
STAGE_TOLERANCE = 1e-7

#: reduced costs at or below this count as zero when deciding whether an optimum is unique
#: (HiGHS's dual feasibility tolerance)
DUAL_TOLERANCE = 1e-7

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

    @property
    def has_duals(self) -> bool:
        return self.first_duals is not None

    @property
    def objective(self) -> float:
        """The first aim's value (the planner's objective), in model terms."""
        return self.aim_values[0] if self.aim_values else float("nan")


class NotLinearModel(Exception):
    """A constraint or aim that is not a single LinearExpression (use Pyomo's compiler)."""


def _bounds(datas) -> tuple[np.ndarray, np.ndarray]:
    pairs = [v.bounds for v in datas]
    lo = np.array([-INF if b[0] is None else b[0] for b in pairs], dtype=float)
    hi = np.array([INF if b[1] is None else b[1] for b in pairs], dtype=float)
    return lo, hi


class Compiled:
    """The model as matrices: columns per Var block, rows per constraint, one cost per aim."""

    def __init__(self, model: pyo.ConcreteModel):
        self.columns: list = []
        self.blocks: dict[str, tuple[int, list]] = {}  # Var name → (first column, keys)
        lower, upper, integer = [], [], []
        for var in model.component_objects(pyo.Var, active=True, descend_into=True):
            keys = list(var.keys())
            datas = [var[k] for k in keys]
            self.blocks[var.local_name] = (len(self.columns), keys)
            self.columns.extend(datas)
            lo, hi = _bounds(datas)
            lower.append(lo)
            upper.append(hi)
            integer.append(np.full(len(datas), bool(datas) and datas[0].is_integer()))
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        self.lower, self.upper, self.integer = cat(lower, float), cat(upper, float), cat(integer, bool)
        column_of = {id(v): i for i, v in enumerate(self.columns)}
        self.rows: list = []
        starts, index, value, row_lo, row_hi = [0], [], [], [], []
        for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
            lb, body, ub = con.to_bounded_expression()
            if type(body) is not LinearExpression:
                raise NotLinearModel(con.name)
            const = float(body.constant)
            index.extend(column_of[id(v)] for v in body.linear_vars)
            value.extend(body.linear_coefs)
            starts.append(len(index))
            row_lo.append(-INF if lb is None else float(lb) - const)
            row_hi.append(INF if ub is None else float(ub) - const)
            self.rows.append(con)
        self.starts = np.asarray(starts, dtype=np.int32)
        self.index = np.asarray(index, dtype=np.int32)
        self.value = np.asarray(value, dtype=float)
        self.row_lower = np.asarray(row_lo, dtype=float)
        self.row_upper = np.asarray(row_hi, dtype=float)
        self.aims = [self._aim(obj, column_of) for obj in model.aims]
        self.aim_names = [obj.local_name for obj in model.aims]

    def _aim(self, obj, column_of) -> np.ndarray:
        """Cost vector of an aim in its own sense (the solver is told to min or max)."""
        body = obj.expr
        if type(body) is not LinearExpression:
            raise NotLinearModel(obj.name)
        cost = np.zeros(len(self.columns))
        np.add.at(cost, [column_of[id(v)] for v in body.linear_vars], body.linear_coefs)
        return cost

    @property
    def n_nonzeros(self) -> int:
        return len(self.index)


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
                self.rhs_lower[i] = value - float(con.body.constant)
            if self.rhs_upper[i] < INF:
                self.rhs_upper[i] = value - float(con.body.constant)
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
        """Restrict the LP to the optimal face of the aim just solved: every nonbasic column
        and inequality row with a nonzero reduced cost stays where it is (at its bound). The
        feasible set is then exactly the set of optima, so the next aim cannot trade any of
        this one away."""
        basis = self.highs.getBasis()
        basic = highspy.HighsBasisStatus.kBasic
        col_dual, row_dual = np.asarray(sol.col_dual), np.asarray(sol.row_dual)
        col_nb = np.array([s != basic for s in basis.col_status])
        row_nb = np.array([s != basic for s in basis.row_status])
        cols = np.flatnonzero(col_nb & (np.abs(col_dual) > DUAL_TOLERANCE)).astype(np.int32)
        rows = np.flatnonzero(row_nb & (np.abs(row_dual) > DUAL_TOLERANCE)).astype(np.int32)
        rows = rows[rows < self.n_base_rows]
        activity = np.asarray(sol.row_value)[rows]
        if len(cols):
            self.highs.changeColsBounds(len(cols), cols, x[cols], x[cols])
        if len(rows):
            self.highs.changeRowsBounds(len(rows), rows, activity, activity)
        previous = self._face or (np.zeros(0, np.int32), np.zeros(0, np.int32))
        self._face = (np.union1d(previous[0], cols).astype(np.int32), np.union1d(previous[1], rows).astype(np.int32))

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

    def _unique(self) -> bool:
        """Is the LP optimum unique? (No nonbasic variable or inequality with zero reduced cost.)"""
        basis = self.highs.getBasis()
        if not basis.valid:
            return False
        sol = self.highs.getSolution()
        basic = highspy.HighsBasisStatus.kBasic
        col_nonbasic = np.array([s != basic for s in basis.col_status])
        row_nonbasic = np.array([s != basic for s in basis.row_status])
        lp = self.highs.getLp()
        col_free = np.asarray(lp.col_upper_) > np.asarray(lp.col_lower_)
        row_free = np.asarray(lp.row_upper_) > np.asarray(lp.row_lower_)
        cols = np.abs(np.asarray(sol.col_dual))[col_nonbasic & col_free]
        rows = np.abs(np.asarray(sol.row_dual))[row_nonbasic & row_free]
        return bool((cols > DUAL_TOLERANCE).all() and (rows > DUAL_TOLERANCE).all())

    def solve(self, time_limit: float | None = None, aims: int | None = None) -> Solution:
        """Solve the model's aims in order (the first ``aims`` of them), lexicographically."""
        clock = time.perf_counter()
        limit = self.time_limit if time_limit is None else time_limit
        deadline = None if limit is None else clock + limit
        self._clear_stages()
        costs = self.compiled.aims[: aims or None]
        senses = [AIMS[name] for name in self.compiled.aim_names[: len(costs)]]
        x, values, duals, status, unique, gap, note = None, [], None, "optimal", False, None, ""
        solved = 0
        for k, (cost, sense) in enumerate(zip(costs, senses, strict=True)):
            self.highs.changeObjectiveSense(
                highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
            )
            self.highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
            if x is not None and self.is_mip:
                self._warm_start(x)
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
            if k == 0 and not self.is_mip and sol.dual_valid:
                duals = np.asarray(sol.row_dual)[: self.n_base_rows]
            unique = not self.is_mip and self._unique()
            if k == len(costs) - 1 or unique:
                break
            if self.is_mip:
                slack = STAGE_TOLERANCE * max(1.0, abs(values[-1]))
                nz = np.flatnonzero(cost)
                lo, hi = (values[-1] - slack, INF) if sense > 0 else (-INF, values[-1] + slack)
                self.highs.addRow(lo, hi, len(nz), nz.astype(np.int32), cost[nz])
            else:
                self._keep_optimal_face(sol, x)
        activity = None
        if x is not None:
            values = [float(cost @ x) for cost in costs]  # every aim at the allocation returned
            a = self.compiled
            activity = np.add.reduceat(a.value * x[a.index], a.starts[:-1]) if len(a.index) else np.zeros(len(a.rows))
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
        )

    def _warm_start(self, x: np.ndarray) -> None:
        start = highspy.HighsSolution()
        start.col_value = list(x)
        start.value_valid = True
        with contextlib.suppress(Exception):
            self.highs.setSolution(start)

    # ----------------------------------------------------------------- reading back

    def block(self, name: str) -> tuple[np.ndarray, list]:
        """(column positions, keys) of a Var block."""
        first, keys = self.compiled.blocks[name]
        return first + np.arange(len(keys)), keys

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
        return float(side + con.body.constant)

    def dual(self, sol: Solution, con) -> float:
        """d(first aim)/d(rhs) of a constraint (0 when it has no row)."""
        i = self.row_index.get(con)
        return 0.0 if i is None or sol.first_duals is None else float(sol.first_duals[i])

    def write(self, path: str) -> None:
        """Write the model as built, with its first aim (the planner's objective): MPS from
        HiGHS with the model's names; LP through Pyomo's LP writer (HiGHS's LP writer drops
        names). The later aims are re-solves of this model (see the module docstring)."""
        if str(path).lower().endswith(".lp"):
            aims = self.model.aims
            for obj in aims[1:]:
                obj.deactivate()
            try:
                self.model.write(str(path), io_options={"symbolic_solver_labels": True})
            finally:
                for obj in aims[1:]:
                    obj.activate()
            return
        self._clear_stages()
        cost, sense = self.compiled.aims[0], AIMS[self.compiled.aim_names[0]]
        self.highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if sense > 0 else highspy.ObjSense.kMinimize
        )
        self.highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        with quiet():
            for i, v in enumerate(self.columns):
                self.highs.passColName(i, _safe(v.name))
            seen: dict[str, int] = {}
            for i, con in enumerate(self.rows):
                name = _safe(con.name)
                seen[name] = seen.get(name, 0) + 1
                self.highs.passRowName(i, name if seen[name] == 1 else f"{name}_{seen[name]}")
            self.highs.writeModel(str(path))

    def iis_rows(self) -> list | None:
        """HiGHS's irreducible infeasible subset of rows, or None when it gives none."""
        try:
            with quiet():
                self.highs.setOptionValue("iis_strategy", 2)
                _, iis = self.highs.getIis()
        except Exception:
            return None
        rows = [self.rows[i] for i in iis.row_index_ if i < self.n_base_rows]
        return rows or None


def _safe(name: str) -> str:
    """MPS names may not contain spaces."""
    return "".join("_" if ch.isspace() else ch for ch in name)
