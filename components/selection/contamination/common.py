"""What every contamination estimator shares: checked inputs, quantile-normal features, the
fold design, and the held-out P-vs-U classifier.

Why a held-out classifier: a mixture-proportion estimator reads the classifier's output on
labelled and unlabelled rows alike, and on a handful of labelled anomalies a classifier that
saw them scores them far higher than the hidden ones. Out-of-fold outputs give every row,
labelled ones included, a score from a model that did not see it.

Import rule: numpy and scikit-learn only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import QuantileTransformer

MIN_LABELLED = 2
MAX_SHARE = 0.5  # anomalies are the minority by definition: no prior or verdict allows more
REGULARISATION = 0.1  # logistic C: 1.0 under-estimated (x0.7 on synthetic data), 0.01 over (x3)
_EPS = 1e-9


class ContaminationError(ValueError):
    """Inputs from which no class prior can be estimated."""


@dataclasses.dataclass(frozen=True)
class PUData:
    """One table as the estimators read it: features as given (`X`), quantile-normalised
    (`Z`), 1 = labelled anomaly / 0 = unlabelled (`y`), and each row's fold."""

    X: np.ndarray
    Z: np.ndarray
    y: np.ndarray
    folds: np.ndarray

    @property
    def n_labelled(self) -> int:
        return int(self.y.sum())

    @property
    def n_unlabelled(self) -> int:
        return int(len(self.y) - self.y.sum())


def prepare(X: np.ndarray, y: np.ndarray, n_folds: int, random_state: int) -> PUData:
    """Check the inputs and build the shared views; raises ContaminationError on bad input.
    Rows an analyst dismissed (y = -1, confirmed normals) are not part of the unlabelled pool:
    they are left out, so the share is that of anomalies among the rows nobody has looked at."""
    X_arr = np.asarray(X, dtype=np.float64)
    y_arr = np.asarray(y).ravel()
    if X_arr.ndim != 2 or len(X_arr) != len(y_arr):
        raise ContaminationError(
            f"X must be 2-D with one row per label, got X {X_arr.shape} and y {y_arr.shape}"
        )
    if not np.isfinite(X_arr).all():
        raise ContaminationError("X holds NaN/inf values; impute or drop them first")
    if not set(np.unique(y_arr).tolist()) <= {-1, 0, 1}:
        raise ContaminationError(
            "y must hold 1 (labelled anomaly), 0 (unlabelled) and -1 (confirmed normal) only"
        )
    looked_at = y_arr == -1
    X_arr, y_arr = X_arr[~looked_at], y_arr[~looked_at]
    n_labelled = int(y_arr.sum())
    if n_labelled < MIN_LABELLED:
        raise ContaminationError(
            f"need at least {MIN_LABELLED} labelled anomalies to estimate contamination, "
            f"got {n_labelled}; label more or pass a contamination by hand"
        )
    if n_labelled > len(y_arr) - n_folds:
        raise ContaminationError("almost every row is labelled; need unlabelled rows too")
    y_int = y_arr.astype(np.int64)
    Z = QuantileTransformer(
        n_quantiles=min(1000, len(X_arr)), output_distribution="normal", random_state=random_state
    ).fit_transform(X_arr)
    folds = np.empty(len(y_int), dtype=np.int64)
    splitter = StratifiedKFold(min(n_folds, n_labelled), shuffle=True, random_state=random_state)
    for fold, (_, test) in enumerate(splitter.split(Z, y_int)):
        folds[test] = fold
    return PUData(X_arr, Z, y_int, folds)


def held_out_probability(data: PUData, rows: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold g(x) = P(labelled | x) for `rows` (indices, repeats allowed; default all).

    Logistic regression on the quantile-normal features, class-balanced (the positives are a
    few percent) and regularised, then shifted back to the fold's true label ratio so g is a
    probability again."""
    rows = np.arange(len(data.y)) if rows is None else rows
    g = np.empty(len(rows))
    for fold in np.unique(data.folds):
        train, test = rows[data.folds[rows] != fold], data.folds[rows] == fold
        y_train = data.y[train]
        n_pos, n_neg = int(y_train.sum()), int(len(y_train) - y_train.sum())
        weight = np.where(y_train == 1, 0.5 / n_pos, 0.5 / n_neg) * len(y_train)
        model = LogisticRegression(C=REGULARISATION, max_iter=1000).fit(
            data.Z[train], y_train, sample_weight=weight
        )
        p = np.clip(model.predict_proba(data.Z[rows[test]])[:, 1], _EPS, 1 - _EPS)
        odds = p / (1 - p) * (n_pos / n_neg)  # undo the balancing: back to the true ratio
        g[test] = odds / (1 + odds)
    return g
