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

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Share of the queue spent on uncertain rows; benchmarks/review_loop.py measured the options.
DEFAULT_UNCERTAIN_SHARE = 0.4
TOP, UNCERTAIN = "top score", "uncertain"
_EPS = 1e-12


class ReviewError(ValueError):
    """A queue cannot be built from these rows or settings."""


@dataclasses.dataclass(frozen=True)
class Queue:
    """Rows to review, in review order: the top-scored rows (highest first), then the
    uncertain ones (least sure first)."""

    rows: np.ndarray  # indices into the scored table
    reasons: tuple[str, ...]  # TOP or UNCERTAIN per row
    margin: np.ndarray  # per row, `decision_margin`: lower = less sure


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
) -> Queue:
    """Pick `n` reviewable rows: round(n * uncertain_share) of the least sure, the rest from
    the top of the scores. Fewer when fewer rows are reviewable; ties go to the earlier row."""
    scores = np.asarray(scores, dtype=np.float64)
    reviewable = np.asarray(reviewable, dtype=bool)
    if scores.shape != reviewable.shape:
        raise ReviewError(f"{scores.shape[0]} scores but {reviewable.shape[0]} reviewable flags")
    if n < 1:
        raise ReviewError(f"the queue size is {n}; ask for at least one row (--n)")
    if not 0.0 <= uncertain_share <= 1.0:
        raise ReviewError(f"the uncertain share is {uncertain_share}; use a share between 0 and 1")
    candidates = np.flatnonzero(reviewable)
    if len(candidates) == 0:
        raise ReviewError("every row already has a verdict; there is nothing left to review")
    n = min(n, len(candidates))
    n_uncertain = round(n * uncertain_share)
    margin = decision_margin(scores, threshold, member_scores)
    by_score = candidates[np.argsort(-scores[candidates], kind="stable")]
    top = by_score[: n - n_uncertain]
    rest = np.setdiff1d(candidates, top)
    unsure = rest[np.argsort(margin[rest], kind="stable")][:n_uncertain]
    rows = np.concatenate([top, unsure])
    reasons = (TOP,) * len(top) + (UNCERTAIN,) * len(unsure)
    return Queue(rows=rows, reasons=reasons, margin=margin[rows])
