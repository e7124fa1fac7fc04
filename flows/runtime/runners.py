"""Where the training flow's heavy tasks run: threads on this machine by default, or a Ray
cluster through prefect-ray when `ray_address` is set, with one GPU per task where the
cluster has GPUs (the detectors' `device="auto"` then picks the GPU Ray assigned).

The runner is chosen per run from the settings rather than fixed in the flow decorator, so
`wsad train`, `wsad serve` and work-pool deployments all honour `WSAD_RAY_ADDRESS`. Ray is
imported only when an address is set: the package works without the `[distributed]` extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.runtime import progress
from flows.runtime.config import Settings


class DistributedError(ValueError):
    """Ray training was asked for but cannot run here."""


def gpus_per_task(requested: float | None, cluster: Mapping[str, float]) -> float:
    """GPUs each training task asks Ray for: the configured number, or (None) one where the
    cluster reports any GPU and none otherwise, so a CPU cluster never waits for a GPU."""
    if requested is not None:
        return requested
    return 1.0 if cluster.get("GPU", 0.0) > 0 else 0.0


def _ray_runner(address: str) -> TaskRunner[Any]:
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as err:
        raise DistributedError(
            f"WSAD_RAY_ADDRESS is {address!r} but prefect-ray is not installed; "
            "install the extra: pip install 'wsad[distributed]'"
        ) from err
    return RayTaskRunner(address=address)


@contextmanager
def training_runner(settings: Settings) -> Iterator[TaskRunner[Any]]:
    """A started task runner for the training tasks; on Ray, tasks submitted inside the
    block request `gpus_per_task` GPUs each."""
    if settings.ray_address is None:
        with ThreadPoolTaskRunner[Any](max_workers=2) as threads:
            yield threads
        return
    ray_runner = _ray_runner(settings.ray_address)
    import ray
    from prefect_ray.context import remote_options

    # The tasks report their folds in the Ray workers' logs; here, the whole stage.
    with (
        progress.stage(f"cross-validation on the Ray cluster at {settings.ray_address}"),
        ray_runner as runner,
    ):
        gpus = gpus_per_task(settings.gpus_per_task, ray.cluster_resources())
        with remote_options(num_gpus=gpus):
            yield runner
