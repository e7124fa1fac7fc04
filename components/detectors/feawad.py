"""FeaWAD: feature encoding with autoencoders (Zhou, Song, Zhang, Liu, Zhu, Liu; TNNLS 2021,
arXiv 2105.10500).

An autoencoder encodes each row by three factors: its hidden representation, the direction
of its reconstruction residual (x - x_hat)/||x - x_hat|| and the residual's length
r = ||x - x_hat||. A score MLP reads all three and gets r again at every layer. The whole
network is trained end to end with DevNet's deviation loss on the score (reference N(0,1)
taken exactly, mean 0 and std 1, as the authors do) plus the same hinge on the residual:
unlabelled rows are pulled to r = 0, labelled anomalies pushed past r = margin. Defaults are
the authors' (yj-zhou/Feature_Encoding_with_AutoEncoders_for_Weakly-supervised_Anomaly_
Detection, FEAWAD.py; ADBench packages the same code): AE d -> d -> 128 -> 64 -> 128 -> d (ReLU,
biases, Glorot-normal init) pretrained on the unlabelled rows only with MSE, Adam 1e-4,
100 epochs x 20 batches x 512, lowest-loss weights kept; then score head 256 -> 32 -> 1 and
30 epochs x 20 balanced batches x 512 of Adam 1e-4, lowest-loss weights kept.
Where we differ, and why:
- the residual term uses r, the residual length. Both reference codes (and DeepOD's port)
  feed it the *normalised* residual, whose norm is 1 for every row, so the term is a constant
  and the AE is never pushed to reconstruct unlabelled rows worse than anomalies; the paper's
  text (full text not reachable from here; this is our reading of its objective and of what
  the code evidently intended) uses the reconstruction error, which depends on the data;
- the decoder's last layer is linear, not ReLU: a ReLU output cannot reconstruct negative
  values, which standardised inputs and test rows outside the train min-max range have;
- batches are drawn from a seeded generator on the device; ADBench's port re-seeds its
  numpy RNG for every batch, so it trains on one fixed batch over and over;
- DeepOD's port trains one batch per epoch, skips the AE pretraining and broadcasts a (B,1)
  score against (B,) labels; none of that is here.
Training length: the pretraining runs its fixed 100 x 20 batches; the main stage runs its 30
epochs, then more while its loss still falls (the shared rule, `until_converged` in
components/detectors/training/length.py), up to four times as many; `until_converged=False`
keeps the paper's count.
Rows an analyst dismissed (y = -1, confirmed normals) are trained on as unlabelled rows:
the paper has no term for labelled normals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

from components.detectors.api import register
from components.detectors.deep import DeepDetector
from components.detectors.parts import deviation_loss, mlp
from components.detectors.training.pretrain import pretrain_autoencoders
from components.detectors.training.samplers import Batch

_TINY = 1e-12  # keeps the residual direction finite for a row reconstructed exactly


class _FeaWADNet(nn.Module):
    def __init__(
        self, n_features: int, hidden_dims: tuple[int, ...], score_dims: tuple[int, ...]
    ) -> None:
        super().__init__()
        widths = (n_features, *hidden_dims)
        self.encoder = mlp(n_features, widths, None)
        self.decoder = mlp(widths[-1], tuple(reversed(widths[1:-1])), n_features)
        layers, n_in = [], n_features + widths[-1] + 1
        for width in (*score_dims, 1):
            layers.append(nn.Linear(n_in, width))
            n_in = width + 1
        self.score_layers = nn.ModuleList(layers)
        for module in self.modules():
            if isinstance(module, nn.Linear):  # Keras' glorot_normal, zero biases
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)

    def terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Score (n,) and reconstruction-residual length r (n,) of each row."""
        code = self.encoder(x)
        residual = x - self.decoder(code)
        r = residual.norm(dim=1, keepdim=True)
        h = torch.cat([residual / r.clamp_min(_TINY), code, r], dim=1)
        for i, layer in enumerate(self.score_layers):
            h = layer(h)
            if i < len(self.score_layers) - 1:
                h = torch.cat([torch.relu(h), r], dim=1)
        return h.squeeze(1), r.squeeze(1)


def feawad_loss(score: Tensor, residual: Tensor, y: Tensor, margin: float) -> Tensor:
    """Deviation loss on the score plus the same hinge on the residual length: unlabelled
    rows pulled to 0, labelled anomalies pushed past `margin`. Shapes asserted."""
    assert residual.shape == y.shape, (residual.shape, y.shape)
    zero, one = score.new_zeros(()), score.new_ones(())
    on_residual = torch.where(y == 1, torch.relu(margin - residual), residual).mean()
    return deviation_loss(score, y, zero, one, margin) + on_residual


@register("feawad")
@dataclasses.dataclass(eq=False)
class FeaWAD(DeepDetector):
    """Autoencoder-encoded rows (code, residual direction, residual length) scored by an MLP
    trained with deviation losses on the score and the residual; AE pretrained first."""

    epochs: int = 30
    lr: float = 1e-4
    hidden_dims: tuple[int, ...] = (128, 64)  # AE encoder after its first d-wide layer
    score_dims: tuple[int, ...] = (256, 32)
    optimizer: str = "adam"
    clip_norm: float | None = None
    margin: float = 5.0
    pretrain_epochs: int = 100

    def _build(self, n_features: int) -> nn.Module:
        return _FeaWADNet(n_features, self.hidden_dims, self.score_dims)

    def _prepare(self, net: Any, X: Tensor, y: Tensor, gen: torch.Generator) -> None:
        """The reference's pretraining: the autoencoder on the unlabelled rows, element-wise
        mean squared error (Keras' mse), 20 batches an epoch, lowest-loss epoch kept."""
        if not self.pretrain_epochs:
            return
        unlabelled = X[y == 0]
        pretrain_autoencoders(
            [nn.Sequential(net.encoder, net.decoder)],
            unlabelled,
            [gen],
            self._regime(),
            epochs=self.pretrain_epochs,
            steps=self._steps(len(unlabelled)),
            batch_size=self.batch_size,
            reduction="mean",
            keep_best=True,
            desc=f"{self.name} pretrain",
        )

    def _terms(self, net: Any, x: Tensor) -> tuple[Tensor, Tensor]:
        """Score and residual length per row: the pieces a wrapped loss combines."""
        return net.terms(x)

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        x, y = batch
        score, residual = self._terms(net, x)
        return feawad_loss(score, residual, y, self.margin)

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        return self._terms(net, X)[0]
