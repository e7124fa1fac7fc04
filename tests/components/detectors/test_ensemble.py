"""`fit_many`: several seeds / label sets of one method trained as one stacked ensemble must
behave like the same detectors fitted one by one (same draws, same trajectory up to float
summation order), and the members must differ from each other."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from components.detectors import make
from components.detectors.api import fit_many
from tests.conftest import synthetic_task

SMALL = {
    "devnet": {"epochs": 4, "batches_per_epoch": 5, "batch_size": 64},
    "prenet": {"epochs": 4, "batches_per_epoch": 5, "batch_size": 64},
    "deepsad": {"epochs": 3, "pretrain_epochs": 2, "batch_size": 128},
}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_members_follow_their_sequential_fits(method):
    X, y, truth = synthetic_task(n=600, n_anomalies=30, n_labelled=6)
    y_other = np.zeros_like(y)
    y_other[10:14] = 1  # a second label set on the same rows (another label ratio)
    params = {**SMALL[method], "device": "cpu"}
    seeds, labels = [3, 4, 3], [y, y, y_other]
    members = fit_many(make(method, **params), X, labels, seeds)
    scores = [m.decision_function(X) for m in members]
    for member, seed, y_m, got in zip(members, seeds, labels, scores, strict=True):
        alone = make(method, random_state=seed, **params).fit(X, y_m)
        expected = alone.decision_function(X)
        assert member.random_state == seed
        np.testing.assert_allclose(member.loss_history_, alone.loss_history_, rtol=1e-3)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
        pr_member = average_precision_score(truth, got)
        assert abs(pr_member - average_precision_score(truth, expected)) < 0.01
    if make(method).until_converged:  # members stop on their own losses, at their own epochs
        assert len({len(m.loss_history_) for m in members}) > 1
    assert not np.allclose(scores[0], scores[1])  # another seed: another model
    assert not np.allclose(scores[0], scores[2])  # other labels: another model


def test_unbatchable_method_fits_one_by_one(caplog):
    X, y, _ = synthetic_task(n=300, n_anomalies=20, n_labelled=5)
    caplog.set_level("INFO", logger="components.detectors.api")
    members = fit_many(make("iforest"), X, [y, y], [0, 1])
    assert [m.random_state for m in members] == [0, 1]
    assert "one by one" in caplog.text
    assert not np.allclose(members[0].decision_function(X), members[1].decision_function(X))


def test_mismatched_seeds_and_labels_fail():
    X, y, _ = synthetic_task(n=300)
    with pytest.raises(ValueError, match="2 label sets for 3 seeds"):
        fit_many(make("devnet", device="cpu"), X, [y, y], [0, 1, 2])
