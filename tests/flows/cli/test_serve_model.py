"""`wsad serve-model` as a real server subprocess on a loopback port, against a registry with
two tiny versions: the demo table scored over HTTP (by MLflow's own client, and as CSV)
equals `wsad score`, malformed requests get 400 with the line `wsad score` prints, and a
promotion, then a rollback, reach the running server without a failed request. The
refusals to start run the command in-process: they must end before anything listens."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from typer.testing import CliRunner

from components.data.demo import build_demo_data
from components.data.tables import Scaler, feature_matrix, infer_schema
from components.detectors import make
from components.monitoring.profile import build_profile
from components.provenance.audit import AuditLog
from components.registry import gates, promotion, registration, store
from components.registry.bundle import write_bundle
from components.selection.calibration import calibrate_threshold
from components.serving.http_app import Champion, ServingConfig
from components.serving.metrics import ServingMetrics
from flows.cli.main import app
from flows.runtime.config import Settings
from tests.conftest import candidate_facts
from tests.flows.cli.test_bad_inputs import TABLE_CASES, records
from tests.flows.conftest import cli_env, free_port, wait_for_health

pytestmark = pytest.mark.slow  # `wsad serve-model` servers started and stopped (tests/README.md)

POLL_S = 0.5
MALFORMED = ("missing_column", "extra_column", "renamed_column", "strings_in_numeric", "nan")
FORMATS = ("split", "records", "csv", "split", "split")


def register_iforest(
    settings: Settings, work: Path, n_estimators: int, seed: int, profiled: bool
) -> str:
    """A quick isolation forest on the demo table, registered as the training flow does
    (schema, scaler, detector and threshold in one pyfunc version, audited); `profiled`
    adds the reference profile of its training rows, as versions trained since profiles
    carry (without: a version registered before them)."""
    table = pd.read_csv(settings.records)
    schema = infer_schema(table, settings.id_column)
    X = feature_matrix(table, schema)
    scaler = Scaler.fit(X)
    detector = make("iforest", n_estimators=n_estimators, random_state=seed)
    detector.fit(scaler.transform(X), np.zeros(len(X), dtype=np.int64))
    scores = detector.decision_function(scaler.transform(X))
    threshold = calibrate_threshold(scores, "quantile", contamination=0.05)
    profile = (
        build_profile(
            X,
            schema.features,
            n_labelled=0,
            contamination={"estimate": 0.05, "low": 0.03, "high": 0.08},
            threshold=threshold.value,
            flag_rate=float(threshold.flag(scores).mean()),
        )
        if profiled
        else None
    )
    bundle = write_bundle(work / f"bundle-{seed}", detector, schema, scaler, threshold, profile)
    params = {"n_estimators": n_estimators, "random_state": seed}
    ref = registration.log_candidate(
        settings.model_name,
        bundle,
        candidate_facts("iforest", params),
        params,
        [],
        table[list(schema.features)].head(5),
        AuditLog(settings.audit_log),
        settings.who,
    )
    return ref.version


def demo_store(root: Path) -> Settings:
    """The demo data under `root`, with an empty MLflow store and audit log beside it."""
    build_demo_data(root / "data")
    return Settings(
        records=root / "data" / "records.csv",
        labels=root / "data" / "labels.csv",
        tracking_uri=f"sqlite:///{root}/mlruns/mlflow.db",
        audit_log=root / "mlruns" / "audit.jsonl",
        who="tester",
    )


def promote(settings: Settings, version: str) -> None:
    """Move champion to `version` as `wsad promote` does once its gates have passed."""
    decision = gates.Decision(True, {}, "promoted by the serving test")
    promotion.promote(
        settings.model_name, version, decision, AuditLog(settings.audit_log), "tester"
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """The demo data and a registry with two isolation forests, v1 champion (with a
    reference profile) and v2 not yet promoted (without one), shared by every test here.
    Built through the registry directly: the training flow's validation and contamination
    steps, most of its cost, play no part in serving."""
    root = tmp_path_factory.mktemp("serving")
    settings = demo_store(root)
    store.configure(settings.tracking_uri)
    assert register_iforest(settings, root, n_estimators=100, seed=0, profiled=True) == "1"
    promote(settings, "1")
    assert register_iforest(settings, root, n_estimators=50, seed=1, profiled=False) == "2"
    return root, settings, cli_env(settings)


@pytest.fixture(scope="module")
def server(trained) -> Iterator[str]:
    """`wsad serve-model` on a free loopback port, its drift window as long as the demo
    table (scoring the table fills it with the table's rows alone); yields host:port once it
    answers."""
    root, _, env = trained
    port = free_port()
    log = (root / "server.log").open("w")
    wsad = Path(sys.executable).with_name("wsad")
    window = str(len(records(root)))
    process = subprocess.Popen(
        [
            *(str(wsad), "serve-model", "--port", str(port), "--poll-seconds", str(POLL_S)),
            *("--drift-window-rows", window),
        ],
        cwd=root,
        env={**os.environ, **env, "OMP_NUM_THREADS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        wait_for_health(f"http://{address}/ping", process, root / "server.log")
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def get(address: str, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(address, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def request_body(frame: pd.DataFrame, kind: str) -> tuple[bytes, str]:
    """The table as MLflow's protocol carries it: dataframe_split or dataframe_records JSON
    (every value exactly as read, NaN as null), or CSV."""
    if kind == "csv":
        return frame.to_csv(index=False).encode(), "text/csv"
    values = frame.astype(object).where(frame.notna(), None)
    payload: dict[str, Any] = (
        {"dataframe_split": {"columns": list(frame.columns), "data": values.to_numpy().tolist()}}
        if kind == "split"
        else {"dataframe_records": values.to_dict(orient="records")}
    )
    return json.dumps(payload).encode(), "application/json"


def invoke(
    connection: http.client.HTTPConnection, frame: pd.DataFrame, kind: str = "split"
) -> tuple[int, dict[str, Any], str | None]:
    """POST /invocations; status, JSON body and the version that answered."""
    body, content_type = request_body(frame, kind)
    connection.request("POST", "/invocations", body, {"Content-Type": content_type})
    response = connection.getresponse()
    return (
        response.status,
        json.loads(response.read()),
        response.getheader("X-Wsad-Model-Version"),
    )


def wsad_score(trained, table: Path, out: Path, monkeypatch) -> Any:
    """`wsad score` on `table` (in-process: Prefect's API is already up here)."""
    root, _, env = trained
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["score", "--records", str(table), "--out", str(out)], env=env)


def counter(metrics: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_demo_table_over_http_equals_wsad_score(trained, server, tmp_path, monkeypatch):
    root, settings, _ = trained
    done = wsad_score(trained, settings.records, tmp_path / "batch.csv", monkeypatch)
    assert done.exit_code == 0, done.output
    batch = pd.read_csv(tmp_path / "batch.csv")
    host, port = server.split(":")
    by_mlflow_client = ScoringServerClient(host, int(port)).invoke(records(root))
    connection = http.client.HTTPConnection(server, timeout=60)
    status, body, version = invoke(connection, records(root), "csv")
    connection.close()
    assert (status, version) == (200, "1"), body
    for online in (by_mlflow_client.get_predictions(), pd.DataFrame(body["predictions"])):
        assert list(online.columns) == ["id", "score", "is_anomaly"]
        assert online["id"].tolist() == batch["id"].tolist()
        np.testing.assert_allclose(online["score"], batch["score"], rtol=0, atol=1e-6)
        assert online["is_anomaly"].tolist() == batch["is_anomaly"].tolist()


def test_malformed_requests_get_400_with_the_line_wsad_score_prints(
    trained, server, tmp_path, monkeypatch
):
    root = trained[0]
    before = get(server, "/metrics")[1]
    connection = http.client.HTTPConnection(server, timeout=60)
    for case, kind in zip(MALFORMED, FORMATS, strict=True):
        bad = TABLE_CASES[case][0](root)
        bad.to_csv(tmp_path / f"{case}.csv", index=False)
        done = wsad_score(trained, tmp_path / f"{case}.csv", tmp_path / "s.csv", monkeypatch)
        printed = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert done.exit_code != 0
        assert len(printed) == 1, done.output
        status, body, _ = invoke(connection, bad, kind)
        assert status == 400, (case, body)
        assert body == {"error_code": "INVALID_PARAMETER_VALUE", "message": printed[0][7:]}, case
    connection.close()
    after = get(server, "/metrics")[1]
    status_400 = 'wsad_serving_requests_total{status="400"}'
    assert counter(after, status_400) - counter(before, status_400) == len(MALFORMED)
    assert counter(after, "wsad_serving_rows_total") == counter(before, "wsad_serving_rows_total")


class Client(threading.Thread):
    """Scores the first 20 rows over and over on one keep-alive connection until stopped
    (or 120 s): every answer's status and version, every failure."""

    def __init__(self, address: str, frame: pd.DataFrame) -> None:
        super().__init__(daemon=True)
        self.address, self.frame = address, frame
        self.answers: list[tuple[int, str | None, list[float]]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.address, timeout=30)
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                status, body, version = invoke(connection, self.frame)
                scores = [row["score"] for row in body.get("predictions", [])]
                self.answers.append((status, version, scores))
            except (OSError, http.client.HTTPException, ValueError) as err:
                self.failures.append(repr(err))
                connection.close()
        connection.close()

    def wait_for(self, version: str, answers: int = 5, timeout: float = 60) -> None:
        """Until `answers` consecutive answers came from `version`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = [v for _, v, _ in self.answers[-answers:]]
            if len(tail) == answers and set(tail) == {version}:
                return
            time.sleep(0.05)
        raise AssertionError(f"no answers from v{version}: {[v for _, v, _ in self.answers]}")


def test_promotion_and_rollback_reach_the_server_without_a_failed_request(trained, server):
    root, settings, _ = trained
    rows = records(root).head(20)
    v2 = store.load_version(settings.model_name, "2").unwrap_python_model()
    v2_scores = v2.predict(None, rows)["score"].to_numpy()
    client = Client(server, rows)
    client.start()
    try:
        client.wait_for("1")
        promote(settings, "2")
        client.wait_for("2")
        assert (
            promotion.rollback(settings.model_name, AuditLog(settings.audit_log), "tester") == "1"
        )
        client.wait_for("1")
    finally:
        client.stop.set()
        client.join(timeout=60)
    assert client.failures == []
    assert {status for status, _, _ in client.answers} == {200}
    versions = [version for _, version, _ in client.answers]
    switches = [(a, b) for a, b in zip(versions, versions[1:], strict=False) if a != b]
    assert switches == [("1", "2"), ("2", "1")]
    for _, version, scores in client.answers:
        if version == "2":
            np.testing.assert_allclose(scores, v2_scores, rtol=0, atol=1e-6)
    metrics = get(server, "/metrics")[1]
    assert counter(metrics, 'wsad_serving_reloads_total{outcome="swapped"}') == 2
    assert counter(metrics, 'wsad_serving_model_version{model="wsad-detector"}') == 1


def test_a_failed_reload_keeps_the_current_version_until_a_retry_succeeds(trained, monkeypatch):
    """In-process: the champion's replacement fails to load once; the previous version
    answers meanwhile, /metrics shows the reload pending, and the next poll swaps it in."""
    _, settings, _ = trained
    config = ServingConfig(settings.model_name, settings.audit_log, poll_s=0.05)
    metrics = ServingMetrics(settings.model_name)
    champion = Champion(config, metrics)
    assert champion.current.version == "1"
    real_load = store.load_version
    failing = threading.Event()
    failing.set()

    def load_version(name: str, version: str) -> Any:
        if failing.is_set():
            raise OSError(f"artifact store unreachable while loading v{version}")
        return real_load(name, version)

    monkeypatch.setattr(store, "load_version", load_version)
    stop = threading.Event()
    watcher = threading.Thread(target=champion.follow, args=(stop,), daemon=True)
    watcher.start()
    try:
        promote(settings, "2")
        deadline = time.monotonic() + 30
        while counter(metrics.render().decode(), "wsad_serving_reload_pending") != 1:
            assert time.monotonic() < deadline, metrics.render().decode()
            time.sleep(0.05)
        assert champion.current.version == "1"
        failing.clear()
        while champion.current.version != "2":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join(timeout=30)
    text = metrics.render().decode()
    assert counter(text, "wsad_serving_reload_pending") == 0
    assert counter(text, 'wsad_serving_reloads_total{outcome="failed"}') >= 1
    assert counter(text, 'wsad_serving_reloads_total{outcome="swapped"}') == 1


REFUSALS: dict[str, tuple[list[str], str]] = {
    "log_names_no_champion": ([], "names no champion; refusing"),
    "log_does_not_verify": ([], "fails verification"),
    "host_not_loopback": (["--host", "0.0.0.0"], "not loopback.*--allow-remote"),  # noqa: S104
    "no_workers": (["--workers", "0"], "--workers is 0"),
    "empty_drift_window": (["--drift-window-rows", "0"], "WSAD_SERVE_DRIFT_WINDOW_ROWS .*= 0"),
    "port_in_use": ([], r"cannot listen on 127\.0\.0\.1:\d+ \(Address already in use\)"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_serve_model_refuses_to_start_in_one_line(case, trained, tmp_path, monkeypatch):
    root, settings, env = trained
    args, pattern = REFUSALS[case]
    log = tmp_path / "audit.jsonl"
    if case == "log_names_no_champion":
        env = {**env, "WSAD_AUDIT_LOG": str(log)}
    elif case == "log_does_not_verify":
        lines = settings.audit_log.read_text().splitlines()
        lines[0] = lines[0].replace('"tester"', '"mallory"')
        log.write_text("\n".join(lines) + "\n")
        env = {**env, "WSAD_AUDIT_LOG": str(log)}
    monkeypatch.chdir(root)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] if case == "port_in_use" else free_port()
        result = CliRunner().invoke(app, ["serve-model", "--port", str(port), *args], env=env)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(errors) == 1, result.output
    assert re.search(pattern, errors[0]), errors[0]


def serve_version(trained, address: str, version: str) -> None:
    """Make `version` champion (unless the audit log names it already) and wait until the
    server answers with it."""
    root, settings, _ = trained
    if store.champion_version(settings.model_name, AuditLog(settings.audit_log)) != version:
        promote(settings, version)
    connection = http.client.HTTPConnection(address, timeout=30)
    deadline = time.monotonic() + 60
    try:
        while invoke(connection, records(root).head(1))[2] != version:
            assert time.monotonic() < deadline, f"the server never answered with v{version}"
            time.sleep(POLL_S / 5)
    finally:
        connection.close()


def drift_after_scoring(address: str, table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    """Score `table` in one request; then /metrics and /drift."""
    connection = http.client.HTTPConnection(address, timeout=60)
    status, body, _ = invoke(connection, table)
    connection.close()
    assert status == 200, body
    assert len(body["predictions"]) == len(table)
    status, drift = get(address, "/drift")
    assert status == 200, drift
    return get(address, "/metrics")[1], json.loads(drift)


def feature_flags(metrics: str) -> dict[str, float]:
    found = re.findall(
        r'^wsad_serving_drift_feature_drifted\{feature="(\w+)"\} (\S+)$', metrics, re.M
    )
    return {feature: float(value) for feature, value in found}


def test_metrics_show_the_demo_tables_window_without_drift(trained, server):
    root, settings, _ = trained
    serve_version(trained, server, "1")
    table = records(root)
    metrics, drift = drift_after_scoring(server, table)
    assert counter(metrics, "wsad_serving_drift_measured") == 1
    assert counter(metrics, "wsad_serving_drift_window_rows") == len(table)
    flags = feature_flags(metrics)
    assert len(flags) == len(table.columns) - 1  # every feature, the id column aside
    assert set(flags.values()) == {0.0}
    assert counter(metrics, "wsad_serving_drift_flag_rate_outside") == 0
    assert counter(metrics, "wsad_serving_drift_drifted") == 0
    assert drift["measured"]
    assert drift["rows"] == len(table)
    assert not drift["drifted"]
    assert drift["model"] == f"models:/{settings.model_name}/1"


def test_a_column_in_other_units_is_named_drifted_in_metrics(trained, server):
    root = trained[0]
    serve_version(trained, server, "1")
    table = records(root)
    table["mean_area"] *= 1000
    metrics, drift = drift_after_scoring(server, table)
    flags = feature_flags(metrics)
    assert flags.pop("mean_area") == 1
    assert set(flags.values()) == {0.0}  # the window holds the scaled table's rows only
    assert counter(metrics, "wsad_serving_drift_drifted") == 1
    psi = counter(metrics, 'wsad_serving_drift_psi{feature="mean_area"}')
    assert psi > counter(metrics, 'wsad_serving_drift_psi_limit{feature="mean_area"}')
    assert drift["drifted"]
    assert "mean_area (PSI" in drift["summary"]


def test_a_version_without_a_profile_serves_and_says_drift_is_not_measured(trained, server):
    root = trained[0]
    serve_version(trained, server, "2")
    metrics, drift = drift_after_scoring(server, records(root))
    assert counter(metrics, "wsad_serving_drift_measured") == 0
    assert "wsad_serving_drift_window_rows" not in metrics
    assert feature_flags(metrics) == {}
    assert drift["measured"] is False
    assert "drift is not measured" in drift["reason"]


def test_a_new_champion_starts_an_empty_drift_window(trained):
    """In-process: rows scored by v1 leave its window when v2 (no profile) and then v1
    again are swapped in; the reloaded v1 starts from no rows."""
    root, settings, _ = trained
    audit = AuditLog(settings.audit_log)
    if store.champion_version(settings.model_name, audit) != "1":
        promote(settings, "1")
    metrics = ServingMetrics(settings.model_name)
    champion = Champion(ServingConfig(settings.model_name, settings.audit_log), metrics)
    table = records(root)
    champion.current.score(table)
    assert counter(metrics.render().decode(), "wsad_serving_drift_window_rows") == len(table)
    promote(settings, "2")
    assert champion.refresh()
    assert counter(metrics.render().decode(), "wsad_serving_drift_measured") == 0
    assert promotion.rollback(settings.model_name, audit, "tester") == "1"
    assert champion.refresh()
    text = metrics.render().decode()
    assert counter(text, "wsad_serving_drift_measured") == 1
    assert "wsad_serving_drift_window_rows 0.0" in text
