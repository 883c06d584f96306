"""The hand-off: the Pyomo model as the matrices HiGHS takes, and the model as an LP file.

The model's columns are its variables in declaration order (``m.columns``, a contiguous block
per ``Var``); its rows are its constraint families in declaration order. A family built from
arrays (a ``MatrixConstraint``, :func:`simulator.allocation.blocks.add_rows`) hands over its CSR
arrays as they are; any other family is read row by row from its ``LinearExpression`` bodies.
``tests/test_optimiser_laws.py`` checks the result against each row's own Pyomo body and
bounds. (Pyomo's general expression walker, ``LinearStandardFormCompiler``, cost more than
HiGHS's own solve at 1,000 clusters: docs/performance.md.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.core as pyo
from pyomo.core.base.component_namer import index_repr
from pyomo.core.expr.numeric_expr import LinearExpression

from ..errors import InternalError
from .blocks import indexed_name, row_name
from .objectives import AIMS

INF = float("inf")


class NotLinearModel(InternalError):
    """A constraint or aim the model builder did not write as a LinearExpression: a bug."""


class Compiled:
    """The model as matrices: its columns (``m.columns``), its rows (every active constraint
    family, in declaration order) and one cost vector per aim."""

    def __init__(self, model: pyo.ConcreteModel):
        self.columns = model.columns
        self.blocks = model.blocks
        self.lower = np.concatenate([b[0] for b in model.column_bounds])
        self.upper = np.concatenate([b[1] for b in model.column_bounds])
        self.integer = np.concatenate([b[2] for b in model.column_bounds]).astype(bool)
        column_of = None
        self.rows: list = []
        self.families: list = []  # the constraint components, in row order
        starts, index, value, row_lo, row_hi = [np.zeros(1, np.int64)], [], [], [], []
        nnz = 0
        for con in model.component_objects(pyo.Constraint, active=True, descend_into=True):
            if hasattr(con, "matrix"):  # a family built from arrays (model._rows)
                data, idx, ptr, lo, hi = con.matrix
                self.rows.extend(con.values())
            else:  # any other family: read its expressions
                column_of = column_of or {id(v): i for i, v in enumerate(self.columns)}
                data, idx, ptr, lo, hi = _expression_rows(con, column_of)
                self.rows.extend(con.values())
            self.families.append(con)
            value.append(data)
            index.append(idx)
            starts.append(ptr[1:] + nnz)
            row_lo.append(lo)
            row_hi.append(hi)
            nnz += len(data)
        self.starts = np.concatenate(starts).astype(np.int32)
        self.index = np.concatenate(index).astype(np.int32) if index else np.zeros(0, np.int32)
        self.value = np.concatenate(value).astype(float) if value else np.zeros(0)
        self.row_lower = np.concatenate(row_lo).astype(float) if row_lo else np.zeros(0)
        self.row_upper = np.concatenate(row_hi).astype(float) if row_hi else np.zeros(0)
        self.row_lower[np.isneginf(self.row_lower)] = -INF
        self.row_upper[np.isposinf(self.row_upper)] = INF
        column_of = column_of or {id(v): i for i, v in enumerate(self.columns)}
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

    def names(self) -> tuple[list[str], list[str]]:
        """Column and row names as Pyomo spells them (``v_grant[auto,2021,all]``; a family
        built from arrays by its ``row_keys``: ``annual_budget[2021]``), made safe for MPS and
        LP (:func:`safe_name`); a repeated row name gets a ``_2``, ``_3``… suffix."""
        cols: list[str] = []
        for name, (first, shape) in self.blocks.items():
            if not np.prod(shape):
                continue  # an empty block
            var = self.columns[first].parent_component()
            if var.is_indexed():
                cols.extend(f"{name}{index_repr(key)}" for key in var)
            else:
                cols.append(name)
        rows: list[str] = []
        for con in self.families:
            keys = getattr(con, "row_keys", None)
            if keys is None:
                rows.extend(row_name(row) for row in con.values())
            else:
                rows.extend(indexed_name(con.local_name, key) for key in keys)
        seen: dict[str, int] = {}
        unique = []
        for name in map(safe_name, rows):
            seen[name] = seen.get(name, 0) + 1
            unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
        return [safe_name(c) for c in cols], unique


def _expression_rows(con, column_of):
    """(data, indices, indptr, lower, upper) of a family whose rows are LinearExpressions."""
    data, idx, ptr, lo, hi = [], [], [0], [], []
    for row in con.values():
        lb, body, ub = row.to_bounded_expression()
        if type(body) is not LinearExpression:
            raise NotLinearModel(row.name)
        const = float(body.constant)
        idx.extend(column_of[id(v)] for v in body.linear_vars)
        data.extend(body.linear_coefs)
        ptr.append(len(idx))
        lo.append(-INF if lb is None else float(lb) - const)
        hi.append(INF if ub is None else float(ub) - const)
    return (
        np.asarray(data, float),
        np.asarray(idx, np.int32),
        np.asarray(ptr),
        np.asarray(lo),
        np.asarray(hi),
    )


#: every whitespace character → "_", square brackets → round ones
_SAFE = str.maketrans(
    {**{chr(i): "_" for i in range(0x3001) if chr(i).isspace()}, "[": "(", "]": ")"}
)


def safe_name(name: str) -> str:
    """MPS and LP names: no whitespace, no square brackets (CPLEX LP does not allow them)."""
    return name.translate(_SAFE)


def write_lp(path, c: Compiled, cols: list[str], rows: list[str]) -> None:
    """The model with its first aim in CPLEX LP format, every number at full precision."""

    def num(x) -> str:
        return repr(float(x))

    def terms(idx, val) -> str:
        parts = [
            f"{'+' if v >= 0 else '-'} {num(abs(v))} {cols[i]}"
            for i, v in zip(idx, val, strict=True)
        ]
        return " ".join(parts) or f"0 {cols[0]}"

    sense = "Maximize" if AIMS[c.aim_names[0]] > 0 else "Minimize"
    cost = c.aims[0]
    nz = np.flatnonzero(cost)
    lines = ["\\ written by simulator: the allocation model with its first aim", sense]
    lines.append(f" obj: {terms(nz, cost[nz])}")
    lines.append("Subject To")
    for r, name in enumerate(rows):
        lo, hi = c.row_lower[r], c.row_upper[r]
        span = slice(c.starts[r], c.starts[r + 1])
        body = terms(c.index[span], c.value[span])
        if lo == hi:
            lines.append(f" {name}: {body} = {num(lo)}")
            continue
        if lo > -INF:
            lines.append(f" {name}{'_lo' if hi < INF else ''}: {body} >= {num(lo)}")
        if hi < INF:
            lines.append(f" {name}{'_hi' if lo > -INF else ''}: {body} <= {num(hi)}")
    lines.append("Bounds")
    for i, name in enumerate(cols):
        lo, hi = c.lower[i], c.upper[i]
        if c.integer[i]:
            continue
        if hi < INF:
            lines.append(f" {num(lo)} <= {name} <= {num(hi)}")
        elif lo != 0:
            lines.append(f" {name} >= {num(lo)}" if lo > -INF else f" {name} free")
    binaries = [cols[i] for i in np.flatnonzero(c.integer)]
    if binaries:
        lines.append("Binary")
        lines.extend(f" {name}" for name in binaries)
    lines.append("End")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
