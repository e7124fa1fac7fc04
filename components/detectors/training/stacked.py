"""The training loop of several same-shaped networks at once (`fit_many`: one method's
seeds or label sets on the same rows): parameters and buffers stacked with torch.func, one
vmapped forward/backward and one optimiser step per batch for all of them.

Import rule: torch and tqdm only (runs on a bare GPU box).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from components.detectors.training.compiled_step import step_loss
from components.detectors.training.length import Schedule
from components.detectors.training.loop import Regime
from components.detectors.training.optim import Optimizer, clip_per_member
from components.detectors.training.samplers import Batch


class _Bound(nn.Module):
    """`loss(net, batch)` as a module's forward, so `functional_call` can swap in one
    ensemble member's tensors for `net`'s (parameters and buffers of every submodule)."""

    def __init__(self, net: nn.Module, loss: Callable[[Any, Batch], Tensor]) -> None:
        super().__init__()
        self.net = net
        self.loss = loss

    def forward(self, *batch: Tensor) -> Tensor:
        return self.loss(self.net, batch)


def train_many(
    nets: list[nn.Module],
    loss: Callable[[Any, Batch], Tensor],
    samplers: list[Callable[[], Batch]],
    regime: Regime,
    schedule: Schedule,
    keep_best: bool,
    desc: str,
) -> list[list[float]]:
    """`loop.train` for same-shaped networks at once, one loss history per network. The
    optimisers are elementwise and clipping is per member, so each member follows its own
    sequential trajectory up to float summation order. A member whose stopping rule has
    fired trains on with the others but keeps the state it stopped with (or its best until
    then), as its sequential fit does. One host sync per epoch."""
    params, buffers = stack_module_state(nets)
    bound = _Bound(nets[0], loss)  # nets[0] only lends its structure; its tensors are swapped

    def member_loss(p: dict[str, Tensor], b: dict[str, Tensor], batch: Batch) -> Tensor:
        tensors = {f"net.{k}": v for k, v in (p | b).items()}
        return functional_call(bound, tensors, batch)

    plist = list(params.values())
    batched_loss = step_loss(vmap(member_loss), regime.compile_step, regime.bf16, plist[0].device)
    opt = Optimizer(plist, regime.optimizer, regime.lr, regime.weight_decay, stacked=1)
    state = params | buffers
    n = len(nets)
    best = torch.full((n,), math.inf, device=plist[0].device)
    seen = torch.zeros(n, dtype=torch.bool, device=best.device)
    best_state = {k: v.detach().clone() for k, v in state.items()}
    stop_state = dict(best_state)  # each member's state at its last live epoch
    histories: list[list[float]] = [[] for _ in nets]
    for net in nets:
        net.train()
    hidden = not regime.show_progress
    with tqdm(total=schedule.epochs, desc=desc, disable=hidden, leave=False) as bar:
        while any(live := [schedule.goes_on(h) for h in histories]):
            losses: list[Tensor] = []
            for _ in range(schedule.steps):
                batch = tuple(
                    torch.stack(parts) for parts in zip(*(s() for s in samplers), strict=True)
                )
                value = batched_loss(params, buffers, batch)
                opt.zero_grad()
                value.sum().backward()  # members are independent: each its own gradient
                if regime.clip_norm is not None:
                    clip_per_member(plist, regime.clip_norm)
                opt.step()
                losses.append(value.detach())
            epoch_loss = torch.stack(losses).mean(0)
            for history, alive, value in zip(histories, live, epoch_loss.tolist(), strict=True):
                if alive:
                    history.append(value)
            bar.update()
            alive_t = torch.tensor(live, device=best.device)
            better = (epoch_loss < best) & alive_t & keep_best
            best, seen = torch.where(better, epoch_loss, best), seen | better
            for k, v in state.items():
                shape = (-1, *[1] * (v.ndim - 1))
                stop_state[k] = torch.where(alive_t.view(shape), v.detach(), stop_state[k])
                best_state[k] = torch.where(better.view(shape), v.detach(), best_state[k])
    with torch.no_grad():
        for k, v in state.items():
            v.copy_(torch.where(seen.view(-1, *[1] * (v.ndim - 1)), best_state[k], stop_state[k]))
        for i, net in enumerate(nets):
            for k, t in [*net.named_parameters(), *net.named_buffers()]:
                t.copy_(state[k][i])
    return histories
