"""From the selected method to a release candidate: refit it, calibrate the threshold on the
unlabelled scores, and draw the reviewer's plots.

Why refit: cross-validation held labels out to *choose*; the released model should learn
from every confirmed anomaly. It learns from the rows the refit's draw holds (every label and
at most a budget of unlabelled rows: components/selection/row_budget.py), while the threshold is
calibrated on the scores of every row, which costs one scoring pass. Those scores stay with
the candidate, so the reference profile and the plots do not score the table again.
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
    """A fitted detector, its threshold, the cross-validation that chose it and its scores
    on every training row."""

    detector: Detector
    threshold: Threshold
    selection: SelectionResult
    scores: np.ndarray  # one per training row, in the table's order

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


def refit_detector(
    selection: SelectionResult,
    X: np.ndarray,
    y: np.ndarray,
    overrides: dict[str, Any] | None = None,
) -> Detector:
    """The selected configuration fitted on the rows given (the refit's draw)."""
    return make(selection.method, **{**selection.params, **(overrides or {})}).fit(X, y)


def calibrate_candidate(
    detector: Detector,
    selection: SelectionResult,
    X: np.ndarray,
    y: np.ndarray,
    contamination: float,
    threshold_method: str = "quantile",
    target_fpr: float = 0.01,
) -> Candidate:
    """Score every row and calibrate the threshold on the unlabelled rows' scores with
    `contamination`, the share the threshold assumes (`contamination_for_threshold`)."""
    scores = detector.decision_function(X)
    threshold = calibrate_threshold(
        scores[y == 0],
        method=threshold_method,
        contamination=contamination,
        target_fpr=target_fpr,
    )
    return Candidate(detector, threshold, selection, scores)


def candidate_plots(candidate: Candidate, y: np.ndarray, out_dir: Path) -> list[Path]:
    """Score distribution (threshold marked) and the cross-validated PR curve, as PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scores, sel = candidate.scores, candidate.selection
    return [
        plot_score_distribution(
            scores[y == 0], scores[y == 1], candidate.threshold.value, out_dir / "scores.png"
        ),
        plot_pr_curve(sel.held_out_scores, sel.held_out_y, out_dir / "pr_curve_cv.png"),
    ]
