"""The boosted-tree detectors: xgbod's label-free outlier scores are shared across copies
without changing any copy's scores, and catboost leaves the working directory alone."""

from __future__ import annotations

import numpy as np

from components.detectors import make
from components.detectors.api import fit_many
from tests.conftest import synthetic_task


def test_xgbod_copies_fitted_together_score_as_fitted_alone():
    X, y, truth = synthetic_task(n=400, n_anomalies=30)
    more = truth.copy()  # a second label set: every true anomaly labelled
    together = fit_many(make("xgbod", n_jobs=1), X, [y, more], seeds=[2, 2])
    assert together[0].outlier_scores_ is together[1].outlier_scores_
    for det, labels in zip(together, [y, more], strict=True):
        alone = make("xgbod", n_jobs=1, random_state=2).fit(X, labels)
        np.testing.assert_array_equal(det.decision_function(X), alone.decision_function(X))
    assert not np.array_equal(together[0].decision_function(X), together[1].decision_function(X))


def test_catboost_writes_nothing_into_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y, _ = synthetic_task(n=300, n_anomalies=20)
    make("catboost", n_estimators=20, n_jobs=1).fit(X, y).save(tmp_path / "m.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
