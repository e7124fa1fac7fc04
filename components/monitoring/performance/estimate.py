"""The estimator itself (the method and its assumptions: the package docstring,
components/monitoring/performance/__init__.py).

Import rule: numpy only (it ships inside every model, components/registry/bundle.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from components.monitoring.performance.records import (
    Estimated,
    PerformanceBasis,
    PerformanceEstimate,
)

N_DRAWS = 4000
LEVEL = 0.9  # the intervals', and the contamination interval's, coverage
Z_LEVEL = 1.6448536269514722  # the standard normal's 95 % point: a two-sided 90 % interval
PER_ROWS = 10_000  # alerts are counted per this many rows
WATCHED = ("precision", "auc_pr", "anomaly_share")  # checked against training per batch
_EPS = 1e-12


class PerformanceError(ValueError):
    """Inputs from which no performance can be estimated."""


def anomaly_ranks(scores: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """u_i per held-out labelled anomaly (y == 1): the share of its fold's held-out unlabelled
    rows (y == 0) scoring strictly above it."""
    scores, y, folds = np.asarray(scores, dtype=np.float64), np.asarray(y), np.asarray(folds)
    ranks = []
    for fold in np.unique(folds):
        rows = folds == fold
        unlabelled = np.sort(scores[rows & (y == 0)])
        if len(unlabelled) == 0:
            raise PerformanceError(f"fold {fold} holds out no unlabelled row")
        above = len(unlabelled) - np.searchsorted(unlabelled, scores[rows & (y == 1)], "right")
        ranks.append(above / len(unlabelled))
    return np.concatenate(ranks)


def average_precision(ranks: np.ndarray, pi: np.ndarray, pi_target: np.ndarray) -> np.ndarray:
    """AUC-PR per row of `ranks` (draws, n): anomalies' ranks among rows holding a share `pi`
    of anomalies, re-weighted to a share `pi_target` (both (draws,))."""
    u = np.sort(ranks, axis=1)
    n = u.shape[1]
    recall = np.arange(1, n + 1) / n
    pi, pi_target = pi[:, None], pi_target[:, None]
    fpr = np.clip((u - pi * recall) / np.maximum(1 - pi, _EPS), 0.0, 1.0)
    hits = pi_target * recall
    precision = np.where(hits + fpr > 0, hits / np.maximum(hits + (1 - pi_target) * fpr, _EPS), 1)
    return np.asarray(precision.mean(axis=1))


def _share_draws(share: Estimated, rng: np.random.Generator) -> np.ndarray:
    """pi from a split normal whose 5 % and 95 % points are the interval's ends."""
    z = rng.standard_normal(N_DRAWS)
    scale = np.where(z > 0, share.high - share.value, share.value - share.low) / Z_LEVEL
    return np.clip(share.value + z * scale, 0.0, 1.0 - 1e-6)


def _summary(draws: np.ndarray) -> Estimated:
    """The draws' median (the point that minimises the expected absolute error) and their
    central 90 %."""
    tail = (1 - LEVEL) / 2
    low, mid, high = np.quantile(draws, [tail, 0.5, 1 - tail])
    return Estimated(float(mid), float(low), float(high))


def _rate_draws(k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Jeffreys' posterior draws of a rate seen as k out of n."""
    return rng.beta(k + 0.5, n - k + 0.5, N_DRAWS)


def _alerts(rate: np.ndarray, rng: np.random.Generator) -> Estimated:
    """Alerts per 10,000 rows from draws of the flag rate, with the binomial noise of 10,000
    rows added."""
    noise = rng.standard_normal(N_DRAWS) * np.sqrt(rate * (1 - rate) / PER_ROWS)
    return _summary(PER_ROWS * np.clip(rate + noise, 0.0, 1.0))


class _Draws:
    """Joint draws of what training tells: pi, the recall R at the threshold, the false-positive
    rate F that q = pi R + (1 - pi) F leaves, and the anomalies' ranks resampled."""

    def __init__(self, basis: PerformanceBasis) -> None:
        rng = np.random.default_rng(0)  # same model, same intervals
        ranks = np.asarray(basis.anomaly_ranks)
        n, q = len(ranks), basis.flag_rate
        self.pi = _share_draws(basis.contamination, rng)
        self.flagged, self.n = int((ranks < q).sum()), n
        self.recall = _rate_draws(self.flagged, n, rng)
        self.fpr = np.clip((q - self.pi * self.recall) / np.maximum(1 - self.pi, _EPS), 0, 1)
        self.ranks = ranks[rng.integers(0, n, size=(N_DRAWS, n))]
        self.rng = rng

    def at_share(self, share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(precision, flag rate, AUC-PR) draws of rows holding a share `share` of anomalies
        scored as the training rows were."""
        hits = share * self.recall
        flag_rate = hits + (1 - share) * self.fpr
        precision = np.where(flag_rate > 0, hits / np.maximum(flag_rate, _EPS), 1.0)
        return precision, flag_rate, average_precision(self.ranks, self.pi, share)

    def share_at(self, flag_rate: np.ndarray) -> np.ndarray:
        """The anomaly share that gives `flag_rate` (q_b = pi_b R + (1 - pi_b) F); training's
        pi where the threshold does not separate the two (R <= F)."""
        gap = self.recall - self.fpr
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(gap > _EPS, (flag_rate - self.fpr) / gap, self.pi)
        return np.clip(share, 0.0, 1.0)


def _recall(draws: _Draws) -> Estimated:
    """Recall's median and interval, which reaches 1 when every held-out anomaly was flagged
    and 0 when none was (Jeffreys' interval as Brown, Cai and DasGupta modify it at the
    ends, Statistical Science 2001)."""
    est = _summary(draws.recall)
    high = 1.0 if draws.flagged == draws.n else est.high
    return Estimated(est.value, 0.0 if draws.flagged == 0 else est.low, high)


def training_basis(
    scores: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    flag_rate: float,
    n_unlabelled: int,
    n_labelled: int,
    contamination: Estimated,
    contamination_trusted: bool,
) -> PerformanceBasis:
    """The estimate for rows like the training table and what later batches need, from the
    release's out-of-fold `scores` (y: 1 held-out labelled anomaly, 0 held-out unlabelled;
    `folds`), the threshold's `flag_rate` on the `n_unlabelled` training rows without a
    verdict, the `n_labelled` labelled anomalies and the contamination with its interval."""
    if not 0.0 < flag_rate < 1.0:
        raise PerformanceError(f"the threshold flags a share {flag_rate} of the rows; need 0-1")
    ranks = anomaly_ranks(scores, y, folds)
    if len(ranks) == 0:
        raise PerformanceError("no held-out labelled anomaly: recall cannot be estimated")
    basis = PerformanceBasis(
        contamination,
        contamination_trusted,
        flag_rate,
        n_unlabelled,
        n_labelled,
        tuple(ranks.tolist()),
        training=None,
    )
    draws = _Draws(basis)
    share = (draws.pi * n_unlabelled + n_labelled) / (n_unlabelled + n_labelled)
    precision, rate, auc_pr = draws.at_share(share)
    training = PerformanceEstimate(
        precision=_summary(precision),
        recall=_recall(draws),
        alerts_per_10k=_alerts(rate, draws.rng),
        auc_pr=_summary(auc_pr),
        anomaly_share=_summary(share),
        rows=n_unlabelled + n_labelled,
        contamination_trusted=contamination_trusted,
    )
    return dataclasses.replace(basis, training=training)


def estimate_batch(basis: PerformanceBasis, rows: int, flagged: int) -> PerformanceEstimate:
    """The estimate for a batch of `rows` scored rows of which `flagged` were flagged (see
    the package docstring for the model and when it breaks)."""
    if rows < 1 or not 0 <= flagged <= rows:
        raise PerformanceError(f"{flagged} flagged of {rows} rows: need 0 <= flagged <= rows")
    if basis.training is None:
        raise PerformanceError("the basis holds no training estimate; use training_basis")
    draws = _Draws(basis)
    observed = _rate_draws(flagged, rows, draws.rng)
    share = draws.share_at(observed)
    precision, _, auc_pr = draws.at_share(share)
    training = basis.training
    estimate = PerformanceEstimate(
        precision=_summary(precision),
        recall=training.recall,
        alerts_per_10k=_alerts(observed, draws.rng),  # the batch's own flag rate
        auc_pr=_summary(auc_pr),
        anomaly_share=_summary(share),
        rows=rows,
        contamination_trusted=basis.contamination_trusted,
    )
    moved = tuple(
        name
        for name in WATCHED
        if not getattr(training, name).contains(getattr(estimate, name).value)
    )
    return dataclasses.replace(estimate, moved=moved)
