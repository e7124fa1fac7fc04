"""The review queue: rows without a verdict only, most from the top of the scores, a share
where the model is least sure (ensemble disagreement, or nearness to the threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from components.review.queue import TOP, UNCERTAIN, ReviewError, build_queue, decision_margin


def test_queue_takes_the_top_scores_then_the_rows_nearest_the_threshold() -> None:
    scores = np.array([0.1, 0.9, 0.52, 0.8, 0.3, 0.49, 0.7, 0.95])
    reviewable = np.ones(8, dtype=bool)
    queue = build_queue(scores, reviewable, n=4, uncertain_share=0.5, threshold=0.5)
    assert queue.rows.tolist() == [7, 1, 5, 2]  # 0.95, 0.9, then |0.49-0.5|, |0.52-0.5|
    assert queue.reasons == (TOP, TOP, UNCERTAIN, UNCERTAIN)
    np.testing.assert_allclose(queue.margin, [0.45, 0.4, 0.01, 0.02])


def test_rows_with_a_verdict_are_never_queued() -> None:
    scores = np.linspace(0, 1, 10)
    reviewable = np.ones(10, dtype=bool)
    reviewable[[9, 4, 5]] = False
    queue = build_queue(scores, reviewable, n=10, uncertain_share=0.3, threshold=0.5)
    assert sorted(queue.rows.tolist()) == [0, 1, 2, 3, 6, 7, 8]
    assert queue.rows[0] == 8


def test_seed_disagreement_makes_a_row_uncertain() -> None:
    """Two rows equally far from the threshold: the one the seeds disagree on comes first."""
    members = np.array([[0.9, 0.2, 0.62, 0.62], [0.9, 0.2, 0.98, 0.64], [0.9, 0.2, 0.26, 0.6]])
    scores = members.mean(axis=0)  # 0.9, 0.2, 0.62, 0.62
    margin = decision_margin(scores, 0.5, members)
    assert margin[2] < margin[3]
    queue = build_queue(scores, np.ones(4, bool), 2, 0.5, 0.5, members)
    assert queue.rows.tolist() == [0, 2]


def test_share_zero_is_top_scores_only() -> None:
    scores = np.array([0.3, 0.5, 0.1, 0.9])
    queue = build_queue(scores, np.ones(4, bool), 3, 0.0, threshold=0.4)
    assert queue.rows.tolist() == [3, 1, 0]
    assert set(queue.reasons) == {TOP}


@pytest.mark.parametrize(
    ("n", "share", "reviewable", "message"),
    [
        (0, 0.2, [True, True], "at least one row"),
        (2, 1.5, [True, True], "between 0 and 1"),
        (2, 0.2, [False, False], "nothing left to review"),
    ],
)
def test_bad_queue_requests_say_what_to_change(n, share, reviewable, message) -> None:
    with pytest.raises(ReviewError, match=message):
        build_queue(np.array([0.2, 0.8]), np.array(reviewable), n, share, threshold=0.5)
