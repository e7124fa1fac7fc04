"""Crash safety and concurrency of real training runs in subprocesses: SIGKILL at a point
the test chooses (tests/flows/kill_points.py, loaded by the subprocess as its
`sitecustomize`; the product holds no hook), two runs racing for one model, and a tracking
server that is down."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.data.table_io import read_table
from components.provenance.audit import AuditLog
from components.registry import store
from flows.pipelines.training import training_flow
from flows.runtime.config import Settings
from tests.flows.conftest import (
    FAST,
    assert_one_error_line,
    cli_env,
    copy_project,
    free_port,
    run_wsad,
)

pytestmark = pytest.mark.slow  # killed and racing `wsad train` processes (tests/README.md)


def start_train(settings: Settings, root: Path, **env: str) -> subprocess.Popen[bytes]:
    """`wsad train` in its own process group (its Prefect server dies with it)."""
    full = {
        **os.environ,
        **cli_env(settings),
        "PREFECT_HOME": str(root / f"prefect-{time.monotonic_ns()}"),
        "OMP_NUM_THREADS": "1",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli.main", "train"],
        cwd=root,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_at(settings: Settings, root: Path, stage: str) -> None:
    """Run `wsad train` until it reaches `stage` (a point of kill_points.py), then SIGKILL
    its whole process group."""
    marker = root / f"{stage}.reached"
    site = root / f"site-{stage}"
    site.mkdir()
    shutil.copy(Path(__file__).parents[1] / "kill_points.py", site / "sitecustomize.py")
    python_path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    proc = start_train(
        settings,
        root,
        PYTHONPATH=python_path,
        WSAD_TEST_STOP_AT=stage,
        WSAD_TEST_STOP_MARKER=str(marker),
    )
    deadline = time.monotonic() + 400
    while not marker.exists():
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"run ended before reaching {stage}: {out[-2000:]}")
        assert time.monotonic() < deadline, f"{stage} not reached in time"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def champion_project(tmp_path_factory: pytest.TempPathFactory, champion_template: Path):
    """A project whose v1 (iforest) is champion; the killed runs train devnet."""
    root = tmp_path_factory.mktemp("crash")
    return root, copy_project(champion_template, root)


def assert_champion_is_approved_and_scores(settings: Settings, version: str) -> None:
    """The alias, the audit log's last promotion and a loadable, scoring model all agree."""
    audit = AuditLog(settings.audit_log)
    assert audit.verify().ok, audit.verify().reason
    store.configure(settings.tracking_uri)
    assert store.get_alias_version(settings.model_name, "champion") == version
    promotions = [e for e in audit.entries() if e.get("action") == "promote"]
    assert str(promotions[-1]["version"]) == version
    model = store.load_model(settings.model_name, "champion", audit)
    scores = model.predict(read_table(settings.records).head(50))
    assert scores["score"].notna().all()


@pytest.mark.parametrize("stage", ["training", "promote", "audit-write"])
def test_kill_leaves_the_previous_champion_in_place(stage, champion_project):
    """No release entry is added (the killed run's registration is, once it registered)."""
    root, settings = champion_project
    before = AuditLog(settings.audit_log).entries()
    kill_at(settings, root, stage)
    assert_champion_is_approved_and_scores(settings, "1")
    after = AuditLog(settings.audit_log).entries()
    assert after[: len(before)] == before
    added = [e["action"] for e in after[len(before) :]]
    assert added == ([] if stage == "training" else ["register"])
    torn = settings.audit_log.read_bytes()
    assert torn.endswith(b"\n") == (stage != "audit-write")


def test_rerun_after_the_kills_repairs_the_torn_tail_and_succeeds(
    champion_project, caplog, monkeypatch
):
    """Runs after the parametrised kills (same module project): the torn audit line from
    the audit-write kill is cut with a logged message and the rerun completes."""
    root, settings = champion_project
    caplog.set_level(logging.WARNING, logger="components.provenance.audit")
    monkeypatch.chdir(root)
    result = training_flow(settings)
    assert settings.audit_log.read_bytes().endswith(b"\n")
    assert any("torn last line" in r.getMessage() for r in caplog.records)
    assert_champion_is_approved_and_scores(settings, result["champion"])
    last = AuditLog(settings.audit_log).entries()[-1]
    assert last["version"] == result["version"]
    assert last["who"] == settings.who
    assert last["approver"] == settings.who
    assert last["data_version"] not in ("", "unknown")


def test_scoring_refuses_a_champion_the_audit_log_does_not_name(
    champion_project, tmp_path, prefect_server
):
    """Scoring against a log that ends before the champion's promotion (as if the alias had
    been moved outside wsad) is refused: models load only from versions the log names."""
    root, settings = champion_project
    lines = settings.audit_log.read_text().splitlines()
    last_promote = max(i for i, line in enumerate(lines) if '"action": "promote"' in line)
    log = tmp_path / "audit.jsonl"
    log.write_text("".join(line + "\n" for line in lines[:last_promote]))
    args = ["score", "--records", str(settings.records), "--out", str(tmp_path / "s.csv")]
    env = {**cli_env(settings), "WSAD_AUDIT_LOG": str(log), "PREFECT_API_URL": prefect_server}
    done = run_wsad(args, root, env)
    assert done.returncode == 2
    line = assert_one_error_line(done, "champion alias is v")
    assert "refusing to score" in line
    assert not (tmp_path / "s.csv").exists()


def test_two_runs_racing_release_one_at_a_time(tmp_path, project_template):
    """Two runs of one model at once: each release reads the champion, audits and moves it
    under the release lock, so every entry's previous_champion is the champion the entries
    before it left, and exactly one version holds the alias."""
    settings = copy_project(project_template, tmp_path).model_copy(update=FAST)
    runs = [start_train(settings, tmp_path), start_train(settings, tmp_path)]
    outputs = [run.communicate(timeout=500)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-1500:] + outputs[1][-1500:]
    audit = AuditLog(settings.audit_log)
    assert audit.verify().ok
    releases = [e for e in audit.entries() if e["action"] in ("promote", "reject")]
    assert sorted(e["version"] for e in releases) == ["1", "2"]
    champion = None
    for entry in releases:
        assert entry["previous_champion"] == champion
        if entry["action"] == "promote":
            champion = entry["version"]
    assert champion is not None
    store.configure(settings.tracking_uri)
    holders = [
        v["version"] for v in store.list_versions(settings.model_name) if "champion" in v["aliases"]
    ]
    assert holders == [champion]


def test_down_tracking_server_fails_the_run_with_one_line(tmp_path, project_template):
    settings = copy_project(project_template, tmp_path).model_copy(update=FAST)
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **cli_env(settings),
        "WSAD_TRACKING_URI": url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    start = time.monotonic()
    done = run_wsad(["train"], tmp_path, env)
    assert done.returncode == 2
    assert_one_error_line(done, "127.0.0.1")
    assert time.monotonic() - start < 60
