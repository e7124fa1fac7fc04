"""The training loop of one network: sample on the device, forward, loss, backward, clip,
step, with the best-loss checkpoint and the stopping rule of `length`.

Every deep method trains its main stage and its pretraining here, so a fix here fixes every
method. Import rule: torch and tqdm only (runs on a bare GPU box).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from components.detectors.training.compiled_step import step_loss
from components.detectors.training.length import Schedule
from components.detectors.training.optim import Optimizer, clip_per_tensor
from components.detectors.training.samplers import Batch


@dataclasses.dataclass(frozen=True)
class Regime:
    """How a detector updates its parameters: the optimiser (`adam` or `rmsprop`), its step
    size, L2 decay on weight matrices, per-tensor gradient clipping (None: none) and whether
    a progress bar shows; `compile_step` and `bf16` choose how the loss runs
    (components/detectors/training/compiled_step.py)."""

    optimizer: str
    lr: float
    weight_decay: float
    clip_norm: float | None
    show_progress: bool
    compile_step: str
    bf16: bool


def train(
    net: nn.Module,
    params: Sequence[nn.Parameter],
    loss: Callable[[Batch], Tensor],
    sample: Callable[[], Batch],
    regime: Regime,
    schedule: Schedule,
    keep_best: bool,
    desc: str,
) -> list[float]:
    """Train `net` for as long as `schedule` says and return the epoch losses; with
    `keep_best`, the weights of the lowest-loss epoch are restored (Keras' ModelCheckpoint).
    One host sync per epoch (the epoch loss, for the checkpoint, the stopping rule and the
    progress bar)."""
    params = list(params)
    opt = Optimizer(params, regime.optimizer, regime.lr, regime.weight_decay)
    loss = step_loss(loss, regime.compile_step, regime.bf16, params[0].device)
    best, best_state, history = math.inf, None, list[float]()
    net.train()
    hidden = not regime.show_progress
    with tqdm(total=schedule.epochs, desc=desc, disable=hidden, leave=False) as bar:
        while schedule.goes_on(history):
            losses: list[Tensor] = []
            for _ in range(schedule.steps):
                value = loss(sample())
                opt.zero_grad()
                value.backward()
                if regime.clip_norm is not None:
                    clip_per_tensor(params, regime.clip_norm)
                opt.step()
                losses.append(value.detach())
            epoch_loss = torch.stack(losses).mean().item()
            history.append(epoch_loss)
            bar.update()
            if keep_best and epoch_loss < best:
                best = epoch_loss
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if best_state is not None:
        net.load_state_dict(best_state)
    return history
