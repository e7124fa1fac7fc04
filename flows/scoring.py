"""The scoring flow: load the champion from the registry, stream the table through it,
write scores and flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from components import registry
from components.audit import AuditLog
from components.scoring import ScoringSummary, score_table
from flows.config import Settings


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def load_model(model_name: str, alias: str, audit: AuditLog) -> Any:
    """The champion only when the audit log names it (see `registry.load_model`)."""
    return registry.load_model(model_name, alias, audit)


@task(cache_policy=NONE)
def score(model: Any, records: Path, out: Path, id_column: str, chunk_rows: int) -> ScoringSummary:
    # Our own WsadModel.predict: its feature_matrix names any missing, extra, renamed or
    # non-numeric column in one line (MLflow's signature check would drop extra columns).
    wsad_model = model.unwrap_python_model()
    return score_table(
        lambda chunk: wsad_model.predict(None, chunk), records, out, id_column, chunk_rows
    )


@flow(name="wsad-scoring")
def scoring_flow(
    records: Path,
    out: Path,
    alias: str = "champion",
    chunk_rows: int = 100_000,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Score a table with the model under `alias` (schema enforced chunk by chunk)."""
    settings = settings or Settings()
    registry.configure(settings.tracking_uri)
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    model = load_model(settings.model_name, alias, audit)
    summary = score(model, records, out, settings.id_column, chunk_rows)
    return {
        "rows": summary.rows,
        "flagged": summary.flagged,
        "seconds": summary.seconds,
        "out": str(summary.out),
        "model": f"models:/{settings.model_name}@{alias}",
    }
