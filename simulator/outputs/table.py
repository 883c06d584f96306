"""A table of named columns: what a CSV, a JSON record list and a console table read.

The results' tables (:mod:`.tables`: projection, targets, limits, allocation, marginal
values, probabilities, fans, sensitivity indices…) are built as :class:`Table`, not as pandas
DataFrames: writing and printing them needs no pandas, and a command that only writes them
does not import it (0.2 s and 34 MB of every ``optimise``). A consumer that computes on a table (the report, the workbook) takes
:meth:`Table.to_pandas`, the DataFrame pandas would have built from the same rows.

A column is a numpy array or a list of Python values. A list column's type is what pandas
infers from the same list (:func:`column_kind`), so a table reads the same as its DataFrame:
whole numbers with a missing value are floats unless the column is declared nullable
(``Int64``), a column of text with a missing value is text with empty fields.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: column kinds: "float" (NaN missing), "int", "bool", "Int64" (whole numbers, None missing),
#: "object" (anything; None and NaN missing)
KINDS = ("float", "int", "bool", "Int64", "object")


def missing(x: Any) -> bool:
    """None, NaN (and pandas' NA, which is neither equal nor unequal to itself)."""
    if x is None:
        return True
    try:
        return bool(x != x)
    except TypeError:  # pandas.NA
        return True


def column_kind(values: Sequence | np.ndarray) -> str:
    """The kind pandas gives a column built from ``values``."""
    if isinstance(values, np.ndarray):
        k = values.dtype.kind
        return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(k, "object")
    if all(v is None for v in values):  # no values, or none but missing ones
        return "object"
    whole = True
    for v in values:
        if isinstance(v, bool | np.bool_):
            return "bool" if all(isinstance(x, bool | np.bool_) for x in values) else "object"
        if isinstance(v, float | np.floating) or v is None:
            whole = False
        elif not isinstance(v, int | np.integer):
            return "object"
    return "int" if whole else "float"


@dataclass
class Table:
    """Named columns of equal length, in order. ``kinds`` declares a column's kind where the
    values alone do not say it (``"Int64"``: whole numbers with missing values)."""

    columns: dict[str, Sequence | np.ndarray]
    kinds: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        unknown = {k for k in self.kinds.values() if k not in KINDS}
        if unknown:
            raise ValueError(f"unknown column kinds {sorted(unknown)} (known: {KINDS})")

    @classmethod
    def from_rows(cls, rows: list[dict], columns: list[str], **kinds: str) -> Table:
        """One dict per row (a key missing from a row is a missing value)."""
        return cls({c: [r.get(c) for r in rows] for c in columns}, kinds)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str):
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def get(self, name: str, default=None):
        return self.columns.get(name, default)

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def kind(self, name: str) -> str:
        return self.kinds.get(name) or column_kind(self.columns[name])

    def values(self, name: str) -> list:
        """A column as Python values of its kind (floats for "float", None for missing)."""
        col = self.columns[name]
        kind = self.kind(name)
        values = col.tolist() if isinstance(col, np.ndarray) else list(col)
        if kind == "float":
            return [math.nan if v is None else float(v) for v in values]
        if kind == "Int64":
            return [None if missing(v) else int(v) for v in values]
        if kind == "object":
            return [None if missing(v) else _plain(v) for v in values]
        return [_plain(v) for v in values]

    def itertuples(self) -> Iterator[tuple]:
        """Rows as named tuples (fields named by the columns), like pandas' ``itertuples``."""
        row = namedtuple("Row", self.names, rename=True)
        return map(row._make, zip(*(self.values(n) for n in self.names), strict=True))

    def records(self) -> list[dict]:
        """One dict per row, JSON-ready: Python numbers; NaN, ±∞ and missing values as None
        (strict JSON has no NaN or Infinity; pandas' ``to_json`` writes null for them too)."""
        cols = [[None if _not_a_number(v) else v for v in self.values(n)] for n in self.names]
        return [dict(zip(self.names, row, strict=True)) for row in zip(*cols, strict=True)]

    def to_pandas(self):
        """The DataFrame pandas builds from the same columns (nullable kinds kept)."""
        import pandas as pd

        if not len(self):  # no rows: pandas gives every column the object kind
            df = pd.DataFrame(columns=self.names)
        else:
            df = pd.DataFrame({n: self._pandas_column(n) for n in self.names}, columns=self.names)
        for name, kind in self.kinds.items():
            if kind == "Int64":
                df[name] = df[name].astype("Int64")
        return df

    def _pandas_column(self, name: str):
        col = self.columns[name]
        return col if isinstance(col, np.ndarray) else list(col)


def _not_a_number(v) -> bool:
    return missing(v) or (isinstance(v, float) and math.isinf(v))


def _plain(v):
    """A numpy scalar as the Python value it holds."""
    return v.item() if isinstance(v, np.generic) else v
