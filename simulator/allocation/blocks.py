"""Building blocks of the allocation model: Var blocks laid out as contiguous columns, and
constraint families added from arrays as Pyomo ``MatrixConstraint`` rows.

``m.columns`` lists every variable of the model in declaration order — the column order handed
to HiGHS — and ``m.blocks[name] = (first column, shape)`` locates a Var block in it, so a
family's coefficients are placed with :func:`at` from index positions, not by looking up
variables one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyomo.core as pyo
from pyomo.core.base.matrix_constraint import MatrixConstraint
from pyomo.core.expr.numeric_expr import LinearExpression

INF = float("inf")


def linear(const: float, coefs: Iterable[float], variables: Iterable) -> LinearExpression:
    return LinearExpression(
        constant=float(const), linear_coefs=[float(x) for x in coefs], linear_vars=list(variables)
    )


def add_var(m, name: str, index: Sequence, shape: tuple, domain, upper=None) -> None:
    """A Var block whose data are the model's next columns, in index order; ``upper`` (flat,
    ∞ for none) sets upper bounds."""
    var = pyo.Var(*index, domain=domain) if index else pyo.Var(domain=domain)
    setattr(m, name, var)
    datas = list(var.values())
    binary = domain is pyo.Binary
    ub = np.full(len(datas), 1.0 if binary else INF) if upper is None else np.asarray(upper, float)
    for vd, bound in zip(datas, ub, strict=True):
        if bound < INF and not binary:
            vd.setub(float(bound))
    m.blocks[name] = (len(m.columns), shape)
    m.columns.extend(datas)
    # the same bounds as arrays, for the hand-off (every domain here is ≥ 0)
    m.column_bounds.append((np.zeros(len(datas)), ub, np.full(len(datas), binary)))


def at(m, name: str, *index) -> np.ndarray:
    """Column positions of a Var block's entries at the given positions in its index sets."""
    first, shape = m.blocks[name]
    if not shape:
        return np.full(np.shape(index[0]) if index else (), first)
    return first + np.ravel_multi_index(tuple(np.asarray(i, dtype=np.int64) for i in index), shape)


class Family(MatrixConstraint):
    """Pyomo's ``MatrixConstraint`` (rows ``lower ≤ A·x ≤ upper`` from CSR arrays), with the
    indexed-component iteration Pyomo's own walkers call (``values(sort)``, ``items(sort)``),
    which ``MatrixConstraint`` (a ``Mapping``) does not accept in Pyomo 6.9–6.10."""

    def values(self, *args, **kwargs):
        return iter(self._data)

    def items(self, *args, **kwargs):
        return enumerate(self._data)

    def keys(self, *args, **kwargs):
        return iter(range(len(self._data)))


def add_rows(m, name: str, keys: list, entries, lower, upper) -> None:
    """Add the family ``lower ≤ Σ coef·x ≤ upper``, one row per key. ``entries`` are
    (row positions, column positions, coefficients) arrays; repeated entries add up."""
    n = len(keys)
    parts = [tuple(np.asarray(x).reshape(-1) for x in e) for e in entries]
    row = np.concatenate([p[0] for p in parts]).astype(np.int64) if parts else np.zeros(0, int)
    col = np.concatenate([p[1] for p in parts]).astype(np.int64) if parts else np.zeros(0, int)
    val = np.concatenate([p[2] for p in parts]).astype(float) if parts else np.zeros(0)
    data, indices, indptr = _csr(row, col, val, n, len(m.columns))
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (n,))
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (n,))
    con = Family(
        data,
        indices,
        indptr,
        [None if np.isinf(v) else float(v) for v in lower],
        [None if np.isinf(v) else float(v) for v in upper],
        m.columns,
    )
    setattr(m, name, con)
    con.row_keys = list(keys)
    con.matrix = (data, indices.astype(np.int32), indptr, lower, upper)


def _csr(row, col, val, n_rows: int, n_cols: int):
    """Compressed sparse rows, entries with the same (row, column) added, columns sorted."""
    key = row * n_cols + col
    unique, inverse = np.unique(key, return_inverse=True)
    data = np.bincount(inverse, weights=val, minlength=len(unique)) if len(key) else np.zeros(0)
    rows = unique // n_cols
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return data, unique % n_cols, indptr


def row_key(con):
    """The family index of a row: ``(c, t)`` for ``mobilised_investment``, a year for a limit."""
    keys = getattr(con.parent_component(), "row_keys", None)
    return keys[con.index()] if keys is not None else con.index()


def row_name(con) -> str:
    """``mobilised_investment[c0001,2026]``: the family and its index."""
    return indexed_name(con.parent_component().local_name, row_key(con))


def indexed_name(family: str, key) -> str:
    """A family's name with one index (a tuple or a single key) in square brackets."""
    key = key if isinstance(key, tuple) else (key,)
    return f"{family}[{','.join(map(str, key))}]"


def grid(*sizes) -> list[np.ndarray]:
    """Every combination of positions (flattened, C order)."""
    return [g.reshape(-1) for g in np.meshgrid(*map(np.arange, sizes), indexing="ij")]
