"""Model selection without ground truth: held-out labelled anomalies against unlabelled rows,
cross-validated over the few labels.

Why PU-corrected: the held-out "negatives" are unlabelled rows, and a share pi of them
(the contamination) are hidden anomalies. A detector that ranks those hidden anomalies
high is right, yet the plain labelled-vs-unlabelled AUC-PR counts them as false alarms.
Under SCAR (labelled anomalies are a random sample of all anomalies) the held-out labelled
anomalies give the true recall at every threshold t, and the unlabelled flag rate is
theta_U(t) = pi * recall(t) + (1 - pi) * FPR(t). Following Jain, White & Radivojac
("Recovering true classifier performance in positive-unlabeled learning", AAAI'17), the
precision among the unlabelled population at t is

    precision(t) = min(1, pi * recall(t) / theta_U(t)),

and the corrected AUC-PR is its average-precision sum over the recall steps: the AUC-PR the
detector would score on the unlabelled rows if their labels were known. The ROC correction
is AUC = (AUC_PU - pi / 2) / (1 - pi). Both plain (labelled vs unlabelled) numbers are kept
per fold. With pi = 0 the corrected precision is 0 everywhere, so ties are broken by the
recall at the calibrated threshold. Rows an analyst dismissed (y = -1) train in every fold
but are never held out: pi is the share of anomalies among the rows nobody looked at, and
the held-out unlabelled rows must be drawn from those.

Import rule: numpy, scikit-learn and the detectors (torch) only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from components.detectors import make
from components.selection.calibration import calibrate_threshold

log = logging.getLogger(__name__)

FoldDone = Callable[[int, int], None]  # (folds done, folds in all)


class EvaluationError(ValueError):
    """Cross-validation cannot run on these labels or this method."""


@dataclasses.dataclass
class SelectionResult:
    """One method's cross-validated scores: what selection compares and the plots show."""

    method: str
    params: dict[str, Any]
    auc_pr: float  # mean over folds, PU-corrected
    auc_pr_std: float
    auc_roc: float  # mean over folds, PU-corrected
    recall_at_threshold: float
    held_out_scores: np.ndarray  # out-of-fold scores, folds concatenated
    held_out_y: np.ndarray  # 1 = held-out labelled anomaly, 0 = held-out unlabelled row
    held_out_rows: np.ndarray  # row index in X of each held-out score
    folds: list[dict[str, Any]]


def pu_average_precision(scores: np.ndarray, y: np.ndarray, contamination: float) -> float:
    """AUC-PR on the unlabelled population, recovered from labelled (y=1) vs unlabelled (y=0)
    scores and the share `contamination` of anomalies among the unlabelled rows."""
    order = np.argsort(-scores, kind="stable")
    s, labelled = scores[order], y[order] == 1
    last_of_tie = np.r_[s[1:] != s[:-1], True]  # a threshold sits after each distinct score
    recall = np.cumsum(labelled)[last_of_tie] / labelled.sum()
    flag_rate = np.cumsum(~labelled)[last_of_tie] / (~labelled).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(
            flag_rate > 0, np.minimum(1.0, contamination * recall / flag_rate), 1.0
        )
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def pu_roc_auc(scores: np.ndarray, y: np.ndarray, contamination: float) -> float:
    """AUC-ROC of anomalies vs normal rows, recovered from labelled vs unlabelled."""
    observed = roc_auc_score(y, scores)
    return float(np.clip((observed - contamination / 2) / (1 - contamination), 0.0, 1.0))


def _folds(y: np.ndarray, n_folds: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds over the labelled anomalies; fewer folds when labels are few. They
    depend only on y and random_state, so every method sees the same folds."""
    n_labelled = int((y == 1).sum())
    if n_labelled < 2:
        raise EvaluationError(
            f"cross-validation needs at least 2 labelled anomalies (one to hold out), got "
            f"{n_labelled}; label more anomalies"
        )
    k = min(n_folds, n_labelled)
    if k < n_folds:
        log.info("only %d labelled anomalies: %d folds instead of %d", n_labelled, k, n_folds)
    splitter = StratifiedKFold(k, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros((len(y), 1)), y == 1))


def cross_validate(
    method: str,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    contamination: float,
    n_folds: int = 3,
    random_state: int = 0,
    on_fold: FoldDone | None = None,
) -> SelectionResult:
    """Fit `method` on each training fold and score the held-out labelled anomalies against
    the held-out unlabelled rows (PU-corrected AUC-PR and AUC-ROC), plus the recall of the
    threshold calibrated on the fold's training unlabelled scores. `on_fold(done, folds)`
    hears each fold's end (fewer folds than `n_folds` when labels are few)."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).astype(np.int64).ravel()
    if len(X) != len(y):
        raise EvaluationError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not 0.0 <= contamination < 1.0:
        raise EvaluationError(f"contamination must be in [0, 1), got {contamination}")
    folds = _folds(y, n_folds, random_state)
    needed = make(method, **params).min_labelled
    fewest = min(int((y[train] == 1).sum()) for train, _ in folds)
    if fewest < needed:
        raise EvaluationError(
            f"{method} needs {needed} labelled anomalies to train but a training fold of "
            f"{len(folds)} has {fewest} ({int((y == 1).sum())} labelled in all); label more "
            "anomalies or use fewer folds"
        )
    dismissed = np.flatnonzero(y == -1)
    records, all_scores, all_y, all_rows = [], [], [], []
    for fold, (train_rows, test_rows) in enumerate(folds):
        train = np.union1d(train_rows, dismissed)
        test = np.setdiff1d(test_rows, dismissed)
        detector = make(method, **params).fit(X[train], y[train])
        threshold = calibrate_threshold(
            detector.decision_function(X[train][y[train] == 0]), "quantile", contamination
        )
        scores, y_test = detector.decision_function(X[test]), y[test]
        records.append(
            {
                "fold": fold,
                "n_train": len(train),
                "n_test": len(test),
                "labelled_train": int((y[train] == 1).sum()),
                "labelled_test": int(y_test.sum()),
                "auc_pr": pu_average_precision(scores, y_test, contamination),
                "auc_pr_uncorrected": float(average_precision_score(y_test, scores)),
                "auc_roc": pu_roc_auc(scores, y_test, contamination),
                "auc_roc_uncorrected": float(roc_auc_score(y_test, scores)),
                "recall_at_threshold": float(threshold.flag(scores[y_test == 1]).mean()),
                "threshold": threshold.value,
            }
        )
        all_scores.append(scores)
        all_y.append(y_test)
        all_rows.append(test)
        if on_fold is not None:
            on_fold(fold + 1, len(folds))
    auc_pr = [r["auc_pr"] for r in records]
    result = SelectionResult(
        method=method,
        params=dict(params),
        auc_pr=float(np.mean(auc_pr)),
        auc_pr_std=float(np.std(auc_pr)),
        auc_roc=float(np.mean([r["auc_roc"] for r in records])),
        recall_at_threshold=float(np.mean([r["recall_at_threshold"] for r in records])),
        held_out_scores=np.concatenate(all_scores),
        held_out_y=np.concatenate(all_y),
        held_out_rows=np.concatenate(all_rows),
        folds=records,
    )
    log.info(
        "%s: PU-corrected AUC-PR %.4f +- %.4f over %d folds, recall at threshold %.3f",
        method,
        result.auc_pr,
        result.auc_pr_std,
        len(folds),
        result.recall_at_threshold,
    )
    return result
