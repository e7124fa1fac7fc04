"""The Prefect flow run this code runs in: its id names the run's log
(`prefect flow-run logs ID`, flows/runtime/run_log.py) and keys a retried release step."""

from __future__ import annotations

from prefect.context import FlowRunContext


def current_run_id() -> str | None:
    """The id of the flow run this code runs in; None outside a flow run."""
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None
