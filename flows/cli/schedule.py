"""`wsad serve`, `wsad deploy`, `wsad pending` and `wsad approve`: scheduled retraining and
its human approval gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from flows.cli.terminal import fail, one_line_errors, out, settings_with
from flows.runtime.config import TRAINING_FLOW, Settings

Cron = Annotated[str | None, typer.Option(help="schedule (WSAD_SCHEDULE_CRON)")]
DeploymentName = Annotated[str | None, typer.Option(help="deployment (WSAD_DEPLOYMENT_NAME)")]
ScheduledApproval = Annotated[bool, typer.Option(help="scheduled runs wait for `wsad approve`")]


def _schedule_settings(cron: str | None, name: str | None, require_approval: bool) -> Settings:
    """The settings of a scheduled deployment: options given on the command line win."""
    return settings_with(
        schedule_cron=cron, deployment_name=name, require_approval=require_approval or None
    )


def serve(
    cron: Cron = None, name: DeploymentName = None, require_approval: ScheduledApproval = False
) -> None:
    """Retrain on a cron schedule on this machine until Ctrl-C (a Prefect deployment)."""
    from flows.pipelines.schedule import serve_retraining

    settings = _schedule_settings(cron, name, require_approval)
    out.print(
        f"serving {TRAINING_FLOW}/{settings.deployment_name} on '{settings.schedule_cron}'; "
        f"trigger now: prefect deployment run {TRAINING_FLOW}/{settings.deployment_name}"
    )
    with one_line_errors():
        serve_retraining(settings)


def deploy(
    pool: Annotated[str, typer.Option(help="Prefect process work pool to run on")],
    source: Annotated[Path, typer.Option(help="checkout the worker runs from")] = Path("."),
    cron: Cron = None,
    name: DeploymentName = None,
    require_approval: ScheduledApproval = False,
) -> None:
    """Register the scheduled retraining on a work pool (production; run a worker on it)."""
    from flows.pipelines.schedule import deploy_retraining

    settings = _schedule_settings(cron, name, require_approval)
    with one_line_errors():
        deployment_id = deploy_retraining(settings, pool, source)
    out.print(
        f"deployment {TRAINING_FLOW}/{settings.deployment_name} ({deployment_id}) on pool "
        f"{pool}, schedule '{settings.schedule_cron}'; start a worker: "
        f"prefect worker start --pool {pool}"
    )


def approve(
    flow_run_id: Annotated[str, typer.Argument(help="paused training run (`wsad pending`)")],
    approver: Annotated[str, typer.Option(help="who decides, for the audit log")],
    decision: Annotated[str, typer.Option(help="approve or reject")],
    reason: Annotated[str, typer.Option(help="why, for the audit log")],
) -> None:
    """Answer a training run that waits for approval: it promotes or rejects and audits."""
    from pydantic import ValidationError

    from flows.pipelines.approval import Approval, answer

    try:
        approval = Approval(approver=approver, decision=decision, reason=reason)  # type: ignore[arg-type]
    except ValidationError:
        fail(f"--decision must be approve or reject, not {decision!r}")
    with one_line_errors():
        answer(flow_run_id, approval)
    out.print(f"flow run {flow_run_id} resumed: {decision} by {approver}")


def pending() -> None:
    """Training runs paused until someone approves or rejects them."""
    from flows.pipelines.approval import pending as paused_runs

    with one_line_errors():
        runs = paused_runs()
    table = Table(title="training runs waiting for approval (wsad approve ID ...)")
    for col in ("flow run id", "name", "paused since", "expires"):
        table.add_column(col)
    for run in runs:
        table.add_row(run["id"], run["name"], run["since"], run["expires"])
    out.print(table)
