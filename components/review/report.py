"""One review: the queue of rows an analyst should look at, each with why it scored high.

Per queued row: its score and whether the threshold flags it, why it is in the queue (top
score or uncertain, components/review/queue.py), and its top contributing features
(components/review/attribution.py), each with the row's value, the training median of that
feature and the row's percentile among the training rows (the model's reference profile,
components/monitoring/profile.py).
Contributions are shown as signed shares of the row's total |contribution|, so rows and
model families read on one scale. Rows come in score order, highest first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np
import pandas as pd

from components.data.tables import Scaler, Schema, check_ids, feature_matrix
from components.detectors import Detector
from components.detectors.ensemble import RankEnsemble
from components.monitoring.profile import ReferenceProfile
from components.review.attribution import attribute
from components.review.queue import ReviewError, build_queue
from components.selection.calibration import Threshold

TOP_FEATURES = 5  # features shown per row


class ReviewedModel(Protocol):
    """What a review needs of a model (the registry's pyfunc, unwrapped, has it)."""

    schema: Schema
    scaler: Scaler
    threshold: Threshold
    detector: Detector
    profile: ReferenceProfile | None


@dataclasses.dataclass(frozen=True)
class Review:
    """The queue as a table (one row per queued record, score order) and how it was made."""

    rows: pd.DataFrame
    about: dict[str, Any]


def feature_columns(k: int) -> list[str]:
    """The per-feature columns of the k-th top feature (1-based)."""
    return [f"feature_{k}", f"value_{k}", f"median_{k}", f"percentile_{k}", f"contribution_{k}"]


def build_review(
    table: pd.DataFrame,
    labelled_ids: set[str],
    model: ReviewedModel,
    n: int,
    uncertain_share: float,
    top_features: int = TOP_FEATURES,
) -> Review:
    """Score `table` with `model`, queue `n` of the rows without a verdict (ids not in
    `labelled_ids`) and explain each."""
    schema = model.schema
    if model.profile is None:
        raise ReviewError(
            "this model version was registered without a training reference (before "
            "reference profiles existed); retrain it (`wsad train`) to review with it"
        )
    if schema.id_column is None or schema.id_column not in table.columns:
        raise ReviewError(
            f"the table has no id column {schema.id_column or '(none in the model schema)'!r}; "
            "verdicts are kept by id, so review needs one"
        )
    if top_features < 1:
        raise ReviewError(f"top features is {top_features}; show at least one per row")
    ids = check_ids(table, schema.id_column)
    X = model.scaler.transform(feature_matrix(table, schema))
    detector = model.detector
    scores = detector.decision_function(X)
    members = detector.member_scores(X) if isinstance(detector, RankEnsemble) else None
    reviewable = ~ids.isin(labelled_ids).to_numpy()
    queue = build_queue(scores, reviewable, n, uncertain_share, model.threshold.value, members)
    order = np.argsort(-scores[queue.rows], kind="stable")
    rows = queue.rows[order]
    median_row = model.profile.medians(schema.features)[None, :]
    explained = attribute(detector, X[rows], model.scaler.transform(median_row)[0])
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "id": ids.to_numpy()[rows],
            "score": scores[rows],
            "flagged": model.threshold.flag(scores[rows]),
            "reason": np.asarray(queue.reasons)[order],
            "margin": queue.margin[order],
        }
    )
    features = _top_features(explained.values, X[rows], model, top_features, list(schema.features))
    about = {
        "records": len(table),
        "reviewable": int(reviewable.sum()),
        "queued": len(rows),
        "uncertain_share": uncertain_share,
        "threshold": model.threshold.value,
        "method": detector.name,
        "attribution": explained.method,
        "uncertainty": "ensemble disagreement" if members is not None else "distance to threshold",
    }
    return Review(pd.concat([frame, features], axis=1), about)


def _top_features(
    contributions: np.ndarray, X: np.ndarray, model: ReviewedModel, k: int, names: list[str]
) -> pd.DataFrame:
    """The k features that pushed each row furthest towards anomalous, with the row's value,
    the training median (table units) and the row's training percentile."""
    assert model.profile is not None
    shares = contributions / (np.abs(contributions).sum(axis=1, keepdims=True) + 1e-12)
    k = min(k, len(names))
    top = np.argsort(-shares, axis=1, kind="stable")[:, :k]
    picked = np.arange(len(X))[:, None]
    values = model.scaler.inverse_transform(X)[picked, top]
    medians = model.profile.medians(names)[top]
    percentiles = model.profile.percentiles_of(model.scaler.inverse_transform(X), names)[
        picked, top
    ]
    columns: dict[str, Any] = {}
    for j in range(k):
        cells = [
            np.asarray(names)[top[:, j]],
            values[:, j],
            medians[:, j],
            percentiles[:, j],
            shares[picked[:, 0], top[:, j]],
        ]
        columns.update(dict(zip(feature_columns(j + 1), cells, strict=True)))
    return pd.DataFrame(columns)
