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
    """A cut-off in raw score units; rows scoring above it are flagged."""

    method: str
    value: float
    params: dict[str, Any]

    def flag(self, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of flagged rows (higher score = more anomalous)."""
        return np.asarray(scores, dtype=np.float64) > self.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored next to the model."""
        return {"method": self.method, "value": float(self.value), "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        """Inverse of `to_dict`."""
        return cls(str(data["method"]), float(data["value"]), dict(data.get("params", {})))


class CalibrationError(ValueError):
    """Scores or settings from which no threshold can be calibrated."""


METHODS = ("quantile", "fpr", "zscore")
MAD_TO_STD = 1.4826  # MAD of a normal distribution times this is its standard deviation


def _check_scores(scores: np.ndarray) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise CalibrationError(f"unlabelled scores must be a non-empty 1-D array, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise CalibrationError(
            f"unlabelled scores hold {int((~np.isfinite(arr)).sum())} NaN/inf value(s); "
            "check the detector's output"
        )
    return arr


def _check_share(name: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise CalibrationError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def calibrate_threshold(
    unlabelled_scores: np.ndarray,
    method: str = "quantile",
    contamination: float | None = None,
    target_fpr: float = 0.01,
    z: float = 3.0,
) -> Threshold:
    """Fit a threshold on the scores of unlabelled rows (flag = score > value).

    - "quantile": the (1 - contamination) quantile, so about a `contamination` share of
      the unlabelled rows is flagged (PyOD's rule; needs `contamination`).
    - "fpr": split-conformal bound. The value is the ceil((n+1)(1-a))-th smallest score, so
      a new row exchangeable with the calibration rows is flagged with probability <= a
      (`target_fpr`). When `contamination` is given, the top share of scores is dropped
      first, so the bound is taken over the normal-looking rows rather than the hidden
      anomalies too.
    - "zscore": DevNet's decision rule, value = centre + z * spread, made robust with the
      median and the scaled MAD (the standard deviation when the MAD is 0).
    """
    scores = _check_scores(unlabelled_scores)
    if method == "quantile":
        if contamination is None:
            raise CalibrationError("method 'quantile' needs a contamination estimate")
        share = _check_share("contamination", contamination)
        value = float(np.quantile(scores, 1.0 - share))
        return Threshold(method, value, {"contamination": share, "n": scores.size})
    if method == "fpr":
        alpha = _check_share("target_fpr", target_fpr)
        calibration = np.sort(scores)
        trimmed = 0
        if contamination is not None:
            trimmed = int(np.ceil(_check_share("contamination", contamination) * scores.size))
            calibration = calibration[: scores.size - trimmed]
        n = calibration.size
        rank = int(np.ceil((n + 1) * (1.0 - alpha)))
        if alpha == 0.0 or rank > n:
            raise CalibrationError(
                f"target_fpr={target_fpr} needs at least {int(np.ceil((1 - alpha) / alpha))} "
                f"calibration rows, got {n}; raise target_fpr or score more unlabelled rows"
            )
        params = {"target_fpr": alpha, "n": n, "trimmed": trimmed}
        return Threshold(method, float(calibration[rank - 1]), params)
    if method == "zscore":
        centre = float(np.median(scores))
        spread = MAD_TO_STD * float(np.median(np.abs(scores - centre)))
        if spread == 0.0:
            spread = float(scores.std())
        params = {"z": float(z), "centre": centre, "spread": spread, "n": scores.size}
        return Threshold(method, centre + z * spread, params)
    raise CalibrationError(f"unknown threshold method {method!r}; use one of {', '.join(METHODS)}")
