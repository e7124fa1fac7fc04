"""The optimiser the deep detectors train with, and Keras-style per-tensor gradient clipping.

Import rule: torch only; `torch_kernels` guards the private kernels the update uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from components.detectors.training import torch_kernels


def clip_per_tensor(params: list[nn.Parameter], max_norm: float) -> None:
    """Keras' clipnorm: each gradient tensor scaled to norm <= max_norm on its own (the same
    arithmetic as clip_grad_norm_ per tensor, in two batched calls instead of one per tensor)."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        torch_kernels.clip_per_tensor_(grads, max_norm)


def clip_per_member(params: list[Tensor], max_norm: float) -> None:
    """`clip_per_tensor` for stacked ensemble parameters: each member's slice of each
    gradient is clipped on its own, as in that member's sequential fit."""
    for p in params:
        if p.grad is not None:
            norms = p.grad.flatten(1).norm(dim=1)
            scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
            p.grad.mul_(scale.view(-1, *[1] * (p.ndim - 1)))


class Optimizer:
    """Adam or RMSprop with L2 weight decay on weight matrices only (Keras'
    kernel_regularizer; never biases or BatchNorm), in as few kernel calls as the update
    allows: one foreach call adds the decay, one fused call (`torch._fused_adam_`, the kernel
    behind torch.optim.Adam(fused=True)) or five foreach calls (RMSprop's arithmetic, as
    torch.optim.RMSprop(foreach=True)) update every parameter; `torch_kernels` guards these
    private kernels and falls back to torch.optim's public functional update.

    Why not torch.optim itself: for the small networks here its per-step bookkeeping (one
    kernel call per parameter group, state dicts, profiler hooks) was a quarter of a CPU
    step. The arithmetic is torch's; tests pin the trajectory to torch.optim's. `stacked`
    leading dimensions (ensemble members) do not count towards a matrix."""

    def __init__(
        self, params: Sequence[Tensor], kind: str, lr: float, weight_decay: float, stacked: int = 0
    ) -> None:
        if kind not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {kind!r}")
        self.kind, self.lr, self.weight_decay = kind, lr, weight_decay
        self.params = [p for p in params if p.requires_grad]
        self.decays = [p.ndim - stacked >= 2 and weight_decay > 0 for p in self.params]
        self.first = [torch.zeros_like(p) for p in self.params] if kind == "adam" else []
        self.second = [torch.zeros_like(p) for p in self.params]  # Adam's v, RMSprop's mean g^2
        self.steps = [torch.zeros((), device=p.device) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient (torch.optim skips the others,
        step count included: e.g. Deep SAD's decoder during the main stage)."""
        with_grad = [(i, p.grad) for i, p in enumerate(self.params) if p.grad is not None]
        live = [i for i, _ in with_grad]
        params, grads = [self.params[i] for i in live], [g for _, g in with_grad]
        decay = [k for k, i in enumerate(live) if self.decays[i]]
        if decay:
            torch_kernels.add_weight_decay_(
                [grads[k] for k in decay], [params[k] for k in decay], self.weight_decay
            )
        second = [self.second[i] for i in live]
        if self.kind == "adam":
            first, steps = [self.first[i] for i in live], [self.steps[i] for i in live]
            torch_kernels.adam_step_(params, grads, first, second, steps, self.lr)
        else:
            torch_kernels.rmsprop_step_(params, grads, second, self.lr)
