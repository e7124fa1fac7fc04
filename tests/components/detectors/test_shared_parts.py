"""The pieces several methods share, written once: the dynamic loss weighting (MNPWAD, RoSAS)
and the autoencoder pretraining (Deep SAD, FeaWAD, MNPWAD)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from components.detectors.parts import LossBalance
from components.detectors.training.loop import Regime
from components.detectors.training.pretrain import pretrain_autoencoders

CPU = torch.device("cpu")
ADAM = Regime("adam", 1e-2, 0.0, None, show_progress=False, compile_step="off", bf16=False)


def test_loss_balance_weights_the_loss_that_fell_less_and_holds_weights_constant():
    balance = LossBalance(2, 1, 2.0, CPU, weights_carry_gradient=False)
    first = balance(torch.tensor([4.0, 1.0]))  # epoch 1 compares with 1: weights favour 4.0
    w = torch.softmax(torch.tensor([4.0, 1.0]) / 2, dim=0)
    assert first.item() == pytest.approx((w * torch.tensor([4.0, 1.0])).sum().item())
    # epoch 2: the first loss halved, the second stayed: the second gets the larger weight
    values = torch.tensor([2.0, 1.0], requires_grad=True)
    balance(values).backward()
    assert values.grad[1] > values.grad[0]
    w2 = torch.softmax(torch.tensor([0.5, 1.0]) / 2, dim=0)
    np.testing.assert_allclose(values.grad, w2, rtol=1e-6)  # weights carry no gradient
    assert [h.tolist() for h in balance.history] == [[4.0, 1.0], [2.0, 1.0]]


def test_loss_balance_lets_the_gradient_through_the_weights_when_asked():
    """MNPWAD's variant: same value, but d/dL_i includes the weights' own dependence on L_i."""
    held, carried = (
        LossBalance(3, 2, 2.0, CPU, weights_carry_gradient=flag) for flag in (False, True)
    )
    grads = []
    for balance in (held, carried):
        values = torch.tensor([3.0, 1.0, 0.5], requires_grad=True)
        total = balance(values)
        total.backward()
        grads.append((total.item(), values.grad.clone()))
    assert grads[0][0] == pytest.approx(grads[1][0])
    assert not torch.allclose(grads[0][1], grads[1][1])
    assert held.history == []  # an epoch is 2 steps: none finished yet
    assert held.seen == 1


def test_loss_balance_survives_a_loss_that_reached_zero():
    balance = LossBalance(2, 1, 2.0, CPU, weights_carry_gradient=False)
    balance(torch.tensor([0.0, 1.0]))
    assert torch.isfinite(balance(torch.tensor([0.0, 1.0]))).all()


def _autoencoder(width: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(width, 2), nn.ReLU(), nn.Linear(2, width))


def _pretrained(reduction: str, rows: torch.Tensor, **extra) -> list[torch.Tensor]:
    ae = _autoencoder(rows.shape[1])
    gen = torch.Generator().manual_seed(0)
    settings = {"epochs": 3, "steps": 4, "batch_size": 16, "keep_best": False, "desc": "t"}
    pretrain_autoencoders([ae], rows, [gen], ADAM, reduction=reduction, **settings, **extra)
    return [p.detach().clone() for p in ae.parameters()]


def test_pretraining_learns_and_its_reduction_is_the_callers_choice():
    rows = torch.rand(64, 6, generator=torch.Generator().manual_seed(1))
    ae = _autoencoder(6)
    before = ((ae(rows) - rows) ** 2).mean().item()
    pretrain_autoencoders(
        [ae],
        rows,
        [torch.Generator().manual_seed(0)],
        ADAM,
        epochs=20,
        steps=4,
        batch_size=16,
        reduction="mean",
        keep_best=True,
        desc="t",
    )
    assert ((ae(rows) - rows) ** 2).mean().item() < before
    # the loss scale differs by the feature count, which Adam's eps feels: not the same fit
    summed, averaged = _pretrained("row_sum", rows), _pretrained("mean", rows)
    assert not all(torch.equal(a, b) for a, b in zip(summed, averaged, strict=True))
    with pytest.raises(ValueError, match="reduction"):
        _pretrained("sum", rows)


def test_pretraining_to_targets_equal_to_the_inputs_is_plain_reconstruction():
    """MNPWAD's denoising path (input and target rows shuffled together as pairs) draws the
    same batches as the plain path, so with targets = inputs both fits are identical."""
    rows = torch.rand(64, 5, generator=torch.Generator().manual_seed(2))
    plain = _pretrained("mean", rows)
    paired = _pretrained("mean", rows, targets=rows.clone())
    assert all(torch.equal(a, b) for a, b in zip(plain, paired, strict=True))


def test_stacked_pretraining_matches_each_autoencoders_own():
    rows = torch.rand(64, 5, generator=torch.Generator().manual_seed(3))
    settings = {"epochs": 3, "steps": 4, "batch_size": 16, "keep_best": True, "desc": "t"}
    singles = []
    for seed in (0, 1):
        ae = _autoencoder(5)
        gen = torch.Generator().manual_seed(seed)
        pretrain_autoencoders([ae], rows, [gen], ADAM, reduction="row_sum", **settings)
        singles.append(ae)
    stacked = [_autoencoder(5) for _ in range(2)]
    gens = [torch.Generator().manual_seed(seed) for seed in (0, 1)]
    pretrain_autoencoders(stacked, rows, gens, ADAM, reduction="row_sum", **settings)
    for one, many in zip(singles, stacked, strict=True):
        for a, b in zip(one.parameters(), many.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
