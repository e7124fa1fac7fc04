"""The measuring review queue: its random part's design (strata, inclusion probabilities) and
the Horvitz-Thompson estimates of precision and recall from the verdicts, unbiased over many
draws although most of the queue comes from the top of the scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.review.estimate import estimate_from_verdicts, horvitz_thompson, stratum_counts
from components.review.queue import RANDOM, TOP, build_queue
from components.review.sample import QUEUE_FLAGGED, RANDOM_FLAGGED, Design, band_name

THRESHOLD = 1.5


def population(seed: int = 0, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, truth and ids of rows without a verdict: 6 % anomalies scoring higher, some
    of them below the threshold (missed), some normal rows above it (false alarms)."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.06
    scores = rng.normal(size=n) + 2.2 * truth
    return scores, truth, np.array([f"r{i}" for i in range(n)])


def design_of(scores, ids, seed, n=100, random_share=0.3) -> tuple[Design, np.ndarray]:
    queue = build_queue(
        scores,
        np.ones(len(scores), bool),
        n,
        0.4,
        THRESHOLD,
        random_share=random_share,
        rng=np.random.default_rng(seed),
    )
    about = {"model": "m", "threshold": THRESHOLD, "records": "t.csv", "random_share": 0.3}
    return Design.from_drawn(list(queue.strata), ids, seed=seed, **about), queue.rows


def test_the_queue_keeps_its_top_and_draws_the_random_share_by_strata() -> None:
    scores, _, ids = population()
    design, rows = design_of(scores, ids, seed=1)
    other, _ = design_of(scores, ids, seed=2)
    queue = build_queue(scores, np.ones(len(scores), bool), 100, 0.4, THRESHOLD, None, 0.3)
    assert len(rows) == 100
    assert queue.reasons.count(RANDOM) == 30
    assert queue.reasons[0] == TOP
    names = [s.name for s in design.strata]
    assert names[0] == QUEUE_FLAGGED
    assert RANDOM_FLAGGED in names
    assert band_name(1) in names
    strata = {s.name: s for s in design.strata}
    assert strata[QUEUE_FLAGGED].inclusion == 1.0
    assert len(strata[RANDOM_FLAGGED].ids) == 15  # half of the random rows: precision's part
    assert 0 < strata[band_name(3)].inclusion < 0.01
    assert sum(s.population for s in design.strata) == len(scores)
    # a different seed draws other random rows, the same rows by rule
    assert strata[QUEUE_FLAGGED] == {s.name: s for s in other.strata}[QUEUE_FLAGGED]
    assert strata[RANDOM_FLAGGED].ids != {s.name: s for s in other.strata}[RANDOM_FLAGGED].ids


def test_horvitz_thompson_is_unbiased_over_many_draws() -> None:
    scores, truth, ids = population()
    verdicts = dict(zip(ids.tolist(), truth.tolist(), strict=True))
    flagged = scores > THRESHOLD
    true_flagged, true_total = int((truth & flagged).sum()), int(truth.sum())
    estimates = np.array(
        [
            horvitz_thompson(stratum_counts(design_of(scores, ids, seed)[0], verdicts))
            for seed in range(3000)
        ]
    )
    mean, sem = estimates.mean(axis=0), estimates.std(axis=0) / np.sqrt(len(estimates))
    assert abs(mean[0] - true_flagged) < 4 * sem[0] + 1e-9, (mean, true_flagged)
    assert abs(mean[1] - true_total) < 4 * sem[1], (mean, true_total)
    precision = estimates[:, 0] / flagged.sum()
    assert precision.mean() == pytest.approx(true_flagged / flagged.sum(), abs=4 * sem[0])
    # the top-only queue's hit rate is far from the precision it claims to measure
    queued = design_of(scores, ids, 0, random_share=0.0)[1]
    assert truth[queued].mean() > true_flagged / flagged.sum() + 0.1


def test_intervals_cover_the_truth_most_of_the_time() -> None:
    scores, truth, ids = population(seed=5)
    verdicts = dict(zip(ids.tolist(), truth.tolist(), strict=True))
    flagged = scores > THRESHOLD
    precision = (truth & flagged).sum() / flagged.sum()
    recall = (truth & flagged).sum() / truth.sum()
    hits = {"precision": 0, "recall": 0}
    reps = 60
    for seed in range(reps):
        estimate = estimate_from_verdicts(design_of(scores, ids, seed)[0], verdicts)
        assert estimate.precision is not None
        assert estimate.recall is not None
        hits["precision"] += estimate.precision.contains(precision)
        hits["recall"] += estimate.recall.contains(recall)
    assert hits["precision"] / reps >= 0.8, hits
    assert hits["recall"] / reps >= 0.8, hits


def test_a_fully_reviewed_population_is_known_exactly() -> None:
    scores, truth, ids = population(n=60)
    design, _ = design_of(scores, ids, 0, n=60, random_share=0.5)
    estimate = estimate_from_verdicts(design, dict(zip(ids.tolist(), truth.tolist(), strict=True)))
    flagged = scores > THRESHOLD
    assert estimate.precision is not None
    assert estimate.precision.value == pytest.approx((truth & flagged).sum() / flagged.sum())
    assert estimate.precision.low == estimate.precision.high == estimate.precision.value
    assert estimate.reviewed == estimate.queued == 60


def test_strata_without_a_verdict_leave_the_estimate_open_and_are_named() -> None:
    scores, truth, ids = population()
    design, _ = design_of(scores, ids, 0)
    only_top = {i: bool(t) for i, t in zip(ids, truth, strict=True) if i in design.strata[0].ids}
    estimate = estimate_from_verdicts(design, only_top)
    assert estimate.precision is None
    assert estimate.recall is None
    assert RANDOM_FLAGGED in estimate.missing
    assert "precision not estimable yet" in estimate.summary()


def test_the_design_round_trips_through_json() -> None:
    scores, _, ids = population()
    design, _ = design_of(scores, ids, 3)
    assert Design.from_dict(json.loads(json.dumps(design.to_dict()))) == design
