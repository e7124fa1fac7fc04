"""Baselines every weakly supervised method must beat.

`iforest`: scikit-learn's IsolationForest on all rows, labels ignored (the unsupervised
floor). `supervised`: a gradient-boosted classifier of labelled anomalies vs unlabelled rows
with balanced class weights; its probability is the score (the naive PU classifier).
Both are pickled into the detector file (scikit-learn has no weights-only format); load
detector files only from a registry you trust.
Both keep rows an analyst dismissed (y = -1, confirmed normals) as unlabelled rows: the
forest ignores labels, and for the classifier they already are the negative class.
"""

from __future__ import annotations

import dataclasses
import pickle  # nosec B403
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest

from components.detectors.api import Detector, register


@dataclasses.dataclass(eq=False)
class _SklearnDetector(Detector):
    """Holds a fitted scikit-learn estimator as `model_`."""

    def _get_state(self) -> dict[str, Any]:
        return {"pickle": pickle.dumps(self.model_)}

    def _set_state(self, state: dict[str, Any]) -> None:
        # Files come from our registry, loaded only for versions the audit log names.
        self.model_ = pickle.loads(state["pickle"])  # noqa: S301  # nosec B301


@register("iforest")
@dataclasses.dataclass(eq=False)
class IForest(_SklearnDetector):
    """Isolation Forest; ignores the labels."""

    min_labelled = 0

    n_estimators: int = 100

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state
        ).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(X)


@register("supervised")
@dataclasses.dataclass(eq=False)
class Supervised(_SklearnDetector):
    """Labelled-vs-unlabelled classifier; its anomaly probability is the score."""

    max_iter: int = 200
    lr: float = 0.1

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=self.lr,
            max_iter=self.max_iter,
            class_weight="balanced",
            random_state=self.random_state,
        ).fit(X, y)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)[:, 1]
