"""RoSAS: contamination-resilient continuous supervision (Xu, Wang, Pang, Jian, Liu, Wang;
Information Processing & Management 2023, arXiv 2307.13239).

An MLP embeds rows; a small head maps the embedding to a tanh score in [-1, 1]. Two
objectives share the embedding. Mass interpolation: unlabelled rows (target -1) and labelled
anomalies (target +1) are mixed pairwise, x~ = lam*x_i + (1-lam)*x_j with lam ~ Beta(alpha,
alpha), and the score of x~ regresses (smooth L1) both the mixed target lam*t_i + (1-lam)*t_j
and the mixed scores lam*s(x_i) + (1-lam)*s(x_j): continuous abnormality degrees instead of
hard labels, and mixes of correctly labelled rows cover the region that unlabelled anomalies
contaminate. Feature learning: a triplet loss (anchor and positive unlabelled, negative a
labelled anomaly) regularises the embedding. The two losses are balanced dynamically: each
weight is a softmax, at temperature T, of the loss's current value over its mean in the
previous epoch. Defaults are DeepOD's port (deepod/models/tabular/rosas.py), the speed-parity
setting of METHODS.md: d -> 32 -> 32 embedding (LeakyReLU, no biases), head 32 -> 16 -> 1,
margin 5, alpha 0.5, T 2, Adam 5e-3, 100 epochs of floor(n/128) batches of 128 triplets.
Where we differ, and why:
- the dynamic weighting is on (the authors' code, xuhongzuo/rosas, has it; DeepOD's port
  never passes the previous losses, so it always weighs 0.5/0.5) and its weights are
  constants for the gradient; the authors' code lets gradients flow through the weights;
- no early stopping: the authors' code stops on the AUC of a labelled validation split,
  which this protocol does not have (using it would leak test-like labels);
- defaults follow DeepOD, not the authors' configs.yaml (128-d embedding, margin 1, batch 32,
  16 batches x 200 epochs, weight decay 1e-4, an extra 0.01 x embedding-norm penalty);
  set them through the parameters of the same name where wanted (the penalty is not offered);
- only pairwise (k = 2) interpolation, the default of both codes;
- anchors and positives are drawn without replacement, as in both codes, but when fewer
  unlabelled rows than `batch_size` exist the batch shrinks instead of failing.
Training length: fixed (`until_converged=False`): an epoch is one pass over the rows, so the
number of steps grows with the table, and the dynamically weighted loss is not one objective
whose fall could tell convergence.
Rows an analyst dismissed (y = -1, confirmed normals) are trained on as unlabelled rows:
the paper has no term for labelled normals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from components.detectors.api import register
from components.detectors.deep import DeepDetector
from components.detectors.parts import LossBalance, mlp
from components.detectors.training.samplers import Batch
from components.detectors.training.torch_kernels import beta_draws


class _RoSASNet(nn.Module):
    def __init__(self, n_features: int, hidden_dims: tuple[int, ...], rep_dim: int) -> None:
        super().__init__()
        self.embed = mlp(n_features, hidden_dims, rep_dim, activation=nn.LeakyReLU, bias=False)
        self.head = nn.Sequential(
            nn.Linear(rep_dim, rep_dim // 2, bias=False),
            nn.LeakyReLU(),
            nn.Linear(rep_dim // 2, 1),
            nn.Tanh(),
        )

    def score(self, x: Tensor) -> Tensor:
        return self.head(self.embed(x)).squeeze(1)


def mass_interpolation(
    x: Tensor, target: Tensor, partner: Tensor, lam: Tensor
) -> tuple[Tensor, Tensor]:
    """Mix each row with the row `partner` points at, weight `lam` on the row itself; returns
    the mixed rows and their mixed targets (continuous abnormality degrees)."""
    assert target.shape == lam.shape == partner.shape == (len(x),), (target.shape, lam.shape)
    mixed = lam[:, None] * x + (1 - lam[:, None]) * x[partner]
    return mixed, lam * target + (1 - lam) * target[partner]


@register("rosas")
@dataclasses.dataclass(eq=False)
class RoSAS(DeepDetector):
    """Mass-interpolation score regression plus a triplet embedding loss, tanh score."""

    epochs: int = 100
    batches_per_epoch: int | None = None
    batch_size: int = 128
    lr: float = 5e-3
    hidden_dims: tuple[int, ...] = (32,)
    optimizer: str = "adam"
    clip_norm: float | None = None
    keep_best: bool = False
    until_converged: bool = False  # an epoch is a pass over the rows: steps grow with them
    rep_dim: int = 32
    margin: float = 5.0
    alpha: float = 0.5
    temperature: float = 2.0

    def _build(self, n_features: int) -> nn.Module:
        return _RoSASNet(n_features, self.hidden_dims, self.rep_dim)

    def _steps(self, n_rows: int) -> int:
        return self.batches_per_epoch or max(1, n_rows // self.batch_size)

    def _prepare(self, net: Any, X: Tensor, y: Tensor, gen: torch.Generator) -> None:
        self._balance = LossBalance(
            2, self._steps(len(X)), self.temperature, X.device, weights_carry_gradient=False
        )

    def _sampler(self, X: Tensor, y: Tensor, gen: torch.Generator):
        X_u, X_a = X[y == 0], X[y == 1]
        n = min(self.batch_size, len(X_u))
        target = torch.cat([X.new_full((2 * n,), -1.0), X.new_ones(n)])

        def sample() -> Batch:
            anchor = X_u[torch.randperm(len(X_u), generator=gen, device=X.device)[:n]]
            positive = X_u[torch.randperm(len(X_u), generator=gen, device=X.device)[:n]]
            negative = X_a[torch.randint(len(X_a), (n,), generator=gen, device=X.device)]
            partner = torch.randperm(3 * n, generator=gen, device=X.device)
            lam = beta_draws(self.alpha, 3 * n, gen, X.device)
            return anchor, positive, negative, target, partner, lam

        return sample

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        anchor, positive, negative, target, partner, lam = batch
        on_embedding = F.triplet_margin_loss(
            net.embed(anchor), net.embed(positive), net.embed(negative), margin=self.margin
        )
        x = torch.cat([anchor, positive, negative])
        mixed, mixed_target = mass_interpolation(x, target, partner, lam)
        score_mixed, score = net.score(mixed), net.score(x)
        mixed_score = lam * score + (1 - lam) * score[partner]
        assert score_mixed.shape == mixed_target.shape == mixed_score.shape
        on_score = F.smooth_l1_loss(score_mixed, mixed_target) + F.smooth_l1_loss(
            score_mixed, mixed_score
        )
        return self._balance(torch.stack([on_embedding, on_score]))

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        return net.score(X)
