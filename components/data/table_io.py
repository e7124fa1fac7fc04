"""Tables in through pyarrow: a whole table (CSV or parquet), its header alone, its row count,
or its rows in chunks for streaming, each optionally limited to the columns a stage needs.

Why pyarrow: its CSV reader parses on every core and builds columns directly (no Python
objects per value), and parquet is read by column, so only the columns a stage needs leave
the disk. Every failure is one DataError naming the file and, where it can, the line, the
column and the value. Whether a whole table fits in memory is checked before it is read
(components/data/table_size.py).

Import rule: numpy, pandas and pyarrow only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from components.data.tables import not_a_number
from components.data.files import DataError, ensure_table_file

log = logging.getLogger(__name__)

STREAM_BLOCK_BYTES = 16 << 20  # CSV bytes parsed per streamed block
UTF8_PROBE_BYTES = 1 << 20  # an encoding other than UTF-8 shows in the first MiB


def _first_undecodable_line(path: Path, limit: int | None = None) -> int:
    """1-based line number of the first line that is not UTF-8 within the first `limit`
    bytes (all of them by default); 0 when there is none (error path only)."""
    read = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
            read += len(line)
            if limit is not None and read >= limit:
                break
    return 0


def _not_utf8(path: Path, line: int) -> DataError:
    return DataError(f"{path}: line {line} is not valid UTF-8; re-save the file as UTF-8")


def _first_ragged_row(path: Path) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row whose field count differs from the
    header's: pyarrow numbers rows only when it parses serially (error path only)."""
    found: list[tuple[int, int, int]] = []

    def remember(row: pacsv.InvalidRow) -> str:
        found.append((row.number or 0, row.actual_columns, row.expected_columns))
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=remember),
        )
    return found[0] if found else None


def csv_error(path: Path, err: pa.ArrowException) -> DataError:
    """pyarrow's CSV failure as one line naming the line (and what is wrong with it); for
    every reader of CSV tables (table_size.py's sample too)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "Empty CSV file" in text:
        return DataError(f"{path}: file is empty; it needs a header row and data rows")
    line = _first_undecodable_line(path, UTF8_PROBE_BYTES)
    if line:
        return _not_utf8(path, line)
    ragged = _first_ragged_row(path) if "parse error" in text else None
    if ragged is not None:
        number, fields, expected = ragged
        return DataError(
            f"{path}: line {number} has {fields} fields where the header has {expected} "
            f"(not a well-formed CSV); fix or re-export it"
        )
    return DataError(f"{path}: not a well-formed CSV ({text}); fix or re-export it")


def _check_text(path: Path, schema: pa.Schema) -> None:
    """pyarrow keeps bytes that are not UTF-8 as a binary column: refuse them by line."""
    if any(pa.types.is_binary(field.type) for field in schema):
        raise _not_utf8(path, _first_undecodable_line(path))


def _parquet_error(path: Path, err: Exception) -> DataError:
    return DataError(
        f"{path}: not a readable parquet file ({type(err).__name__}); "
        "re-export it or restore it with `dvc checkout`"
    )


def read_csv_text(path: Path) -> pd.DataFrame:
    """A small CSV (the label file) with every value as text and nothing read as missing."""
    path = Path(path)
    names = read_columns(path)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowException as err:
        raise csv_error(path, err) from err
    return table.to_pandas()


def read_arrow(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """The whole table (or only `columns`) as Arrow, CSV or parquet."""
    path = Path(path)
    wanted = None if columns is None else list(columns)
    if ensure_table_file(path) == ".csv":
        try:
            table = pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(include_columns=wanted)
            )
        except pa.ArrowException as err:
            raise csv_error(path, err) from err
        _check_text(path, table.schema)
        return table
    try:
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowException, OSError) as err:
        raise _parquet_error(path, err) from err


def read_table(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read the records table (CSV or parquet) as it is; the schema is checked later. Check
    first that it fits in memory (`table_size.ensure_fits`) where the table may be large."""
    table = read_arrow(path, columns).to_pandas()
    if table.empty:
        raise DataError(f"{path}: table has no rows; it needs at least one record")
    log.info("read %d rows x %d columns from %s", len(table), table.shape[1], path)
    return table


def read_columns(path: Path) -> list[str]:
    """The column names of a table from its header alone (CSV first block, parquet schema)."""
    path = Path(path)
    if ensure_table_file(path) == ".csv":
        try:
            with pacsv.open_csv(path) as reader:
                return list(reader.schema.names)
        except pa.ArrowException as err:
            raise csv_error(path, err) from err
    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as err:
        raise _parquet_error(path, err) from err


def count_rows(path: Path) -> int | None:
    """The table's row count where it is known without reading it (parquet's footer)."""
    path = Path(path)
    if ensure_table_file(path) == ".csv":
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowException, OSError) as err:
        raise _parquet_error(path, err) from err


def iter_chunks(
    path: Path, rows: int, columns: Sequence[str] | None = None, numeric: Sequence[str] = ()
) -> Iterator[pd.DataFrame]:
    """The table in chunks of `rows` rows (the last one shorter), only `columns` of it when
    given. A CSV is parsed block by block and its `numeric` columns read as float64, so a
    column whose first block holds only integers still reads a later decimal."""
    path = Path(path)
    if rows < 1:
        raise DataError(f"chunks need at least one row, got {rows}")
    if ensure_table_file(path) == ".csv":
        yield from _csv_chunks(path, rows, columns, numeric)
        return
    try:
        # pre_buffer (pyarrow's default) keeps every row group's buffers until the file is
        # closed: memory would grow with the table (benchmarks/RESULTS.md, 10M rows).
        batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(
            batch_size=rows, columns=None if columns is None else list(columns)
        )
        for batch in batches:
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as err:
        raise _parquet_error(path, err) from err


def _csv_chunks(
    path: Path, rows: int, columns: Sequence[str] | None, numeric: Sequence[str]
) -> Iterator[pd.DataFrame]:
    present = set(read_columns(path))
    convert = pacsv.ConvertOptions(
        include_columns=None if columns is None else list(columns),
        column_types={c: pa.float64() for c in numeric if c in present},
    )
    options = pacsv.ReadOptions(block_size=STREAM_BLOCK_BYTES)
    done = 0
    try:
        with pacsv.open_csv(path, read_options=options, convert_options=convert) as reader:
            _check_text(path, reader.schema)
            for table in _rebatched(reader, rows):
                done += table.num_rows
                yield table.to_pandas()
    except pa.ArrowInvalid as err:
        if "conversion error" in str(err):
            raise _bad_number(path, numeric, done) from err
        raise csv_error(path, err) from err


def _rebatched(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Arrow batches of any size regrouped into tables of `rows` rows (the last shorter)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _bad_number(path: Path, numeric: Sequence[str], after: int) -> DataError:
    """The first value of a `numeric` column that is not a number, found by reading those
    columns as text from row `after` on (error path only)."""
    present = set(read_columns(path))
    columns = [c for c in numeric if c in present]
    convert = pacsv.ConvertOptions(
        include_columns=columns, column_types=dict.fromkeys(columns, pa.string())
    )
    offset = 0
    with pacsv.open_csv(path, convert_options=convert) as reader:
        for batch in reader:
            if offset + batch.num_rows > after:
                for name in columns:
                    text = batch.column(name)
                    bad = _unparsable(text)
                    if bad is not None:
                        return not_a_number(name, offset + bad, text[bad].as_py())
            offset += batch.num_rows
    return DataError(f"{path}: a numeric column holds a value that is not a number")


def _unparsable(text: pa.Array) -> int | None:
    """Index of the first value of `text` that is neither a number nor one of the spellings
    pyarrow reads as missing."""
    missing = set(pacsv.ConvertOptions().null_values)
    values = pd.Series(text.to_pylist(), dtype=object)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & ~values.isin(missing) & values.notna()
    return int(bad.to_numpy().nonzero()[0][0]) if bad.any() else None
