"""The detector contract and the one training loop every deep method shares.

Why one module: every method differs only in its network, its loss and its score. Input
checks, device handling, seeding, balanced sampling on the device, the optimiser, the
best-loss checkpoint, progress and persistence live here once, so a method file stays a
page long and a fix here fixes every method.

Training length: a method's paper fixes its steps (DevNet: 50 epochs x 20 batches), which
left some seeds far from converged, more often as tables grow. With `until_converged` (on
for the fixed-step methods) the paper's epochs always run, then more while the training loss
still falls: the best epoch loss of the last fifth of the paper's epochs must beat the best
before by over 5 % of the whole fall since the first epoch, for at most four times the paper's
epochs. It reads the training loss only, never a label beyond the training ones; a method
whose epoch is a pass over the rows already trains longer on larger tables and keeps its
fixed count.

Import rule: numpy, pandas, scikit-learn, torch and tqdm only (runs on a bare GPU box).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from components.detectors import torch_kernels
from components.detectors.compiled_step import step_loss

log = logging.getLogger(__name__)

Batch = tuple[Tensor, ...]
# Rows scored per forward pass: on CPU a 16k-row chunk keeps a 100-wide layer's activations
# in cache (2.5x the rows/s of 64k chunks for Deep SAD); on a GPU larger chunks launch fewer
# kernels.
SCORE_CHUNK_ROWS = 16_384
# y's value for a row an analyst dismissed. Only methods whose paper has a term for labelled
# normals (`uses_confirmed_normals`) see it; every other method trains on it as unlabelled.
CONFIRMED_NORMAL = -1
GPU_SCORE_CHUNK_ROWS = 262_144
_REGISTRY: dict[str, type[Detector]] = {}
# `until_converged`: after its `epochs`, a fit goes on while the best epoch loss of the last
# epochs // LOSS_WINDOW_SHARE epochs beats the best before them by more than LOSS_FALL_SHARE
# of the whole fall since the first epoch, for at most EPOCH_CAP_FACTOR x `epochs` in all.
LOSS_WINDOW_SHARE = 5
LOSS_FALL_SHARE = 0.05
EPOCH_CAP_FACTOR = 4


T = TypeVar("T", bound="type[Detector]")


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make a detector buildable by name through `make`."""

    def wrap(cls: T) -> T:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def available() -> list[str]:
    """Candidate methods by name, sorted (`make` also builds wrappers such as the seed
    ensemble, which are not candidates themselves)."""
    return sorted(name for name, cls in _REGISTRY.items() if cls.candidate)


def parameter_names(name: str) -> set[str]:
    """Hyperparameters the method `name` accepts."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available())}")
    return {f.name for f in dataclasses.fields(_REGISTRY[name])}


def applicable_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of `params` that method `name` has (shared settings such as `device` or
    `epochs` apply only where they mean something; iforest has no epochs)."""
    known = parameter_names(name)
    return {k: v for k, v in params.items() if k in known}


def make(name: str, **params: Any) -> Detector:
    """Build a detector by its registered name; unknown names and parameters fail clearly."""
    known = parameter_names(name)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{name} has no parameter {', '.join(unknown)}; "
            f"its parameters: {', '.join(sorted(known))}"
        )
    return _REGISTRY[name](**params)


def resolve_device(device: str) -> torch.device:
    """`auto` picks CUDA when present, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_X(X: Any, n_features: int | None = None) -> np.ndarray:
    """Validate a feature matrix and return it as float32; every error names what to fix."""
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise ValueError(
                f"column(s) {', '.join(bad)} are not numeric; encode or drop them before use"
            )
        X = X.to_numpy(dtype=np.float64)
    try:  # float32 input (the scaler's output) is checked as it is: no float64 round trip
        is_f32 = isinstance(X, np.ndarray) and X.dtype == np.float32
        arr = X if is_f32 else np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"X must be numeric; could not convert it to floats ({err})") from err
    if arr.ndim == 1:
        raise ValueError(
            f"X is 1-D with shape {arr.shape}; pass a 2-D array (n_samples, n_features), "
            "e.g. X.reshape(-1, 1) for a single feature"
        )
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"X is empty (shape {arr.shape}); it needs rows and feature columns")
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(
            f"X has {int((~finite).sum())} NaN/inf value(s), first at row {row}, column {col}; "
            "impute or drop them"
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"X has {arr.shape[1]} features but the detector was fitted on {n_features}; "
            "score with the same columns as in training"
        )
    return arr.astype(np.float32, copy=False)


def check_y(y: Any, n_rows: int) -> np.ndarray:
    """Validate weak labels, one per row of X: 1 = confirmed anomaly, 0 = unlabelled,
    CONFIRMED_NORMAL (-1) = a row an analyst dismissed (`wsad label dismiss`)."""
    arr = np.asarray(y).ravel()
    if arr.shape[0] != n_rows:
        raise ValueError(f"y has {arr.shape[0]} labels but X has {n_rows} rows")
    values = set(np.unique(arr).tolist())
    if not values <= {CONFIRMED_NORMAL, 0, 1}:
        raise ValueError(
            "y must hold 1 (labelled anomaly), 0 (unlabelled) and -1 (confirmed normal) only, "
            f"got {values}"
        )
    return arr.astype(np.int64)


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


def balanced_sampler(X: Tensor, y: Tensor, batch_size: int, gen: torch.Generator):
    """DevNet's batches: half unlabelled (or confirmed normal), half labelled anomalies, drawn
    with replacement on the device (no host round trip per batch)."""
    idx_u, idx_a = torch.nonzero(y != 1).squeeze(1), torch.nonzero(y == 1).squeeze(1)
    n_u = batch_size // 2
    n_a = batch_size - n_u

    def sample() -> Batch:
        pick_u = idx_u[torch.randint(len(idx_u), (n_u,), generator=gen, device=X.device)]
        pick_a = idx_a[torch.randint(len(idx_a), (n_a,), generator=gen, device=X.device)]
        idx = torch.cat([pick_u, pick_a])
        return X[idx], y[idx]

    return sample


def shuffled_sampler(X: Tensor, y: Tensor, batch_size: int, gen: torch.Generator):
    """Plain shuffled mini-batches over all rows, a new permutation each pass (Deep SAD's
    DataLoader(shuffle=True, drop_last=True): a partial last batch, possibly one row that
    BatchNorm cannot train on, is dropped). The rows are permuted once per pass on the
    device, so each batch is a slice (a view), not a gather."""
    state: dict[str, Any] = {"X": X[:0], "y": y[:0], "pos": 0}

    def sample() -> Batch:
        if state["pos"] + batch_size > len(state["X"]):
            perm = torch.randperm(len(X), generator=gen, device=X.device)
            state.update(X=X[perm], y=y[perm], pos=0)
        start = state["pos"]
        state["pos"] = start + batch_size
        return state["X"][start : start + batch_size], state["y"][start : start + batch_size]

    return sample


def loss_still_falling(history: Sequence[float], window: int) -> bool:
    """Whether the last `window` epochs still lowered the best loss by more than
    LOSS_FALL_SHARE of its whole fall since the first epoch (no labels involved)."""
    if len(history) <= window:
        return True
    best = min(history)
    return min(history[:-window]) - best > LOSS_FALL_SHARE * (history[0] - best)


def _epoch_limits(epochs: int, until_converged: bool) -> tuple[int, int]:
    """The most epochs a fit may run, and the window `loss_still_falling` looks back over."""
    cap = EPOCH_CAP_FACTOR * epochs if until_converged else epochs
    return cap, max(1, epochs // LOSS_WINDOW_SHARE)


def _goes_on(history: Sequence[float], epochs: int, cap: int, window: int) -> bool:
    """Another epoch: always up to `epochs`, then up to `cap` while the loss still falls."""
    return len(history) < epochs or (len(history) < cap and loss_still_falling(history, window))


def _clip_per_tensor(params: list[nn.Parameter], max_norm: float) -> None:
    """Keras' clipnorm: each gradient tensor scaled to norm <= max_norm on its own (the same
    arithmetic as clip_grad_norm_ per tensor, in two batched calls instead of one per tensor)."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        torch_kernels.clip_per_tensor_(grads, max_norm)


def _clip_per_member(params: list[Tensor], max_norm: float) -> None:
    """`_clip_per_tensor` for stacked ensemble parameters: each member's slice of each
    gradient is clipped on its own, as in that member's sequential fit."""
    for p in params:
        if p.grad is not None:
            norms = p.grad.flatten(1).norm(dim=1)
            scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
            p.grad.mul_(scale.view(-1, *[1] * (p.ndim - 1)))


class _Optimizer:
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


class _Bound(nn.Module):
    """`loss(net, batch)` as a module's forward, so `functional_call` can swap in one
    ensemble member's tensors for `net`'s (parameters and buffers of every submodule)."""

    def __init__(self, net: nn.Module, loss: Callable[[Any, Batch], Tensor]) -> None:
        super().__init__()
        self.net = net
        self.loss = loss

    def forward(self, *batch: Tensor) -> Tensor:
        return self.loss(self.net, batch)


@dataclasses.dataclass(eq=False)
class Detector(abc.ABC):
    """sklearn-style contract: hyperparameters in the constructor, fitted state ends in `_`,
    `decision_function` follows PyOD (higher = more anomalous)."""

    name: ClassVar[str] = ""
    min_labelled: ClassVar[int] = 1  # labelled anomalies the method cannot train without
    candidate: ClassVar[bool] = True  # listed by `available()`: trainable by name on its own
    # True where the method's objective has a term for labelled normals (y = -1); any other
    # method gets those rows as unlabelled (y = 0), as its paper has nothing else for them.
    uses_confirmed_normals: ClassVar[bool] = False
    batchable: ClassVar[bool] = False  # `fit_many` fits its copies in one `_fit_many` call

    random_state: int = 0

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters by name, as MLflow logs them."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def fit(self, X: Any, y: Any) -> Self:
        """Learn from features X and weak labels y (1 = labelled anomaly, 0 = unlabelled,
        -1 = confirmed normal; see `uses_confirmed_normals`)."""
        X_arr, y_arr = self._check_fit_input(X, y)
        self.n_features_in_ = X_arr.shape[1]
        self._fit(X_arr, y_arr)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous), shape (n,)."""
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"this {self.name} detector is not fitted yet; call fit(X, y) first")
        return self._score(check_X(X, self.n_features_in_)).astype(np.float64)

    def save(self, path: str | Path) -> None:
        """Write hyperparameters, feature count and fitted state to one file."""
        payload = {
            "method": self.name,
            "params": self.get_params(),
            "n_features_in_": self.n_features_in_,
            "state": self._get_state(),
        }
        torch.save(payload, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Detector:
        """Read a file written by `save`; the method and parameters are checked against ours."""
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
        method = payload.get("method")
        if method not in _REGISTRY:
            raise ValueError(f"{path}: not a wsad detector file (method {method!r})")
        if cls is not Detector and method != cls.name:
            raise ValueError(f"{path} holds a {method} detector, not {cls.name}")
        det = make(method, **payload["params"])
        det.n_features_in_ = int(payload["n_features_in_"])
        det._set_state(payload["state"])
        return det

    def _check_fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X_arr = check_X(X)
        y_arr = check_y(y, len(X_arr))
        if not self.uses_confirmed_normals:
            y_arr[y_arr == CONFIRMED_NORMAL] = 0
        n_lab = int((y_arr == 1).sum())
        if n_lab < self.min_labelled:
            without = [n for n in available() if _REGISTRY[n].min_labelled <= n_lab]
            raise ValueError(
                f"{self.name} needs at least {self.min_labelled} labelled anomalies, got {n_lab}; "
                f"methods that can run with {n_lab}: {', '.join(without) or 'none'}"
            )
        if n_lab == len(y_arr):
            raise ValueError(
                f"every row is labelled anomalous; {self.name} needs unlabelled rows too"
            )
        return X_arr, y_arr

    # What each method supplies -------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Supplied by each method."""

    def _fit_many(self, members: Sequence[Self], X: np.ndarray, ys: Sequence[np.ndarray]) -> None:
        """Fit copies of this detector (own seed and labels) on the same rows at once;
        supplied by the methods that set `batchable`."""
        raise NotImplementedError(f"{self.name} fits its copies one by one")

    @abc.abstractmethod
    def _score(self, X: np.ndarray) -> np.ndarray:
        """Supplied by each method."""

    @abc.abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """Supplied by each method."""

    @abc.abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Supplied by each method."""


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
        self.loss_history_ = self._train(
            net,
            params=list(net.parameters()),
            loss=lambda batch: self._loss(net, batch),
            sample=self._sampler(X_t, y_t, gen),
            epochs=self.epochs,
            steps=self._steps(len(X)),
            lr=self.lr,
            keep_best=self.keep_best,
            desc=self.name,
            until_converged=self.until_converged,
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
        own `_fit` would draw, and all of them train in one stacked pass (`_train_many`)."""
        device = resolve_device(self.device)
        X_t = torch.as_tensor(X, device=device)
        y_ts = [torch.as_tensor(y, device=device) for y in ys]
        nets = [m._init_net(X.shape[1], device) for m in members]
        gens = [torch.Generator(device=device).manual_seed(m.random_state) for m in members]
        self._prepare_many(members, nets, X_t, y_ts, gens)
        histories = self._train_many(
            nets,
            loss=self._loss,
            samplers=[m._sampler(X_t, y, g) for m, y, g in zip(members, y_ts, gens, strict=True)],
            epochs=self.epochs,
            steps=self._steps(len(X)),
            lr=self.lr,
            keep_best=self.keep_best,
            desc=f"{self.name} x{len(members)}",
            until_converged=self.until_converged,
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

    def _train(
        self,
        net: nn.Module,
        params: list[nn.Parameter],
        loss: Callable[[Batch], Tensor],
        sample: Callable[[], Batch],
        epochs: int,
        steps: int,
        lr: float,
        keep_best: bool,
        desc: str,
        until_converged: bool = False,
    ) -> list[float]:
        """The loop: sample on the device, forward, loss, backward, clip, step. One host sync
        per epoch (the epoch loss, for the checkpoint, the stopping rule and the progress
        bar). `epochs` always run; with `until_converged`, more while the loss still falls."""
        opt = _Optimizer(params, self.optimizer, lr, self.weight_decay)
        loss = step_loss(loss, self.compile_step, self.bf16, params[0].device)
        best, best_state, history = math.inf, None, list[float]()
        cap, window = _epoch_limits(epochs, until_converged)
        show = sys.stderr.isatty() if self.verbose is None else self.verbose
        net.train()
        with tqdm(total=epochs, desc=desc, disable=not show, leave=False) as bar:
            while _goes_on(history, epochs, cap, window):
                losses: list[Tensor] = []
                for _ in range(steps):
                    value = loss(sample())
                    opt.zero_grad()
                    value.backward()
                    if self.clip_norm is not None:
                        _clip_per_tensor(params, self.clip_norm)
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

    def _train_many(
        self,
        nets: list[nn.Module],
        loss: Callable[[Any, Batch], Tensor],
        samplers: list[Callable[[], Batch]],
        epochs: int,
        steps: int,
        lr: float,
        keep_best: bool,
        desc: str,
        until_converged: bool = False,
    ) -> list[list[float]]:
        """`_train` for same-shaped networks at once: parameters and buffers stacked
        (torch.func), one vmapped forward/backward and one optimiser step per batch for all.
        The optimisers are elementwise and clipping is per member, so each member follows its
        own sequential trajectory up to float summation order. A member whose stopping rule
        has fired trains on with the others but keeps the state it stopped with (or its best
        until then), as its sequential fit does. One host sync per epoch."""
        params, buffers = stack_module_state(nets)
        bound = _Bound(nets[0], loss)  # nets[0] only lends its structure; its tensors are swapped

        def member_loss(p: dict[str, Tensor], b: dict[str, Tensor], batch: Batch) -> Tensor:
            tensors = {f"net.{k}": v for k, v in (p | b).items()}
            return functional_call(bound, tensors, batch)

        plist = list(params.values())
        batched_loss = step_loss(vmap(member_loss), self.compile_step, self.bf16, plist[0].device)
        opt = _Optimizer(plist, self.optimizer, lr, self.weight_decay, stacked=1)
        state = params | buffers
        n = len(nets)
        best = torch.full((n,), math.inf, device=plist[0].device)
        seen = torch.zeros(n, dtype=torch.bool, device=best.device)
        best_state = {k: v.detach().clone() for k, v in state.items()}
        stop_state = dict(best_state)  # each member's state at its last live epoch
        cap, window = _epoch_limits(epochs, until_converged)
        histories: list[list[float]] = [[] for _ in nets]
        show = sys.stderr.isatty() if self.verbose is None else self.verbose
        for net in nets:
            net.train()
        with tqdm(total=epochs, desc=desc, disable=not show, leave=False) as bar:
            while any(live := [_goes_on(h, epochs, cap, window) for h in histories]):
                losses: list[Tensor] = []
                for _ in range(steps):
                    batch = tuple(
                        torch.stack(parts) for parts in zip(*(s() for s in samplers), strict=True)
                    )
                    value = batched_loss(params, buffers, batch)
                    opt.zero_grad()
                    value.sum().backward()  # members are independent: each its own gradient
                    if self.clip_norm is not None:
                        _clip_per_member(plist, self.clip_norm)
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
                v.copy_(
                    torch.where(seen.view(-1, *[1] * (v.ndim - 1)), best_state[k], stop_state[k])
                )
            for i, net in enumerate(nets):
                for k, t in [*net.named_parameters(), *net.named_buffers()]:
                    t.copy_(state[k][i])
        return histories

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


def fit_many(
    template: Detector, X: Any, labels: Sequence[Any], seeds: Sequence[int]
) -> list[Detector]:
    """One fitted copy of `template` per (labels, seed), all on the same rows X: several
    seeds and/or label sets of one method. Batchable deep methods train all copies in one
    stacked pass, and other batchable methods share what does not depend on the labels; any
    other method fits them one by one (and says so in the log)."""
    if len(labels) != len(seeds):
        raise ValueError(f"fit_many got {len(labels)} label sets for {len(seeds)} seeds")
    if len(seeds) < 2 or not template.batchable:
        if len(seeds) > 1:
            log.info("%s fits its %d copies one by one: not batchable", template.name, len(seeds))
        singles = [dataclasses.replace(template, random_state=seed) for seed in seeds]
        return [m.fit(X, y) for m, y in zip(singles, labels, strict=True)]
    members = [dataclasses.replace(template, random_state=seed) for seed in seeds]
    checked = [m._check_fit_input(X, y) for m, y in zip(members, labels, strict=True)]
    template._fit_many(members, checked[0][0], [y for _, y in checked])
    return list(members)
