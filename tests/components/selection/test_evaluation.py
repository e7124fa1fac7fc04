"""Selection without ground truth: same folds for every method, PU-corrected metrics that
track the truth, and a clearly better detector wins."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from components.selection.evaluation import (
    EvaluationError,
    SelectionResult,
    cross_validate,
    pu_average_precision,
    pu_roc_auc,
)
from tests.conftest import decoy_task

SUPERVISED = {"max_iter": 30, "random_state": 0}
IFOREST = {"n_estimators": 50, "random_state": 0}


@pytest.fixture(scope="module")
def decoy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return decoy_task()


@pytest.fixture(scope="module")
def results(decoy) -> list[SelectionResult]:
    X, y, truth = decoy
    pi = float(truth[y == 0].mean())
    return [
        cross_validate("iforest", IFOREST, X, y, pi),
        cross_validate("supervised", SUPERVISED, X, y, pi),
    ]


def test_clearly_better_detector_scores_higher(results: list[SelectionResult]) -> None:
    iforest, supervised = results
    assert supervised.auc_pr > iforest.auc_pr + 0.2


def test_every_method_sees_the_same_folds(results: list[SelectionResult], decoy) -> None:
    iforest, supervised = results
    np.testing.assert_array_equal(iforest.held_out_y, supervised.held_out_y)
    shape = [(f["n_test"], f["labelled_test"]) for f in iforest.folds]
    assert shape == [(f["n_test"], f["labelled_test"]) for f in supervised.folds]
    assert [f["labelled_test"] for f in iforest.folds] == [5, 5, 5]
    assert len(iforest.held_out_scores) == len(decoy[0])


def test_cross_validation_is_deterministic(results: list[SelectionResult], decoy) -> None:
    X, y, truth = decoy
    again = cross_validate("iforest", IFOREST, X, y, float(truth[y == 0].mean()))
    np.testing.assert_array_equal(again.held_out_scores, results[0].held_out_scores)
    assert again.folds == results[0].folds


def test_fold_metrics_are_reported(results: list[SelectionResult]) -> None:
    supervised = results[1]
    for fold in supervised.folds:
        assert 0.0 <= fold["recall_at_threshold"] <= 1.0
        assert fold["auc_pr"] > fold["auc_pr_uncorrected"]  # hidden anomalies ranked high
    assert supervised.recall_at_threshold > 0.5
    assert supervised.auc_pr_std == pytest.approx(np.std([f["auc_pr"] for f in supervised.folds]))


def test_pu_corrections_recover_the_hidden_truth() -> None:
    rng = np.random.default_rng(0)
    pi, hidden = 0.1, rng.random(20_000) < 0.1
    unlabelled = rng.normal(size=20_000) + 2.0 * hidden
    labelled = rng.normal(size=2_000) + 2.0
    scores = np.r_[labelled, unlabelled]
    y = np.r_[np.ones(2_000), np.zeros(20_000)].astype(np.int64)
    true_ap = average_precision_score(hidden, unlabelled)
    assert pu_average_precision(scores, y, pi) == pytest.approx(true_ap, abs=0.05)
    assert abs(average_precision_score(y, scores) - true_ap) > 0.1  # the plain one is off
    assert pu_roc_auc(scores, y, pi) == pytest.approx(roc_auc_score(hidden, unlabelled), abs=0.01)


def test_too_few_labels_for_cross_validation(decoy) -> None:
    X, y, _ = decoy
    one = np.zeros_like(y)
    one[0] = 1
    with pytest.raises(EvaluationError, match="at least 2 labelled anomalies.*got 1"):
        cross_validate("iforest", IFOREST, X, one, 0.05)


def test_method_needing_two_labels_per_training_fold(decoy) -> None:
    X, y, _ = decoy
    two = np.zeros_like(y)
    two[:2] = 1  # two folds of one label each: every training fold has a single anomaly
    with pytest.raises(EvaluationError, match="prenet needs 2 labelled .* has 1"):
        cross_validate("prenet", {"epochs": 1}, X, two, 0.05, n_folds=3)


def test_dismissed_rows_train_but_are_never_held_out(decoy) -> None:
    X, y, _ = decoy
    with_dismissals = y.copy()
    with_dismissals[200:260] = -1
    plain = cross_validate("supervised", SUPERVISED, X, y, 0.05)
    result = cross_validate("supervised", SUPERVISED, X, with_dismissals, 0.05)
    assert set(np.unique(result.held_out_y).tolist()) == {0, 1}
    assert len(result.held_out_y) == len(plain.held_out_y) - 60
    # each dismissed row sat in one fold's held-out part; there it moved to the training side
    extra = [r["n_train"] - p["n_train"] for r, p in zip(result.folds, plain.folds, strict=True)]
    assert sum(extra) == 60
    assert min(extra) > 0
