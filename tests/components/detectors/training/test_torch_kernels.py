"""The guard around torch's private kernels: with a kernel missing, of another signature or
giving other results, training takes the public path, and that path updates as the private
one does."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score

from components.detectors import make
from components.detectors.api import fit_many
from components.detectors.training import torch_kernels
from components.detectors.training.optim import Optimizer

GROUPS = ("foreach", "fused_adam", "sample_dirichlet")
# One way each to break a group: gone, another signature, or accepted but wrong.
BREAKS = {
    "missing": {"_foreach_norm": None, "_fused_adam_": None, "_sample_dirichlet": None},
    "other signature": {
        "_foreach_mul_": lambda tensors: None,
        "_fused_adam_": lambda params, grads: None,
        "_sample_dirichlet": lambda concentration: concentration,
    },
    "wrong result": {
        "_foreach_addcdiv_": lambda *args, **kwargs: None,
        "_fused_adam_": lambda *args, **kwargs: None,
        "_sample_dirichlet": lambda concentration, generator=None: concentration * 0 - 1,
    },
}


@pytest.fixture(autouse=True)
def _fresh_guard():
    torch_kernels.private_kernels_work.cache_clear()
    yield
    torch_kernels.private_kernels_work.cache_clear()


def _break(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    for name, replacement in BREAKS[how].items():
        if replacement is None:
            monkeypatch.delattr(torch, name)
        else:
            monkeypatch.setattr(torch, name, replacement)
    torch_kernels.private_kernels_work.cache_clear()


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    X[:15] += 3
    y = np.zeros(200, dtype=int)
    y[:6] = 1
    return X, y


def _steps(kind: str, stacked: int = 0) -> list[torch.Tensor]:
    """Ten clipped, decayed steps of a small stacked-or-not parameter set from one seed."""
    gen = torch.Generator().manual_seed(0)
    lead = (3,) * stacked
    params = [torch.randn(*lead, 6, 4, generator=gen).requires_grad_() for _ in range(2)]
    params.append(torch.randn(*lead, 6, generator=gen).requires_grad_())
    opt = Optimizer(params, kind, 1e-2, 0.01, stacked=stacked)
    for _ in range(10):
        opt.zero_grad()
        x = torch.randn(*lead, 8, 6, generator=gen)
        loss = ((x @ params[0] @ params[1].transpose(-1, -2) + params[2].unsqueeze(-2)) ** 2).sum()
        loss.backward()
        torch_kernels.clip_per_tensor_([p.grad for p in params if p.grad is not None], 1.0)
        opt.step()
    return [p.detach().clone() for p in params]


def test_this_torch_takes_the_private_path_and_says_so_once(caplog):
    with caplog.at_level(logging.DEBUG, logger=torch_kernels.__name__):
        assert all(torch_kernels.private_kernels_work(g) for g in GROUPS)
        assert all(torch_kernels.private_kernels_work(g) for g in GROUPS)
    said = [r.getMessage() for r in caplog.records]
    assert sorted(said) == sorted(f"torch kernels {g!r}: private path" for g in GROUPS)


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_broken_private_kernel_sends_its_group_to_the_public_path(monkeypatch, caplog, how):
    _break(monkeypatch, how)
    with caplog.at_level(logging.DEBUG, logger=torch_kernels.__name__):
        assert not any(torch_kernels.private_kernels_work(g) for g in GROUPS)
    assert "torch kernels 'fused_adam': public path" in caplog.text


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
@pytest.mark.parametrize("stacked", [0, 1])
def test_public_path_updates_as_the_private_one(monkeypatch, kind, stacked):
    private = _steps(kind, stacked)
    _break(monkeypatch, "missing")
    public = _steps(kind, stacked)
    for a, b in zip(private, public, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["devnet", "deepsad"])
def test_training_on_the_public_path_scores_as_on_the_private_one(monkeypatch, method):
    """What a user sees: the same ranking and AUC-PR. The scores themselves are not compared
    bitwise: two fused-kernel paths round differently on other CPUs and thread counts, and
    Deep SAD's distances drift apart by a few per cent over two epochs."""
    X, y = _data()
    truth = (np.arange(len(X)) < 15).astype(int)  # the rows _data shifted
    private = make(method, epochs=2).fit(X, y).decision_function(X)
    many_private = fit_many(make(method, epochs=2), X, [y, y], [0, 1])[1].decision_function(X)
    _break(monkeypatch, "other signature")
    public = make(method, epochs=2).fit(X, y).decision_function(X)
    many_public = fit_many(make(method, epochs=2), X, [y, y], [0, 1])[1].decision_function(X)
    for a, b in ((public, private), (many_public, many_private)):
        assert spearmanr(a, b).statistic > 0.99
        assert abs(average_precision_score(truth, a) - average_precision_score(truth, b)) < 0.02


def test_public_beta_draws_are_seeded_beta_and_leave_the_global_rng_alone(monkeypatch):
    _break(monkeypatch, "missing")
    before = torch.get_rng_state()
    draw = torch_kernels.beta_draws
    a = draw(0.5, 20000, torch.Generator().manual_seed(1), torch.device("cpu"))
    b = draw(0.5, 20000, torch.Generator().manual_seed(1), torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a, b)
    assert a.shape == (20000,)
    assert ((a >= 0) & (a <= 1)).all()
    # Beta(1/2, 1/2): mean 1/2, variance 1/8, U-shaped (most mass near 0 and 1)
    assert abs(a.mean().item() - 0.5) < 0.01
    assert abs(a.var().item() - 0.125) < 0.005
    assert ((a < 0.1) | (a > 0.9)).float().mean() > 0.35


def test_rosas_trains_and_ranks_on_the_public_path(monkeypatch):
    _break(monkeypatch, "wrong result")
    X, y = _data()
    scores = make("rosas", epochs=3).fit(X, y).decision_function(X)
    assert np.isfinite(scores).all()
    assert scores[:15].mean() > scores[15:].mean()
