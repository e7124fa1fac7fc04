"""The shared loop's batched per-tensor clipping keeps Keras' clipnorm arithmetic."""

from __future__ import annotations

import torch

from components.detectors.base import _clip_per_tensor


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
    _clip_per_tensor(params, 1.0)
    for p, ref in zip(params, reference, strict=True):
        torch.testing.assert_close(p.grad, ref)
        assert p.grad.norm() <= 1.0 + 1e-5
    assert not torch.equal(params[0].grad, grads[0])  # over the norm: scaled down
    assert torch.equal(params[1].grad, grads[1])  # under the norm: untouched
