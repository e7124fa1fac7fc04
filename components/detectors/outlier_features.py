"""Unsupervised outlier scores as features: XGBOD's transformed outlier scores (TOS).

Zhao & Hryniewicki (IJCNN 2018) append the scores of many unsupervised detectors to the
original features, so a boosted classifier sees both. The detector set is PyOD's XGBOD
default (yzhao062/pyod, pyod/models/xgbod.py, `_init_detectors`), which is what ADBench and
ADGym ran:
- kNN (distance to the k-th neighbour) and LOF for k in 1, 3, 5, 10, 20, 30, 40, 50 (k below
  the row count), on standardised rows;
- HBOS with 5, 10, 15, 20, 25, 30, 50 bins, on the raw rows;
- one-class SVM (RBF, gamma 1/d) for nu in 0.01, 0.1, 0.2, ..., 0.9, 0.99, standardised;
- IsolationForest with 10, 20, 50, 70, 100, 150, 200 trees, on the raw rows.
As in PyOD, training rows get each detector's training scores (a row is left out of its own
neighbourhood for kNN and LOF) and every other row the fitted detector's score, so scoring new
rows applies exactly the detectors fitted on the training rows. The paper also proposes
choosing a subset of the TOS (random, accurate or balanced selection); PyOD keeps them all, and
so do we. Built on scikit-learn and numpy instead of PyOD (which would add numba); HBOS, which
scikit-learn lacks, follows PyOD's (alpha 0.1, tol 0.5).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

NEIGHBOURS = (1, 3, 5, 10, 20, 30, 40, 50)
HBOS_BINS = (5, 10, 15, 20, 25, 30, 50)
OCSVM_NU = (0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)
IFOREST_TREES = (10, 20, 50, 70, 100, 150, 200)
HBOS_ALPHA, HBOS_TOL = 0.1, 0.5  # PyOD's HBOS defaults


@dataclasses.dataclass
class Histograms:
    """HBOS (Goldstein & Dengel 2012): per-feature histogram densities; a row's score is
    -sum log2(density + alpha) over its features. A value past the outer edges by more than
    `tol` bin widths gets the lowest density."""

    n_bins: int

    def fit(self, X: np.ndarray) -> np.ndarray:
        pairs = [np.histogram(col, bins=self.n_bins, density=True) for col in X.T]
        self.log_density_ = np.stack([np.log2(hist + HBOS_ALPHA) for hist, _ in pairs], axis=1)
        self.edges_ = np.stack([edges for _, edges in pairs], axis=1)  # (n_bins + 1, d)
        return self.score(X)

    def score(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape)
        for j in range(X.shape[1]):
            edges, log_density = self.edges_[:, j], self.log_density_[:, j]
            idx = np.digitize(X[:, j], edges, right=True)
            out[:, j] = log_density[np.clip(idx - 1, 0, self.n_bins - 1)]
            width_lo, width_hi = edges[1] - edges[0], edges[-1] - edges[-2]
            far = ((idx == 0) & (edges[0] - X[:, j] > width_lo * HBOS_TOL)) | (
                (idx == self.n_bins + 1) & (X[:, j] - edges[-1] > width_hi * HBOS_TOL)
            )
            out[far, j] = log_density.min()
        return -out.sum(axis=1)


class OutlierScores:
    """PyOD's XGBOD detector set, fitted on the training rows; one score column per detector
    (higher = more outlying). `n_jobs` threads the neighbour searches; the forests keep
    scikit-learn's default of one thread."""

    def __init__(self, random_state: int, n_jobs: int | None) -> None:
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit every detector on X and return the training rows' scores."""
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        self.ks_ = [k for k in NEIGHBOURS if k < len(X)]
        self.neighbours_ = NearestNeighbors(n_neighbors=max(self.ks_), n_jobs=self.n_jobs).fit(Z)
        self.lofs_ = [
            LocalOutlierFactor(n_neighbors=k, novelty=True, n_jobs=self.n_jobs).fit(Z)
            for k in self.ks_
        ]
        self.histograms_ = [Histograms(n_bins) for n_bins in HBOS_BINS]
        self.svms_ = [OneClassSVM(nu=nu, gamma="auto").fit(Z) for nu in OCSVM_NU]
        self.forests_ = [
            IsolationForest(n_estimators=n, random_state=self.random_state).fit(X)
            for n in IFOREST_TREES
        ]
        distances, _ = self.neighbours_.kneighbors()  # each row left out of its own neighbours
        return np.column_stack(
            [
                *(distances[:, k - 1] for k in self.ks_),
                *(-lof.negative_outlier_factor_ for lof in self.lofs_),
                *(hist.fit(X) for hist in self.histograms_),
                *self._others(X, Z),
            ]
        )

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scores of new rows from the detectors fitted in `fit_transform`."""
        Z = self.scaler_.transform(X)
        distances, _ = self.neighbours_.kneighbors(Z)
        return np.column_stack(
            [
                *(distances[:, k - 1] for k in self.ks_),
                *(-lof.score_samples(Z) for lof in self.lofs_),
                *(hist.score(X) for hist in self.histograms_),
                *self._others(X, Z),
            ]
        )

    def _others(self, X: np.ndarray, Z: np.ndarray) -> list[np.ndarray]:
        """The detectors that score training and new rows alike: one-class SVMs and forests."""
        return [-svm.decision_function(Z) for svm in self.svms_] + [
            -forest.score_samples(X) for forest in self.forests_
        ]
