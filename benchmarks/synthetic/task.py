"""One synthetic task: its parameters and the protocol split, drawn afresh per seed."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from components.selection.adbench import Split, scaled_split

_TEST_SIZE = 0.3


@dataclasses.dataclass(frozen=True)
class Task:
    """One drawn task: its name, the parameters that made it, and the protocol split
    (train features and weak labels, hidden train truth, test features and truth)."""

    name: str
    params: dict[str, Any]
    split: Split

    @property
    def X(self) -> np.ndarray:
        return self.split.X_train

    @property
    def y(self) -> np.ndarray:
        """Weak labels: 1 = labelled anomaly, 0 = unlabelled (hidden anomalies included)."""
        return self.split.y_train

    @property
    def truth(self) -> np.ndarray:
        return self.split.y_train_true


def protocol_split(
    normal: np.ndarray,
    anomalies: np.ndarray,
    labellable: np.ndarray,
    n_labelled: int,
    rng: np.random.Generator,
) -> Split:
    """70/30 stratified split, `n_labelled` labelled among the labellable train anomalies,
    min-max scaling fitted on train (`components.selection.adbench.scaled_split`)."""
    X = np.vstack([normal, anomalies])
    truth = np.r_[np.zeros(len(normal), np.int64), np.ones(len(anomalies), np.int64)]
    kind = np.r_[np.zeros(len(normal), bool), labellable]  # labellable anomaly
    seed = int(rng.integers(2**31))
    X_tr, X_te, y_tr, y_te, k_tr, _ = train_test_split(
        X, truth, kind, test_size=_TEST_SIZE, stratify=truth, random_state=seed
    )
    candidates = np.flatnonzero(k_tr)
    if len(candidates) < n_labelled:
        raise ValueError(
            f"only {len(candidates)} labellable anomalies in the train split, "
            f"{n_labelled} asked for; raise n_rows or anomaly_share"
        )
    weak = np.zeros_like(y_tr)
    weak[rng.choice(candidates, n_labelled, replace=False)] = 1
    return scaled_split(X_tr, weak, y_tr, X_te, y_te)


def counts(n_rows: int, anomaly_share: float) -> tuple[int, int]:
    n_anomalies = max(1, round(n_rows * anomaly_share))
    return n_rows - n_anomalies, n_anomalies


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A task of the family with its parameters fixed, drawn afresh for each seed."""

    name: str
    build: Callable[[int], Task]


def defaults(generator: Callable[..., Task]) -> dict[str, Any]:
    """The keyword defaults of a task generator, for naming a spec without drawing it."""
    return {
        k: v.default
        for k, v in inspect.signature(generator).parameters.items()
        if v.default is not inspect.Parameter.empty
    }
