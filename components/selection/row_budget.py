"""Which rows a training stage reads: every labelled anomaly (y = 1), every confirmed normal
(y = -1), and at most a budget of the unlabelled rows (y = 0), drawn uniformly without
replacement from a seeded permutation.

Why: with a handful of labels, how well a stage does is decided by the few labelled anomalies
and by how densely the unlabelled rows cover the normal data, not by the millionth
unlabelled row; past a budget, fitting on more rows costs time linearly and buys nothing
measurable (benchmarks/RESULTS.md, "Training row budget"). The stages that read a draw are
contamination estimation, the cross-validation (and the champion's replay on its folds) and
the refit of the release; the threshold is calibrated on the scores of every row.

Why one permutation per seed, each stage taking its first `budget` rows: draws are nested
(a smaller budget is a subset of a larger one), and a stage's rows follow from the labels,
its budget and the seed alone. A version records those and a digest of the rows
(`DrawRecord`); `wsad reproduce` draws again and checks the digest (`redraw`).

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

ALL_ROWS = 0  # a budget of 0: the stage reads every row
STAGES = ("contamination", "cross-validation", "refit")
# Unlabelled rows per stage by default: the smallest budget whose release was within seed
# noise of training on every row (benchmarks/RESULTS.md, "Training row budget").
DEFAULT_CONTAMINATION_ROWS = 20_000
DEFAULT_CV_ROWS = 20_000
DEFAULT_REFIT_ROWS = 20_000


class RowDrawError(ValueError):
    """A stage's rows cannot be drawn, or differ from the rows a version records."""


@dataclasses.dataclass(frozen=True)
class DrawRecord:
    """What a version records about one stage's rows: enough to draw them again and check."""

    stage: str
    budget: int  # unlabelled rows at most; ALL_ROWS = every row
    seed: int
    rows: int  # how many rows the stage read (labelled and confirmed normals included)
    sha256: str  # of the sorted row indices as little-endian int64 (`rows_digest`)


@dataclasses.dataclass(frozen=True)
class RowDraw:
    """The rows one stage reads, as sorted indices into the full table."""

    stage: str
    budget: int
    seed: int
    rows: np.ndarray

    @property
    def record(self) -> DrawRecord:
        """The facts a version keeps (the digest stands for the indices)."""
        digest = rows_digest(self.rows)
        return DrawRecord(self.stage, self.budget, self.seed, len(self.rows), digest)

    def take(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stage's features and labels (the arrays themselves when it reads every row)."""
        if len(self.rows) == len(y):
            return X, y
        return X[self.rows], y[self.rows]


@dataclasses.dataclass(frozen=True)
class StageDraws:
    """The rows of every stage that reads a draw."""

    contamination: RowDraw
    cross_validation: RowDraw
    refit: RowDraw

    def records(self) -> tuple[DrawRecord, ...]:
        """What the version's tags keep, one record per stage."""
        return tuple(d.record for d in (self.contamination, self.cross_validation, self.refit))


def rows_digest(rows: np.ndarray) -> str:
    """sha256 of the sorted row indices as little-endian int64: equal digests, equal rows."""
    ordered = np.sort(np.asarray(rows, dtype="<i8"))
    return hashlib.sha256(ordered.tobytes()).hexdigest()


def draw_rows(y: np.ndarray, budget: int, seed: int, stage: str) -> RowDraw:
    """Every row with y != 0, plus the first `budget` unlabelled rows of the seed's
    permutation of them (all of them when `budget` is ALL_ROWS or at least their number)."""
    if budget < 0:
        raise RowDrawError(f"a row budget is a count of unlabelled rows >= 0, got {budget}")
    y = np.asarray(y).ravel()
    unlabelled = np.flatnonzero(y == 0)
    if budget == ALL_ROWS or budget >= len(unlabelled):
        return RowDraw(stage, budget, seed, np.arange(len(y)))
    chosen = np.random.default_rng(seed).permutation(unlabelled)[:budget]
    rows = np.sort(np.concatenate([np.flatnonzero(y != 0), chosen]))
    return RowDraw(stage, budget, seed, rows)


def draw_stages(
    y: np.ndarray, contamination_rows: int, cv_rows: int, refit_rows: int, seed: int
) -> StageDraws:
    """Each stage's rows under its budget, from one seeded permutation."""
    budgets = (contamination_rows, cv_rows, refit_rows)
    return StageDraws(*(draw_rows(y, b, seed, s) for s, b in zip(STAGES, budgets, strict=True)))


def redraw(records: tuple[DrawRecord, ...], y: np.ndarray) -> StageDraws:
    """The draws a version records, drawn again on `y` and checked against their digests;
    a version that records none read every row in every stage (before budgets existed)."""
    by_stage = {r.stage: r for r in records}
    if records and set(by_stage) != set(STAGES):
        raise RowDrawError(
            f"the version records row draws for {', '.join(sorted(by_stage))}; "
            f"expected {', '.join(STAGES)}"
        )
    draws = []
    for stage in STAGES:
        recorded = by_stage.get(stage)
        if recorded is None:
            draws.append(draw_rows(y, ALL_ROWS, 0, stage))
            continue
        draw = draw_rows(y, recorded.budget, recorded.seed, stage)
        if draw.record != recorded:
            raise RowDrawError(
                f"stage {stage!r} drew {draw.record.rows} rows (sha256 "
                f"{draw.record.sha256[:12]}) where the version records {recorded.rows} "
                f"(sha256 {recorded.sha256[:12]}): the table or its labels differ from those "
                "it was trained on"
            )
        draws.append(draw)
    return StageDraws(*draws)
