"""The optional compiled / bf16 training step: same trajectory as eager, and an eager fallback
with one logged reason when compilation is refused or fails."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from components.detectors import make
from components.detectors.api import fit_many
from components.detectors.training.compiled_step import step_loss
from tests.conftest import synthetic_task

CPU = torch.device("cpu")


def _net_and_batch(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    return net, (torch.randn(16, 5, generator=gen), torch.randn(16, generator=gen))


def _mse(net: nn.Module):
    return lambda x, t: (net(x).squeeze(1) - t).pow(2).mean()


def _grads(net: nn.Module, loss, batch) -> list[torch.Tensor]:
    net.zero_grad()
    loss(*batch).backward()
    return [p.grad.clone() for p in net.parameters()]


def test_compiled_loss_gives_eager_gradients():
    net, batch = _net_and_batch()
    compiled = step_loss(_mse(net), "on", False, CPU, backend="aot_eager")
    for a, b in zip(_grads(net, _mse(net), batch), _grads(net, compiled, batch), strict=True):
        torch.testing.assert_close(a, b)


def test_compiled_vmapped_members_give_eager_gradients():
    nets = [_net_and_batch(seed)[0] for seed in range(3)]
    params, _ = stack_module_state(nets)
    x = torch.randn(3, 16, 5)
    t = torch.randn(3, 16)

    def member(p, xb, tb):
        return (functional_call(nets[0], p, (xb,)).squeeze(1) - tb).pow(2).mean()

    batched = vmap(member)
    compiled = step_loss(batched, "on", False, CPU, backend="aot_eager")
    eager = torch.autograd.grad(batched(params, x, t).sum(), list(params.values()))
    mine = torch.autograd.grad(compiled(params, x, t).sum(), list(params.values()))
    for a, b in zip(eager, mine, strict=True):
        torch.testing.assert_close(a, b)


def _failing_backend(gm, example_inputs):
    raise RuntimeError("no C++ compiler here")


@pytest.mark.parametrize(
    ("backend", "reason"),
    [(_failing_backend, "no C++ compiler here"), ("no_such_backend", "no_such_backend")],
)
def test_compile_failure_trains_eagerly_with_one_warning(caplog, backend, reason):
    net, batch = _net_and_batch()
    caplog.set_level(logging.WARNING, logger="components.detectors.training.compiled_step")
    loss = step_loss(_mse(net), "on", False, CPU, backend=backend)
    values = [loss(*batch) for _ in range(3)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "training eagerly" in warnings[0].getMessage()
    assert reason in warnings[0].getMessage()
    assert all(torch.equal(v, _mse(net)(*batch)) for v in values)


def test_bf16_autocast_returns_a_float32_loss_close_to_eager():
    net, batch = _net_and_batch()
    value = step_loss(_mse(net), "off", True, CPU)(*batch)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, _mse(net)(*batch), rtol=0.05, atol=0.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"compile_step": "fast"}, "compile_step must be one of 'off', 'on', 'cudagraphs'"),
        ({"compile_step": "cudagraphs", "device": "cpu"}, "needs a CUDA device"),
    ],
)
def test_bad_step_settings_name_the_parameter(params, message):
    X, y, _ = synthetic_task(n=200)
    with pytest.raises(ValueError, match=message):
        make("devnet", epochs=1, **params).fit(X, y)


@pytest.mark.slow
def test_devnet_fit_with_inductor_follows_the_eager_fit():
    X, y, _ = synthetic_task(n=300, d=4)
    kw = {"epochs": 2, "batches_per_epoch": 5, "hidden_dims": (8,), "until_converged": False}
    eager = make("devnet", device="cpu", **kw).fit(X, y)
    compiled = make("devnet", device="cpu", compile_step="on", **kw).fit(X, y)
    np.testing.assert_allclose(compiled.loss_history_, eager.loss_history_, rtol=1e-5)
    np.testing.assert_allclose(
        compiled.decision_function(X), eager.decision_function(X), rtol=1e-4, atol=1e-5
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["on", "cudagraphs"])
def test_cuda_compiled_fits_follow_the_eager_fits(mode):
    X, y, _ = synthetic_task(n=600, d=6)
    kw = {"epochs": 3, "until_converged": False, "device": "cuda"}
    eager = make("devnet", **kw).fit(X, y)
    compiled = make("devnet", compile_step=mode, **kw).fit(X, y)
    np.testing.assert_allclose(compiled.loss_history_, eager.loss_history_, rtol=1e-4)
    template = make("deepsad", compile_step=mode, pretrain_epochs=1, **kw)
    stacked = fit_many(template, X, [y, y], [0, 1])
    alone = make("deepsad", pretrain_epochs=1, random_state=1, **kw).fit(X, y)
    np.testing.assert_allclose(stacked[1].loss_history_, alone.loss_history_, rtol=1e-3)
