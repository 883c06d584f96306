"""The results writer: CSVs it formats itself are byte for byte what pandas writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.outputs import files

TEXT = st.text(alphabet=st.sampled_from(list('ab 中文,"\n\r;-.')), max_size=6)
FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.1 + 0.2, -0.0, 1e16, 1e-5, 5e-5, 123456789012.0, 1e300]),
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.integers(0, 8).flatmap(
        lambda n: st.tuples(
            st.lists(TEXT, min_size=n, max_size=n),
            st.lists(FLOAT, min_size=n, max_size=n),
            st.lists(st.integers(-(10**12), 10**12), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_plain_tables_are_written_as_pandas_writes_them(tmp_path_factory, rows):
    text, floats, ints, bools = rows
    df = pd.DataFrame(
        {
            "name": pd.Series(text, dtype=object),
            "value": np.array(floats, dtype=float),
            "year": np.array(ints, dtype=np.int64),
            "met": np.array(bools, dtype=bool),
        }
    )
    folder = tmp_path_factory.mktemp("csv")
    chunk = files.CSV_CHUNK
    try:
        files.CSV_CHUNK = 3  # rows cross chunk boundaries
        files.write_csv(folder / "ours.csv", df)
    finally:
        files.CSV_CHUNK = chunk
    df.to_csv(folder / "pandas.csv", index=False, encoding=files.CSV_ENCODING)
    assert (folder / "ours.csv").read_bytes() == (folder / "pandas.csv").read_bytes()


def test_a_column_that_is_not_plain_goes_to_pandas(tmp_path):
    df = pd.DataFrame({"a": [1, None], "b": pd.array([1, pd.NA], dtype="Int64")})
    assert files._plain_columns(df) is None
    files.write_csv(tmp_path / "x.csv", df)
    assert (tmp_path / "x.csv").read_text(encoding="utf-8-sig") == "a,b\n1.0,1\n,\n"


# a value of a row: what the tables' rows hold (text, numbers, flags, missing values)
CELL = st.one_of(
    st.none(),
    TEXT,
    FLOAT,
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.just(np.float64(2.5)),
    st.just(np.int64(7)),
)


@settings(max_examples=150, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["any", "float", "int", "text", "flag", "Int64"]), min_size=1),
    n=st.integers(0, 7),
    data=st.data(),
)
def test_a_table_reads_and_writes_as_the_dataframe_of_its_rows(tmp_path_factory, kinds, n, data):
    """Table.from_rows ≡ pd.DataFrame(rows, columns) (+ astype("Int64")): same CSV bytes, the
    same DataFrame from to_pandas, the same JSON records as pandas' (at full precision)."""
    from simulator.outputs.records import frame_records
    from simulator.outputs.table import Table

    cells = {
        "any": CELL,
        "float": st.one_of(st.none(), FLOAT),
        "int": st.integers(-(10**6), 10**6),
        "text": st.one_of(st.none(), TEXT),
        "flag": st.one_of(st.none(), st.booleans()),
        "Int64": st.one_of(st.none(), st.integers(1990, 2050)),
    }
    columns = [f"c{i}" for i in range(len(kinds))]
    rows = [{c: data.draw(cells[k]) for c, k in zip(columns, kinds, strict=True)} for _ in range(n)]
    nullable = {c: "Int64" for c, k in zip(columns, kinds, strict=True) if k == "Int64"}
    table = Table.from_rows(rows, columns, **nullable)
    df = pd.DataFrame(rows, columns=columns)
    for c in nullable:
        df[c] = df[c].astype("Int64")
    pd.testing.assert_frame_equal(table.to_pandas(), df)
    folder = tmp_path_factory.mktemp("table")
    chunk = files.CSV_CHUNK
    try:
        files.CSV_CHUNK = 3
        files.write_csv(folder / "ours.csv", table)
    finally:
        files.CSV_CHUNK = chunk
    df.to_csv(folder / "pandas.csv", index=False, encoding=files.CSV_ENCODING)
    assert (folder / "ours.csv").read_bytes() == (folder / "pandas.csv").read_bytes()
    ours = frame_records(table)
    theirs = frame_records(df)  # pandas: floats to 10 decimals, inf as null
    assert len(ours) == len(theirs)
    for mine, pandas_row in zip(ours, theirs, strict=True):
        assert list(mine) == list(pandas_row)
        for key, value in mine.items():
            other = pandas_row[key]
            if isinstance(value, float) and not isinstance(other, bool):
                assert np.isfinite(value)  # NaN and ±∞ are null, as pandas writes them
                assert other is not None
                # pandas rounds to 10 digits (near the largest float, up to infinity)
                close = np.isclose(value, other, rtol=1e-9, atol=0) or np.isinf(other)
                assert close or abs(round(value, 10) - other) <= 1e-12, (value, other)
            else:
                assert value == other and type(value) is type(other), (key, value, other)
