r"""Indicators and targets as linear forms in the primary flows.

A :class:`LinearForm` is ``Σ_p Σ_(c,t) coef_p[c,t] · P_p[c,t]`` over the primary flows
P ∈ {revenue, investment, tech_investment, firms}, with the fund-independent factor paths (one
sample) as coefficients. It is read off the same indicator definitions the projection uses
(:mod:`simulator.indicators`), so ``evaluate(form, projection)`` equals
:func:`simulator.projection.scope_values` — a law the tests check — and the allocation model
can write every target and limit as a linear row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import indicators
from .projection import Projection
from .targets import TargetSpec, scale, year_on_year_norm

PRIMARIES = ("revenue", "investment", "tech_investment", "firms")


@dataclass
class LinearForm:
    """Sparse coefficients per primary flow: (cluster indices, year indices, coefficients)."""

    terms: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def add(self, other: LinearForm, multiplier: float = 1.0) -> LinearForm:
        out = LinearForm(dict(self.terms))
        for p, (c, t, k) in other.terms.items():
            if p in out.terms:
                c0, t0, k0 = out.terms[p]
                out.terms[p] = (
                    np.concatenate([c0, c]),
                    np.concatenate([t0, t]),
                    np.concatenate([k0, multiplier * k]),
                )
            else:
                out.terms[p] = (c, t, multiplier * k)
        return out

    def evaluate(self, primary: dict[str, np.ndarray]) -> np.ndarray:
        """Σ coef·P per sample, ``primary[p]`` of shape (n, c, t)."""
        total = 0.0
        for p, (c, t, k) in self.terms.items():
            total = total + (primary[p][:, c, t] * k).sum(axis=-1)
        return np.asarray(total)

    def dense(self, primary: str, n_clusters: int, n_years: int) -> np.ndarray:
        """Coefficients of one primary flow as a dense (c, t) array (duplicates summed)."""
        out = np.zeros((n_clusters, n_years))
        if primary in self.terms:
            c, t, k = self.terms[primary]
            np.add.at(out, (c, t), k)
        return out


def indicator_form(
    indicator: str, members: np.ndarray, t: int, factor: dict[str, np.ndarray]
) -> LinearForm:
    """The extensive or change ``indicator`` over ``members`` in year index ``t``.

    ``factor`` holds one sample of the factor paths, each (c, t).
    """
    if indicator in indicators.EXTENSIVE:
        e = indicators.EXTENSIVE[indicator]
        coef = np.ones(len(members)) if e.factor is None else factor[e.factor][members, t]
        return LinearForm({e.primary: (members, np.full(len(members), t), coef)})
    if indicator in indicators.CHANGES:
        base = indicators.CHANGES[indicator].base
        return indicator_form(base, members, t, factor).add(
            indicator_form(base, members, t - 1, factor), -1.0
        )
    raise ValueError(f"{indicator} is a ratio: write it as numerator − r·denominator")


def limit_form(
    indicator: str, members: np.ndarray, t: int, factor: dict[str, np.ndarray], bound: float
) -> tuple[LinearForm, float]:
    """An upper limit ``X ≤ bound`` as ``(form, rhs)``; a ratio N/D ≤ bound as N − bound·D ≤ 0."""
    if indicator in indicators.RATIOS:
        r = indicators.RATIOS[indicator]
        num = indicator_form(r.numerator, members, t, factor)
        return num.add(indicator_form(r.denominator, members, t, factor), -bound), 0.0
    return indicator_form(indicator, members, t, factor), float(bound)


@dataclass
class TargetRow:
    """``σ·(form − rhs) + norm·s ≥ 0``: the target with relative shortfall s ≥ 0 (see targets)."""

    spec: TargetSpec
    form: LinearForm  # lhs (a level, or N − r·D for a ratio)
    rhs: float  # r for a level target, r·G_t for a context share, 0 for a ratio target
    norm: float  # |r| for a level, |r|·G_t for a context share, |r|·D⁰ for a ratio


def target_row(
    spec: TargetSpec, required: float, factor: dict[str, np.ndarray], reference: Projection
) -> TargetRow:
    """Linear row of a level or ratio target (count targets are per cluster: see below)."""
    if spec.kind == "ratio":
        r = indicators.RATIOS[spec.indicator]
        num = indicator_form(r.numerator, spec.members, spec.t, factor)
        den = indicator_form(r.denominator, spec.members, spec.t, factor)
        den0 = float(den.evaluate(reference.primary)[0])
        return TargetRow(spec, num.add(den, -required), 0.0, float(scale(required)) * den0)
    if spec.kind == "count":
        raise ValueError("count targets are rows per cluster: use cluster_forms")
    form = indicator_form(spec.indicator, spec.members, spec.t, factor)
    if spec.kind == "context_share":  # X ≥ r·G_t: a level row, G is a constant
        level = required * float(spec.context[spec.t])
        return TargetRow(spec, form, level, float(scale(level)))
    return TargetRow(spec, form, required, float(scale(required)))


def year_on_year_rows(
    spec: TargetSpec, factor: dict[str, np.ndarray], reference: Projection
) -> list[tuple[int, TargetRow]]:
    """A year-on-year target as one row per plan year t ≤ t_j: X(t) − r_t·X(t−1) ≥ 0 (σ), with
    r_t = (1+g)·P_t/P_(t−1) and the norm |r_t|·X⁰(t−1) of the ledger's yearly shortfall."""
    rows = []
    for t in range(1, spec.t + 1):
        rate = spec.step_rate(t)
        now = indicator_form(spec.indicator, spec.members, t, factor)
        before = indicator_form(spec.indicator, spec.members, t - 1, factor)
        x0 = float(before.evaluate(reference.primary)[0])
        norm = float(year_on_year_norm(rate, x0))
        rows.append((t, TargetRow(spec, now.add(before, -rate), 0.0, norm)))
    return rows


def cluster_forms(spec: TargetSpec, factor: dict[str, np.ndarray]) -> list[LinearForm]:
    """For a count target: the indicator of each member cluster in the target year."""
    return [indicator_form(spec.indicator, np.array([c]), spec.t, factor) for c in spec.members]
