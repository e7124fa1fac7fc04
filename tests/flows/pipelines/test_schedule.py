"""Scheduled retraining against a real Prefect server: `wsad serve` registers the cron
deployment (seen by the real `prefect deployment ls`), a triggered run trains, gates,
promotes and audits; `wsad deploy` registers the same deployment on a process work pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.workers.process import ProcessWorker
from typer.testing import CliRunner

from components.provenance.audit import AuditLog
from components.provenance.lineage import data_version
from components.registry import store
from flows.cli.main import app
from flows.runtime.config import Settings
from flows.runtime.retrain_lock import lock_name
from tests.flows.conftest import cli_env, copy_project

pytestmark = pytest.mark.slow  # `wsad serve` runs a deployment and its flow runs (tests/README.md)

CRON = "17 4 * * 2"


@pytest.fixture
def served(
    tmp_path, monkeypatch, project_template, prefect_server
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A project training IsolationForest only; this process and its children use the server."""
    monkeypatch.chdir(tmp_path)
    settings = copy_project(project_template, tmp_path).model_copy(
        update={"methods": ["iforest"], "params": {}, "model_name": f"served-{tmp_path.name}"}
    )
    env = {
        **os.environ,
        **cli_env(settings),
        "WSAD_MODEL_NAME": settings.model_name,
        "WSAD_WHO": "scheduler",
        "WSAD_SCHEDULE_CRON": CRON,
        "WSAD_DEPLOYMENT_NAME": settings.model_name,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    store.configure(settings.tracking_uri)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield settings, env


def read_deployment(name: str):
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(f"wsad-training/{name}")


def one_at_a_time(deployment) -> bool:
    """Limit 1, and a run that comes due while another runs waits instead of overlapping."""
    limit = deployment.global_concurrency_limit
    options = deployment.concurrency_options
    return limit.limit == 1 and options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE


def wait_for_deployment(name: str, serving: subprocess.Popen):
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert serving.poll() is None, serving.stdout.read() if serving.stdout else ""
        try:
            return read_deployment(name)
        except ObjectNotFound:
            time.sleep(1)
    raise AssertionError(f"wsad serve never registered {name}")


def test_serve_registers_the_cron_deployment_and_a_triggered_run_promotes(served, tmp_path):
    settings, env = served
    serving = subprocess.Popen(
        [sys.executable, "-m", "flows.cli.main", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deployment = wait_for_deployment(settings.model_name, serving)
        assert [s.schedule.cron for s in deployment.schedules] == [CRON]
        assert all(s.active for s in deployment.schedules)
        assert one_at_a_time(deployment)
        listed = subprocess.run(
            [sys.executable, "-m", "prefect", "deployment", "ls"],
            env={**env, "COLUMNS": "250"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"wsad-training/{settings.model_name}" in listed.stdout

        run = run_deployment(f"wsad-training/{settings.model_name}", timeout=300, poll_interval=1)
        assert run.state is not None
        assert run.state.is_completed(), run.state
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            console, _ = serving.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            serving.kill()
            console, _ = serving.communicate()

    # A scheduled run has no terminal display: its stages are log lines on the serve console.
    assert "flows.runtime.progress - cross-validation iforest: 3 folds" in console, console
    assert "\x1b[?25l" not in console  # no live bars
    assert store.get_alias_version(settings.model_name, "champion") == "1"
    entry = AuditLog(settings.audit_log).entries()[-1]
    assert (entry["action"], entry["version"]) == ("promote", "1")
    assert entry["who"] == entry["approver"] == "scheduler"
    assert entry["data_version"] == data_version(settings.data_dvc)
    with get_client(sync_client=True) as client:
        lock = client.read_global_concurrency_limit_by_name(lock_name(settings.model_name))
    assert (lock.limit, lock.active_slots) == (1, 0)


def test_deploy_registers_the_schedule_on_a_process_work_pool(served, tmp_path):
    settings, env = served
    pool = f"pool-{tmp_path.name}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(
            WorkPoolCreate(
                name=pool,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    result = CliRunner().invoke(
        app, ["deploy", "--pool", pool, "--source", repo, "--cron", "0 5 * * *"], env=env
    )
    assert result.exit_code == 0, result.output
    deployment = read_deployment(settings.model_name)
    assert deployment.work_pool_name == pool
    assert deployment.entrypoint == "flows/pipelines/training.py:training_flow"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 5 * * *"]
    assert one_at_a_time(deployment)
    assert deployment.parameters["settings"]["model_name"] == settings.model_name
    assert "audit_key" not in deployment.parameters["settings"]

    missing = CliRunner().invoke(app, ["deploy", "--pool", "no-such-pool"], env=env)
    assert missing.exit_code == 2
