"""Streaming batch scoring: read a table in chunks, score each, write as you go.

Why: production tables do not fit in memory; peak memory is bounded by one chunk whatever
the table's size. Output is written to a temporary file and moved into place at the end, so
a failed run never leaves a half-written score file behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.data.files import DataError
from components.data.table_io import iter_chunks, read_columns
from components.data.tables import Schema, check_columns

Predict = Callable[[pd.DataFrame], pd.DataFrame]
BeforePublish = Callable[[int, int], None]  # (rows, flagged); raise to publish nothing
RowsDone = Callable[[int], None]  # rows scored so far, after each chunk


@dataclass(frozen=True)
class ScoringSummary:
    rows: int
    flagged: int
    seconds: float
    out: Path


def check_output(dst: Path, chunk_rows: int) -> None:
    """The output is a .csv or .parquet path and chunks hold at least one row."""
    if dst.suffix not in {".csv", ".parquet"}:
        raise DataError(f"{dst}: output must end in .csv or .parquet")
    if chunk_rows < 1:
        raise DataError(f"chunk_rows (--chunk-rows) is {chunk_rows}; use a positive row count")


def with_ids(
    predictions: pd.DataFrame, records: pd.DataFrame, id_column: str | None
) -> pd.DataFrame:
    """`predictions` with the records' ids in front, when the records carry the id column."""
    if id_column and id_column in records.columns:
        predictions.insert(0, id_column, records[id_column].to_numpy())
    return predictions


def score_table(
    predict: Predict,
    src: Path,
    dst: Path,
    id_column: str | None,
    chunk_rows: int = 100_000,
    before_publish: BeforePublish | None = None,
    *,
    schema: Schema | None = None,
    on_rows: RowsDone | None = None,
) -> ScoringSummary:
    """Score `src` chunk by chunk into `dst` (.csv or .parquet): id (when present), score,
    is_anomaly. `predict` enforces the schema (the model's `feature_matrix`); given the
    `schema`, the header is checked against it first and only its columns (and the id) are
    read, the features as numbers. `before_publish` sees the totals after the last chunk,
    before `dst` is moved into place; an exception there leaves no output (and any earlier
    `dst` as it was). `on_rows` hears the rows done after each chunk."""
    check_output(dst, chunk_rows)
    columns: list[str] | None = None
    if schema is not None:
        header = read_columns(src)
        check_columns(header, schema)
        columns = [c for c in (id_column, *schema.features) if c in header]
    numeric = () if schema is None else schema.features
    start, rows, flagged = time.perf_counter(), 0, 0
    tmp = dst.with_name(f".{dst.name}.partial")
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in iter_chunks(src, chunk_rows, columns, numeric):
            out = with_ids(predict(chunk), chunk, id_column)
            rows, flagged = rows + len(out), flagged + int(out["is_anomaly"].sum())
            if dst.suffix == ".csv":
                out.to_csv(
                    tmp, mode="a" if rows > len(out) else "w", header=rows == len(out), index=False
                )
            else:
                table = pa.Table.from_pandas(out, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if on_rows is not None:
                on_rows(rows)
        if rows == 0:
            raise DataError(f"{src}: the table has no rows to score")
        if writer is not None:
            writer.close()
        if before_publish is not None:
            before_publish(rows, flagged)
        os.replace(tmp, dst)
    finally:
        if writer is not None and tmp.exists():
            writer.close()
        tmp.unlink(missing_ok=True)
    return ScoringSummary(rows, flagged, time.perf_counter() - start, dst)
