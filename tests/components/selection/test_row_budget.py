"""Each stage's rows: every label always, a seeded uniform draw of unlabelled rows up to the
budget, nested across budgets, and drawn again exactly from what a version records."""

from __future__ import annotations

import numpy as np
import pytest

from components.selection.row_budget import (
    ALL_ROWS,
    RowDrawError,
    draw_rows,
    draw_stages,
    redraw,
    rows_digest,
)


@pytest.fixture
def y() -> np.ndarray:
    labels = np.zeros(10_000, dtype=np.int64)
    rng = np.random.default_rng(7)
    labels[rng.choice(10_000, 20, replace=False)] = 1
    labels[np.flatnonzero(labels == 0)[:5]] = -1  # confirmed normals
    return labels


def test_a_draw_keeps_every_label_and_budget_unlabelled_rows(y: np.ndarray) -> None:
    draw = draw_rows(y, 500, seed=3, stage="refit")
    assert np.all(np.diff(draw.rows) > 0)  # sorted, no repeats
    assert set(np.flatnonzero(y != 0)) <= set(draw.rows)
    assert int((y[draw.rows] == 0).sum()) == 500
    X = np.arange(len(y) * 2, dtype=np.float32).reshape(-1, 2)
    X_s, y_s = draw.take(X, y)
    assert (X_s[:, 0] == 2 * draw.rows).all()
    assert (y_s == y[draw.rows]).all()


def test_draws_are_seeded_nested_and_uniform(y: np.ndarray) -> None:
    small, large = draw_rows(y, 300, 0, "a"), draw_rows(y, 3_000, 0, "b")
    assert np.array_equal(small.rows, draw_rows(y, 300, 0, "c").rows)  # the seed alone decides
    assert set(small.rows) <= set(large.rows)  # nested
    assert not np.array_equal(small.rows, draw_rows(y, 300, 1, "a").rows)
    # uniform over the table: the unlabelled rows drawn are not bunched at its start
    drawn = large.rows[y[large.rows] == 0]
    assert 0.45 < np.mean(drawn < len(y) / 2) < 0.55


@pytest.mark.parametrize("budget", [ALL_ROWS, 9_975, 50_000])
def test_no_budget_or_one_above_the_unlabelled_rows_reads_every_row(y, budget) -> None:
    draw = draw_rows(y, budget, 0, "refit")
    assert np.array_equal(draw.rows, np.arange(len(y)))
    X = np.zeros((len(y), 3))
    assert draw.take(X, y)[0] is X  # no copy of the table


def test_a_negative_budget_is_refused(y: np.ndarray) -> None:
    with pytest.raises(RowDrawError, match="budget is a count of unlabelled rows >= 0, got -1"):
        draw_rows(y, -1, 0, "refit")


def test_the_digest_tells_rows_apart_and_ignores_their_order() -> None:
    rows = np.array([5, 1, 9])
    assert rows_digest(rows) == rows_digest(np.sort(rows))
    assert rows_digest(rows) != rows_digest(np.array([5, 1, 8]))


def test_recorded_draws_are_drawn_again_exactly(y: np.ndarray) -> None:
    draws = draw_stages(y, 1_000, 2_000, 500, seed=4)
    again = redraw(draws.records(), y)
    assert again.records() == draws.records()
    assert np.array_equal(again.refit.rows, draws.refit.rows)


def test_a_version_without_records_read_every_row(y: np.ndarray) -> None:
    draws = redraw((), y)
    assert all(len(r.rows) == len(y) for r in (draws.contamination, draws.refit))


def test_changed_labels_fail_the_digest_naming_the_stage(y: np.ndarray) -> None:
    records = draw_stages(y, 1_000, 2_000, 500, seed=4).records()
    relabelled = y.copy()
    relabelled[np.flatnonzero(y == 0)[100]] = 1  # a new confirmed anomaly
    with pytest.raises(RowDrawError, match="stage 'contamination' drew 1026 rows .* records 1025"):
        redraw(records, relabelled)
