"""Network parts and losses more than one method uses: the plain MLP, DevNet's deviation loss
and the dynamic loss weighting of MNPWAD and RoSAS.

Import rule: torch only (runs on a bare GPU box).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def mlp(
    n_in: int,
    hidden_dims: Sequence[int],
    n_out: int | None,
    activation: Callable[[], nn.Module] = nn.ReLU,
    bias: bool = True,
) -> nn.Sequential:
    """Linear+activation per hidden size, then an optional linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden_dims:
        layers += [nn.Linear(n_in, width, bias=bias), activation()]
        n_in = width
    if n_out is not None:
        layers.append(nn.Linear(n_in, n_out, bias=bias))
    return nn.Sequential(*layers)


def deviation_loss(score: Tensor, y: Tensor, mu: Tensor, sigma: Tensor, margin: float) -> Tensor:
    """DevNet's loss: unlabelled scores pulled to the N(0,1) reference, anomalies pushed past
    `margin` standard deviations. Shapes are asserted: DeepOD's (B,1)-vs-(B,) broadcast bug."""
    assert score.ndim == 1, score.shape
    assert score.shape == y.shape, (score.shape, y.shape)
    dev = (score - mu) / sigma
    return torch.where(y == 1, torch.relu(margin - dev), dev.abs()).mean()


class LossBalance:
    """Dynamic weighting of several losses, as MNPWAD and RoSAS combine theirs: weight_i =
    softmax_i((L_i / mean of L_i over the previous epoch) / T), so a loss that fell less since
    the last epoch weighs more. The previous means are kept on the device; before the first
    epoch they are 1, as both reference codes start, and a mean is floored at 1e-12, so a loss
    that reached 0 cannot divide by zero (no effect otherwise).

    Written once, with the one point where the two methods differ as a parameter:
    `weights_carry_gradient`. True lets the gradient flow through the weights, as both
    reference codes do (MNPWAD keeps it); False holds them constant for the gradient (RoSAS,
    whose docstring says so). `history` holds each finished epoch's means."""

    def __init__(
        self,
        n_losses: int,
        steps_per_epoch: int,
        temperature: float,
        device: torch.device,
        weights_carry_gradient: bool,
    ) -> None:
        self.steps, self.temperature = steps_per_epoch, temperature
        self.carry_gradient = weights_carry_gradient
        self.previous = torch.ones(n_losses, device=device)
        self.total = torch.zeros(n_losses, device=device)
        self.seen = 0
        self.history: list[Tensor] = []

    def __call__(self, losses: Tensor) -> Tensor:
        """The weighted sum of this batch's `losses` (one value per loss)."""
        current = losses.detach()
        ratios = (losses if self.carry_gradient else current) / self.previous
        weights = torch.softmax(ratios / self.temperature, dim=0)
        self.total += current
        self.seen += 1
        if self.seen == self.steps:
            self.previous = (self.total / self.steps).clamp_min(1e-12)
            self.history.append(self.previous)
            self.total, self.seen = torch.zeros_like(self.total), 0
        return (weights * losses).sum()
