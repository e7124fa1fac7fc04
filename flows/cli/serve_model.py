"""`wsad serve-model`: the audited champion over HTTP (components/serving/http_app.py), under
uvicorn.

Everything that can be checked before listening is checked here and ends in one line: an
audit log that does not verify or names no champion, a host other than loopback without
`--allow-remote`, a port out of range or in use. The endpoint has no authentication of its
own, hence loopback by default; README ("Online scoring") shows how to put an
authenticating proxy in front. Each uvicorn worker builds its app from the settings in the
environment (`create_app`), so the options given here travel to the workers as WSAD_
variables.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.runtime.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_START_S = 120


def create_app() -> FastAPI:
    """uvicorn's app factory, called once in each worker process."""
    from components.registry import store
    from components.serving.http_app import ServingConfig, build_app

    settings = Settings()
    store.configure(settings.tracking_uri)
    return build_app(
        ServingConfig(
            settings.model_name,
            settings.audit_log,
            settings.audit_key_bytes(),
            settings.serve_poll_s,
            settings.serve_drift_window_rows,
        )
    )


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_error(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on now, or None when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as err:
            return err.strerror or type(err).__name__
    return None


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the server's own lines (which version answers) added."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["components.serving.http_app"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def serve_model(
    host: Annotated[str, typer.Option(help="address to bind; loopback unless --allow-remote")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="port to listen on")] = 5001,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    poll_seconds: Annotated[
        float | None, typer.Option(help="seconds between audit log checks (WSAD_SERVE_POLL_S)")
    ] = None,
    drift_window_rows: Annotated[
        int | None,
        typer.Option(help="scored rows the drift statistics cover (WSAD_SERVE_DRIFT_WINDOW_ROWS)"),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="bind a non-loopback address (put authentication in front)")
    ] = False,
    model_name: Annotated[
        str | None, typer.Option(help="registered model name (WSAD_MODEL_NAME)")
    ] = None,
) -> None:
    """Serve the audited champion over HTTP (MLflow's /invocations protocol, /metrics)."""
    import uvicorn

    from components.provenance.audit import AuditLog
    from components.registry import store
    from flows.cli.terminal import fail, one_line_errors, out, settings_with

    settings = settings_with(
        model_name=model_name,
        serve_poll_s=poll_seconds,
        serve_drift_window_rows=drift_window_rows,
    )
    if not is_loopback(host) and not allow_remote:
        fail(
            f"--host {host} is not loopback and the server has no authentication; pass "
            "--allow-remote and put an authenticating proxy in front (README: Online scoring)"
        )
    if workers < 1:
        fail(f"--workers is {workers}; use 1 or more worker processes")
    if not 0 < port < 65_536:
        fail(f"--port is {port}; use a port between 1 and 65535")
    busy = bind_error(host, port)
    if busy:
        fail(f"cannot listen on {host}:{port} ({busy}); pick another --port or --host")
    with one_line_errors():
        store.configure(settings.tracking_uri)
        audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
        version = store.champion_version(settings.model_name, audit)
    name = settings.model_name
    out.print(
        f"serving {name} v{version} (models:/{name}/{version}, named by {settings.audit_log}) "
        f"at http://{host}:{port}/invocations, metrics at /metrics (drift over the last "
        f"{settings.serve_drift_window_rows:,} scored rows, also at /drift); a champion newly "
        f"named in the audit log answers within {settings.serve_poll_s:g}s",
        highlight=False,
        soft_wrap=True,
    )
    os.environ["WSAD_MODEL_NAME"] = name
    os.environ["WSAD_SERVE_POLL_S"] = str(settings.serve_poll_s)
    os.environ["WSAD_SERVE_DRIFT_WINDOW_ROWS"] = str(settings.serve_drift_window_rows)
    uvicorn.run(
        "flows.cli.serve_model:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        access_log=False,
        # A worker answers health pings only once it has imported wsad, which takes longer
        # than uvicorn's default 5 s on a busy machine: it would be killed as hung.
        timeout_worker_healthcheck=WORKER_START_S,
    )
