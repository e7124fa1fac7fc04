"""The torch detector: what every deep method shares around its network, loss and score.

Why one class: every method differs only in its network, its loss and its score. Device
handling, seeding, the training stages (`training.loop.train`, or `training.stacked.
train_many` for `fit_many`), chunked scoring and persistence live here once, so a method file
stays a page long and a fix here fixes every method.

Import rule: numpy, torch and tqdm only (runs on a bare GPU box).
"""

from __future__ import annotations

import abc
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import torch
from torch import Tensor, nn

from components.detectors.api import Detector, resolve_device
from components.detectors.training.length import Schedule
from components.detectors.training.loop import Regime, train
from components.detectors.training.samplers import Batch, balanced_sampler
from components.detectors.training.stacked import train_many

# Rows scored per forward pass: on CPU a 16k-row chunk keeps a 100-wide layer's activations
# in cache (2.5x the rows/s of 64k chunks for Deep SAD); on a GPU larger chunks launch fewer
# kernels.
SCORE_CHUNK_ROWS = 16_384
GPU_SCORE_CHUNK_ROWS = 262_144


@dataclasses.dataclass(eq=False)
class DeepDetector(Detector):
    """A torch detector trained by the shared loop. Subclasses supply `_build` (network from
    the feature count), optionally `_prepare` (data-dependent set-up such as pretraining),
    `_sampler`, `_loss` (a batch to a scalar) and `_forward_score` (rows to scores)."""

    epochs: int = 50
    batches_per_epoch: int | None = 20  # None: one full pass over the rows per epoch
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.0
    hidden_dims: tuple[int, ...] = (20,)
    optimizer: str = "rmsprop"
    clip_norm: float | None = 1.0  # per-tensor, as Keras' clipnorm
    keep_best: bool = True  # restore the weights of the lowest-loss epoch (Keras ModelCheckpoint)
    # After `epochs`, go on while the loss still falls (`loss_still_falling`), up to
    # EPOCH_CAP_FACTOR x `epochs`: the papers' fixed step counts leave some seeds short.
    until_converged: bool = True
    compile_step: str = "off"  # "on", "cudagraphs": torch.compile the loss (compiled_step.py)
    bf16: bool = False  # bf16 autocast of the loss (compiled_step.py)
    device: str = "auto"
    verbose: bool | None = None  # progress bar; None = only on a terminal

    batchable: ClassVar[bool] = False  # loss and sampler vmap-safe: `fit_many` batches members

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        device = resolve_device(self.device)
        X_t = torch.as_tensor(X, device=device)
        y_t = torch.as_tensor(y, device=device)
        net = self._init_net(X.shape[1], device)
        gen = torch.Generator(device=device).manual_seed(self.random_state)
        self._prepare(net, X_t, y_t, gen)
        self.loss_history_ = train(
            net,
            params=list(net.parameters()),
            loss=lambda batch: self._loss(net, batch),
            sample=self._sampler(X_t, y_t, gen),
            regime=self._regime(),
            schedule=Schedule(self.epochs, self._steps(len(X)), self.until_converged),
            keep_best=self.keep_best,
            desc=self.name,
        )
        self.net_ = net.eval()
        self.device_ = str(device)

    def _init_net(self, n_features: int, device: torch.device) -> nn.Module:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.random_state)  # weight init only; the global RNG is restored
            return self._build(n_features).to(device)

    def _fit_many(self, members: Sequence[Self], X: np.ndarray, ys: Sequence[np.ndarray]) -> None:
        """`_fit` for several copies of this detector (same hyperparameters, own seed and
        labels) on the same rows: each member gets the init, reference draws and batches its
        own `_fit` would draw, and all of them train in one stacked pass (`train_many`)."""
        device = resolve_device(self.device)
        X_t = torch.as_tensor(X, device=device)
        y_ts = [torch.as_tensor(y, device=device) for y in ys]
        nets = [m._init_net(X.shape[1], device) for m in members]
        gens = [torch.Generator(device=device).manual_seed(m.random_state) for m in members]
        self._prepare_many(members, nets, X_t, y_ts, gens)
        histories = train_many(
            nets,
            loss=self._loss,
            samplers=[m._sampler(X_t, y, g) for m, y, g in zip(members, y_ts, gens, strict=True)],
            regime=self._regime(),
            schedule=Schedule(self.epochs, self._steps(len(X)), self.until_converged),
            keep_best=self.keep_best,
            desc=f"{self.name} x{len(members)}",
        )
        for member, net, history in zip(members, nets, histories, strict=True):
            member.n_features_in_ = X.shape[1]
            member.loss_history_ = history
            member.net_ = net.eval()
            member.device_ = str(device)

    def _prepare_many(
        self,
        members: Sequence[Self],
        nets: list[nn.Module],
        X: Tensor,
        ys: list[Tensor],
        gens: list[torch.Generator],
    ) -> None:
        """Each member's `_prepare`; a method whose set-up trains (pretraining) batches it."""
        for member, net, y, gen in zip(members, nets, ys, gens, strict=True):
            member._prepare(net, X, y, gen)

    def _steps(self, n_rows: int) -> int:
        return self.batches_per_epoch or math.ceil(n_rows / self.batch_size)

    def _regime(self) -> Regime:
        """This detector's optimiser settings, for its main stage and its pretraining."""
        show = sys.stderr.isatty() if self.verbose is None else self.verbose
        return Regime(
            self.optimizer,
            self.lr,
            self.weight_decay,
            self.clip_norm,
            show,
            self.compile_step,
            self.bf16,
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        net = self.net_
        device = next(net.buffers(), next(net.parameters())).device
        step = GPU_SCORE_CHUNK_ROWS if device.type == "cuda" else SCORE_CHUNK_ROWS
        out = []
        with torch.no_grad():
            for start in range(0, len(X), step):
                chunk = torch.as_tensor(X[start : start + step], device=device)
                out.append(self._forward_score(net, chunk).float().cpu())
        return torch.cat(out).numpy()

    def score_tensor(self, X: Tensor) -> Tensor:
        """Scores of rows already on the detector's device, differentiable in the rows (for
        gradient attributions); `decision_function` is the chunked, gradient-free path."""
        if not hasattr(self, "net_"):
            raise ValueError(f"this {self.name} detector is not fitted yet; call fit(X, y) first")
        return self._forward_score(self.net_, X)

    def _get_state(self) -> dict[str, Any]:
        return {k: v.detach().cpu() for k, v in self.net_.state_dict().items()}

    def _set_state(self, state: dict[str, Any]) -> None:
        device = resolve_device(self.device)
        net = self._build(self.n_features_in_)
        net.load_state_dict(state)
        self.net_ = net.to(device).eval()
        self.device_ = str(device)

    # What each deep method supplies --------------------------------------------------------
    @abc.abstractmethod
    def _build(self, n_features: int) -> nn.Module:
        """Supplied by each method."""

    def _prepare(self, net: Any, X: Tensor, y: Tensor, gen: torch.Generator) -> None:
        """Data-dependent set-up before the main loop (reference draws, pretraining)."""

    def _sampler(self, X: Tensor, y: Tensor, gen: torch.Generator) -> Callable[[], Batch]:
        return balanced_sampler(X, y, self.batch_size, gen)

    @abc.abstractmethod
    def _loss(self, net: Any, batch: Batch) -> Tensor:
        """Supplied by each method."""

    @abc.abstractmethod
    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        """Supplied by each method."""
