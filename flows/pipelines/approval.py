"""The human approval gate: a training run whose gates passed pauses until someone answers.

Why: some releases need a person's sign-off before `champion` moves. The run pauses
(Prefect `pause_flow_run` with a typed `Approval` input, the form the Prefect UI shows) and
`wsad approve` resumes it with the answer. No answer within `approval_timeout_s` counts as a
rejection. The decision itself stays in components/registry/gates.py (`with_approval`);
this module only waits for and delivers the answer. Pausing needs a Prefect API that both
the paused run and the approver reach (a Prefect server via PREFECT_API_URL).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, NotPausedError, ObjectNotFound
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput

from components.registry import RegistryError, gates, promotion, registration
from flows.runtime import progress
from flows.runtime.config import TRAINING_FLOW, Settings


class Approval(RunInput):
    """An approver's answer to a paused training run."""

    approver: str
    decision: Literal["approve", "reject"]
    reason: str


def ask_approval(
    decision: gates.Decision, ref: registration.ModelRef, settings: Settings
) -> tuple[gates.Decision, str]:
    """Pause this flow run until an `Approval` arrives (or the timeout passes) and fold the
    answer into the decision. Returns the new decision and who answered."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RegistryError("approval needs a running flow; call it from training_flow")
    run_id = str(context.flow_run.id)
    promotion.await_approval(ref.name, ref.version, run_id)
    progress.say(
        f"{ref.name} v{ref.version} passed every gate and waits for approval "
        f"({settings.approval_timeout_s}s): wsad approve {run_id} --approver NAME "
        "--decision approve|reject --reason TEXT"
    )
    try:
        reply = pause_flow_run(
            wait_for_input=Approval,
            timeout=settings.approval_timeout_s,
            poll_interval=settings.approval_poll_s,
        )
    except FlowPauseTimeout:
        why = f"no answer within {settings.approval_timeout_s}s"
        return gates.with_approval(decision, "nobody", "timeout", why), "nobody"
    return (
        gates.with_approval(decision, reply.approver, reply.decision, reply.reason),
        reply.approver,
    )


def answer(flow_run_id: str, approval: Approval) -> None:
    """Resume a paused training run with an approver's answer."""
    hint = "list the runs waiting for approval with `wsad pending`"
    try:
        resume_flow_run(UUID(flow_run_id), run_input=approval.model_dump())
    except FlowPauseTimeout as err:
        raise RegistryError(
            f"flow run {flow_run_id} timed out waiting for approval and was rejected"
        ) from err
    except (ValueError, RuntimeError, NotPausedError, ObjectNotFound) as err:
        raise RegistryError(
            f"flow run {flow_run_id} is not waiting for approval ({err}); {hint}"
        ) from err


def pending() -> list[dict[str, Any]]:
    """Training runs paused for approval, oldest first: id, name, since, expires."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[TRAINING_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
            sort=FlowRunSort.START_TIME_ASC,
        )
    return [
        {
            "id": str(run.id),
            "name": run.name,
            "since": run.state.timestamp.isoformat() if run.state else "",
            "expires": (
                run.state.state_details.pause_timeout.isoformat()
                if run.state and run.state.state_details.pause_timeout
                else ""
            ),
        }
        for run in runs
    ]
