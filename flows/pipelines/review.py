"""The review flow: score a table with the champion, queue the rows an analyst should look
at (each with its top features), write the queue as a file and as a Prefect table artifact
that people open from the Prefect UI. Verdicts come back through `wsad label add` /
`wsad label dismiss` into the DVC-tracked label file, which the next scheduled retrain reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE

from components.data import table_io, table_size
from components.data.label_file import read_labels
from components.provenance.audit import AuditLog
from components.registry import store
from components.review.page import check_output, frame_for_artifact, write_review
from components.review.report import Review, build_review
from flows.pipelines.scoring import load_model
from flows.runtime.config import Settings

ARTIFACT_KEY = "wsad-review-queue"


@task(cache_policy=NONE)
def read_inputs(records: Path, labels: Path, memory_budget: int) -> tuple[pd.DataFrame, set[str]]:
    """The table to review (refused first if it does not fit the budget) and the ids that
    already carry a verdict (either kind)."""
    table_size.ensure_fits(records, memory_budget, what="review")
    table = table_io.read_table(records)
    verdicts = read_labels(labels) if Path(labels).exists() else None
    return table, set() if verdicts is None else set(verdicts["id"])


@task(cache_policy=NONE)
def queue(
    model: Any, table: pd.DataFrame, labelled: set[str], n: int, share: float, top: int
) -> Review:
    """Score, pick the rows and explain each (components/review/report.py)."""
    return build_review(table, labelled, model.unwrap_python_model(), n, share, top)


@task(cache_policy=NONE)
def publish(review: Review, out: Path, title: str) -> Path:
    """Write the file and the Prefect artifact."""
    path = write_review(review, out, title)
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=frame_for_artifact(review),
        description=f"{title}; also written to {path.resolve()}",
    )
    return path


@flow(name="wsad-review")
def review_flow(
    records: Path,
    out: Path,
    n: int = 50,
    uncertain_share: float | None = None,
    top_features: int = 5,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Queue `n` rows of `records` without a verdict for an analyst, with explanations."""
    settings = settings or Settings()
    share = settings.review_uncertain_share if uncertain_share is None else uncertain_share
    check_output(out)
    store.configure(settings.tracking_uri)
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    version, model = load_model(settings.model_name, "champion", audit)
    table, labelled = read_inputs(records, settings.labels, settings.memory_budget)
    review = queue(model, table, labelled, n, share, top_features)
    title = f"Review queue: {settings.model_name} v{version} on {Path(records).name}"
    path = publish(review, out, title)
    model_ref = f"{settings.model_name} v{version}"
    return {**review.about, "out": str(path), "model": model_ref, "rows": review.rows}
