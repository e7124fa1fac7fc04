"""Thresholds: turn anomaly scores into a yes/no decision.

Why its own component: a threshold is learned from data (the unlabelled scores), so it is
a fitted object with its own state that travels with the model as JSON, not a magic number
inside a detector.

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Threshold:
    """A cut-off in raw score units; rows scoring at or above it are flagged."""

    method: str
    value: float
    params: dict[str, Any]

    def flag(self, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of flagged rows (higher score = more anomalous)."""
        return np.asarray(scores, dtype=np.float64) >= self.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored next to the model."""
        return {"method": self.method, "value": float(self.value), "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        """Inverse of `to_dict`."""
        return cls(str(data["method"]), float(data["value"]), dict(data.get("params", {})))
