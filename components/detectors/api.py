"""The detector contract: methods by name (`register`, `make`, `available`), the
`Detector` base class every method implements, the checks its inputs pass, and `fit_many`,
which fits copies of one method at once.

Import rule: numpy, pandas and torch only (runs on a bare GPU box).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import pandas as pd
import torch

log = logging.getLogger(__name__)

# y's value for a row an analyst dismissed. Only methods whose paper has a term for labelled
# normals (`uses_confirmed_normals`) see it; every other method trains on it as unlabelled.
CONFIRMED_NORMAL = -1
_REGISTRY: dict[str, type[Detector]] = {}

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


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Torch's intra-op CPU threads set to `n` (0: left as they are) inside the block, and
    set back after it. Training sets 1: its networks are small, so a second thread per
    fit gains little, and the two fits the cross-validation runs at once then oversubscribe
    the cores, where OpenMP's waiting threads burn CPU for nothing (benchmarks/RESULTS.md,
    "Train-time curve")."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
