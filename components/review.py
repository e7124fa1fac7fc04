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

Why spread the picks (`pool` > 1, given the features the model scores): the highest scores
and the rows nearest the threshold come in clumps of near-duplicates, and an analyst's
verdict on the second row of a clump teaches the model little that the first did not. So
each part is drawn from its `pool` x as many best rows by greedy farthest-point selection
(each pick the pool row farthest from the rows already picked and from the rows that
already carry a verdict), as batch active learning spreads a batch; `pool` = 1 is the plain
order.

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Share of the queue spent on uncertain rows; benchmarks/review_loop.py measured the options.
DEFAULT_UNCERTAIN_SHARE = 0.4
# Each part of the queue is spread over this many times as many of its best rows (see above).
DEFAULT_POOL = 3
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
    features: np.ndarray | None = None,
    pool: int = DEFAULT_POOL,
) -> Queue:
    """Pick `n` reviewable rows: round(n * uncertain_share) of the least sure, the rest from
    the top of the scores, each part spread over its `pool` x best rows when `features` are
    given. Fewer when fewer rows are reviewable; ties go to the earlier row."""
    scores = np.asarray(scores, dtype=np.float64)
    reviewable = np.asarray(reviewable, dtype=bool)
    if scores.shape != reviewable.shape:
        raise ReviewError(f"{scores.shape[0]} scores but {reviewable.shape[0]} reviewable flags")
    if n < 1:
        raise ReviewError(f"the queue size is {n}; ask for at least one row (--n)")
    if not 0.0 <= uncertain_share <= 1.0:
        raise ReviewError(f"the uncertain share is {uncertain_share}; use a share between 0 and 1")
    if pool < 1:
        raise ReviewError(f"the pool is {pool}; use 1 (no spreading) or more")
    candidates = np.flatnonzero(reviewable)
    if len(candidates) == 0:
        raise ReviewError("every row already has a verdict; there is nothing left to review")
    n = min(n, len(candidates))
    n_uncertain = round(n * uncertain_share)
    margin = decision_margin(scores, threshold, member_scores)
    spread = _Spreader(features, np.flatnonzero(~reviewable), pool)
    by_score = candidates[np.argsort(-scores[candidates], kind="stable")]
    top = spread.pick(by_score, n - n_uncertain)
    top = top[np.argsort(-scores[top], kind="stable")]
    rest = np.setdiff1d(candidates, top)
    unsure = spread.pick(rest[np.argsort(margin[rest], kind="stable")], n_uncertain)
    unsure = unsure[np.argsort(margin[unsure], kind="stable")]
    rows = np.concatenate([top, unsure])
    reasons = (TOP,) * len(top) + (UNCERTAIN,) * len(unsure)
    return Queue(rows=rows, reasons=reasons, margin=margin[rows])


class _Spreader:
    """Greedy farthest-point picks from the head of a preference order, away from the rows
    with a verdict and from every earlier pick (of either part of the queue)."""

    def __init__(self, features: np.ndarray | None, judged: np.ndarray, pool: int) -> None:
        self.features = None if features is None else np.asarray(features, dtype=np.float64)
        self.pool = pool
        self.away = self.features[judged] if self.features is not None else None

    def pick(self, ordered: np.ndarray, k: int) -> np.ndarray:
        """`k` rows of `ordered` (best first); the first `k` when there is nothing to spread."""
        if self.features is None or self.away is None or self.pool == 1 or k == 0:
            return ordered[:k]
        head = ordered[: self.pool * k]
        points = self.features[head]
        nearest = np.full(len(head), np.inf)
        for chunk in np.array_split(self.away, max(1, len(self.away) // 4096)):
            nearest = np.minimum(nearest, _distances(points, chunk).min(axis=1, initial=np.inf))
        chosen: list[int] = []
        for _ in range(min(k, len(head))):
            i = int(np.argmax(nearest))  # ties (all inf at first) go to the better-ranked row
            chosen.append(i)
            nearest = np.minimum(nearest, _distances(points, points[i : i + 1])[:, 0])
            nearest[chosen] = -np.inf
        self.away = np.vstack([self.away, points[chosen]])
        return head[chosen]


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of `a` and of `b`."""
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))
