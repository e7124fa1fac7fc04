"""From the selected method to a release candidate: refit on every row, calibrate the
threshold on the unlabelled scores, and draw the reviewer's plots.

Why refit: cross-validation held labels out to *choose*; the released model should learn
from every confirmed anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from components.detectors import Detector, make
from components.plots import plot_pr_curve, plot_score_distribution
from components.selection.calibration import Threshold, calibrate_threshold
from components.selection.evaluation import SelectionResult


@dataclass
class Candidate:
    """A fitted detector, its threshold and the cross-validation that chose it."""

    detector: Detector
    threshold: Threshold
    selection: SelectionResult

    def metrics(self) -> dict[str, float]:
        """What MLflow records and the promotion gates read."""
        sel = self.selection
        return {
            "auc_pr": sel.auc_pr,
            "auc_pr_std": sel.auc_pr_std,
            "auc_roc": sel.auc_roc,
            "recall_at_threshold": sel.recall_at_threshold,
            "threshold": self.threshold.value,
        }


def fit_candidate(
    selection: SelectionResult,
    X: np.ndarray,
    y: np.ndarray,
    contamination: float,
    threshold_method: str = "quantile",
    target_fpr: float = 0.01,
    overrides: dict[str, Any] | None = None,
) -> Candidate:
    """Refit the selected configuration on all rows and calibrate its threshold with
    `contamination`, the share the threshold assumes (`contamination_for_threshold`)."""
    detector = make(selection.method, **{**selection.params, **(overrides or {})}).fit(X, y)
    scores = detector.decision_function(X[y == 0])
    threshold = calibrate_threshold(
        scores,
        method=threshold_method,
        contamination=contamination,
        target_fpr=target_fpr,
    )
    return Candidate(detector, threshold, selection)


def candidate_plots(
    candidate: Candidate, X: np.ndarray, y: np.ndarray, out_dir: Path
) -> list[Path]:
    """Score distribution (threshold marked) and the cross-validated PR curve, as PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scores = candidate.detector.decision_function(X)
    sel = candidate.selection
    return [
        plot_score_distribution(
            scores[y == 0], scores[y == 1], candidate.threshold.value, out_dir / "scores.png"
        ),
        plot_pr_curve(sel.held_out_scores, sel.held_out_y, out_dir / "pr_curve_cv.png"),
    ]
