"""One retrain at a time per model name, however the run was started.

Why: two retrains of the same model racing would both gate against the same champion and
the later `champion` move would win regardless of merit. A deployment's own concurrency
limit (see flows/pipelines/schedule.py) only covers runs of that deployment; an ad-hoc `wsad train`
or a second deployment of the same model would still overlap. So every training run holds a slot
of a Prefect *global* concurrency limit named after the model (limit 1), created on first
use. Global limits (not tag limits) because tag limits throttle task runs, not whole flows,
and a global limit's slot is a lease: a run that dies frees it when the lease expires.
Not `strict`: a lease renewal that fails (API briefly unreachable, or a lease the server
already dropped) is logged and the run goes on, instead of being cancelled half-way through
training; promotions stay serialised by the registry's release lock either way.
Only against a configured Prefect server (PREFECT_API_URL): Prefect's ephemeral API is a
throwaway server inside each process, whose leases no other process sees, so a slot there
would serialise nothing; on one machine the registry's release lock (a file lock) does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.settings import get_current_settings

log = logging.getLogger(__name__)


def lock_name(model_name: str) -> str:
    """The global concurrency limit that serialises retrains of `model_name`."""
    return f"wsad-retrain-{model_name}"


@contextmanager
def one_retrain_per_model(model_name: str) -> Iterator[None]:
    """Hold the model's retrain slot for the block; waits while another run holds it."""
    name = lock_name(model_name)
    if get_current_settings().api.url is None:
        log.info("ephemeral Prefect API: retrain slot %s not taken (no server to hold it)", name)
        yield
        return
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name, limit=1)
    log.info("waiting for retrain slot %s", name)
    with concurrency(name, occupy=1):
        yield
