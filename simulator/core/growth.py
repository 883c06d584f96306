"""Growth primitives shared by the projection and the fund response (one floor below both)."""

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
    add = np.zeros(shape) if additions is None else np.broadcast_to(additions, shape)
    g = np.broadcast_to(growth, shape)
    out[..., 0] = np.broadcast_to(start, shape[:-1]) + add[..., 0]
    for t in range(1, shape[-1]):
        out[..., t] = out[..., t - 1] * (1.0 + g[..., t]) + add[..., t]
    return out


def cumulative(growth: np.ndarray) -> np.ndarray:
    """Π_{τ≤t}(1 + g[τ]) [1]: 1 in the base year (..., c, t); ``growth`` in fractions per year."""
    return np.cumprod(1.0 + growth, axis=-1)
