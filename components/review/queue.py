"""The review queue: which unlabelled rows an analyst should look at next.

Why a mix: the rows the champion scores highest are the likeliest anomalies, so most of the
queue comes from the top; but a model that only ever shows its own top learns only what it
already believes. A share of the queue therefore goes to the rows the model is least sure
of, and each verdict there moves the decision boundary.

"Least sure" is the distance between a row's score and the threshold, in units of how much
the released ensemble's members (seeds, and methods where there are several) disagree on
that row: |mean - threshold| / std over their rank-normalised scores (members and threshold
share that scale). A single detector has no spread, and the plain distance |score -
threshold| is used. The default share was chosen by the simulated-analyst benchmark
(benchmarks/review_loop.py, benchmarks/RESULTS.md).

A further share of the queue (`random_share`) measures: rows drawn at random with known
inclusion probabilities (components/review/sample.py), so the queue's verdicts estimate
precision and recall at the threshold over every row without a verdict
(components/review/estimate.py). Its default was chosen by the same benchmark, weighing the
estimates' interval width against the anomalies a random row finds less often.

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from components.review.sample import DrawnStratum, draw_strata

# Share of the queue spent on uncertain rows; benchmarks/review_loop.py measured the options.
DEFAULT_UNCERTAIN_SHARE = 0.4
# Share of the queue drawn at random to measure precision and recall (review_loop.py).
DEFAULT_RANDOM_SHARE = 0.15
TOP, UNCERTAIN, RANDOM = "top score", "uncertain", "random"
_EPS = 1e-12


class ReviewError(ValueError):
    """A queue cannot be built from these rows or settings."""


@dataclasses.dataclass(frozen=True)
class Queue:
    """Rows to review, in review order: the top-scored rows (highest first), then the
    uncertain ones (least sure first)."""

    rows: np.ndarray  # indices into the scored table
    reasons: tuple[str, ...]  # TOP, UNCERTAIN or RANDOM per row
    margin: np.ndarray  # per row, `decision_margin`: lower = less sure
    strata: tuple[DrawnStratum, ...] = ()  # the design (review_sample.py) over every row


def decision_margin(
    scores: np.ndarray, threshold: float, member_scores: np.ndarray | None = None
) -> np.ndarray:
    """How sure the model is of each row's side of the threshold (lower = less sure): the
    distance to the threshold, in units of the seeds' spread when there are seeds."""
    scores = np.asarray(scores, dtype=np.float64)
    distance = np.abs(scores - threshold)
    if member_scores is None or len(member_scores) < 2:
        return distance
    return distance / (np.asarray(member_scores, dtype=np.float64).std(axis=0) + _EPS)


def build_queue(
    scores: np.ndarray,
    reviewable: np.ndarray,
    n: int,
    uncertain_share: float,
    threshold: float,
    member_scores: np.ndarray | None = None,
    random_share: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Queue:
    """Pick `n` reviewable rows: round(n * random_share) drawn at random (stratified, known
    inclusion probabilities), and of the others round(uncertain_share * their number) of the
    least sure and the rest from the top of the scores. Fewer when fewer rows are
    reviewable; ties go to the earlier row."""
    scores = np.asarray(scores, dtype=np.float64)
    reviewable = np.asarray(reviewable, dtype=bool)
    if scores.shape != reviewable.shape:
        raise ReviewError(f"{scores.shape[0]} scores but {reviewable.shape[0]} reviewable flags")
    if n < 1:
        raise ReviewError(f"the queue size is {n}; ask for at least one row (--n)")
    for name, share in (("uncertain", uncertain_share), ("random", random_share)):
        if not 0.0 <= share <= 1.0:
            raise ReviewError(f"the {name} share is {share}; use a share between 0 and 1")
    candidates = np.flatnonzero(reviewable)
    if len(candidates) == 0:
        raise ReviewError("every row already has a verdict; there is nothing left to review")
    n = min(n, len(candidates))
    n_random = round(n * random_share)
    n_uncertain = round((n - n_random) * uncertain_share)
    margin = decision_margin(scores, threshold, member_scores)
    by_score = candidates[np.argsort(-scores[candidates], kind="stable")]
    top = by_score[: n - n_random - n_uncertain]
    rest = np.setdiff1d(candidates, top)
    unsure = rest[np.argsort(margin[rest], kind="stable")][:n_uncertain]
    chosen = np.concatenate([top, unsure])
    strata = draw_strata(
        scores, scores > threshold, reviewable, chosen, n_random, rng or np.random.default_rng(0)
    )
    drawn = [s.drawn for s in strata if s.random]
    random_rows = np.concatenate(drawn).astype(np.int64) if drawn else np.empty(0, np.int64)
    rows = np.concatenate([chosen, random_rows])
    reasons = (TOP,) * len(top) + (UNCERTAIN,) * len(unsure) + (RANDOM,) * len(random_rows)
    return Queue(rows=rows, reasons=reasons, margin=margin[rows], strata=tuple(strata))
