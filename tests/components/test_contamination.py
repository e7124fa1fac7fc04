"""PU contamination estimate: its interval covers the known truth on synthetic data."""

from __future__ import annotations

import json

import pytest

from components.contamination import (
    ContaminationError,
    ContaminationEstimate,
    estimate_contamination,
)
from tests.conftest import synthetic_task


def test_interval_covers_true_contamination_in_nine_of_ten_seeds() -> None:
    covered = []
    for seed in range(10):
        X, y, truth = synthetic_task(seed, n=500, n_anomalies=30, n_labelled=10)
        estimate = estimate_contamination(X, y, n_bootstrap=20, random_state=seed)
        covered.append(estimate.contains(truth[y == 0].mean()))
    assert sum(covered) >= 9, covered


def test_estimate_follows_the_hidden_share() -> None:
    X_low, y_low, truth_low = synthetic_task(0, n=600, n_anomalies=20, n_labelled=10)
    X_high, y_high, truth_high = synthetic_task(0, n=600, n_anomalies=70, n_labelled=10)
    low = estimate_contamination(X_low, y_low, n_bootstrap=10)
    high = estimate_contamination(X_high, y_high, n_bootstrap=10)
    assert high.estimate > 1.5 * low.estimate
    for estimate, truth in ((low, truth_low[y_low == 0]), (high, truth_high[y_high == 0])):
        assert 0.5 * truth.mean() < estimate.estimate < 2.0 * truth.mean()


def test_same_seed_same_estimate() -> None:
    X, y, _ = synthetic_task(3, n=400, n_anomalies=20, n_labelled=8)
    first = estimate_contamination(X, y, n_bootstrap=5, random_state=1)
    assert estimate_contamination(X, y, n_bootstrap=5, random_state=1) == first
    assert first.low <= first.estimate <= first.high


def test_one_labelled_anomaly_is_not_enough() -> None:
    X, y, _ = synthetic_task(0, n=200, n_anomalies=10, n_labelled=1)
    with pytest.raises(
        ContaminationError,
        match="at least 2 labelled anomalies to estimate contamination, got 1",
    ):
        estimate_contamination(X, y)


def test_bad_inputs_are_refused() -> None:
    X, y, _ = synthetic_task(0, n=200, n_anomalies=10, n_labelled=4)
    with pytest.raises(ContaminationError, match="one row per label"):
        estimate_contamination(X, y[:-1])
    with pytest.raises(ContaminationError, match="0 \\(unlabelled\\) and -1"):
        estimate_contamination(X, y * 2)
    with pytest.raises(ContaminationError, match="confidence"):
        estimate_contamination(X, y, confidence=1.5)


def test_estimate_round_trips_and_contains() -> None:
    estimate = ContaminationEstimate(0.05, 0.03, 0.08, "elkan-noto-e1")
    assert estimate.contains(0.03)
    assert estimate.contains(0.08)
    assert not estimate.contains(0.09)
    assert ContaminationEstimate(**json.loads(json.dumps(estimate.to_dict()))) == estimate


def test_dismissed_rows_are_not_in_the_unlabelled_pool() -> None:
    """Rows an analyst dismissed (y = -1) are left out: the same estimate as without them."""
    X, y, _ = synthetic_task(4, n=500, n_anomalies=30, n_labelled=10)
    dismissed = y.copy()
    dismissed[100:160] = -1
    keep = dismissed != -1
    with_them = estimate_contamination(X, dismissed, n_bootstrap=5, random_state=0)
    without = estimate_contamination(X[keep], y[keep], n_bootstrap=5, random_state=0)
    assert with_them == without
