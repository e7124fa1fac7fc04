"""Method-specific behaviour of ESAD and MNPWAD (the contract test covers the rest)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.detectors import Detector, make
from components.detectors.mnpwad import normal_weights

QUICK = {"epochs": 15, "pretrain_epochs": 10}


def _mean_terms(det, X, y) -> dict[str, float]:
    with torch.no_grad():
        terms = det.loss_terms(det.net_, torch.as_tensor(X), torch.as_tensor(y))
    return {name: value.mean().item() for name, value in terms.items()}


def test_esad_training_shrinks_consistency_and_reconstruction(task):
    X, y, _ = task
    untrained = _mean_terms(make("esad", epochs=0).fit(X, y), X, y)
    trained = _mean_terms(make("esad", epochs=30).fit(X, y), X, y)
    # Class-balanced batches give the labelled anomalies, whose E2 code the loss pushes off
    # the centre, half of every batch, so consistency falls less than with shuffled rows
    # (0.57 vs 0.38 of untrained here); it must still fall clearly.
    assert trained["consistency"] < 0.75 * untrained["consistency"]
    assert trained["reconstruction"] < 0.5 * untrained["reconstruction"]


def test_esad_pushes_labelled_anomalies_off_the_centre(task):
    X, y, truth = task
    det = make("esad", epochs=30).fit(X, y)
    with torch.no_grad():
        z2 = det.net_(torch.as_tensor(X))[2]
    dist = (z2**2).sum(1).numpy()
    assert np.median(dist[y == 1]) > 5 * np.median(dist[truth == 0])


def test_esad_consistency_pulls_only_the_first_encoder(task):
    """The entropy encoder must not be dragged back to an informative code (see esad.py)."""
    X, y, _ = task
    det = make("esad", epochs=1).fit(X, y)
    det.net_.zero_grad()
    det.loss_terms(det.net_, torch.as_tensor(X), torch.as_tensor(y))[
        "consistency"
    ].mean().backward()
    first = [p.grad for p in det.net_.encoder.parameters()]
    second = [p.grad for p in det.net_.second_encoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in first)
    assert all(g is None or g.abs().sum() == 0 for g in second)


def test_esad_ignores_reconstruction_of_labelled_anomalies(task):
    X, y, _ = task
    det = make("esad", epochs=1).fit(X, y)
    with torch.no_grad():
        terms = det.loss_terms(det.net_, torch.as_tensor(X), torch.as_tensor(y))
    assert (terms["reconstruction"][torch.as_tensor(y) == 1] == 0).all()
    assert (terms["reconstruction"][torch.as_tensor(y) == 0] > 0).all()


def test_mnpwad_weights_are_positive_ordered_and_mean_one():
    sim = torch.rand(64, 3, generator=torch.Generator().manual_seed(0))
    w = normal_weights(sim, beta=1.0)
    assert w.shape == (64,)
    assert w.mean().item() == pytest.approx(1.0, abs=1e-6)
    assert (w > 0).all()
    order = torch.argsort(sim.max(1).values)
    assert (torch.diff(w[order]) >= 0).all()
    # sigmoid of a similarity in (0, 1] lies in (0.5, 0.731): weights differ by < 1.47x
    assert (w.max() / w.min()).item() < torch.sigmoid(torch.tensor(1.0)).item() / 0.5


def test_mnpwad_keeps_anomalies_away_from_the_normal_prototypes(task):
    X, y, truth = task
    det = make("mnpwad", **QUICK).fit(X, y)
    with torch.no_grad():
        sim = det.net_(torch.as_tensor(X))[2].max(1).values.numpy()
    assert np.median(sim[truth == 1]) < np.median(sim[truth == 0]) - 0.2
    assert len(det.dwa_.history) == QUICK["epochs"]


def test_mnpwad_picks_prototype_count_by_silhouette():
    rng = np.random.default_rng(0)
    centres = np.eye(8, dtype=np.float32)[:3] * 6
    X = np.concatenate([c + rng.normal(scale=0.3, size=(400, 8)) for c in centres])
    X = np.concatenate([X, rng.normal(loc=-4, size=(10, 8))]).astype(np.float32)
    y = np.r_[np.zeros(1200, dtype=int), np.ones(10, dtype=int)]
    det = make("mnpwad", **QUICK).fit(X, y)
    assert det.n_prototypes_ == 3


def test_mnpwad_round_trips_a_fixed_prototype_count(task, tmp_path):
    X, y, _ = task
    det = make("mnpwad", n_prototypes=4, **QUICK).fit(X, y)
    assert det.net_.prototypes.shape == (4, 8)
    det.save(tmp_path / "m.pt")
    loaded = Detector.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
