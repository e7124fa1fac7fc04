"""Autoencoder pretraining, the set-up stage of Deep SAD, FeaWAD and MNPWAD: an autoencoder
learns to reconstruct rows over shuffled mini-batches before the method's main stage.

Written once; what the three reference codes do differently is a parameter, each method
passing its own reference's choice:
- `reduction`: the squared error summed over the features and averaged over the rows
  (`"row_sum"`, Deep-SAD-PyTorch's `torch.mean(torch.sum((x_hat - x) ** 2, dim=1))`), or
  averaged over every element (`"mean"`, FeaWAD's Keras `mse` and MNPWAD's `F.mse_loss`);
  with Adam the two differ by the feature count in the loss scale, which matters through
  the L2 decay and Adam's eps only;
- `steps`: batches per epoch, by the method's own epoch (Deep SAD: a pass over all rows as
  its main stage; FeaWAD: the reference's 20 batches; MNPWAD: a pass over the unlabelled
  rows);
- `keep_best`: Deep SAD keeps its last epoch, FeaWAD and MNPWAD their lowest-loss one;
- `targets`: the rows to reconstruct when they are not the inputs (MNPWAD's denoising
  layers: noisy inputs, clean targets, shuffled together as pairs).
Which rows are passed (all of them for Deep SAD, the unlabelled ones for the other two) is
the caller's. Several autoencoders (one method's copies in `fit_many`) train in one stacked
pass, each with its own generator, exactly the batches its own fit would draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from components.detectors.training.length import Schedule
from components.detectors.training.loop import Regime, train
from components.detectors.training.samplers import Batch, shuffled_sampler
from components.detectors.training.stacked import train_many

Reduction = Literal["row_sum", "mean"]


def pretrain_autoencoders(
    autoencoders: Sequence[nn.Module],
    inputs: Tensor,
    gens: Sequence[torch.Generator],
    regime: Regime,
    *,
    epochs: int,
    steps: int,
    batch_size: int,
    reduction: Reduction,
    keep_best: bool,
    desc: str,
    targets: Tensor | None = None,
) -> None:
    """Train each autoencoder (with its generator) to map `inputs` to `targets` (default:
    the inputs themselves), in place."""
    width = None if targets is None else inputs.shape[1]
    rows = inputs if targets is None else torch.cat([inputs, targets], 1)
    loss = _reconstruction_loss(reduction, width)
    labels = rows.new_zeros(len(rows))  # the sampler's y; reconstruction reads none
    samplers = [shuffled_sampler(rows, labels, batch_size, gen) for gen in gens]
    schedule = Schedule(epochs, steps)
    if len(autoencoders) == 1:
        (ae,) = autoencoders
        params = list(ae.parameters())
        train(ae, params, lambda b: loss(ae, b), samplers[0], regime, schedule, keep_best, desc)
    else:
        nets = list(autoencoders)
        train_many(nets, loss, samplers, regime, schedule, keep_best, f"{desc} x{len(nets)}")


def _reconstruction_loss(
    reduction: Reduction, width: int | None
) -> Callable[[nn.Module, Batch], Tensor]:
    """The batch's squared reconstruction error; with `width`, a batch row holds the input
    (its first `width` columns) and then the target."""
    if reduction not in ("row_sum", "mean"):
        raise ValueError(f"reduction must be 'row_sum' or 'mean', got {reduction!r}")

    def loss(autoencoder: nn.Module, batch: Batch) -> Tensor:
        rows = batch[0]
        x, target = (rows, rows) if width is None else (rows[:, :width], rows[:, width:])
        error = (autoencoder(x) - target) ** 2
        return error.sum(1).mean() if reduction == "row_sum" else error.mean()

    return loss
