"""Will a table fit in memory? Its in-memory size, estimated before it is read, against a
memory budget, so a table too large for the machine is refused in one line instead of
ending in a killed process half way through a run.

The estimate reads a sample of rows (at most `SAMPLE_ROWS`, or the first `SAMPLE_BYTES` of a
CSV), measures them as pandas holds them (strings included) and scales to the whole table:
parquet's footer gives the row count, a CSV's row count is its size over the sample's bytes
per row. The default budget (components/data/machine.py) is half of the memory this process may use.

Import rule: standard library, pandas and pyarrow (and components/data/table_io.py) only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from components.data.files import DataError, ensure_table_file
from components.data.table_io import csv_error

SAMPLE_ROWS = 10_000
SAMPLE_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class TableSize:
    """A table's rows and columns, and the bytes pandas would hold it in (an estimate)."""

    rows: int
    columns: int
    bytes: int
    rows_exact: bool  # parquet's footer count, or a CSV's estimate

    def describe(self) -> str:
        """e.g. "about 7.5 GiB in memory (10,000,000 rows x 100 columns)"."""
        rows = f"{self.rows:,}" if self.rows_exact else f"about {self.rows:,}"
        return f"about {human_bytes(self.bytes)} in memory ({rows} rows x {self.columns} columns)"


def human_bytes(n: float) -> str:
    """Bytes in binary units with three significant figures, e.g. "7.45 GiB"."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def _sample_bytes_per_row(sample: pa.Table) -> float:
    frame = sample.to_pandas()
    return float(frame.memory_usage(deep=True, index=False).sum()) / max(len(frame), 1)


def estimate(path: Path, columns: Sequence[str] | None = None) -> TableSize:
    """The in-memory size of the table at `path` (only `columns` of it when given), from a
    sample of its rows; reads nothing else."""
    path = Path(path)
    wanted = None if columns is None else list(columns)
    if ensure_table_file(path) == ".csv":
        try:
            return _estimate_csv(path, wanted)
        except pa.ArrowException as err:
            raise csv_error(path, err) from err
    try:
        parquet = pq.ParquetFile(path)
        rows = int(parquet.metadata.num_rows)
        first = next(parquet.iter_batches(batch_size=SAMPLE_ROWS, columns=wanted), None)
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"{path}: not a readable table ({type(err).__name__}); re-export it"
        ) from err
    if first is None:
        n_columns = len(wanted) if wanted is not None else len(parquet.schema_arrow)
        return TableSize(rows, n_columns, 0, rows_exact=True)
    per_row = _sample_bytes_per_row(pa.Table.from_batches([first]))
    return TableSize(rows, first.num_columns, int(per_row * rows), rows_exact=True)


def _estimate_csv(path: Path, columns: list[str] | None) -> TableSize:
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if len(head) < size:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    sample = pacsv.read_csv(
        pa.py_buffer(head), convert_options=pacsv.ConvertOptions(include_columns=columns)
    )
    if sample.num_rows == 0:
        return TableSize(0, sample.num_columns, 0, rows_exact=True)
    if len(head) >= size:
        return TableSize(
            sample.num_rows,
            sample.num_columns,
            int(_sample_bytes_per_row(sample) * sample.num_rows),
            rows_exact=True,
        )
    rows = int(size / (len(head) / sample.num_rows))
    per_row = _sample_bytes_per_row(sample)
    return TableSize(rows, sample.num_columns, int(per_row * rows), rows_exact=False)


def ensure_fits(
    path: Path, budget: int, columns: Sequence[str] | None = None, what: str = "this step"
) -> TableSize:
    """Refuse, in one line naming the size and the budget, a table that `what` would read
    whole and that does not fit in `budget` bytes; returns its estimated size."""
    size = estimate(path, columns)
    if size.bytes > budget:
        raise DataError(
            f"{path}: {size.describe()}, over the memory budget of {human_bytes(budget)} "
            f"that {what} may read whole (WSAD_MEMORY_BUDGET); use a sample of the rows or "
            "fewer columns, or raise WSAD_MEMORY_BUDGET on a machine with more memory"
        )
    return size


def ensure_chunk_fits(path: Path, budget: int, rows: int, columns: Sequence[str]) -> None:
    """Streaming holds one chunk at a time: refuse a chunk size whose chunk alone would not
    fit in `budget` bytes."""
    size = estimate(path, columns)
    held = min(rows, max(size.rows, 1))  # a chunk never holds more rows than the table
    chunk = int(size.bytes / max(size.rows, 1) * held)
    if chunk > budget:
        raise DataError(
            f"{path}: a chunk of {held:,} rows is {human_bytes(chunk)} in memory, over the "
            f"memory budget of {human_bytes(budget)} (WSAD_MEMORY_BUDGET); pass a smaller "
            "--chunk-rows"
        )
