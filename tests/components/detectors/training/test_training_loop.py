"""The shared loop's update arithmetic: batched per-tensor clipping keeps Keras' clipnorm, and
the one-call optimiser follows torch.optim's Adam and RMSprop."""

from __future__ import annotations

import pytest
import torch

from components.detectors.training.optim import Optimizer, clip_per_tensor


def test_clip_per_tensor_matches_clip_grad_norm_on_each_tensor():
    gen = torch.Generator().manual_seed(0)
    shapes, scales = ((20, 6), (20,), (1, 20), (1,)), (5.0, 0.01, 3.0, 2.0)
    grads = [torch.randn(s, generator=gen) * k for s, k in zip(shapes, scales, strict=True)]
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    reference = []
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
        q = torch.nn.Parameter(torch.zeros_like(g))
        q.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(q, 1.0)
        reference.append(q.grad)
    clip_per_tensor(params, 1.0)
    for p, ref in zip(params, reference, strict=True):
        torch.testing.assert_close(p.grad, ref)
        assert p.grad.norm() <= 1.0 + 1e-5
    assert not torch.equal(params[0].grad, grads[0])  # over the norm: scaled down
    assert torch.equal(params[1].grad, grads[1])  # under the norm: untouched


def _trained(make_opt, steps: int = 25) -> list[torch.Tensor]:
    """A small MLP trained by `make_opt(decay, rest)`; the unused layer never gets a gradient."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    unused = torch.nn.Linear(3, 3)
    params = [*net.parameters(), *unused.parameters()]
    opt = make_opt(params)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 6, generator=gen)
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()
    return [p.detach().clone() for p in params]


def _torch_groups(params: list[torch.Tensor], weight_decay: float) -> list[dict]:
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


def test_optimizer_follows_torch_adam_and_rmsprop_with_decay_on_matrices_only():
    """Our one-call update must follow torch.optim's trajectory (Adam: fused kernel; RMSprop:
    Keras' rho 0.9, epsilon 1e-7), decay weight matrices only, and leave a parameter without
    a gradient untouched (no step counted for it)."""
    wd = 0.02
    cases = {
        "adam": lambda ps: torch.optim.Adam(_torch_groups(ps, wd), lr=1e-2),
        "rmsprop": lambda ps: torch.optim.RMSprop(
            _torch_groups(ps, wd), lr=1e-2, alpha=0.9, eps=1e-7
        ),
    }
    for kind, reference in cases.items():
        ours = _trained(lambda ps, kind=kind: Optimizer(ps, kind, 1e-2, wd))
        theirs = _trained(reference)
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        untouched = _trained(lambda ps, kind=kind: Optimizer(ps, kind, 1e-2, wd), steps=0)
        torch.testing.assert_close(ours[-1], untouched[-1], rtol=0, atol=0)
        assert not torch.equal(ours[0], untouched[0])


def test_optimizer_rejects_unknown_kind():
    with pytest.raises(ValueError, match="'rmsprop' or 'adam'"):
        Optimizer([torch.zeros(2, requires_grad=True)], "sgd", 1e-3, 0.0)


def test_cpu_threads_sets_torch_threads_inside_and_restores_them_after() -> None:
    import torch

    from components.detectors.api import cpu_threads

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(0):  # 0: torch's own setting, untouched
        assert torch.get_num_threads() == before
