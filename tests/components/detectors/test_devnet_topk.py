"""devnet-topk: top-K subspace deviation learning and its explanation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.detectors import make
from components.detectors.devnet_topk import random_subspaces

PLANTED = {0, 1, 2}  # tests/conftest.synthetic_task shifts anomalies on these features


@pytest.mark.parametrize("subspaces", ["hidden", "random"])
def test_explain_ranks_planted_features_first(subspaces, task):
    X, y, truth = task
    det = make("devnet-topk", subspaces=subspaces, epochs=15).fit(X, y)
    shares, features = det.explain(X)
    assert shares.shape == (len(X), det.n_subspaces)
    assert features.shape == X.shape
    top3 = np.argsort(-features[truth == 1], axis=1)[:, :3]
    ranked_first = np.mean([set(row) == PLANTED for row in top3])
    assert ranked_first >= 0.9


def test_subspace_shares_sum_to_the_score_over_top_k(task):
    X, y, _ = task
    det = make("devnet-topk", epochs=2, n_subspaces=8, top_k_ratio=0.25).fit(X, y)
    shares, _ = det.explain(X[:50])
    np.testing.assert_allclose(shares.sum(1), det.decision_function(X[:50]), rtol=1e-5, atol=1e-5)
    assert ((shares != 0).sum(1) <= 2).all()  # K = 0.25 * 8


def test_random_subspaces_cover_every_feature_with_fixed_size():
    masks = random_subspaces(50, 6, 9, torch.Generator().manual_seed(0))
    assert masks.shape == (6, 50)
    assert (masks.sum(1) == 9).all()
    assert (masks.sum(0) >= 1).all()


def test_random_subspaces_are_stored_with_the_model(task, tmp_path):
    X, y, _ = task
    det = make("devnet-topk", subspaces="random", epochs=1).fit(X, y)
    det.save(tmp_path / "m.pt")
    loaded = type(det).load(tmp_path / "m.pt")
    assert torch.equal(loaded.net_.masks, det.net_.masks)
    assert det.net_.masks.sum() > 0


def test_unknown_subspace_kind_fails_clearly(task):
    X, y, _ = task
    with pytest.raises(ValueError, match="subspaces must be one of random, hidden, got 'pixels'"):
        make("devnet-topk", subspaces="pixels").fit(X, y)


def test_explain_before_fit_fails_clearly():
    with pytest.raises(ValueError, match="not fitted yet"):
        make("devnet-topk").explain(np.zeros((2, 2)))
