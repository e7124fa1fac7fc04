"""Scheduled retraining: the training flow as a Prefect deployment with a cron schedule.

Two ways to run it:
- one machine: `wsad serve` registers the deployment and runs its flow runs itself
  (`prefect.serve`), until stopped (stopping pauses the schedule);
- production: `wsad deploy --pool NAME` registers it on a process work pool, pulling the
  code from this checkout (`flow.from_source`), for `prefect worker start --pool NAME` to run.

Either way the deployment allows one run at a time (concurrency limit 1; a run that comes
due while another is still going waits in the queue, ENQUEUE, rather than being dropped), and
every training run also holds its model's global slot (flows/runtime/retrain_lock.py), so ad-hoc
`wsad train` runs never overlap a scheduled one. The run's settings are the serving
machine's settings at registration time (shown by `prefect deployment inspect`), less the
audit key, which the run reads from WSAD_AUDIT_KEY.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment

from flows.pipelines.training import training_flow
from flows.runtime.config import Settings

ENTRYPOINT = "flows/pipelines/training.py:training_flow"
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def deployment_options(settings: Settings) -> dict[str, Any]:
    """What both deployment kinds share: name, schedule, concurrency, parameters, tags."""
    return {
        "name": settings.deployment_name,
        "cron": settings.schedule_cron,
        "concurrency_limit": ONE_AT_A_TIME,
        "parameters": {"settings": settings.model_dump(mode="json", exclude={"audit_key"})},
        "tags": ["wsad", f"model:{settings.model_name}"],
        "description": f"Retrain, gate and release {settings.model_name} on a schedule.",
    }


def retrain_deployment(settings: Settings) -> RunnerDeployment:
    """The scheduled training deployment that `wsad serve` runs in-process."""
    # Prefect's sync/async dispatch types the result as "value or coroutine"; sync here.
    return cast(RunnerDeployment, training_flow.to_deployment(**deployment_options(settings)))


def serve_retraining(settings: Settings) -> None:
    """Register the deployment and run its scheduled and triggered runs until interrupted."""
    serve(retrain_deployment(settings))


def deploy_retraining(settings: Settings, pool: str, source: Path) -> str:
    """Register the deployment on a work pool, code pulled from `source`; returns its id."""
    flow = cast(
        Flow[..., Any],
        training_flow.from_source(source=str(source.resolve()), entrypoint=ENTRYPOINT),
    )
    deployment_id = flow.deploy(
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps=False,
        **deployment_options(settings),
    )
    return str(deployment_id)
