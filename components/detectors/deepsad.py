"""Deep SAD: deep semi-supervised anomaly detection (Ruff et al., ICLR'20).

Unlabelled rows are pulled towards a centre c in a bias-free representation space; labelled
anomalies are pushed away through the inverse distance eta/(||phi(x)-c||^2 + eps). Score =
squared distance to c. As in the original (lukasruff/Deep-SAD-PyTorch, as packaged by
ADBench): MLP 100-20 -> 10 with BatchNorm(affine=False) + LeakyReLU and no biases; a mirrored
autoencoder is pretrained first (100 epochs, Adam 1e-3, weight decay 1e-6) and its encoder
initialises the network; c = mean initial embedding with near-zero coordinates moved to
+-0.1; then 50 epochs of Adam on plain shuffled batches of 128, eta = 1. Without labelled
anomalies it reduces to Deep SVDD, so it runs with none.
Labelled normals (y = -1, rows an analyst dismissed) get the paper's term for y~ = +1,
eta * ||phi(x) - c||^2: they are pulled to the centre with weight eta. At the default
eta = 1 that equals an unlabelled row's term, so dismissals change the fit only with eta > 1.
Where we differ: nothing in the objective; the data stay on the device and the pretraining
runs through the same loop as the main stage. `balanced_batches=True` swaps the original's
shuffled rows for DeepOD's class-balanced batches (half labelled anomalies), which matters when
the labelled anomalies are a tiny share of the rows (mammography at 10,000 rows: AUC-PR 0.03
with shuffled rows vs 0.33 balanced, BatchNorm-free network, benchmarks/RESULTS.md).
Training length: fixed, as the paper's (`until_converged=False`): an epoch is one pass over the
rows, so the number of steps already grows with the table.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

from components.detectors.api import register
from components.detectors.deep import DeepDetector
from components.detectors.training.pretrain import pretrain_autoencoders
from components.detectors.training.samplers import Batch, balanced_sampler, shuffled_sampler

_CENTRE_EPS = 0.1


def _block(n_in: int, n_out: int, batch_norm: bool) -> list[nn.Module]:
    norm = [nn.BatchNorm1d(n_out, eps=1e-4, affine=False)] if batch_norm else []
    return [nn.Linear(n_in, n_out, bias=False), *norm, nn.LeakyReLU()]


class _SADNet(nn.Module):
    def __init__(
        self, n_features: int, hidden_dims: tuple[int, ...], rep_dim: int, batch_norm: bool
    ) -> None:
        super().__init__()
        widths = [n_features, *hidden_dims]
        enc = [
            m for a, b in zip(widths, widths[1:], strict=False) for m in _block(a, b, batch_norm)
        ]
        self.encoder = nn.Sequential(*enc, nn.Linear(widths[-1], rep_dim, bias=False))
        back = [rep_dim, *reversed(hidden_dims)]
        dec = [m for a, b in zip(back, back[1:], strict=False) for m in _block(a, b, batch_norm)]
        self.decoder = nn.Sequential(
            *dec, nn.Linear(back[-1], n_features, bias=False), nn.Sigmoid()
        )
        self.register_buffer("centre", torch.zeros(rep_dim))


@dataclasses.dataclass(eq=False)
class DeepSADRegime(DeepDetector):
    """Deep SAD's training regime (Adam, plain shuffled batches of 128, no clipping, last
    epoch kept, bias-free 100-20 -> 10 network) and its semi-supervised term, shared with
    the methods that build on Deep SAD (ESAD)."""

    min_labelled = 0  # without labelled anomalies the term is Deep SVDD's

    batches_per_epoch: int | None = None
    batch_size: int = 128
    weight_decay: float = 1e-6
    hidden_dims: tuple[int, ...] = (100, 20)
    optimizer: str = "adam"
    clip_norm: float | None = None
    keep_best: bool = False
    until_converged: bool = False  # an epoch is a pass over the rows: steps grow with them
    rep_dim: int = 10
    eta: float = 1.0
    eps: float = 1e-6
    # The original shuffles all rows, so a rare labelled anomaly is in few batches; DeepOD's
    # DeepSAD draws class-balanced batches (about half labelled anomalies) instead.
    balanced_batches: bool = False

    def _sampler(self, X: Tensor, y: Tensor, gen: torch.Generator):
        """Plain shuffled rows, or half labelled anomalies when asked and there are any (with
        none, Deep SVDD, there is nothing to balance)."""
        balanced = self.balanced_batches and bool((y == 1).any())
        return (balanced_sampler if balanced else shuffled_sampler)(X, y, self.batch_size, gen)

    def _semi_supervised(self, dist: Tensor, y: Tensor) -> Tensor:
        """Per row: the squared distance for unlabelled rows, eta / (distance + eps) for
        labelled anomalies and eta * distance for labelled normals (Deep SAD's
        eta (d + eps)^y~ with y~ = -1 and +1; our y is 1 and -1 for them)."""
        assert dist.shape == y.shape, (dist.shape, y.shape)
        labelled = torch.where(y == 1, self.eta / (dist + self.eps), self.eta * dist)
        return torch.where(y == 0, dist, labelled)


@register("deepsad")
@dataclasses.dataclass(eq=False)
class DeepSAD(DeepSADRegime):
    """Hypersphere with inverse-distance loss for labelled anomalies, AE-pretrained."""

    batchable = True
    uses_confirmed_normals = True

    pretrain_epochs: int = 100
    batch_norm: bool = True  # the original's BatchNorm(affine=False); DeepOD's MLP has none

    def _build(self, n_features: int) -> nn.Module:
        return _SADNet(n_features, self.hidden_dims, self.rep_dim, self.batch_norm)

    def _prepare(self, net: Any, X: Tensor, y: Tensor, gen: torch.Generator) -> None:
        self._pretrain([net], X, [gen])
        self._set_centre(net, X)

    def _prepare_many(
        self,
        members: Any,
        nets: list[Any],
        X: Tensor,
        ys: list[Tensor],
        gens: list[torch.Generator],
    ) -> None:
        """The members' pretraining in one stacked pass, then each member's centre."""
        self._pretrain(nets, X, gens)
        for net in nets:
            self._set_centre(net, X)

    def _pretrain(self, nets: list[Any], X: Tensor, gens: list[torch.Generator]) -> None:
        """The original's autoencoder pretraining on all rows (squared error summed over the
        features), plain shuffled rows whatever sampler the main stage uses, last epoch kept."""
        if self.pretrain_epochs:
            pretrain_autoencoders(
                [nn.Sequential(net.encoder, net.decoder) for net in nets],
                X,
                gens,
                self._regime(),
                epochs=self.pretrain_epochs,
                steps=self._steps(len(X)),
                batch_size=self.batch_size,
                reduction="row_sum",
                keep_best=False,
                desc=f"{self.name} pretrain",
            )

    def _set_centre(self, net: Any, X: Tensor) -> None:
        """c = mean initial embedding, near-zero coordinates moved to +-0.1."""
        net.eval()
        with torch.no_grad():
            centre = torch.cat([net.encoder(X[i : i + 65536]) for i in range(0, len(X), 65536)])
            centre = centre.mean(0)
        sign = torch.where(centre < 0, -1.0, 1.0)
        net.centre.copy_(torch.where(centre.abs() < _CENTRE_EPS, sign * _CENTRE_EPS, centre))

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        x, y = batch
        dist = ((net.encoder(x) - net.centre) ** 2).sum(1)
        return self._semi_supervised(dist, y).mean()

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        return ((net.encoder(X) - net.centre) ** 2).sum(1)
