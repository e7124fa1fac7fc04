"""The reference profile: what it stores, the shift statistic, and the bands new data must
fall in."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.monitoring.profile import (
    N_BINS,
    QUANTILES,
    Limits,
    ReferenceProfile,
    bin_counts,
    build_profile,
    psi,
    psi_limit,
)

CONTAMINATION = {"estimate": 0.05, "low": 0.03, "high": 0.08}


def reference(seed: int = 0, n: int = 2000) -> tuple[np.ndarray, ReferenceProfile]:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.normal(10, 2, n), rng.exponential(1, n), rng.integers(0, 3, n)]
    ).astype(np.float32)
    profile = build_profile(X, ["gauss", "tail", "level"], 12, CONTAMINATION, 0.7, 0.06)
    return X, profile


def test_profile_holds_quantiles_moments_distinct_counts_and_release_facts():
    X, profile = reference()
    gauss, level = profile.features["gauss"], profile.features["level"]
    for q in QUANTILES:
        assert gauss.quantile(q) == pytest.approx(np.quantile(X[:, 0].astype(float), q))
    assert gauss.mean == pytest.approx(X[:, 0].mean(), rel=1e-6)
    assert gauss.std == pytest.approx(X[:, 0].std(), rel=1e-5)
    assert level.distinct == 3
    assert (profile.n_rows, profile.n_labelled) == (2000, 12)
    assert profile.contamination == CONTAMINATION
    assert (profile.threshold, profile.flag_rate) == (0.7, 0.06)
    assert sum(gauss.shares) == pytest.approx(1.0)
    assert level.edges[:3] == (0.0, 1.0, 2.0)  # a discrete column: its distinct deciles
    assert level.shares[3:] == (0.0,) * (N_BINS - 3)


def test_profile_round_trips_through_json():
    _, profile = reference()
    assert ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_psi_is_zero_on_the_reference_and_large_after_a_unit_change():
    X, profile = reference()
    columns = list(profile.features)
    same = psi(profile.shares(columns), bin_counts(X, profile.edges(columns)))
    assert np.allclose(same, 0.0)
    moved = X.copy()
    moved[:, 0] *= 1000
    shifted = psi(profile.shares(columns), bin_counts(moved, profile.edges(columns)))
    assert shifted[0] > 1.0
    assert np.allclose(shifted[1:], 0.0)


def test_bin_counts_puts_a_value_above_exactly_b_edges_in_bin_b():
    edges = np.array([[1.0, 2.0, *[np.inf] * (N_BINS - 3)]])
    counts = bin_counts(np.array([[0.5], [1.0], [1.5], [2.0], [9.0]]), edges)[0]
    assert counts[:3].tolist() == [2, 2, 1]
    assert counts[3:].sum() == 0


def test_psi_limit_grows_for_few_rows_and_falls_back_to_the_fixed_limit():
    limits = Limits()
    assert psi_limit(N_BINS, 1_000_000, 1_000_000, limits) == limits.psi
    assert psi_limit(N_BINS, 20, 2000, limits) > 1.0


def test_bands_hold_a_fresh_sample_of_the_same_source_and_not_a_shifted_one():
    _, profile = reference(seed=0)
    fresh, _ = reference(seed=1)
    gauss = profile.features["gauss"]
    bands = gauss.bands(len(fresh), profile.n_rows, Limits())
    values = np.quantile(fresh[:, 0].astype(float), QUANTILES)
    assert all(lo <= v <= hi for (_, lo, hi), v in zip(bands.quantiles, values, strict=True))
    assert bands.mean[0] <= fresh[:, 0].mean() <= bands.mean[1]
    assert bands.std[0] <= fresh[:, 0].std() <= bands.std[1]
    shifted = fresh[:, 0] + 3 * gauss.std
    assert not bands.mean[0] <= shifted.mean() <= bands.mean[1]


def test_flag_rate_interval_spans_contamination_and_training_rate_with_sampling_error():
    _, profile = reference()
    low, high = profile.flag_rate_interval(1_000_000)
    assert low == pytest.approx(0.03, abs=1e-3)
    assert high == pytest.approx(0.08, abs=1e-3)
    small_low, small_high = profile.flag_rate_interval(50)
    assert small_low < low
    assert small_high > high


def test_medians_and_percentiles_read_the_training_rows() -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(50, 10, 2_000), rng.uniform(0, 1, 2_000)])
    profile = build_profile(X, ["a", "b"], 5, {"estimate": 0.1, "low": 0.05, "high": 0.2}, 0.0, 0.1)
    assert profile.medians(["b", "a"]) == pytest.approx(np.median(X, axis=0)[::-1], abs=1e-4)
    cells = profile.percentiles_of(np.array([[50.0, 0.25], [1e9, -1.0]]), ["a", "b"])
    assert cells[0] == pytest.approx([50.0, 25.0], abs=2.5)
    assert cells[1].tolist() == [100.0, 0.0]  # beyond every training value: clipped
    with pytest.raises(ValueError, match="2 columns"):
        profile.percentiles_of(np.zeros((1, 3)), ["a", "b"])
