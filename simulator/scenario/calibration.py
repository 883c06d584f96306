"""Baselines reconciled with published totals: every figure of a scenario's ``calibration:``
block against the clusters' base-year sum of the same quantity.

The sums come from the projection (value added = Σ revenue × VA rate, energy = Σ VA ×
intensity …), which lives in ``core`` and which this layer may not import. So the caller
(:func:`simulator.runs.calibration_report`) computes them, and :func:`compare` takes them as
numbers: it converts units, computes each coverage (the clusters' sum over the published
total) and says whether it is within the tolerance. No file is read or written here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..units import factor
from .schema import CALIBRATION_KINDS, DEFAULT_TOLERANCE, Scenario


@dataclass(frozen=True)
class ClusterSum:
    """The clusters' base-year sum of one quantity, in canonical units (亿元, 亩, 万tce, 万人)."""

    value: float
    counted: tuple[str, ...]  # the clusters in the sum
    missing: tuple[str, ...]  # the clusters without the baselines the quantity needs


@dataclass(frozen=True)
class CalibrationRow:
    """One published total against the clusters' sum, both in the figure's own unit."""

    key: str  # the figure's key under calibration.figures
    field: str  # the quantity: revenue, value_added, land, tax …
    year: int  # the statistic's year
    base_year: int  # the year of the clusters' sum
    total: float  # published
    modelled: float | None  # the clusters' sum; None when no cluster has the quantity
    coverage: float | None  # modelled / total
    unit: str
    tolerance: float  # a share
    within_tolerance: bool | None  # None when not compared
    provenance: str  # "statistic: … [source]"
    scope: str  # what the total covers
    counted: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.field if self.key == self.field else f"{self.field} ({self.key})"

    @property
    def when(self) -> str:
        if self.year == self.base_year:
            return str(self.year)
        return f"{self.base_year} (statistic of {self.year})"

    def line(self) -> str:
        """``coverage value_added 2019: clusters 350.5亿元 of 325.7亿元 (107.6 %) — …``"""
        head = f"coverage {self.label} {self.when}: "
        published = f"{_number(self.total)}{self.unit}"
        if self.modelled is None:
            why = (
                "no cluster has a count of firms (baseline.firms)"
                if self.field == "firms"
                else f"no cluster has the baselines {self.field} needs"
            )
            return head + f"not compared — {why} ({published} published; {self.scope})"
        text = head + f"clusters {_number(self.modelled)}{self.unit} of {published}"
        if self.coverage is None:
            return text + f" — the published total is 0 ({self.scope})"
        text += f" ({_percent(self.coverage)}) — "
        if self.within_tolerance:
            text += f"within {_share(self.tolerance)} of {self.scope}"
        elif self.coverage < 1:
            text += f"the clusters cover part of {self.scope}"
        else:
            text += f"the clusters add up to more than {self.scope}"
        if self.missing:
            n = len(self.counted) + len(self.missing)
            text += (
                f" ({len(self.counted)} of {n} clusters; without the baselines {self.field} "
                f"needs: {', '.join(self.missing)})"
            )
        return text

    def warning(self) -> str | None:
        """A ``warning:`` line when the coverage is outside the tolerance, else None."""
        if self.within_tolerance is not False or self.coverage is None:
            return None
        head = f"warning: calibration.figures.{self.key}: the clusters' {self.field} is "
        head += f"{_percent(self.coverage)} of the published total, outside the "
        head += f"{_share(self.tolerance)} tolerance: "
        if self.coverage < 1:
            return head + (
                "a target on the whole of what that total covers is about more than the "
                "clusters cover"
            )
        return head + (
            "check the cluster baselines, or whether the total covers less than the clusters"
        )


def compare(s: Scenario, sums: Mapping[str, ClusterSum]) -> list[CalibrationRow]:
    """One row per calibration figure, in the file's order. ``sums`` maps a field to the
    clusters' base-year sum (canonical units); a field missing from it is not compared."""
    if s.calibration is None:
        return []
    base = s.scenario.base_year
    block = s.calibration.tolerance
    default = _as_share(block) if block is not None else DEFAULT_TOLERANCE
    rows = []
    for key, f in s.calibration.figures.items():
        kind = CALIBRATION_KINDS[f.field]
        total = float(f.value)
        tolerance = _as_share(f.tolerance) if f.tolerance is not None else default
        found = sums.get(f.field)
        modelled = coverage = within = None
        counted: tuple[str, ...] = ()
        missing: tuple[str, ...] = ()
        if found is not None and found.counted and math.isfinite(found.value):
            modelled = found.value / factor(f.unit, kind)
            counted, missing = found.counted, found.missing
            if total > 0:
                coverage = modelled / total
                within = abs(coverage - 1.0) <= tolerance + 1e-12
        rows.append(
            CalibrationRow(
                key=str(key),
                field=f.field,
                year=f.year if f.year is not None else base,
                base_year=base,
                total=total,
                modelled=modelled,
                coverage=coverage,
                unit=f.unit,
                tolerance=tolerance,
                within_tolerance=within,
                provenance=f.provenance,
                scope=f.scope,
                counted=counted,
                missing=missing,
            )
        )
    return rows


def _as_share(q) -> float:
    return float(q.values()[0]) * factor(q.unit, "share")


def _number(v: float) -> str:
    """4,337 · 1,502.85 · 350.49 · 96.7 · 0.75: thousands separated, at most two decimals."""
    text = f"{v:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(v: float) -> str:
    return f"{v * 100:.1f} %"


def _share(v: float) -> str:
    return f"{v * 100:g} %"
