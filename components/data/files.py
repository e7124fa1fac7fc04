"""Checks on an input file that need no table library, so a command refuses a missing,
unreadable or empty file, or an unknown table format, before pandas, torch or Prefect load.

`DataError` lives here because both these checks and the table contract (components/data/tables.py,
which re-exports it) raise it. Import rule: standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


class DataError(ValueError):
    """A data file or table breaks the data contract; the message says what to fix."""


def ensure_readable(path: Path) -> None:
    """The file exists, is a file, this process may read it, and it is not empty."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found; check the path (or run `dvc pull`)")
    if not path.is_file():
        raise DataError(f"{path}: is a directory, not a file; pass the table file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: not readable by this user; check its permissions")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty (0 bytes); re-export or `dvc pull` it")


def ensure_table_file(path: Path) -> str:
    """`ensure_readable`, and a known table suffix; returns the suffix (lower case)."""
    ensure_readable(path)
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"{path}: unknown file type {suffix or '(none)'!r}; use one of "
            f"{', '.join(TABLE_SUFFIXES)}"
        )
    return suffix
