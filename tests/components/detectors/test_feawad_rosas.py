"""FeaWAD's and RoSAS's own behaviour: the pieces their papers define."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.detectors import make
from components.detectors.feawad import feawad_loss
from components.detectors.rosas import beta_draws, mass_interpolation


def test_feawad_residual_term_varies_with_the_input(task):
    X, y, truth = task
    det = make("feawad", epochs=1, pretrain_epochs=3).fit(X, y)
    with torch.no_grad():
        _, residual = det._terms(det.net_, torch.as_tensor(X))
    residual = residual.numpy()
    assert residual.shape == (len(X),)
    assert residual.std() > 0.1  # the reference code's normalised residual has norm 1 everywhere
    assert np.median(residual[truth == 1]) > np.median(residual[truth == 0])


def test_feawad_loss_pulls_unlabelled_residual_down_and_pushes_anomalies_past_margin():
    score = torch.tensor([0.0, 6.0])
    y = torch.tensor([0, 1])
    residual = torch.tensor([2.0, 1.0], requires_grad=True)
    loss = feawad_loss(score, residual, y, margin=5.0)
    # score terms: |0| and max(0, 5 - 6) = 0; residual terms: 2 and max(0, 5 - 1) = 4
    assert loss.item() == pytest.approx((0 + 0) / 2 + (2 + 4) / 2)
    loss.backward()
    assert residual.grad[0] > 0 > residual.grad[1]


def test_feawad_pretraining_lowers_reconstruction_error_of_unlabelled_rows(task):
    X, y, _ = task
    x = torch.as_tensor(X[y == 0])

    def reconstruction_error(pretrain_epochs: int) -> float:
        det = make("feawad", pretrain_epochs=pretrain_epochs)
        torch.manual_seed(0)
        net = det._build(X.shape[1])
        det._prepare(net, torch.as_tensor(X), torch.as_tensor(y), torch.Generator())
        with torch.no_grad():
            return float(((net.decoder(net.encoder(x)) - x) ** 2).mean())

    assert reconstruction_error(10) < 0.8 * reconstruction_error(0)


def test_rosas_mixup_targets_lie_between_minus_one_and_one():
    gen = torch.Generator().manual_seed(0)
    n = 300
    x = torch.randn(n, 4, generator=gen)
    target = torch.cat([torch.full((200,), -1.0), torch.ones(100)])
    partner = torch.randperm(n, generator=gen)
    lam = beta_draws(0.5, n, gen, torch.device("cpu"))
    mixed, mixed_target = mass_interpolation(x, target, partner, lam)
    assert ((mixed_target >= -1) & (mixed_target <= 1)).all()
    crossed = target != target[partner]  # an unlabelled row mixed with an anomaly
    inner = mixed_target[crossed]
    assert ((inner > -1) & (inner < 1)).any()
    assert inner.unique().numel() > 10  # continuous degrees, not the two hard labels
    np.testing.assert_allclose(mixed, lam[:, None] * x + (1 - lam[:, None]) * x[partner])


def test_rosas_beta_draws_are_seeded_and_u_shaped_for_alpha_half():
    a = beta_draws(0.5, 20000, torch.Generator().manual_seed(1), torch.device("cpu"))
    b = beta_draws(0.5, 20000, torch.Generator().manual_seed(1), torch.device("cpu"))
    assert torch.equal(a, b)
    assert ((a >= 0) & (a <= 1)).all()
    assert a.mean().item() == pytest.approx(0.5, abs=0.02)
    # Beta(0.5, 0.5) puts more mass near 0 and 1 than in the middle (arcsine law: 0.59 vs 0.13)
    outer = ((a < 0.2) | (a > 0.8)).float().mean().item()
    middle = ((a > 0.4) & (a < 0.6)).float().mean().item()
    assert outer == pytest.approx(0.59, abs=0.02)
    assert middle == pytest.approx(0.13, abs=0.02)


def test_rosas_scores_lie_in_tanh_range_and_rank_anomalies_high(task):
    X, y, truth = task
    scores = make("rosas", epochs=10).fit(X, y).decision_function(X)
    assert ((scores >= -1) & (scores <= 1)).all()
    assert np.median(scores[truth == 1]) > 0 > np.median(scores[truth == 0])
