"""Reading tables through pyarrow: whole, by column, in chunks; each failure one line naming
the file and the line, column or value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.data.files import DataError
from components.data.table_io import count_rows, iter_chunks, read_columns, read_csv_text, read_table


@pytest.fixture
def records() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"id": np.arange(1000), "a": rng.normal(size=1000), "b": rng.integers(0, 9, 1000)}
    )


def test_ragged_csv_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("id,a,b\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(DataError, match=r"r\.csv: line 3 has 4 fields where the header has 3"):
        read_table(tmp_path / "r.csv")


def test_utf16_csv_is_named_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_bytes("id,a\n1,2\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"u\.csv: line 1 is not valid UTF-8"):
        read_table(tmp_path / "u.csv")


def test_parquet_is_read_by_column(tmp_path: Path, records: pd.DataFrame) -> None:
    records.to_parquet(tmp_path / "t.parquet")
    assert list(read_table(tmp_path / "t.parquet", ["a"]).columns) == ["a"]
    chunks = list(iter_chunks(tmp_path / "t.parquet", 300, ["id", "b"]))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert all(list(c.columns) == ["id", "b"] for c in chunks)
    assert count_rows(tmp_path / "t.parquet") == 1000
    records.to_csv(tmp_path / "t.csv", index=False)
    assert count_rows(tmp_path / "t.csv") is None  # known only once read


def test_csv_chunks_hold_the_asked_rows_and_every_row(
    tmp_path: Path, records: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("components.data.table_io.STREAM_BLOCK_BYTES", 1 << 12)  # many blocks
    records.to_csv(tmp_path / "t.csv", index=False)
    chunks = list(iter_chunks(tmp_path / "t.csv", 256, ["id", "a"], numeric=["a"]))
    assert [len(c) for c in chunks] == [256, 256, 256, 232]
    streamed = pd.concat(chunks, ignore_index=True)
    np.testing.assert_allclose(streamed["a"], records["a"])
    assert read_columns(tmp_path / "t.csv") == ["id", "a", "b"]


def test_streamed_csv_reads_a_late_decimal_in_an_integer_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("components.data.table_io.STREAM_BLOCK_BYTES", 1 << 10)
    lines = ["id,b", *(f"{i},{i % 7}" for i in range(2000)), "2000,1.5"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    chunks = list(iter_chunks(tmp_path / "late.csv", 500, numeric=["b"]))
    assert pd.concat(chunks)["b"].iloc[-1] == 1.5


def test_streamed_csv_names_the_row_of_a_value_that_is_not_a_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("components.data.table_io.STREAM_BLOCK_BYTES", 1 << 10)
    lines = ["id,b", *(f"{i},{i % 7}" for i in range(2000))]
    lines[1500] = "1499,seven"  # data row 1499 (0-based)
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"column 'b' row 1499 holds 'seven', not a number"):
        list(iter_chunks(tmp_path / "bad.csv", 500, numeric=["b"]))


def test_label_text_keeps_every_value_as_written(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,note\n007,\nNA,n/a\n")
    labels = read_csv_text(tmp_path / "l.csv")
    assert labels["id"].tolist() == ["007", "NA"]
    assert labels["note"].tolist() == ["", "n/a"]


def test_streaming_parquet_holds_about_one_row_group_whatever_the_table(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    noise = np.random.default_rng(0).normal(size=(100_000, 30))  # does not compress
    part = pa.Table.from_pandas(pd.DataFrame(noise).add_prefix("f"))
    with pq.ParquetWriter(tmp_path / "big.parquet", part.schema) as writer:
        for _ in range(8):  # 8 row groups of 24 MB
            writer.write_table(part)
    peak = 0
    for _ in iter_chunks(tmp_path / "big.parquet", 100_000):
        peak = max(peak, pa.total_allocated_bytes())
    # this test's own table and the reader's row group and chunk (128 MiB measured), not
    # the file's every row group as pyarrow's pre-buffering keeps them (329 MiB)
    assert peak < 192 << 20
