"""The `wsad` command line: thin wrappers that call components and flows.

Every known failure (bad data, failed validation, unknown model, broken audit chain) ends in
one readable line on stderr and a non-zero exit code; `WSAD_DEBUG=1` shows the traceback.
Heavy imports (Prefect, MLflow) happen inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from components.benchmark import bench
from flows.config import Settings
from flows.explain_cli import explain
from flows.label_cli import label_add, label_dismiss
from flows.review_cli import review
from flows.serve_model_cli import serve_model

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0])
label_app = typer.Typer(no_args_is_help=True, help="Verdicts: confirmed and dismissed (DVC).")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log of releases.")
app.add_typer(label_app, name="label")
app.add_typer(audit_app, name="audit")
app.command("bench")(bench)
app.command("explain")(explain)
app.command("serve-model")(serve_model)
app.command("review")(review)
label_app.command("add")(label_add)
label_app.command("dismiss")(label_dismiss)

out = Console()
err = Console(stderr=True)
ModelName = Annotated[str | None, typer.Option(help="registered model name (WSAD_MODEL_NAME)")]
Who = Annotated[str | None, typer.Option(help="who is acting, for the audit log")]
Cron = Annotated[str | None, typer.Option(help="schedule (WSAD_SCHEDULE_CRON)")]
DeploymentName = Annotated[str | None, typer.Option(help="deployment (WSAD_DEPLOYMENT_NAME)")]
ScheduledApproval = Annotated[bool, typer.Option(help="scheduled runs wait for `wsad approve`")]


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the components' exceptions into one line and exit code 2."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (ValueError, OSError, MlflowException) as exc:
        if os.environ.get("WSAD_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        fail(text[0] if text else type(exc).__name__)


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's non-empty options on top; a
    bad value ends in one line naming its WSAD_ variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v not in (None, "", [])})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"WSAD_{str(first['loc'][0]).upper()}"
        fail(f"{name} (or its option) = {first['input']!r} is invalid: {first['msg']}; fix it")
    except SettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"WSAD_{field.group(1).upper()}" if field else "a WSAD_ variable"
        fail(f"{name} is not valid JSON ({exc}); set it to e.g. '[\"devnet\"]' or '{{}}'")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_outcome(result: dict[str, Any]) -> None:
    table = Table(title=f"{result['model_name']} v{result['version']} ({result['method']})")
    table.add_column("gate")
    table.add_column("value")
    table.add_column("limit")
    table.add_column("passed")
    for name, gate in result["gates"].items():
        table.add_row(name, _fmt(gate.get("value")), _fmt(gate.get("limit")), str(gate["passed"]))
    out.print(table)
    ranking = ", ".join(f"{m} {v:.3f}" for m, v in result["ranking"].items())
    out.print(f"cross-validated AUC-ROC of held-out labels vs unlabelled rows: {ranking}")
    out.print(f"released: {result['method']}")
    out.print(f"threshold: {result['threshold_contamination']['note']}")
    verdict = "[green]promoted to champion[/]" if result["promoted"] else "[yellow]not promoted[/]"
    out.print(f"v{result['version']} {verdict}: {result['reason']}")
    out.print(f"champion is now v{result['champion']}" if result["champion"] else "no champion")


@app.command()
def demo() -> None:
    """Build the demo data, version it with DVC and run the training flow end to end."""
    from components import lineage
    from components.demo import build_demo_data
    from flows.training import training_flow

    settings = settings_with()
    with one_line_errors():
        if not settings.records.exists():
            build_demo_data(settings.records.parent)
        version = lineage.dvc_add(Path.cwd(), str(settings.records.parent))
        lineage.dvc_push(Path.cwd())
        out.print(f"demo data {settings.records.parent}/ at DVC version {version}")
        result = training_flow(settings)
    _print_outcome(result)
    out.print(
        f"MLflow UI: mlflow ui --backend-store-uri {settings.tracking_uri} "
        "(then open http://127.0.0.1:5000)"
    )


@app.command()
def train(
    records: Annotated[Path | None, typer.Option(help="table of records (CSV/parquet)")] = None,
    labels: Annotated[Path | None, typer.Option(help="CSV of confirmed anomaly ids")] = None,
    model_name: ModelName = None,
    methods: Annotated[str, typer.Option(help="comma-separated methods to compare")] = "",
    threshold_method: Annotated[str | None, typer.Option(help="quantile, fpr or zscore")] = None,
    allow_schema_change: Annotated[
        bool, typer.Option(help="accept columns that differ from the champion's")
    ] = False,
    require_approval: Annotated[
        bool, typer.Option(help="pause before champion moves until `wsad approve`")
    ] = False,
    who: Who = None,
) -> None:
    """Validate, estimate contamination, train and compare methods, register, gate, promote."""
    from prefect.settings import get_current_settings

    from flows.training import training_flow

    settings = settings_with(
        records=records,
        labels=labels,
        model_name=model_name,
        methods=[m.strip() for m in methods.split(",") if m.strip()],
        threshold_method=threshold_method,
        allow_schema_change=allow_schema_change or None,
        require_approval=require_approval or None,
        who=who,
    )
    if settings.require_approval and not get_current_settings().api.url:
        fail("approval needs a Prefect server that `wsad approve` reaches too; set PREFECT_API_URL")
    with one_line_errors():
        result = training_flow(settings)
    _print_outcome(result)


@app.command()
def score(
    records: Annotated[Path, typer.Option(help="table to score (CSV/parquet)")],
    out_path: Annotated[Path, typer.Option("--out", help="output .csv or .parquet")],
    alias: Annotated[str, typer.Option(help="registry alias to score with")] = "champion",
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk (bounds memory)")] = 100_000,
    model_name: ModelName = None,
) -> None:
    """Score a table with the registered champion: id, score and is_anomaly per row."""
    from flows.scoring import scoring_flow

    settings = settings_with(model_name=model_name)
    with one_line_errors():
        result = scoring_flow(records, out_path, alias, chunk_rows, settings)
    out.print(
        f"scored {result['rows']} rows with {result['model']}: {result['flagged']} flagged, "
        f"written to {result['out']} in {result['seconds']:.1f}s"
    )


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="registered version to promote")],
    model_name: ModelName = None,
    who: Who = None,
) -> None:
    """Promote a registered version to champion if its recorded gates pass (audited)."""
    from components import registry
    from components.audit import AuditLog

    settings = settings_with(model_name=model_name, who=who)
    with one_line_errors():
        registry.configure(settings.tracking_uri)
        decision = registry.promote_version(
            settings.model_name,
            version,
            registry.PromotionPolicy(settings.metric_floor, settings.margin),
            AuditLog(settings.audit_log, settings.audit_key_bytes()),
            settings.who,
        )
    state = "promoted to champion" if decision.promote else "rejected"
    out.print(f"{settings.model_name} v{version} {state}: {decision.reason}")
    if not decision.promote:
        raise typer.Exit(1)


@app.command()
def rollback(model_name: ModelName = None, who: Who = None) -> None:
    """Move champion back to the previous champion (audited)."""
    from components import registry
    from components.audit import AuditLog

    settings = settings_with(model_name=model_name, who=who)
    with one_line_errors():
        registry.configure(settings.tracking_uri)
        version = registry.rollback(
            settings.model_name,
            AuditLog(settings.audit_log, settings.audit_key_bytes()),
            settings.who,
        )
    out.print(f"{settings.model_name}: champion rolled back to v{version}")


@app.command()
def models(model_name: ModelName = None) -> None:
    """List registered versions with their aliases, metrics and gate results."""
    from components import registry

    settings = settings_with(model_name=model_name)
    with one_line_errors():
        registry.configure(settings.tracking_uri)
        versions = registry.list_versions(settings.model_name)
    table = Table(title=settings.model_name)
    for col in ("version", "aliases", "method", "auc_pr", "data version", "validation", "status"):
        table.add_column(col)
    for v in versions:
        tags, metrics = v.get("tags", {}), v.get("metrics", {})
        auc = metrics.get("auc_pr")
        table.add_row(
            str(v["version"]),
            ",".join(v.get("aliases", [])),
            tags.get("release") or tags.get("method", ""),
            f"{auc:.3f}" if auc is not None else "",
            tags.get("data_version", "")[:12],
            tags.get("validation", ""),
            tags.get("rejected_reason", "") or tags.get("decision", ""),
        )
    out.print(table)


def _schedule_settings(cron: str | None, name: str | None, require_approval: bool) -> Settings:
    """The settings of a scheduled deployment: options given on the command line win."""
    return settings_with(
        schedule_cron=cron, deployment_name=name, require_approval=require_approval or None
    )


@app.command()
def serve(
    cron: Cron = None, name: DeploymentName = None, require_approval: ScheduledApproval = False
) -> None:
    """Retrain on a cron schedule on this machine until Ctrl-C (a Prefect deployment)."""
    from flows.serve import serve_retraining

    settings = _schedule_settings(cron, name, require_approval)
    out.print(
        f"serving wsad-training/{settings.deployment_name} on '{settings.schedule_cron}'; "
        f"trigger now: prefect deployment run wsad-training/{settings.deployment_name}"
    )
    with one_line_errors():
        serve_retraining(settings)


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="Prefect process work pool to run on")],
    source: Annotated[Path, typer.Option(help="checkout the worker runs from")] = Path("."),
    cron: Cron = None,
    name: DeploymentName = None,
    require_approval: ScheduledApproval = False,
) -> None:
    """Register the scheduled retraining on a work pool (production; run a worker on it)."""
    from flows.serve import deploy_retraining

    settings = _schedule_settings(cron, name, require_approval)
    with one_line_errors():
        deployment_id = deploy_retraining(settings, pool, source)
    out.print(
        f"deployment wsad-training/{settings.deployment_name} ({deployment_id}) on pool "
        f"{pool}, schedule '{settings.schedule_cron}'; start a worker: "
        f"prefect worker start --pool {pool}"
    )


@app.command()
def approve(
    flow_run_id: Annotated[str, typer.Argument(help="paused training run (`wsad pending`)")],
    approver: Annotated[str, typer.Option(help="who decides, for the audit log")],
    decision: Annotated[str, typer.Option(help="approve or reject")],
    reason: Annotated[str, typer.Option(help="why, for the audit log")],
) -> None:
    """Answer a training run that waits for approval: it promotes or rejects and audits."""
    from pydantic import ValidationError

    from flows.approval import Approval, answer

    try:
        approval = Approval(approver=approver, decision=decision, reason=reason)  # type: ignore[arg-type]
    except ValidationError:
        fail(f"--decision must be approve or reject, not {decision!r}")
    with one_line_errors():
        answer(flow_run_id, approval)
    out.print(f"flow run {flow_run_id} resumed: {decision} by {approver}")


@app.command()
def pending() -> None:
    """Training runs paused until someone approves or rejects them."""
    from flows.approval import pending as paused_runs

    with one_line_errors():
        runs = paused_runs()
    table = Table(title="training runs waiting for approval (wsad approve ID ...)")
    for col in ("flow run id", "name", "paused since", "expires"):
        table.add_column(col)
    for run in runs:
        table.add_row(run["id"], run["name"], run["since"], run["expires"])
    out.print(table)


@app.command("config")
def show_config() -> None:
    """Print the effective settings (env prefix WSAD_, secrets masked)."""
    values = settings_with().model_dump(mode="json")
    table = Table(title="wsad settings (override with WSAD_<NAME>)")
    table.add_column("name")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
    out.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain (and HMAC when WSAD_AUDIT_KEY is set)."""
    from components.audit import AuditLog

    settings = settings_with()
    with one_line_errors():
        result = AuditLog(settings.audit_log, settings.audit_key_bytes()).verify()
    if not result.ok:
        fail(f"{settings.audit_log}: entry {result.first_bad} is bad: {result.reason}", code=1)
    out.print(f"{settings.audit_log}: {result.n_entries} entries, chain intact")


if __name__ == "__main__":
    app()
