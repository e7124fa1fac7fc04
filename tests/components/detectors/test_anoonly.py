"""anoonly: the base method's network with a BN layer and a loss on labelled anomalies only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from components.detectors import Detector, make
from components.detectors.anoonly import BASES, AnoOnly

QUICK = {"epochs": 5, "pretrain_epochs": 3}


def n_batchnorms(net: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm1d) for m in net.modules())


@pytest.mark.parametrize("base", ["prenet", "deepsad", "feawad"])
def test_other_bases_learn_synthetic_task(base, task):
    X, y, truth = task
    scores = make("anoonly", base=base, **QUICK).fit(X, y).decision_function(X)
    assert roc_auc_score(truth, scores) >= 0.9


@pytest.mark.parametrize("base", sorted(BASES))
def test_a_batchnorm_is_added_unless_the_base_has_one(base):
    extra = n_batchnorms(BASES[base]()._build(8)) - n_batchnorms(make(base)._build(8))
    assert extra == (0 if base == "deepsad" else 1)


@pytest.mark.parametrize("base", ["devnet", "feawad"])
def test_unlabelled_rows_carry_no_loss_but_shape_it_through_batchnorm(base, task):
    X, y, _ = task
    inner = make("anoonly", base=base, epochs=1, pretrain_epochs=1).fit(X, y).inner_
    net = inner.net_.train()
    x = torch.as_tensor(X[:64])
    labels = torch.as_tensor(np.r_[np.ones(8), np.zeros(56)].astype(np.int64))
    assert inner._loss(net, (x, torch.zeros_like(labels))).item() == 0.0
    moved = x.clone()
    moved[8:] += 1.0  # only the unlabelled rows change
    assert inner._loss(net, (x, labels)).item() != inner._loss(net, (moved, labels)).item()


@pytest.mark.parametrize("base", ["prenet", "deepsad"])
def test_save_load_round_trips_other_bases(base, task, tmp_path):
    X, y, _ = task
    det = make("anoonly", base=base, epochs=1, pretrain_epochs=1).fit(X, y)
    det.save(tmp_path / "m.pt")
    loaded = Detector.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))


def test_unset_settings_take_the_base_anoonly_defaults():
    inner = make("anoonly", base="devnet", epochs=3)._inner()
    assert (inner.epochs, inner.lr, inner.batch_size, inner.optimizer) == (3, 2e-4, 64, "rmsprop")
    assert make("anoonly", base="deepsad")._inner().optimizer == "adam"


def test_deepsad_base_needs_a_labelled_anomaly(task):
    X, _, _ = task
    with pytest.raises(ValueError, match="needs at least 1 labelled"):
        make("anoonly", base="deepsad").fit(X[:300], np.zeros(300, dtype=int))


def test_unknown_base_fails_clearly(task):
    X, y, _ = task
    with pytest.raises(ValueError, match="anoonly base must be one of devnet, .*got 'ocsvm'"):
        make("anoonly", base="ocsvm").fit(X, y)


def widths(det: AnoOnly) -> list[int]:
    return [m.out_features for m in det._inner()._build(8).modules() if isinstance(m, nn.Linear)]


def test_devnet_base_trains_the_reference_deeper_network_for_its_step_count():
    det = make("anoonly")
    assert widths(det) == [1000, 250, 20, 1]
    assert det._inner().until_converged is False
    assert widths(make("anoonly", hidden_dims=(20,))) == [20, 1]  # the reference's default


def _unit_gradient(inner, net: nn.Module, batch, unit: int) -> torch.Tensor:
    """The loss's gradient on one first-layer unit's incoming weights."""
    net.zero_grad()
    inner._loss(net, batch).backward()
    return net[0].weight.grad[unit].clone()


@pytest.mark.parametrize("method", ["anoonly", "devnet"])
def test_with_one_hidden_layer_only_devnet_trains_its_units_together(method, task):
    """Why anoonly(devnet) is deeper (its docstring): through one hidden layer and BN per unit,
    the anomaly-only loss is a sum of one term per unit, so a unit learns alone what the
    labelled anomalies share, and the score layer combines nothing; devnet's term on
    unlabelled rows couples the units."""
    X, _, _ = task
    inner = make(method, hidden_dims=(20,))
    inner = inner._inner() if method == "anoonly" else inner
    torch.manual_seed(0)
    net = inner._build(X.shape[1]).train()
    batch = (torch.as_tensor(X[:64]), torch.as_tensor(np.r_[np.ones(8), np.zeros(56)]))
    before = _unit_gradient(inner, net, batch, unit=0)
    with torch.no_grad():
        net[0].weight[1:] += torch.randn_like(net[0].weight[1:])  # every other unit moves
    after = _unit_gradient(inner, net, batch, unit=0)
    assert before.abs().sum() > 0
    assert torch.allclose(before, after, atol=1e-6) == (method == "anoonly")
