"""Real servers on loopback for the integration test: a throw-away PostgreSQL cluster, an
MLflow tracking server (basic-auth, artifact proxying) and a Prefect server on it.

Each server runs in its own process group so stopping it also stops its workers. Secrets are
random per run and only ever travel through the environment, as in infra/compose.yaml."""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DB_USER = "wsad"
QUIET = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """The directory holding initdb/pg_ctl: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@dataclass
class Server:
    """A started server process, its log file and the URL it answers on."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM the whole process group (uvicorn/gunicorn workers included), then KILL
        whatever is left after a few seconds: these servers are throw-away."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def start(cmd: list[str], env: dict[str, str], log: Path, url: str) -> Server:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(proc, url, log)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wait_healthy(server: Server, path: str, timeout: float, auth: str | None = None) -> None:
    """Poll `path` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(server.url + path)
    if auth:
        request.add_header("Authorization", auth)
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.url} exited {server.proc.returncode}:\n{server.tail()}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{server.url}{path} not healthy after {timeout:.0f}s:\n{server.tail()}")


@dataclass
class Postgres:
    """A running cluster on 127.0.0.1:port with a password-protected superuser."""

    bin: Path
    root: Path
    port: int
    password: str
    as_user: list[str]

    def url(self, driver: str, database: str) -> str:
        return f"postgresql+{driver}://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        cmd = [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
        subprocess.run([*cmd, "-U", DB_USER, name], env=env, check=True, capture_output=True)

    def pg_ctl(self, *args: str) -> None:
        data = str(self.root / "data")
        cmd = [*self.as_user, str(self.bin / "pg_ctl"), "-D", data, *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@contextmanager
def postgres_cluster(bin_dir: Path) -> Iterator[Postgres]:
    """initdb a temp cluster (as `postgres` when we are root: initdb refuses root), listen on
    loopback only with scram-sha-256 passwords, and remove it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="wsad-pg-"))
    password = secrets.token_urlsafe(16)
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    pwfile = root / "pw"
    pwfile.write_text(password)
    if as_user:
        shutil.chown(pwfile, "postgres")
    pg = Postgres(bin_dir, root, free_port(), password, as_user)
    initdb = [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", DB_USER]
    subprocess.run(
        [*as_user, *initdb, f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pwfile.unlink()
    options = f"-h 127.0.0.1 -p {pg.port} -k {root}"
    pg.pg_ctl("-l", str(root / "postgres.log"), "-o", options, "-w", "-t", "60", "start")
    try:
        yield pg
    finally:
        pg.pg_ctl("-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def mlflow_server(pg: Postgres, workdir: Path, admin: str, password: str) -> Server:
    """`mlflow server` on Postgres with basic-auth (users also in Postgres) and proxied
    artifacts (a local folder here; an S3 bucket in infra/)."""
    port = free_port()
    auth_ini = workdir / "mlflow-auth.ini"
    auth_ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = {pg.url('psycopg2', 'mlflow_auth')}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {
        **os.environ,
        **QUIET,
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_AUTH_ADMIN_USERNAME": admin,
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    cmd = [
        *[sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth"],
        *["--backend-store-uri", pg.url("psycopg2", "mlflow")],
        *["--artifacts-destination", str(workdir / "artifacts"), "--serve-artifacts"],
        *["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
    ]
    return start(cmd, env, workdir / "mlflow.log", f"http://127.0.0.1:{port}")


def prefect_server(pg: Postgres, workdir: Path, auth_string: str) -> Server:
    """`prefect server start` on Postgres, every API call behind basic auth."""
    port = free_port()
    env = {
        **os.environ,
        **QUIET,
        "PREFECT_HOME": str(workdir / "prefect-server"),
        "PREFECT_API_DATABASE_CONNECTION_URL": pg.url("asyncpg", "prefect"),
        "PREFECT_SERVER_API_AUTH_STRING": auth_string,
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-services"]
    return start(cmd, env, workdir / "prefect.log", f"http://127.0.0.1:{port}")
