"""Thresholds: each rule flags the share it promises and survives a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.selection.calibration import CalibrationError, Threshold, calibrate_threshold


@pytest.fixture
def scores() -> np.ndarray:
    return np.random.default_rng(0).normal(size=2000)


def test_quantile_flags_the_contamination_share(scores: np.ndarray) -> None:
    threshold = calibrate_threshold(scores, "quantile", contamination=0.05)
    assert threshold.flag(scores).mean() == pytest.approx(0.05, abs=1e-3)
    assert threshold.params == {"contamination": 0.05, "n": 2000}


def test_zero_contamination_flags_nothing(scores: np.ndarray) -> None:
    assert not calibrate_threshold(scores, "quantile", contamination=0.0).flag(scores).any()


def test_quantile_needs_contamination(scores: np.ndarray) -> None:
    with pytest.raises(ValueError, match="needs a contamination estimate"):
        calibrate_threshold(scores, "quantile")


def test_conformal_bound_is_the_order_statistic() -> None:
    scores = np.arange(1.0, 200.0)  # n = 199, a = 0.05: rank ceil(200 * 0.95) = 190
    threshold = calibrate_threshold(scores, "fpr", target_fpr=0.05)
    assert threshold.value == 190.0
    assert threshold.flag(scores).sum() == 9


def test_conformal_fpr_holds_on_fresh_normal_rows() -> None:
    rng = np.random.default_rng(1)
    rates = []
    for _ in range(200):
        threshold = calibrate_threshold(rng.normal(size=99), "fpr", target_fpr=0.1)
        rates.append(threshold.flag(rng.normal(size=1000)).mean())
    assert np.mean(rates) <= 0.1 + 0.01  # marginal guarantee, up to Monte Carlo error
    assert np.mean(rates) > 0.07  # and not needlessly conservative


def test_conformal_trims_hidden_anomalies_first() -> None:
    rng = np.random.default_rng(2)
    normal, anomalies = rng.normal(size=1900), rng.normal(8.0, 1.0, size=100)
    scores = np.concatenate([normal, anomalies])
    naive = calibrate_threshold(scores, "fpr", target_fpr=0.02)
    trimmed = calibrate_threshold(scores, "fpr", target_fpr=0.02, contamination=0.05)
    fresh = rng.normal(size=20_000)
    assert naive.flag(fresh).mean() < 0.005  # the anomalies inflate the naive bound
    assert trimmed.flag(fresh).mean() == pytest.approx(0.02, abs=0.006)
    assert trimmed.params["trimmed"] == 100


def test_conformal_refuses_too_few_rows() -> None:
    with pytest.raises(CalibrationError, match="needs at least 99 calibration rows"):
        calibrate_threshold(np.ones(50), "fpr", target_fpr=0.01)


def test_zscore_is_robust_to_outliers(scores: np.ndarray) -> None:
    polluted = np.concatenate([scores, np.full(100, 1000.0)])
    threshold = calibrate_threshold(polluted, "zscore", z=3.0)
    assert threshold.value == pytest.approx(3.0, abs=0.3)  # median 0, MAD-sd 1 of N(0, 1)
    assert threshold.flag(polluted).sum() >= 100


def test_zscore_falls_back_to_std_when_mad_is_zero() -> None:
    scores = np.array([0.0] * 10 + [1.0, 2.0])
    threshold = calibrate_threshold(scores, "zscore", z=2.0)
    assert threshold.value == pytest.approx(2.0 * scores.std())


def test_unknown_method_and_bad_scores(scores: np.ndarray) -> None:
    with pytest.raises(ValueError, match="unknown threshold method 'median'"):
        calibrate_threshold(scores, "median")
    with pytest.raises(CalibrationError, match="1 NaN/inf"):
        calibrate_threshold(np.array([0.0, np.nan]), "zscore")
    with pytest.raises(CalibrationError, match="contamination must be in \\[0, 1\\)"):
        calibrate_threshold(scores, "quantile", contamination=1.5)


@pytest.mark.parametrize("method", ["quantile", "fpr", "zscore"])
def test_threshold_travels_as_json(scores: np.ndarray, method: str) -> None:
    threshold = calibrate_threshold(scores, method, contamination=0.1)
    restored = Threshold.from_dict(json.loads(json.dumps(threshold.to_dict(), allow_nan=False)))
    assert restored == threshold
    np.testing.assert_array_equal(restored.flag(scores), threshold.flag(scores))
