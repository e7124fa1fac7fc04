"""The scoring flow: load the champion from the registry, stream the table through it while
comparing every chunk with the model's reference, write scores, flags and the drift report
(JSON and a plot next to the scores, a markdown table as a Prefect artifact), and leave a
receipt of the run in the audit log (components/provenance/receipts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from components.data.table_io import count_rows
from components.monitoring.drift import DriftError, DriftMonitor, DriftReport
from components.plots import plot_drift
from components.provenance.audit import AuditLog
from components.provenance.receipts import Reportable, ScoringReceipt, record_receipt
from components.registry import store
from components.serving.batch import ScoringSummary, score_table
from flows.runtime import progress
from flows.runtime.config import Settings
from flows.runtime.run_context import current_run_id


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def load_model(model_name: str, alias: str, audit: AuditLog) -> tuple[str, Any]:
    """The version under `alias` and its pyfunc, loaded by version; the champion only when
    the audit log names it (see `store.resolve_version`)."""
    with progress.stage("load model") as stage:
        version = store.resolve_version(model_name, alias, audit)
        model = store.load_version(model_name, version)
        stage.report(f"models:/{model_name}@{alias} (v{version})")
        return version, model


def drift_paths(out: Path) -> tuple[Path, Path]:
    """Where the drift report and its plot go: next to the scores."""
    return out.with_suffix(".drift.json"), out.with_suffix(".drift.png")


def publish_drift(report: DriftReport, out: Path) -> None:
    """The report as JSON and a plot next to the scores, and as a Prefect artifact."""
    json_path, png_path = drift_paths(out)
    report.write_json(json_path)
    plot_drift(
        {c: s["psi"] for c, s in report.columns.items()},
        {c: s["limit"] for c, s in report.columns.items()},
        f"Drift of {out.name}\nagainst {report.model}",
        png_path,
    )
    create_markdown_artifact(
        markdown=report.markdown(), key="wsad-drift", description=report.summary()
    )


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Score with one torch thread: the detectors' networks are small and score 16,384 rows
    per call, too little work to split, and a second thread costs far more CPU than it saves
    (benchmarks/RESULTS.md, "Scoring at 10M rows"); the trees keep their own threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@task(cache_policy=NONE)
def score(
    model: Any,
    model_uri: str,
    records: Path,
    out: Path,
    id_column: str,
    chunk_rows: int,
    strict: bool,
) -> tuple[ScoringSummary, DriftReport | None]:
    """Stream `records` through the model into `out`; with a reference profile, drift is
    measured on the way and reported before the scores are published (with `strict`,
    drift publishes no scores)."""
    # Our own WsadModel: its feature_matrix names any missing, extra, renamed or
    # non-numeric column in one line (MLflow's signature check would drop extra columns).
    wsad_model = model.unwrap_python_model()
    monitor = (
        DriftMonitor(wsad_model.profile, wsad_model.schema.features)
        if wsad_model.profile is not None
        else None
    )
    reports: list[DriftReport] = []

    def report_drift(rows: int, flagged: int) -> None:
        if monitor is None:
            return
        with progress.stage("drift report") as stage:
            report = monitor.report(model_uri, rows, flagged)
            publish_drift(report, out)
            stage.report(report.summary())
        reports.append(report)
        if strict and report.drifted:
            raise DriftError(
                f"{report.summary()}; scores not written (--strict); report: {drift_paths(out)[0]}"
            )

    with progress.stage("scoring", count_rows(records), "rows") as stage, one_torch_thread():
        summary = score_table(
            lambda chunk: wsad_model.score(chunk, monitor.observe if monitor else None),
            records,
            out,
            id_column,
            chunk_rows,
            before_publish=report_drift,
            schema=wsad_model.schema,
            on_rows=stage.advance,
        )
        rate = summary.rows / max(summary.seconds, 1e-9)
        stage.report(f"{summary.rows:,} rows, {summary.flagged:,} flagged ({rate:,.0f} rows/s)")
    return summary, (reports[0] if reports else None)


@task(cache_policy=NONE)
def write_receipt(
    audit: AuditLog,
    model_name: str,
    version: str,
    alias: str,
    model: Any,
    records: Path,
    summary: ScoringSummary,
    drift: DriftReport | None,
    estimate: Reportable | None = None,
) -> dict[str, Any]:
    """The run's receipt in the audit log: version, alias, threshold, md5 of input and
    output, rows, flags, drift status and the performance estimate (None: null)."""
    receipt = ScoringReceipt.of_run(
        model_name=model_name,
        version=version,
        alias=alias,
        threshold=model.unwrap_python_model().threshold.value,
        records=records,
        out=summary.out,
        rows=summary.rows,
        flagged=summary.flagged,
        drifted=None if drift is None else drift.drifted,
        drift_summary=None if drift is None else drift.summary(),
        estimate=estimate,
    )
    return record_receipt(audit, receipt)


@flow(name="wsad-scoring")
def scoring_flow(
    records: Path,
    out: Path,
    alias: str = "champion",
    chunk_rows: int = 100_000,
    settings: Settings | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Score a table with the model under `alias` (schema enforced chunk by chunk, drift
    measured against the model's reference; `strict` makes drift an error), and audit the
    published run's receipt (a failed run publishes nothing and leaves none)."""
    settings = settings or Settings()
    store.configure(settings.tracking_uri)
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    version, model = load_model(settings.model_name, alias, audit)
    model_uri = f"models:/{settings.model_name}@{alias}"
    summary, drift = score(model, model_uri, records, out, settings.id_column, chunk_rows, strict)
    receipt = write_receipt(
        audit, settings.model_name, version, alias, model, records, summary, drift
    )
    return {
        "rows": summary.rows,
        "flagged": summary.flagged,
        "seconds": summary.seconds,
        "out": str(summary.out),
        "model": model_uri,
        "drift": None if drift is None else drift.to_dict(),
        "drift_report": None if drift is None else str(drift_paths(out)[0]),
        "version": version,
        "receipt": receipt["seq"],
        "run_id": current_run_id(),
    }
