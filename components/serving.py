"""Online scoring: the audited champion behind MLflow's `/invocations` protocol, replaced
without a restart when the audit log names a new one.

Why not `mlflow models serve -m models:/<name>@champion` as it stands: it loads whatever the
alias says when it starts (bypassing the audit check that `wsad score` enforces) and never
looks again; it answers an error raised by predict with "Failed to predict data '<the whole
frame>'" or with a generic message plus the stack trace; MLflow's signature check drops
extra columns silently; and it has no route for metrics. So this server keeps MLflow's own
request handling (`mlflow.pyfunc.scoring_server.invocations`: the content types,
dataframe_split / dataframe_records / instances / inputs JSON, CSV and parquet in,
`{"predictions": [...]}` out, so any MLflow client works) and runs under uvicorn, in this
environment, as `mlflow models serve --env-manager local` does. What differs:

- it serves the version that the verified audit log names, loaded by its version URI
  (`registry.champion_version`, `registry.load_version`), never by the alias;
- every request goes through our schema enforcer (`WsadModel.predict`, as in `wsad score`)
  instead of MLflow's signature: a refused request is HTTP 400 carrying the very line that
  `wsad score` prints, never a stack trace; each answer names the version that produced it
  in the `X-Wsad-Model-Version` header;
- a watcher thread follows the audit log. When it names another champion, that version is
  loaded beside the current one and must score one row; then one reference assignment
  swaps it in. A request reads that reference once, so one version scores it from start to
  end and no request waits for a load; a load that fails leaves the current version
  answering and is retried on the next poll (`/metrics` shows it pending). An alias moved
  outside wsad changes nothing: the audit log does not name it;
- `/metrics` in Prometheus' text format (components/serving_metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request, Response
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PyFuncModel, scoring_server
from mlflow.version import VERSION as MLFLOW_VERSION

from components import registry
from components.audit import AuditLog
from components.data import DataError
from components.scoring import with_ids
from components.serving_metrics import CONTENT_TYPE, ServingMetrics

log = logging.getLogger(__name__)

VERSION_HEADER = "X-Wsad-Model-Version"
NO_TABLE = (
    "the request holds no table; send dataframe_split or dataframe_records JSON, CSV or parquet"
)


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """Which model to serve, where its audit log lives and how often to look at it."""

    model_name: str
    audit_log: Path
    audit_key: bytes | None = None
    poll_s: float = 5.0


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """One registered version, loaded and proven to score."""

    version: str
    pyfunc: PyFuncModel
    model: registry.WsadModel

    @classmethod
    def load(cls, model_name: str, version: str) -> ServedModel:
        """Load `version` and score one row at the low end of the training ranges."""
        pyfunc = registry.load_version(model_name, version)
        served = cls(version, pyfunc, pyfunc.unwrap_python_model())
        schema = served.model.schema
        served.score(pd.DataFrame({c: [schema.ranges[c][0]] for c in schema.features}))
        return served

    def score(self, records: pd.DataFrame) -> pd.DataFrame:
        """score and is_anomaly per row in input order, the ids in front when given."""
        predictions = self.model.predict(None, records)
        return with_ids(predictions, records, self.model.schema.id_column)


class RequestRejected(MlflowException):
    """A request the schema refuses. MLflow's `invocations` rewrites an exception's
    `message` to start with the whole input frame, so the one line travels in `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, error_code=INVALID_PARAMETER_VALUE)
        self.reason = reason


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "error"


class _OneVersion:
    """What MLflow's `invocations` scores one request with: the version it started on."""

    def __init__(self, served: ServedModel, metrics: ServingMetrics) -> None:
        self.metadata = served.pyfunc.metadata
        self._served = served
        self._metrics = metrics

    def predict(self, data: Any) -> pd.DataFrame:
        if isinstance(data, dict):  # instances / inputs JSON: columns
            try:
                data = pd.DataFrame(data)
            except ValueError as err:
                raise RequestRejected(f"{NO_TABLE} ({_first_line(str(err))})") from err
        if not isinstance(data, pd.DataFrame):
            raise RequestRejected(NO_TABLE)
        try:
            predictions = self._served.score(data)
        except DataError as err:
            raise RequestRejected(_first_line(str(err))) from err
        except Exception:
            log.exception("v%s failed to score a request", self._served.version)
            raise
        self._metrics.observe_scored(data, predictions)
        return predictions


def _error(status: int, error_code: str, message: str) -> Response:
    """MLflow's error body, one line, no stack trace."""
    body = json.dumps({"error_code": error_code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


def answer(
    served: ServedModel, body: bytes, content_type: str, metrics: ServingMetrics
) -> Response:
    """One `/invocations` request, parsed and answered by MLflow's scoring server code,
    scored by `served`."""
    try:
        result = scoring_server.invocations(body, content_type, _OneVersion(served, metrics), None)
    except RequestRejected as err:
        return _error(400, err.error_code, err.reason)
    except MlflowException as err:  # MLflow's own refusals: unreadable JSON, unknown format
        return _error(err.get_http_status_code(), err.error_code, _first_line(err.message))
    return Response(result.response, status_code=result.status, media_type=result.mimetype)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the audit log is appended to or replaced."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class Champion:
    """The version being served (`current`, read once per request) and its replacement."""

    def __init__(self, config: ServingConfig, metrics: ServingMetrics) -> None:
        self.config = config
        self._audit = AuditLog(config.audit_log, config.audit_key)
        self._metrics = metrics
        self.current = ServedModel.load(config.model_name, self._named())
        metrics.serving(self.current.version)

    def _named(self) -> str:
        return registry.champion_version(self.config.model_name, self._audit)

    def refresh(self) -> bool:
        """Serve the champion that the audit log names now; True when a new version was
        swapped in. Raises when the log does not verify, the alias disagrees with it (a
        release between its audit entry and its alias move) or the version does not load;
        the current version answers meanwhile."""
        version = self._named()
        if version == self.current.version:
            return False
        replacement = ServedModel.load(self.config.model_name, version)
        previous, self.current = self.current.version, replacement  # the swap
        self._metrics.serving(version)
        log.info("%s: now serving v%s (was v%s)", self.config.model_name, version, previous)
        return True

    def follow(self, stop: threading.Event) -> None:
        """Until `stop`: every `poll_s` seconds, `refresh` when the audit log changed or the
        last attempt failed. Whatever fails, the current version keeps answering."""
        seen, pending, last_error = _stamp(self.config.audit_log), False, ""
        while not stop.wait(self.config.poll_s):
            stamp = _stamp(self.config.audit_log)
            if stamp == seen and not pending:
                continue
            seen = stamp
            try:
                swapped = self.refresh()
            except Exception as err:  # noqa: BLE001 - a failed reload must not end the watcher
                message = _first_line(str(err))
                if message != last_error:
                    log.warning("still serving v%s: %s", self.current.version, message)
                pending, last_error = True, message
                self._metrics.reloaded("failed", pending=True)
                continue
            pending, last_error = False, ""
            self._metrics.reloaded("swapped" if swapped else "unchanged", pending=False)


def build_app(config: ServingConfig) -> FastAPI:
    """The scoring app. The audited champion is loaded here, so a missing champion or a log
    that does not verify raises before anything listens."""
    metrics = ServingMetrics(config.model_name)
    champion = Champion(config, metrics)

    @contextlib.asynccontextmanager
    async def watching(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        watcher = threading.Thread(
            target=champion.follow, args=(stop,), name="wsad-champion-watcher", daemon=True
        )
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()

    app = FastAPI(title=f"wsad: {config.model_name}", lifespan=watching)

    @app.get("/ping")
    @app.get("/health")
    async def ping() -> Response:
        return Response("\n", media_type="application/json")

    @app.get("/version")
    async def mlflow_version() -> Response:
        return Response(MLFLOW_VERSION, media_type="application/json")

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        start = time.perf_counter()
        served = champion.current  # this request's version, whatever swaps meanwhile
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        response = await asyncio.to_thread(answer, served, body, content_type, metrics)
        response.headers[VERSION_HEADER] = served.version
        metrics.request_done(response.status_code, time.perf_counter() - start)
        return response

    return app
