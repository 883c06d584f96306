"""Growth primitives shared by the projection and the fund response (one floor below both).

Both run the recurrence year by year, in place, on one array: the same floating-point
operations in the same order as ``x[t] = x[t−1]·(1 + g[t]) + add[t]`` written out, without a
temporary per year (the projection calls them on (sample, cluster, year) arrays).
"""

from __future__ import annotations

import numpy as np


def compound(start: np.ndarray, growth: np.ndarray, additions: np.ndarray | None = None):
    """The growth recurrence ``x[t] = x[t−1]·(1+g[t]) + add[t]``, ``x[0] = start + add[0]``.

    ``start`` (..., c); ``growth`` and ``additions`` (..., c, t), broadcast together. The loop
    runs over years only; samples and clusters are vectorised. Units are those of ``start``.
    """
    shape = np.broadcast_shapes(
        (*np.shape(start), growth.shape[-1]),
        growth.shape,
        *(() if additions is None else (additions.shape,)),
    )
    out = np.empty(shape)
    np.add(growth, 1.0, out=out)  # 1 + g[t]; x[0] is written over it
    out[..., 0] = start
    if additions is not None:
        add = np.broadcast_to(additions, shape)
        out[..., 0] += add[..., 0]
    for t in range(1, shape[-1]):
        np.multiply(out[..., t - 1], out[..., t], out=out[..., t])
        if additions is not None:
            np.add(out[..., t], add[..., t], out=out[..., t])
    return out


def cumulative(growth: np.ndarray) -> np.ndarray:
    """Π_{τ≤t}(1 + g[τ]) [1]: 1 in the base year (..., c, t); ``growth`` in fractions per year."""
    out = np.add(growth, 1.0)
    for t in range(1, out.shape[-1]):
        np.multiply(out[..., t - 1], out[..., t], out=out[..., t])
    return out
