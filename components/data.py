"""The data contract: a table of numeric features (+ an optional id column) and a small CSV
of confirmed anomaly ids that DVC versions.

Why one module: the schema is inferred once at training, stored with the model and enforced
at scoring, so training and serving can never disagree on columns, order or types. Every
error is one line naming the file, column or row and what to do about it.

Import rule: numpy, pandas and pyarrow only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


class DataError(ValueError):
    """A data file or table breaks the data contract; the message says what to fix."""


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
        return ((arr - low) / span).astype(np.float32)

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
