"""The human approval gate against a real Prefect server: a training run whose gates pass
pauses, `wsad approve` resumes it to promotion or rejection, no answer in time rejects it,
and every outcome is in the audit log with the approver and the data version.

The first test starts `wsad train --require-approval` as its own process, as an operator
would; the others run the flow in a thread of this process (same server, same pause and
resume calls) because a second Python process costs 10-40 s of imports.
"""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from components.provenance.audit import AuditLog
from components.provenance.lineage import data_version
from components.registry import RegistryError, store
from flows.cli.main import app
from flows.pipelines.approval import pending
from flows.pipelines.training import training_flow
from flows.runtime.config import Settings
from tests.flows.conftest import FAST, cli_env, copy_project


@pytest.fixture
def gated(tmp_path, monkeypatch, project_template, prefect_server) -> Iterator[Settings]:
    """A project training IsolationForest only, with this process talking to the server."""
    monkeypatch.chdir(tmp_path)
    settings = copy_project(project_template, tmp_path).model_copy(update=FAST)
    store.configure(settings.tracking_uri)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield settings


@contextmanager
def gated_training(settings: Settings, server: str, **env: str) -> Iterator[subprocess.Popen]:
    """`wsad train --require-approval` in its own process, as an operator would start it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli.main", "train", "--require-approval", "--who", "trainer"],
        env={
            **os.environ,
            **cli_env(settings),
            "PREFECT_API_URL": server,
            "WSAD_APPROVAL_POLL_S": "1",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@contextmanager
def gated_flow(settings: Settings, **update: Any) -> Iterator[Future]:
    """The training flow with approval required, in a thread that sees this test's server."""
    gated = settings.model_copy(update={"require_approval": True, "approval_poll_s": 1, **update})
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(context.run, training_flow, gated)


def paused_run(settings: Settings, running: subprocess.Popen | Future) -> str:
    """Wait until the run tags version 1 as awaiting approval; return the flow run id."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ended = (
            running.poll() is not None if isinstance(running, subprocess.Popen) else running.done()
        )
        assert not ended, "training ended before pausing"
        try:
            tags = store.version_info(settings.model_name, "1")["tags"]
        except RegistryError:
            tags = {}
        if tags.get("decision") == "awaiting approval":
            return tags["approval_flow_run"]
        time.sleep(0.5)
    raise AssertionError("the training run never paused for approval")


def state_of(flow_run_id: str) -> StateType:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    assert state is not None
    return state.type


def wait_until_paused(flow_run_id: str) -> None:
    deadline = time.monotonic() + 30
    while state_of(flow_run_id) != StateType.PAUSED:
        assert time.monotonic() < deadline, state_of(flow_run_id)
        time.sleep(0.3)


def finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    return output


def approve(flow_run_id: str, decision: str, approver: str = "alice"):
    reason = f"{decision}d after review"
    args = ["approve", flow_run_id, "--approver", approver, "--decision", decision]
    return CliRunner().invoke(app, [*args, "--reason", reason])


def last_entry(settings: Settings) -> dict:
    audit = AuditLog(settings.audit_log)
    assert audit.verify().ok
    return audit.entries()[-1]


@pytest.mark.slow  # a `wsad train` process paused and answered: 14-17 CPU s
def test_approved_run_pauses_then_promotes_with_the_approver_audited(gated, prefect_server):
    with gated_training(gated, prefect_server) as proc:
        run_id = paused_run(gated, proc)
        wait_until_paused(run_id)
        assert run_id in [run["id"] for run in pending()]
        assert store.get_alias_version(gated.model_name, "champion") is None

        answered = approve(run_id, "approve")
        assert answered.exit_code == 0, answered.output
        output = finish(proc)

    assert "promoted to champion" in output
    assert state_of(run_id) == StateType.COMPLETED
    assert store.get_alias_version(gated.model_name, "champion") == "1"
    entry = last_entry(gated)
    assert entry["action"] == "promote"
    assert entry["approver"] == "alice"
    assert entry["who"] == "trainer"
    assert entry["data_version"] == data_version(gated.data_dvc)
    assert entry["gates"]["approval"]["reason"] == "approved after review"


@pytest.mark.slow  # a `wsad train` process paused and answered
def test_rejected_run_leaves_champion_unchanged_and_audits_the_rejection(gated, prefect_server):
    with gated_flow(gated) as running:
        run_id = paused_run(gated, running)
        wait_until_paused(run_id)
        answered = approve(run_id, "reject", approver="bob")
        assert answered.exit_code == 0, answered.output
        result = running.result(timeout=180)

    assert not result["promoted"]
    assert result["approver"] == "bob"
    assert store.get_alias_version(gated.model_name, "champion") is None
    tags = store.version_info(gated.model_name, "1")["tags"]
    assert tags["decision"] == "rejected"
    assert "reject by bob" in tags["rejected_reason"]
    entry = last_entry(gated)
    assert (entry["action"], entry["approver"]) == ("reject", "bob")
    assert entry["data_version"] == data_version(gated.data_dvc)
    assert run_id not in [run["id"] for run in pending()]


@pytest.mark.slow  # a `wsad train` process paused until its timeout
def test_no_answer_in_time_is_a_rejection(gated):
    with gated_flow(gated, approval_timeout_s=3) as running:
        run_id = paused_run(gated, running)
        result = running.result(timeout=180)

    assert not result["promoted"]
    # Prefect fails a run whose pause expired; the release decision is the rejection below.
    assert state_of(run_id) == StateType.FAILED
    assert store.get_alias_version(gated.model_name, "champion") is None
    entry = last_entry(gated)
    assert (entry["action"], entry["approver"]) == ("reject", "nobody")
    assert entry["gates"]["approval"]["value"] == "timeout"
    late = approve(run_id, "approve")
    assert late.exit_code == 2
    assert run_id in late.stderr


def test_train_with_approval_refuses_to_pause_without_a_shared_server():
    result = CliRunner().invoke(app, ["train", "--require-approval"])
    assert result.exit_code == 2
    assert "set PREFECT_API_URL" in result.stderr
