"""PReNet: pairwise relation prediction (Pang, Shen, Jin, van den Hengel, KDD'23).

A shared feature network embeds both rows of a pair; a linear head on the concatenation
regresses an ordinal relation target: unlabelled-unlabelled 0, unlabelled-anomaly 4,
anomaly-anomaly 8 (L1 loss). A row's score is the mean predicted relation of (u_e, x) and
(x, a_e) over E random unlabelled rows u_e and labelled anomalies a_e. Defaults are the
authors' (mala-lab/PReNet, prenet.py): 20 ReLU units, L2 0.01, RMSprop clipnorm 1,
50 epochs x 20 batches x 512; each batch is half (u,u), a quarter (u,a), a quarter (a,a)
with two distinct anomalies; E = 30; best-loss weights kept.
Where we differ: pairs are drawn with replacement on the device (the reference draws
unlabelled rows without replacement per batch, a negligible difference for large U); the
reference rows u_e, a_e are drawn from the fit's seeded generator and stored with the model
(the reference re-seeds 42 at scoring; DeepOD leaves them unseeded); one reference run, not
the paper's ensemble of 30 (the authors' code comment: size 1 performs similarly).
Training length: as DevNet's (components/detectors/devnet.py), the paper's 50 x 20 batches,
then more epochs while the loss still falls, up to four times as many; `until_converged=False`
keeps the paper's count.
Rows an analyst dismissed (y = -1, confirmed normals) are trained on as unlabelled rows:
the paper's pairs are built from labelled anomalies and unlabelled rows only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

from components.detectors.api import register
from components.detectors.deep import DeepDetector
from components.detectors.parts import mlp
from components.detectors.training.samplers import Batch


class _PairNet(nn.Module):
    def __init__(self, n_features: int, hidden_dims: tuple[int, ...], n_reference: int) -> None:
        super().__init__()
        self.features = mlp(n_features, hidden_dims, None)
        width = hidden_dims[-1] if hidden_dims else n_features
        self.head = nn.Linear(2 * width, 1)
        self.register_buffer("ref_u", torch.zeros(n_reference, n_features))
        self.register_buffer("ref_a", torch.zeros(n_reference, n_features))

    def relation(self, h1: Tensor, h2: Tensor) -> Tensor:
        return self.head(torch.cat([h1, h2], dim=-1)).squeeze(-1)


@register("prenet")
@dataclasses.dataclass(eq=False)
class PReNet(DeepDetector):
    """Pairwise relation network with ordinal targets."""

    min_labelled = 2  # an (a, a) pair needs two distinct anomalies
    batchable = True

    weight_decay: float = 0.02
    targets: tuple[float, float, float] = (0.0, 4.0, 8.0)  # (u,u), (u,a), (a,a)
    n_reference: int = 30

    def _build(self, n_features: int) -> nn.Module:
        return _PairNet(n_features, self.hidden_dims, self.n_reference)

    def _prepare(self, net: Any, X: Tensor, y: Tensor, gen: torch.Generator) -> None:
        for buf, label in ((net.ref_u, 0), (net.ref_a, 1)):
            rows = X[y == label]
            buf.copy_(rows[torch.randint(len(rows), (len(buf),), generator=gen, device=X.device)])

    def _sampler(self, X: Tensor, y: Tensor, gen: torch.Generator):
        X_u, X_a = X[y == 0], X[y == 1]
        quarter = self.batch_size // 4
        n_uu, n_ua = 2 * quarter, quarter
        n_aa = self.batch_size - n_uu - n_ua
        uu, ua, aa = self.targets
        target = torch.cat(
            [X.new_full((n_uu,), uu), X.new_full((n_ua,), ua), X.new_full((n_aa,), aa)]
        )

        def draw(n: int, high: int) -> Tensor:
            return torch.randint(high, (n,), generator=gen, device=X.device)

        def sample() -> Batch:
            first_a = draw(n_aa, len(X_a))
            second_a = (first_a + draw(n_aa, len(X_a) - 1) + 1) % len(X_a)  # distinct anomaly
            left = torch.cat([X_u[draw(n_uu + n_ua, len(X_u))], X_a[first_a]])
            right = torch.cat([X_u[draw(n_uu, len(X_u))], X_a[draw(n_ua, len(X_a))], X_a[second_a]])
            return left, right, target

        return sample

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        left, right, target = batch
        pred = net.relation(net.features(left), net.features(right))
        assert pred.shape == target.shape, (pred.shape, target.shape)
        return (pred - target).abs().mean()

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        # The head is linear in each side's embedding, so the mean relation over the E
        # references equals the relation with their mean embedding: O(n) instead of O(n E).
        h = net.features(X)
        u_mean = net.features(net.ref_u).mean(0).expand_as(h)
        a_mean = net.features(net.ref_a).mean(0).expand_as(h)
        return (net.relation(u_mean, h) + net.relation(h, a_mean)) / 2
