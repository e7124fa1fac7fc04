"""The label-free performance estimate: ranks and AUC-PR agree with the PU-corrected
evaluation, the intervals cover the truth of simulated mixtures, and a batch reads its
anomaly share from its flag rate."""

from __future__ import annotations

import numpy as np
import pytest

from components.monitoring.performance import (
    Estimated,
    PerformanceBasis,
    PerformanceError,
    anomaly_ranks,
    average_precision,
    estimate_batch,
    training_basis,
)
from components.selection.evaluation import pu_average_precision

PI = 0.08  # anomaly share among the unlabelled rows of the simulation
SEPARATION = 2.5  # anomalies' scores: N(SEPARATION, 1); normal rows': N(0, 1)


def test_ranks_are_the_share_of_the_folds_unlabelled_rows_above() -> None:
    scores = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 0.5, 9.0, 1.5])
    y = np.array([1, 0, 0, 0, 1, 0, 0, 1])
    folds = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    # fold 0: unlabelled 1, 2, 3; anomalies 5 (none above), 4 (none above)
    # fold 1: unlabelled 0.5, 9; anomaly 1.5 (9 above: half)
    assert anomaly_ranks(scores, y, folds).tolist() == [0.0, 0.0, 0.5]


def test_average_precision_at_the_training_share_is_the_pu_corrected_one() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.02).astype(int)
    scores = rng.normal(size=2000) + 1.5 * y
    ranks = anomaly_ranks(scores, y, np.zeros(2000, dtype=int))
    pi = np.array([0.05])
    ours = average_precision(ranks[None, :], pi, pi)[0]
    assert ours == pytest.approx(pu_average_precision(scores, y, 0.05))


def _training(rng: np.random.Generator, n_labelled: int) -> tuple[PerformanceBasis, float, float]:
    """A release's out-of-fold scores on a simulated mixture: 3 folds, `n_labelled` labelled
    anomalies (SCAR), 3,000 unlabelled rows holding PI anomalies, the threshold flagging the
    top PI of them; the contamination interval holds the truth. Returns the basis and the
    population's true precision and recall at that threshold."""
    n_unlabelled = 3000
    hidden = (rng.random(n_unlabelled) < PI).astype(int)
    unlabelled = rng.normal(size=n_unlabelled) + SEPARATION * hidden
    labelled = rng.normal(size=n_labelled) + SEPARATION
    scores = np.r_[labelled, unlabelled]
    y = np.r_[np.ones(n_labelled, dtype=int), np.zeros(n_unlabelled, dtype=int)]
    folds = np.r_[np.arange(n_labelled) % 3, np.arange(n_unlabelled) % 3]
    threshold = np.quantile(unlabelled, 1 - PI)
    q = float((unlabelled > threshold).mean())
    # the population (labelled anomalies' kind included) at this threshold
    share = (PI * n_unlabelled + n_labelled) / (n_unlabelled + n_labelled)
    recall = float(1 - _normal_cdf(threshold - SEPARATION))
    fpr = float(1 - _normal_cdf(threshold))
    precision = share * recall / (share * recall + (1 - share) * fpr)
    pi = Estimated(PI, PI * 0.6, PI * 1.5)
    basis = training_basis(scores, y, folds, q, n_unlabelled, n_labelled, pi, True)
    return basis, precision, recall


def _normal_cdf(x: float) -> float:
    from math import erf, sqrt

    return 0.5 * (1 + erf(x / sqrt(2)))


@pytest.mark.parametrize("n_labelled", [5, 20])
def test_intervals_cover_the_simulated_truth(n_labelled: int) -> None:
    rng = np.random.default_rng(n_labelled)
    covered = {"precision": 0, "recall": 0}
    reps = 40
    for _ in range(reps):
        basis, precision, recall = _training(rng, n_labelled)
        assert basis.training is not None
        covered["precision"] += basis.training.precision.contains(precision)
        covered["recall"] += basis.training.recall.contains(recall)
    assert covered["precision"] / reps >= 0.8, covered
    assert covered["recall"] / reps >= 0.8, covered


def test_a_batch_like_training_has_not_moved_and_a_richer_one_has() -> None:
    basis, _, _ = _training(np.random.default_rng(3), 20)
    training = basis.training
    assert training is not None
    rows = 20_000
    alike = estimate_batch(basis, rows, round(rows * training.alerts_per_10k.value / 10_000))
    assert alike.moved == ()
    assert alike.precision.value == pytest.approx(training.precision.value, abs=0.03)
    # three times the anomalies: the flag rate goes up by about 2 x share x (R - F)
    richer = estimate_batch(basis, rows, round(rows * 3 * training.alerts_per_10k.value / 10_000))
    assert "anomaly_share" in richer.moved
    assert richer.anomaly_share.value > 2.5 * training.anomaly_share.value
    assert richer.precision.value > training.precision.value
    assert richer.recall == training.recall  # the model's assumption: the scores did not move


def test_records_round_trip_through_json_dicts() -> None:
    basis, _, _ = _training(np.random.default_rng(4), 10)
    batch = estimate_batch(basis, 1000, 300)
    assert PerformanceBasis.from_dict(basis.to_dict()) == basis
    assert type(batch).from_dict(batch.to_dict()) == batch
    assert batch.moved  # 30 % flagged


def test_a_threshold_that_flags_nothing_cannot_be_estimated() -> None:
    with pytest.raises(PerformanceError, match="flags a share 0"):
        training_basis(
            np.zeros(4), np.array([1, 0, 1, 0]), np.array([0, 0, 1, 1]), 0.0, 2, 2,
            Estimated(0.1, 0.0, 0.2), True,
        )  # fmt: skip
