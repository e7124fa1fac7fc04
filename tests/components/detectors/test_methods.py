"""Method-specific behaviour the papers define."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.detectors import make
from components.detectors.parts import deviation_loss
from tests.conftest import decoy_task


def test_deviation_loss_is_per_sample():
    score = torch.tensor([0.0, 6.0, 1.0])
    y = torch.tensor([0, 1, 1])
    loss = deviation_loss(score, y, torch.tensor(0.0), torch.tensor(1.0), margin=5.0)
    assert loss.item() == pytest.approx(4.0 / 3)


def test_devnet_keeps_lowest_loss_epoch(task):
    X, y, _ = task
    det = make("devnet", epochs=10).fit(X, y)
    assert len(det.loss_history_) == 10
    assert det.loss_history_[-1] >= min(det.loss_history_)


def test_prenet_scores_between_pair_targets(task):
    X, y, truth = task
    scores = make("prenet", epochs=15).fit(X, y).decision_function(X)
    assert np.median(scores[truth == 1]) > 4 > np.median(scores[truth == 0])


def test_deepsad_centre_has_no_near_zero_coordinate(task):
    X, y, _ = task
    det = make("deepsad", epochs=2, pretrain_epochs=2).fit(X, y)
    assert (det.net_.centre.abs() >= 0.1).all()


def test_deepsad_balanced_batches_are_half_labelled_anomalies():
    X = torch.zeros(1000, 3)
    y = torch.zeros(1000, dtype=torch.long)
    y[:10] = 1
    gen = torch.Generator().manual_seed(0)
    balanced = make("deepsad", batch_size=64, balanced_batches=True)._sampler(X, y, gen)
    assert [int(balanced()[1].sum()) for _ in range(5)] == [32] * 5
    shuffled = make("deepsad", batch_size=64)._sampler(X, y, gen)
    assert sum(int(shuffled()[1].sum()) for _ in range(15)) <= 10  # one pass: each row once
    # Deep SVDD (no labelled anomaly) has nothing to balance: plain shuffled rows.
    unlabelled = make("deepsad", batch_size=64, balanced_batches=True)._sampler(X, 0 * y, gen)
    assert unlabelled()[0].shape == (64, 3)


def test_training_leaves_global_rng_untouched(task):
    X, y, _ = task
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    make("devnet", epochs=1).fit(X, y)
    assert torch.equal(torch.rand(1), expected)


def test_deepsad_loss_has_the_papers_term_for_labelled_normals():
    det = make("deepsad", eta=2.0, eps=0.0)
    dist = torch.tensor([3.0, 4.0, 5.0])
    loss = det._semi_supervised(dist, torch.tensor([0, 1, -1]))
    torch.testing.assert_close(loss, torch.tensor([3.0, 2.0 / 4.0, 2.0 * 5.0]))


def test_deepsad_pulls_dismissed_rows_towards_the_centre():
    """Normal rows that look odd (decoy_task's wild normals) score closer to the bulk once an
    analyst dismissed them: with eta > 1 Deep SAD weights them toward the centre (with the
    default eta = 1 the paper's term equals an unlabelled row's)."""
    X, y, _ = decoy_task()
    dismissed = y.copy()
    dismissed[45:85] = -1  # 40 of the wild-looking normal rows
    params = {"epochs": 10, "pretrain_epochs": 5, "random_state": 0, "eta": 5.0}

    def relative_score(labels: np.ndarray) -> float:
        scores = make("deepsad", **params).fit(X, labels).decision_function(X)
        return float(np.median(scores[45:85]) / np.median(scores[200:]))

    assert relative_score(dismissed) < 0.75 * relative_score(y)
