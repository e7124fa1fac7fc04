"""The released rank ensemble: members are each method's own fits for seeds random_state..,
scores are rank-normalised per member and averaged, ordering survives beyond the training
range, and the whole ensemble round-trips through save/load."""

from __future__ import annotations

import numpy as np
import pytest

from components.detectors import Detector, available, make
from components.detectors.ensemble import rank_normalise, score_quantiles
from tests.conftest import synthetic_task

SMALL = {"epochs": 4, "batches_per_epoch": 5, "batch_size": 64, "device": "cpu"}


def test_rank_normalise_is_a_cdf_inside_and_keeps_order_outside():
    reference = np.random.default_rng(0).normal(size=5000)
    q = score_quantiles(reference)
    inside = rank_normalise(np.array([-1.0, 0.0, 1.0]), q)
    np.testing.assert_allclose(inside, [0.1587, 0.5, 0.8413], atol=0.02)
    beyond = rank_normalise(np.array([q[-1], q[-1] + 1.0, q[-1] + 5.0]), q)
    assert beyond[0] == pytest.approx(1.0)
    assert beyond[0] < beyond[1] < beyond[2]
    below = rank_normalise(np.array([q[0] - 5.0, q[0] - 1.0, q[0]]), q)
    assert below[0] < below[1] < below[2] == pytest.approx(0.0)


def test_rank_normalise_handles_tied_quantiles():
    q = score_quantiles(np.r_[np.zeros(900), np.linspace(1.0, 2.0, 100)])
    u = rank_normalise(np.array([0.0, 1.5, 3.0]), q)
    assert np.all(np.diff(u) > 0)
    assert np.isfinite(u).all()


def test_members_are_the_methods_own_fits_for_consecutive_seeds():
    X, y, _ = synthetic_task(n=600, n_anomalies=30, n_labelled=6)
    ens = make(
        "ensemble", methods=("devnet",), method_params={"devnet": SMALL}, n_seeds=3, random_state=5
    )
    ens.fit(X, y)
    single = make("devnet", **SMALL, random_state=6).fit(X, y)
    np.testing.assert_allclose(
        ens.members_[1].decision_function(X), single.decision_function(X), rtol=1e-4, atol=1e-5
    )
    members = ens.member_scores(X)
    assert members.shape == (3, len(X))
    np.testing.assert_allclose(ens.decision_function(X), members.mean(axis=0))
    assert not np.allclose(members[0], members[1])


def test_methods_weigh_the_same_and_the_ensemble_round_trips(tmp_path):
    X, y, _ = synthetic_task(n=600, n_anomalies=30, n_labelled=6)
    params = {"iforest": {"n_estimators": 20}, "supervised": {"max_iter": 20}}
    ens = make("ensemble", methods=("iforest", "supervised"), method_params=params, n_seeds=2)
    scores = ens.fit(X, y).decision_function(X)
    members = ens.member_scores(X)
    assert members.shape == (4, len(X))
    np.testing.assert_allclose(scores, (members[:2].mean(0) + members[2:].mean(0)) / 2)
    ens.save(tmp_path / "ens.pt")
    np.testing.assert_array_equal(Detector.load(tmp_path / "ens.pt").decision_function(X), scores)
    assert "ensemble" not in available()
