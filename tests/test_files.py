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
