"""Prefect flows and the `wsad` CLI.

Importing this package sets quiet, offline defaults for Prefect, MLflow, DVC and GX (no
telemetry, homes inside the working directory) unless the environment already sets them,
so a fresh clone never hangs on a network call.
"""

import logging
import os
from pathlib import Path

_OFFLINE_DEFAULTS = {
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
}
for _key, _value in _OFFLINE_DEFAULTS.items():
    os.environ.setdefault(_key, _value)

# GX announces its ephemeral docs site at INFO on every validation; keep the CLI quiet.
logging.getLogger("great_expectations").setLevel(logging.WARNING)
