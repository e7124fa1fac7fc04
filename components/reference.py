"""The training reference: what a typical row looked like when the model was trained.

Why: an analyst reading "mean_area pushed this row up" needs to know whether 1,800 is high.
The reference holds per-feature percentiles of the rows the model learnt as the bulk (every
training row but the confirmed anomalies), in the model's scaled units; it travels with the
model (reference.json in the bundle), so the comparison is with the model's training data,
not with whatever table is being reviewed. Its median row is also the baseline that gradient
attributions integrate from (components/attribution.py).

Import rule: numpy only (and the rank map of components.detectors.ensemble).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from components.detectors.ensemble import rank_normalise

N_LEVELS = 101  # percentiles 0, 1, ..., 100 per feature


class ReferenceError(ValueError):
    """A reference cannot be fitted or read."""


@dataclasses.dataclass(frozen=True)
class FeatureReference:
    """Per-feature percentiles (N_LEVELS, d) of the training bulk, in scaled units."""

    quantiles: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> FeatureReference:
        """Percentiles of the rows `X` (scaled features of the training bulk)."""
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or len(arr) == 0:
            raise ReferenceError(f"need rows to fit a reference on, got shape {arr.shape}")
        return cls(np.quantile(arr, np.linspace(0.0, 1.0, N_LEVELS), axis=0))

    @property
    def median(self) -> np.ndarray:
        """The per-feature median row (d,): a typical row of the training data."""
        return self.quantiles[N_LEVELS // 2]

    def percentile(self, X: np.ndarray) -> np.ndarray:
        """Where each value sits among the training bulk, 0-100 per cell (n, d)."""
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.quantiles.shape[1]:
            raise ReferenceError(
                f"the reference has {self.quantiles.shape[1]} features, got shape {arr.shape}"
            )
        levels = [rank_normalise(arr[:, j], self.quantiles[:, j]) for j in range(arr.shape[1])]
        return 100.0 * np.clip(np.stack(levels, axis=1), 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored next to the model."""
        return {"levels": N_LEVELS, "quantiles": self.quantiles.T.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReference:
        """Inverse of `to_dict`."""
        quantiles = np.asarray(data["quantiles"], dtype=np.float64).T
        if quantiles.ndim != 2 or quantiles.shape[0] != N_LEVELS:
            raise ReferenceError(
                f"reference.json holds {quantiles.shape}; expected {N_LEVELS} rows"
            )
        return cls(quantiles)
