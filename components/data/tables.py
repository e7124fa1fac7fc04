"""The data contract: a table of numeric features (+ an optional id column); the analysts'
label file that DVC versions beside it is components/data/label_file.py.

Why one module: the schema is inferred once at training, stored with the model and enforced
at scoring, so training and serving can never disagree on columns, order or types. Every
error is one line naming the file, column or row and what to do about it.

Import rule: numpy, pandas and pyarrow only.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from components.data.files import DataError as DataError  # re-exported: every reader raises it
from components.data.files import ensure_readable as ensure_readable
from components.data.files import ensure_table_file as ensure_table_file

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Schema:
    """Feature columns, their dtypes and observed ranges, as seen at training time."""

    id_column: str | None
    features: tuple[str, ...]
    dtypes: dict[str, str]
    ranges: dict[str, tuple[float, float]]
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored next to the model."""
        return {
            "id_column": self.id_column,
            "features": list(self.features),
            "dtypes": dict(self.dtypes),
            "ranges": {c: [lo, hi] for c, (lo, hi) in self.ranges.items()},
            "n_rows": self.n_rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Inverse of `to_dict`."""
        return cls(
            id_column=data["id_column"],
            features=tuple(data["features"]),
            dtypes=dict(data["dtypes"]),
            ranges={c: (float(lo), float(hi)) for c, (lo, hi) in data["ranges"].items()},
            n_rows=int(data["n_rows"]),
        )


@dataclasses.dataclass(frozen=True)
class Scaler:
    """Min-max scaling fitted on the training features; constant columns map to 0."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        """Learn per-column minimum and maximum."""
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise DataError(f"cannot fit a scaler on an array of shape {arr.shape}; need rows")
        return cls(tuple(arr.min(axis=0).tolist()), tuple(arr.max(axis=0).tolist()))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scale to [0, 1] on the training range (values outside it fall outside [0, 1])."""
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.low):
            raise DataError(
                f"scaler was fitted on {len(self.low)} features, got an array of shape "
                f"{arr.shape}; score with the training columns"
            )
        low, high = np.asarray(self.low), np.asarray(self.high)
        span = np.where(high > low, high - low, 1.0)
        scaled = np.subtract(arr, low)  # the one float64 temporary; scaled in place
        scaled /= span
        return scaled.astype(np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Scaled values back to the table's units (float64)."""
        low, high = np.asarray(self.low), np.asarray(self.high)
        return np.asarray(X, dtype=np.float64) * np.where(high > low, high - low, 1.0) + low

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored next to the model."""
        return {"low": list(self.low), "high": list(self.high)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        """Inverse of `to_dict`."""
        low = tuple(float(v) for v in data["low"])
        high = tuple(float(v) for v in data["high"])
        if len(low) != len(high) or any(math.isnan(v) for v in low + high):
            raise DataError("scaler.json is malformed: low/high differ in length or hold NaN")
        return cls(low, high)


def not_a_number(column: str, row: int, value: object) -> DataError:
    """The one wording of a value that is not a number, wherever it is found."""
    return DataError(
        f"column {column!r} row {row} holds {value!r}, not a number; fix the value or drop the row"
    )


_MAX_LISTED = 5


def listed(values: list[str]) -> str:
    """Up to five values for a one-line message, with the count of the rest."""
    shown = ", ".join(repr(v) for v in values[:_MAX_LISTED])
    more = len(values) - _MAX_LISTED
    return f"{shown} (+{more} more)" if more > 0 else shown


def check_ids(records: pd.DataFrame, id_column: str) -> pd.Series:
    """Record ids as strings; missing or duplicate ids make labels ambiguous."""
    ids = records[id_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        raise DataError(f"id column {id_column!r} is empty in row {row}; every record needs an id")
    ids = ids.astype(str)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(
            f"id column {id_column!r} has duplicate id(s) {listed(duplicated)}; ids must be unique"
        )
    return ids


def infer_schema(records: pd.DataFrame, id_column: str | None = "id") -> Schema:
    """Learn the schema at training time: every column but the id is a numeric feature.

    The id column is optional: when `id_column` is not in the table, the schema has none.
    """
    if records.empty:
        raise DataError("table has no rows; cannot infer a schema from it")
    if id_column is not None and id_column not in records.columns:
        log.info("no id column %r in the table; rows have no ids", id_column)
        id_column = None
    if id_column is not None:
        check_ids(records, id_column)
    features = tuple(str(c) for c in records.columns if c != id_column)
    if not features:
        raise DataError("table has no feature columns; it needs at least one numeric column")
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(records[c])]
    if bad:
        raise DataError(
            f"column(s) {listed(bad)} are not numeric; encode or drop them before training"
        )
    feature_matrix(records, Schema(id_column, features, {}, {}, len(records)))  # NaN/inf
    values = {c: _numeric_column(records, c) for c in features}
    return Schema(
        id_column=id_column,
        features=features,
        dtypes={c: str(records[c].dtype) for c in features},
        ranges={c: (float(v.min()), float(v.max())) for c, v in values.items()},
        n_rows=len(records),
    )


def _numeric_column(
    records: pd.DataFrame, column: str, dtype: type[np.floating] = np.float64
) -> np.ndarray:
    values = records[column]
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=dtype, na_value=np.nan)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise not_a_number(column, row, values.iloc[row])
    return parsed.to_numpy(dtype=dtype, na_value=np.nan)


def check_columns(columns: Iterable[object], schema: Schema) -> None:
    """The columns must be exactly the schema's features (plus its id column)."""
    present = {str(c) for c in columns}
    missing = [c for c in schema.features if c not in present]
    extra = sorted(present - set(schema.features) - {schema.id_column})
    if missing or extra:
        parts = [f"missing column(s) {listed(missing)}"] if missing else []
        parts += [f"unexpected column(s) {listed(extra)}"] if extra else []
        hint = " (renamed?)" if missing and extra else ""
        raise DataError(
            f"{'; '.join(parts)}{hint}; the model expects exactly {listed(list(schema.features))}"
        )


def feature_matrix(records: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The float32 (n, d) features in schema order; the schema is enforced, never guessed."""
    check_columns(records.columns, schema)
    if records.empty:
        raise DataError("table has no rows; pass at least one record")
    out = np.empty((len(records), len(schema.features)), dtype=np.float32)
    for j, column in enumerate(schema.features):
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf, caught below
            out[:, j] = _numeric_column(records, column, np.float32)  # no float64 round trip
        bad = ~np.isfinite(out[:, j])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column {column!r} has {int(bad.sum())} NaN/inf value(s), first in row {row} "
                "(beyond float32's 3.4e38 counts as inf); impute or drop those rows"
            )
    return out
