"""Quiet, offline defaults for Prefect, MLflow, DVC and GX: no telemetry, no progress bars,
Prefect's home inside the working directory, so a fresh clone never hangs on a network call.

Set by the entry points (the `wsad` callback, the tests' conftest, the benchmarks that run
the flow), never on import: importing `flows` or `components` leaves `os.environ` alone.
A variable the environment already sets wins. The Makefile exports the telemetry switches
too, for the tools it runs itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from pathlib import Path

from flows.runtime.run_log import log_environment


def offline_defaults() -> dict[str, str]:
    """The variables and their values (Prefect's home under the current directory)."""
    return {
        "DO_NOT_TRACK": "true",  # MLflow needs "true", not "1"
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_HOME": str(Path.cwd() / ".prefect"),
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "DASK_LOGGING__DISTRIBUTED": "warning",
        **log_environment(),  # our records and the libraries' go to the run's log
    }


def go_offline(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set the offline defaults the environment does not set yet. Prefect and MLflow read
    some of them when they are imported: call this before either loads."""
    for key, value in offline_defaults().items():
        environ.setdefault(key, value)
    # GX announces its ephemeral docs site at INFO on every validation.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
