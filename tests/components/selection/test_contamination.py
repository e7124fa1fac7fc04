"""PU contamination estimates: intervals cover the known truth on synthetic data, the exact
posterior is the negative hypergeometric law, and an implausible estimate is flagged and
never makes the threshold flag most of the table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import nhypergeom

from components.selection.contamination import (
    DEFAULT_METHOD,
    ContaminationError,
    ContaminationEstimate,
    contamination_for_threshold,
    estimate_contamination,
)
from components.selection.contamination.best_bin import (
    MAX_BINS,
    _posterior_cdf,
    search_bins,
    top_bins,
)
from components.selection.contamination.common import MAX_SHARE
from components.selection.contamination.trust import MAX_WIDTH, PRIOR_SHARE
from tests.conftest import synthetic_task


def test_default_interval_covers_true_contamination_in_nine_of_ten_seeds() -> None:
    assert DEFAULT_METHOD == "bbe-exact"
    covered = []
    for seed in range(10):
        X, y, truth = synthetic_task(seed, n=500, n_anomalies=30, n_labelled=10)
        estimate = estimate_contamination(X, y, random_state=seed)
        share = truth[y == 0].mean()
        covered.append(estimate.low <= share <= estimate.high and estimate.trusted)
    assert sum(covered) >= 9, covered


def test_elkan_noto_interval_covers_true_contamination_in_nine_of_ten_seeds() -> None:
    covered = []
    for seed in range(10):
        X, y, truth = synthetic_task(seed, n=500, n_anomalies=30, n_labelled=10)
        estimate = estimate_contamination(
            X, y, n_bootstrap=20, random_state=seed, method="elkan-noto-e1"
        )
        covered.append(estimate.low <= truth[y == 0].mean() <= estimate.high)
    assert sum(covered) >= 9, covered


@pytest.mark.parametrize("method", ["bbe-exact", "elkan-noto-e1"])
def test_estimate_follows_the_hidden_share(method: str) -> None:
    X_low, y_low, truth_low = synthetic_task(0, n=600, n_anomalies=20, n_labelled=10)
    X_high, y_high, truth_high = synthetic_task(0, n=600, n_anomalies=70, n_labelled=10)
    low = estimate_contamination(X_low, y_low, n_bootstrap=10, method=method)
    high = estimate_contamination(X_high, y_high, n_bootstrap=10, method=method)
    assert high.estimate > 1.5 * low.estimate
    for estimate, truth in ((low, truth_low[y_low == 0]), (high, truth_high[y_high == 0])):
        assert 0.5 * truth.mean() < estimate.estimate < 2.0 * truth.mean()


def test_paper_bbe_recovers_the_prior_with_many_labels() -> None:
    X, y, truth = synthetic_task(1, n=1500, n_anomalies=300, n_labelled=150)
    estimate = estimate_contamination(X, y, method="bbe")
    assert estimate.low <= truth[y == 0].mean() <= estimate.high
    assert estimate.low <= estimate.estimate <= estimate.high


def test_posterior_is_the_negative_hypergeometric_likelihood() -> None:
    u, n, j, m = 7, 10, 4, 300
    hidden = np.arange(u, m + 1)  # fewer hidden anomalies than u cannot put u above
    like = np.concatenate([np.zeros(u), nhypergeom.pmf(u, hidden + n, hidden, j)])
    np.testing.assert_allclose(_posterior_cdf(u, n, j, m), np.cumsum(like) / like.sum())


def test_bins_holding_most_unlabelled_rows_say_nothing_below_half() -> None:
    n, m = 10, 400
    assert search_bins([(j, 250 + 10 * j) for j in range(1, 11)], n, m, 0.9) == (
        MAX_SHARE,
        0.0,
        MAX_SHARE,
    )
    estimate, low, high = search_bins([(5, 150), (10, 260)], n, m, 0.9)
    assert 0.3 < estimate <= high <= MAX_SHARE  # the prior stops at half the rows
    assert low < estimate


def test_top_bins_count_rows_at_or_above_each_labelled_score_and_thin_many_labels() -> None:
    score = np.array([0.9, 0.8, 0.8, 0.5, 0.3, 0.95, 0.1])
    labelled = np.array([True, True, False, True, False, False, False])
    assert top_bins(score, labelled) == [(1, 1), (2, 2), (3, 2)]
    many = np.arange(1000.0)
    bins = top_bins(many, many % 4 == 0)  # 250 labelled, 750 unlabelled, interleaved
    assert len(bins) == MAX_BINS
    assert bins[0] == (1, 3)
    assert bins[-1] == (250, 750)


def test_labels_that_look_like_every_row_are_flagged_and_fall_back_below_half() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6))
    y = np.zeros(800, dtype=np.int64)
    y[rng.choice(800, size=10, replace=False)] = 1  # "anomalies" drawn like every other row
    estimate = estimate_contamination(X, y)
    assert not estimate.trusted
    assert estimate.reason
    used = contamination_for_threshold(estimate)
    assert used.fallback
    assert used.value <= PRIOR_SHARE < MAX_SHARE
    assert "not trusted" in used.note


def test_saturated_estimate_is_untrusted_and_capped_at_the_prior() -> None:
    saturated = ContaminationEstimate(1.0, 1.0, 1.0, "elkan-noto-e1")
    assert not saturated.trusted
    assert saturated.reason.startswith("saturated")
    used = contamination_for_threshold(saturated)
    assert (used.value, used.fallback) == (PRIOR_SHARE, True)
    assert "capped at the prior share" in used.note


def test_majority_and_wide_intervals_are_untrusted_but_a_small_estimate_is_kept() -> None:
    majority = ContaminationEstimate(0.6, 0.55, 0.65, "bbe-exact")
    assert not majority.trusted
    assert "most rows" in majority.reason
    at_cap = ContaminationEstimate(0.45, 0.38, MAX_SHARE, "bbe-exact")  # narrow, but capped
    assert not at_cap.trusted
    assert "reaches 0.5" in at_cap.reason
    wide = ContaminationEstimate(0.04, 0.0, MAX_WIDTH + 0.05, "bbe-exact")
    assert not wide.trusted
    assert "wider than" in wide.reason
    used = contamination_for_threshold(wide)
    assert (used.value, used.fallback) == (0.04, True)
    assert "kept" in used.note


def test_trusted_estimate_is_used_as_it_is() -> None:
    estimate = ContaminationEstimate(0.05, 0.03, 0.08, "bbe-exact")
    assert (estimate.trusted, estimate.reason) == (True, "")
    used = contamination_for_threshold(estimate)
    assert (used.value, used.fallback) == (0.05, False)
    assert "bbe-exact" in used.note


def test_same_seed_same_estimate() -> None:
    X, y, _ = synthetic_task(3, n=400, n_anomalies=20, n_labelled=8)
    first = estimate_contamination(X, y, random_state=1)
    assert estimate_contamination(X, y, random_state=1) == first
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
    with pytest.raises(ContaminationError, match="unknown contamination method 'tice'"):
        estimate_contamination(X, y, method="tice")


def test_estimate_round_trips() -> None:
    estimate = ContaminationEstimate(0.05, 0.03, 0.08, "elkan-noto-e1")
    stored = json.loads(json.dumps(estimate.to_dict()))
    assert stored["trusted"] is True
    assert ContaminationEstimate.from_dict(stored) == estimate


def test_dismissed_rows_are_not_in_the_unlabelled_pool() -> None:
    """Rows an analyst dismissed (y = -1) are left out: the same estimate as without them."""
    X, y, _ = synthetic_task(4, n=500, n_anomalies=30, n_labelled=10)
    dismissed = y.copy()
    dismissed[100:160] = -1
    keep = dismissed != -1
    with_them = estimate_contamination(X, dismissed, n_bootstrap=5, random_state=0)
    without = estimate_contamination(X[keep], y[keep], n_bootstrap=5, random_state=0)
    assert with_them == without
