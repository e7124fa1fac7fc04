"""A real project in a temp dir: git + DVC repo with the demo data, MLflow sqlite store,
audit log, and Prefect's ephemeral API with its home in a temp dir; `prefect_server` is a
real `prefect server start` on loopback for what needs one API shared by several processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="wsad-prefect-")
os.environ.pop("PREFECT_API_URL", None)

from benchmarks.local_servers import free_port, wait_for_health  # noqa: E402
from components.data.demo import build_demo_data  # noqa: E402
from flows.runtime.config import Settings  # noqa: E402

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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 with its own home and no UI or analytics; yields its
    API URL (set it as PREFECT_API_URL for subprocesses, or `temporary_settings` in-process)."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        + ["--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_health(f"{url}/health", server, home / "server.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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
