"""The training flow against real servers on loopback: PostgreSQL behind both an MLflow
tracking server (basic-auth, proxied artifacts) and a Prefect server (API auth string). The
flow process is pointed at them by settings alone (WSAD_*, MLFLOW_*, PREFECT_* variables);
the champion is then read back through MLflow's REST API and the run through Prefect's."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.flows.conftest import cli_env, make_project
from tests.integration.servers import (
    Server,
    basic_auth,
    mlflow_server,
    postgres_bin,
    postgres_cluster,
    prefect_server,
    wait_healthy,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ADMIN = "wsad-admin"
# Load the champion back through the tracking server's artifact proxy and score with it.
FLOW_SCRIPT = """
import json, pandas as pd
from components.registry import store
from flows.runtime.config import Settings
from flows.pipelines.training import training_flow
settings = Settings()
state = training_flow(settings, return_state=True)
result = state.result()
model = store.load_model(settings.model_name)
scores = model.predict(pd.read_csv(settings.records).head(20))
print(json.dumps({"result": result, "flow_run_id": str(state.state_details.flow_run_id),
                  "scored": len(scores)}, default=str))
"""


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    """Postgres + MLflow server + Prefect server, all stopped (process groups) afterwards,
    and a demo project (git + DVC) built while the servers start."""
    bin_dir = postgres_bin()
    require("PostgreSQL (initdb, pg_ctl)", bin_dir is not None, "apt-get install postgresql")
    assert bin_dir is not None
    workdir = Path(tempfile.mkdtemp(prefix="wsad-servers-"))
    password = secrets.token_urlsafe(16)
    prefect_auth = f"{ADMIN}:{secrets.token_urlsafe(16)}"
    with postgres_cluster(bin_dir) as pg:
        for database in ("mlflow", "mlflow_auth", "prefect"):
            pg.createdb(database)
        started: list[Server] = []
        try:
            started.append(mlflow_server(pg, workdir, ADMIN, password))
            started.append(prefect_server(pg, workdir, prefect_auth))
            mlflow, prefect = started
            (workdir / "project").mkdir()
            settings = make_project(workdir / "project")
            wait_healthy(mlflow, "/health", timeout=240)
            wait_healthy(prefect, "/api/health", timeout=240)
            yield {
                "workdir": workdir,
                "settings": settings,
                "mlflow": mlflow,
                "mlflow_auth": basic_auth(ADMIN, password),
                "mlflow_password": password,
                "prefect": prefect,
                "prefect_auth": prefect_auth,
                "prefect_header": basic_auth(*prefect_auth.split(":", 1)),
            }
        finally:
            for server in started:
                server.stop()
            shutil.rmtree(workdir, ignore_errors=True)


def get_json(url: str, auth: str | None, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", auth)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def status_without_credentials(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_training_flow_against_real_postgres_mlflow_and_prefect_servers(
    servers: dict[str, Any],
) -> None:
    mlflow, prefect = servers["mlflow"], servers["prefect"]
    root = servers["workdir"] / "project"
    settings = servers["settings"].model_copy(
        update={"methods": ["iforest"], "params": {}, "tracking_uri": mlflow.url}
    )
    env = {
        **os.environ,
        **cli_env(settings),
        "MLFLOW_TRACKING_USERNAME": ADMIN,
        "MLFLOW_TRACKING_PASSWORD": servers["mlflow_password"],
        "PREFECT_API_URL": f"{prefect.url}/api",
        "PREFECT_API_AUTH_STRING": servers["prefect_auth"],
        "PREFECT_HOME": str(servers["workdir"] / "prefect-client"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", FLOW_SCRIPT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,  # a few minutes when the machine is shared; about one alone
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["result"]["promoted"], out["result"]["reason"]
    assert out["scored"] == 20

    # The champion, as the MLflow server's REST API reports it (credentials required).
    query = urllib.parse.urlencode({"name": settings.model_name, "alias": "champion"})
    alias_url = f"{mlflow.url}/api/2.0/mlflow/registered-models/alias?{query}"
    version = get_json(alias_url, servers["mlflow_auth"])["model_version"]
    assert version["version"] == str(out["result"]["version"])
    assert version["status"] == "READY"
    assert version["source"].startswith("models:/") or "mlflow-artifacts" in version["source"]
    assert status_without_credentials(alias_url) == 401
    # The model files went through the server's artifact proxy into its destination.
    proxied = [f.name for f in (servers["workdir"] / "artifacts").rglob("*") if f.is_file()]
    assert "MLmodel" in proxied

    # The flow run, as the Prefect server recorded it (API auth string required).
    run_url = f"{prefect.url}/api/flow_runs/{out['flow_run_id']}"
    run = get_json(run_url, servers["prefect_header"])
    assert run["state_type"] == "COMPLETED"
    flow = get_json(f"{prefect.url}/api/flows/{run['flow_id']}", servers["prefect_header"])
    assert flow["name"] == "wsad-training"
    assert status_without_credentials(run_url) == 401
