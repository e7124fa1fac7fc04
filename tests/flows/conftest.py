"""A real project in a temp dir: git + DVC repo with the demo data, MLflow sqlite store,
audit log, and Prefect's ephemeral API with its home in a temp dir; `prefect_server` is a
real `prefect server start` on loopback for what needs one API shared by several processes.

Start-up is shared: each test process (each pytest-xdist worker) builds the project once
(`project_template`: git init, dvc init, the demo data, dvc add, commit) and, when a test
asks for one, a project whose v1 (IsolationForest) is champion (`champion_template`); a test
gets a copy (`copy_project`, with MLflow's absolute artifact paths moved to the copy), not a
project built anew. Fixtures are per process, so two workers never share a folder or a
server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="wsad-prefect-")
os.environ.pop("PREFECT_API_URL", None)

from components.data.demo import build_demo_data  # noqa: E402
from flows.runtime.config import Settings  # noqa: E402
from tests.conftest import free_port, wait_for_health  # noqa: E402, F401 (used from here)

DVC = [sys.executable, "-m", "dvc"]
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@wsad.local",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@wsad.local",
    "DVC_NO_ANALYTICS": "1",
}


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def make_project(root: Path) -> Settings:
    """What a fresh clone holds after `make demo` built and versioned its data."""
    run(["git", "init", "-q"], root)
    run([*DVC, "init", "-q"], root)
    build_demo_data(root / "data")
    run([*DVC, "add", "-q", "data"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "data"], root)
    return project_settings(root)


def project_settings(root: Path) -> Settings:
    """The settings of the project at `root` (DevNet, 15 epochs; tests override them)."""
    return Settings(
        records=root / "data" / "records.csv",
        labels=root / "data" / "labels.csv",
        data_dvc=root / "data.dvc",
        tracking_uri=f"sqlite:///{root}/mlruns/mlflow.db",
        audit_log=root / "mlruns" / "audit.jsonl",
        methods=["devnet"],
        params={"devnet": {"epochs": 15}},
        who="tester",
    )


def commit_data(root: Path, message: str) -> None:
    """What a person does after `wsad label add` re-versioned the data: commit data.dvc."""
    run(["git", "add", "data.dvc"], root)
    run(["git", "commit", "-qm", message], root)


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points the `wsad` CLI at a test project."""
    return {
        "WSAD_RECORDS": str(settings.records),
        "WSAD_LABELS": str(settings.labels),
        "WSAD_DATA_DVC": str(settings.data_dvc),
        "WSAD_TRACKING_URI": settings.tracking_uri,
        "WSAD_AUDIT_LOG": str(settings.audit_log),
        "WSAD_METHODS": json.dumps(settings.methods),
        "WSAD_PARAMS": json.dumps(settings.params),
        "COLUMNS": "200",  # rich would squeeze its tables to CliRunner's 80 columns
    }


FAST = {"methods": ["iforest"], "params": {}}  # the champion template's training


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make_project`, once per test process."""
    root = tmp_path_factory.mktemp("project-template")
    make_project(root)
    return root


@pytest.fixture(scope="session")
def champion_template(
    project_template: Path, tmp_path_factory: pytest.TempPathFactory, prefect_server: str
) -> Path:
    """The project with v1, an IsolationForest trained from its root on the process's Prefect
    server, as champion (loaded once, so MLflow's registered_model_meta is written), once per
    test process."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from components.provenance.audit import AuditLog
    from components.registry import store
    from flows.pipelines.training import training_flow

    root = tmp_path_factory.mktemp("champion-template")
    settings = copy_project(project_template, root).model_copy(update=FAST)
    with contextlib.chdir(root), temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        assert training_flow(settings)["champion"] == "1"
    store.load_model(settings.model_name, "champion", AuditLog(settings.audit_log))
    return root


def copy_project(template: Path, root: Path) -> Settings:
    """A copy of a prepared project at `root` (created if missing, or empty), and its
    settings. DVC's state in .dvc/tmp (keyed by inode) stays behind; MLflow's store keeps
    absolute artifact locations, which are moved to the copy."""
    shutil.copytree(
        template,
        root,
        symlinks=True,
        dirs_exist_ok=True,
        ignore=lambda folder, names: ["tmp"] if folder.endswith(".dvc") else [],
    )
    if (root / "mlruns").exists():
        relocate_store(root / "mlruns", template, root)
    return project_settings(root)


def relocate_store(mlruns: Path, old: Path, new: Path) -> None:
    """Every text in the sqlite store and the artifacts' MLmodel files that names `old`
    names `new` instead."""
    with contextlib.closing(sqlite3.connect(mlruns / "mlflow.db")) as db, db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            for column in [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]:
                db.execute(
                    f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                    f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                    (str(old), str(new), str(old)),
                )
    for mlmodel in mlruns.rglob("MLmodel"):
        mlmodel.write_text(mlmodel.read_text().replace(str(old), str(new)))


@pytest.fixture
def project(project_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return copy_project(project_template, tmp_path)


WSAD = Path(sys.executable).with_name("wsad")


def run_wsad(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The installed `wsad` as a user runs it: its own process, stdout and stderr combined."""
    return subprocess.run(
        [str(WSAD), *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_wsad_in_terminal(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> tuple[int, str]:
    """The installed `wsad` on a pseudo-terminal (120 columns), as a person at a terminal
    runs it: its exit code and everything it drew, control codes included."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [str(WSAD), *args],
        cwd=cwd,
        env={**os.environ, "TERM": "xterm-256color", **env},
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    drawn, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not data:
                    break
                drawn.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
        return process.wait(timeout=60), b"".join(drawn).decode(errors="replace")
    finally:
        os.close(leader)


def assert_one_error_line(done: subprocess.CompletedProcess[str], pattern: str) -> str:
    """A non-zero exit whose whole output is one `error:` line matching `pattern`."""
    import re

    lines = done.stdout.strip().splitlines()
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stdout, done.stdout
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("error: "), done.stdout
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]
