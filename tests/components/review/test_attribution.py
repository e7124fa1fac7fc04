"""Attributions point at the features that made a row anomalous, for every model family."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks.attribution_sanity import FAMILIES, top3_hits
from components.detectors import make
from components.detectors.api import Detector
from components.review.attribution import AttributionError, attribute


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_top_three_features_of_reviewed_anomalies_include_a_planted_one(family):
    """The must-show floor (benchmarks/attribution_sanity.py reports 3 seeds)."""
    hits = top3_hits(family, seed=0)
    assert len(hits) >= 10, f"{family}: only {len(hits)} anomalies reviewed"
    assert np.mean(hits) >= 0.8, f"{family}: {np.mean(hits):.2f} of {len(hits)} rows"


def test_integrated_gradients_add_up_to_the_score_difference(task):
    X, y, _ = task
    det = make("devnet", epochs=5).fit(X, y)
    baseline = X[y == 0].mean(axis=0)
    values = attribute(det, X[:20], baseline).values
    expected = det.decision_function(X[:20]) - det.decision_function(baseline[None, :])
    np.testing.assert_allclose(values.sum(axis=1), expected, rtol=0.02, atol=0.02)


def test_isolation_forest_contributions_point_to_more_anomalous(task):
    """SHAP explains the forest's path length, which falls as a row gets more anomalous."""
    X, y, _ = task
    det = make("iforest", n_estimators=30).fit(X, y)
    values = attribute(det, X[:10], X.mean(axis=0)).values
    assert (values[:, :3].sum(axis=1) > 0).all()  # rows 0-9 are shifted on features 0-2


def test_ensemble_shares_average_over_members(task):
    X, y, _ = task
    det = make("ensemble", methods=("devnet",), method_params={"devnet": {"epochs": 3}}, n_seeds=2)
    values = attribute(det.fit(X, y), X[:5], X.mean(axis=0)).values
    np.testing.assert_array_less(np.abs(values).sum(axis=1), 1.0 + 1e-9)


@dataclasses.dataclass(eq=False)
class _Unexplained(Detector):
    name = "mystery"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X - self.mean_).sum(axis=1)

    def _get_state(self) -> dict[str, Any]:
        return {"mean": torch.as_tensor(self.mean_)}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.mean_ = state["mean"].numpy()


def test_a_detector_outside_every_family_is_named(task):
    X, y, _ = task
    with pytest.raises(AttributionError, match="no attribution method for 'mystery'"):
        attribute(_Unexplained().fit(X, y), X[:3], X.mean(axis=0))
