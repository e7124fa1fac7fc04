"""Boosted trees on labelled anomalies vs unlabelled rows: the strongest published anchors.

`catboost`: CatBoost at its library defaults (1,000 trees of depth 6, learning rate chosen by
CatBoost), labelled anomalies (1) vs every unlabelled row (0), score = predicted probability of
class 1. This is how ADGym (Jiang et al., NeurIPS 2023) and ADBench run it
(Minqi824/ADGym and Minqi824/ADBench, baseline/Supervised.py: `CatBoostClassifier(
random_state=seed)`, fit, `predict_proba[:, 1]`): no class weights, no PU correction.

`xgbod` (Zhao & Hryniewicki, IJCNN 2018): the training rows' unsupervised outlier scores
(`outlier_features.OutlierScores`, PyOD's detector set) appended to the features, then an
XGBoost classifier of labelled vs unlabelled at PyOD's XGBOD settings (100 trees of depth 3,
learning rate 0.1, base score 0.5; the rest XGBoost's defaults, whose tree method is now
`hist` where PyOD's XGBoost of 2018 used `exact`). New rows are scored by the same fitted
unsupervised detectors, then the classifier.

Threads: `n_jobs` (scikit-learn's name) is the library's thread count, -1 = every core
(CatBoost's default). Persistence: CatBoost's and XGBoost's own model formats, as bytes in the
detector file; XGBOD's fitted unsupervised detectors are scikit-learn objects and are pickled
(no weights-only format), so load detector files only from a registry you trust. Neither
writes anything to the working directory (CatBoost's `catboost_info/` is switched off).
Rows an analyst dismissed (y = -1, confirmed normals) are unlabelled rows here: both are
classifiers of labelled anomalies vs the rest, so they already are the negative class.
"""

from __future__ import annotations

import dataclasses
import pickle  # nosec B403
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from components.detectors.api import Detector, register
from components.detectors.outlier_features import OutlierScores

if TYPE_CHECKING:
    from catboost import CatBoostClassifier
    from xgboost import XGBClassifier


def _catboost_classifier(**params: Any) -> CatBoostClassifier:
    """Imported on use, as XGBoost below: the detector package then imports on a GPU box that
    has neither tree library (benchmarks/gpu_suite.sh); only these two detectors need them."""
    from catboost import CatBoostClassifier

    return CatBoostClassifier(**params)


@register("catboost")
@dataclasses.dataclass(eq=False)
class CatBoost(Detector):
    """CatBoost classifier of labelled anomalies vs unlabelled rows, at its defaults."""

    n_estimators: int = 1000  # CatBoost's default `iterations`; it picks the learning rate
    n_jobs: int = -1

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model_ = _catboost_classifier(
            iterations=self.n_estimators,
            random_state=self.random_state,
            thread_count=self.n_jobs,
            logging_level="Silent",
            allow_writing_files=False,
        ).fit(X, y)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)[:, 1]

    def _get_state(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.cbm"
            self.model_.save_model(str(path), format="cbm")
            return {"cbm": path.read_bytes()}

    def _set_state(self, state: dict[str, Any]) -> None:
        model = _catboost_classifier(thread_count=self.n_jobs, allow_writing_files=False)
        self.model_ = model.load_model(blob=state["cbm"])


@register("xgbod")
@dataclasses.dataclass(eq=False)
class XGBOD(Detector):
    """XGBoost on the features plus PyOD's unsupervised outlier scores."""

    n_estimators: int = 100
    max_depth: int = 3
    lr: float = 0.1
    n_jobs: int = -1

    batchable = True  # the outlier scores ignore the labels: copies with one seed share them

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self._fit_many([self], X, [y])

    def _fit_many(self, members: Sequence[Self], X: np.ndarray, ys: Sequence[np.ndarray]) -> None:
        """Each member's classifier on its own labels; the unsupervised detectors are fitted
        once per seed (the forests read it) and shared."""
        shared: dict[int, tuple[OutlierScores, np.ndarray]] = {}
        for member, y in zip(members, ys, strict=True):
            if member.random_state not in shared:
                scores = OutlierScores(member.random_state, self.n_jobs)
                shared[member.random_state] = (scores, np.hstack([X, scores.fit_transform(X)]))
            member.outlier_scores_, augmented = shared[member.random_state]
            member.model_ = member._classifier().fit(augmented, y)
            member.n_features_in_ = X.shape[1]

    def _score(self, X: np.ndarray) -> np.ndarray:
        augmented = np.hstack([X, self.outlier_scores_.transform(X)])
        return self.model_.predict_proba(augmented)[:, 1]

    def _classifier(self) -> XGBClassifier:
        from xgboost import XGBClassifier

        return XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.lr,
            base_score=0.5,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )

    def _get_state(self) -> dict[str, Any]:
        return {
            "outlier_scores": pickle.dumps(self.outlier_scores_),
            "booster": bytes(self.model_.get_booster().save_raw(raw_format="ubj")),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        # Files come from our registry, loaded only for versions the audit log names.
        self.outlier_scores_ = pickle.loads(state["outlier_scores"])  # noqa: S301  # nosec B301
        self.model_ = self._classifier()
        self.model_.load_model(bytearray(state["booster"]))
