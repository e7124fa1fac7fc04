"""Command-line options shared by `wsad bench` and the scripts in benchmarks/: a
comma-separated list, and the parquet tables a command picks from a folder.

Import rule: the standard library only, so a bare GPU box runs the benchmark scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def csv_list(text: str, cast: type) -> list[Any]:
    """A comma-separated option (`--seeds 0,1,2`) as a list of `cast` values; blanks dropped."""
    return [cast(part.strip()) for part in text.split(",") if part.strip()]


def select_tables(data_dir: Path, datasets: str) -> list[Path]:
    """The parquet tables in `data_dir`, or the comma-separated `datasets` among them (every
    benchmark command picks its tables so); a name without a table is an error, not a skip."""
    if not data_dir.is_dir():
        raise ValueError(f"{data_dir} is not a folder of parquet tables")
    names = csv_list(datasets, str)
    tables = sorted(data_dir.glob("*.parquet"))
    if names:
        missing = sorted(set(names) - {t.stem for t in tables})
        if missing:
            raise ValueError(f"no table {', '.join(missing)}.parquet in {data_dir}")
        tables = [t for t in tables if t.stem in names]
    if not tables:
        raise ValueError(f"{data_dir} holds no .parquet table")
    return tables
