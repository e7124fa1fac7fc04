"""Every client MLflow serves: the demo table's champion behind MLflow's own scoring server
(`mlflow models serve --env-manager local`) and behind `wsad serve-model`, both real
servers on loopback. The same 40 rows go to both in every request format MLflow's server
accepts for this model (dataframe_split, dataframe_records, inputs and instances as records
or columns, one record of scalars, CSV, parquet, with and without `params`), and both answer
the scores `wsad score` writes; what MLflow refuses for this model (a tensor without column
names) and a malformed table are refused by both, `wsad serve-model` in one line."""

from __future__ import annotations

import http.client
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components.registry import store
from tests.flows.cli.test_serve_model import demo_store, promote, register_iforest
from tests.flows.conftest import cli_env, run_wsad
from tests.integration.servers import QUIET, Server, free_port, start, wait_healthy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROWS = 40
JSON = "application/json"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """The demo table, an isolation forest as its audited champion, and the first 40 rows
    scored by `wsad score` (Prefect's ephemeral API)."""
    root = tmp_path_factory.mktemp("formats")
    settings = demo_store(root)
    store.configure(settings.tracking_uri)
    register_iforest(settings, root, n_estimators=100, seed=0, profiled=True)
    promote(settings, "1")
    rows = root / "rows.csv"
    pd.read_csv(settings.records).head(ROWS).to_csv(rows, index=False)
    env = cli_env(settings)
    done = run_wsad(["score", "--records", str(rows), "--out", str(root / "scores.csv")], root, env)
    assert done.returncode == 0, done.stdout
    return root, settings, env, pd.read_csv(rows), pd.read_csv(root / "scores.csv")


def serve(cmd: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[Server]:
    server = start(cmd, {**os.environ, **QUIET, **env}, log, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(server, "/ping", timeout=300)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mlflow_server(project) -> Iterator[Server]:
    root, settings, _, _, _ = project
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    cmd = [str(mlflow), "models", "serve", "-m", f"models:/{settings.model_name}@champion"]
    cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    # MLflow starts `uvicorn` from the PATH: this environment's, as after `source .venv/...`
    path = f"{mlflow.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {"MLFLOW_TRACKING_URI": settings.tracking_uri, "PATH": path}
    yield from serve(cmd, env, root / "mlflow.log", port)


@pytest.fixture(scope="module")
def wsad_server(project) -> Iterator[Server]:
    root, _, env, _, _ = project
    port = free_port()
    wsad = Path(sys.executable).with_name("wsad")
    cmd = [str(wsad), "serve-model", "--port", str(port)]
    yield from serve(cmd, {**env, "OMP_NUM_THREADS": "1"}, root / "wsad.log", port)


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def bodies(rows: pd.DataFrame) -> dict[str, tuple[bytes, str]]:
    """The 40 rows in each request format MLflow's scoring server accepts for this model."""
    records = rows.to_dict(orient="records")
    columns = rows.to_dict(orient="list")
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    payloads: dict[str, dict[str, Any]] = {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_split_with_index": {"dataframe_split": rows.to_dict(orient="split")},
        "dataframe_records": {"dataframe_records": records},
        "inputs_records": {"inputs": records},
        "inputs_columns": {"inputs": columns},
        "instances_records": {"instances": records},
        "instances_columns": {"instances": columns},
        "dataframe_split_params": {"dataframe_split": split, "params": {"threshold": 0.1}},
        "inputs_records_params": {"inputs": records, "params": {"threshold": 0.1}},
    }
    sent = {name: (json.dumps(p).encode(), JSON) for name, p in payloads.items()}
    sent["csv"] = (rows.to_csv(index=False).encode(), "text/csv")
    sent["parquet"] = (parquet(rows), "application/vnd.apache.parquet")
    return sent


def post(server: Server, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=120)
    try:
        connection.request("POST", "/invocations", body, {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def assert_scores(answer: dict[str, Any], expected: pd.DataFrame, where: str) -> None:
    got = pd.DataFrame(answer["predictions"])
    assert len(got) == len(expected), where
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-9, err_msg=where)
    assert got["is_anomaly"].astype(bool).tolist() == expected["is_anomaly"].tolist(), where


def test_every_format_scores_as_wsad_score_on_both_servers(project, mlflow_server, wsad_server):
    _, _, _, rows, expected = project
    assert len(expected) == ROWS
    for name, (body, content_type) in bodies(rows).items():
        for server in (mlflow_server, wsad_server):
            status, answer = post(server, body, content_type)
            where = f"{name} on {server.log.stem}: {answer}"
            assert status == 200, where
            assert_scores(answer, expected, where)


def test_one_record_of_scalars_is_one_row_on_both_servers(project, mlflow_server, wsad_server):
    _, _, _, rows, expected = project
    # Features only: MLflow turns a column its signature lacks (the id) into an array there,
    # and then refuses the record as a table of scalars; `wsad serve-model` takes both.
    body = json.dumps({"inputs": rows.drop(columns="id").iloc[3].to_dict()}).encode()
    for server in (mlflow_server, wsad_server):
        status, answer = post(server, body, JSON)
        assert status == 200, answer
        assert_scores(answer, expected.iloc[[3]], server.log.stem)


@pytest.mark.parametrize("case", ["tensor", "missing_column"])
def test_what_mlflow_refuses_both_refuse_wsad_in_one_line(
    project, mlflow_server, wsad_server, case
):
    _, _, _, rows, _ = project
    features = rows.drop(columns="id")
    payload = (
        {"inputs": features.to_numpy().tolist()}
        if case == "tensor"
        else {"inputs": features.drop(columns="mean_area").to_dict(orient="records")}
    )
    body = json.dumps(payload).encode()
    status, _ = post(mlflow_server, body, JSON)
    assert status == 400
    status, answer = post(wsad_server, body, JSON)
    assert status == 400
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "\n" not in answer["message"]
    expected = "rows need column names" if case == "tensor" else "mean_area"
    assert expected in answer["message"]
