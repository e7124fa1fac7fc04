"""Online scoring: the audited champion behind MLflow's `/invocations` protocol, replaced
without a restart when the audit log names a new one.

Why not `mlflow models serve -m models:/<name>@champion` as it stands: it loads whatever
the alias says when it starts (bypassing the audit check that `wsad score` enforces) and
never looks again; its signature check drops extra columns silently and words refusals its
own way; it has no route for metrics; and its request handling is slow and leaks stack
traces (components/serving/invocations.py). So this is MLflow's scoring server rebuilt from its
parts: the same routes (`/invocations`, `/ping`, `/health`, `/version`), MLflow's own
request parsers, the same answers, run by uvicorn in this environment as `mlflow models
serve --env-manager local` runs it (so any MLflow client works unchanged), with these
guarantees:

- it serves the version that the verified audit log names, loaded by its version URI
  (`store.champion_version`, `store.load_version`), never by the alias; an alias
  moved outside wsad changes nothing;
- every request goes through our schema enforcer (`WsadModel.predict`, as in `wsad score`):
  a refused request is HTTP 400 carrying the very line that `wsad score` prints; every
  answer names the version that produced it in the `X-Wsad-Model-Version` header;
- a watcher thread follows the audit log. When the log names another champion, that
  version is loaded beside the current one and must score one row; then one reference
  assignment swaps it in. A request reads that reference once, so one version scores it
  from start to end and no request waits for a load; a load that fails leaves the current
  version answering and is retried at the next poll (`/metrics` shows it pending);
- `/metrics` in Prometheus' text format (components/serving/metrics.py): requests by
  status, latency, rows, reloads, and the drift of the last N scored rows against the
  served version's reference profile (components/monitoring/serving_drift.py; the same report as
  JSON at `/drift`). The window belongs to the version: a swap starts an empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from fastapi import FastAPI, Request, Response
from mlflow.version import VERSION as MLFLOW_VERSION

from components.monitoring.drift import SERVING_WINDOW_ROWS
from components.monitoring.serving_drift import DriftWindow
from components.provenance.audit import AuditLog
from components.registry import bundle, store
from components.serving.batch import with_ids
from components.serving.invocations import first_line, respond
from components.serving.metrics import CONTENT_TYPE, ServingMetrics

log = logging.getLogger(__name__)

VERSION_HEADER = "X-Wsad-Model-Version"


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """Which model to serve, where its audit log lives and how often to look at it."""

    model_name: str
    audit_log: Path
    audit_key: bytes | None = None
    poll_s: float = 5.0
    drift_window_rows: int = SERVING_WINDOW_ROWS


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """One registered version, loaded and proven to score, with the window of the rows it
    scored (None for a version registered before reference profiles)."""

    version: str
    model: bundle.WsadModel
    drift: DriftWindow | None

    @classmethod
    def load(
        cls, model_name: str, version: str, window_rows: int = SERVING_WINDOW_ROWS
    ) -> ServedModel:
        """Load `version` and score one row at the low end of the training ranges (a row
        that stays out of the drift window)."""
        model = store.load_version(model_name, version).unwrap_python_model()
        schema = model.schema
        model.score(pd.DataFrame({c: [schema.ranges[c][0]] for c in schema.features}))
        profile = model.profile
        drift = None if profile is None else DriftWindow(profile, schema.features, window_rows)
        return cls(version, model, drift)

    def score(self, records: pd.DataFrame) -> pd.DataFrame:
        """score and is_anomaly per row in input order, the ids in front when given; the
        rows join the drift window once scored."""
        seen: list[np.ndarray] = []
        predictions = self.model.score(records, None if self.drift is None else seen.append)
        if self.drift is not None:
            self.drift.add(seen[0], predictions["is_anomaly"].to_numpy())
        return with_ids(predictions, records, self.model.schema.id_column)


def _scored(served: ServedModel, metrics: ServingMetrics, records: pd.DataFrame) -> pd.DataFrame:
    predictions = served.score(records)
    metrics.observe_scored(predictions)
    return predictions


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
        self.current = self._load(self._named())
        metrics.serving(self.current.version, self.current.drift)

    def _load(self, version: str) -> ServedModel:
        return ServedModel.load(self.config.model_name, version, self.config.drift_window_rows)

    def _named(self) -> str:
        return store.champion_version(self.config.model_name, self._audit)

    def refresh(self) -> bool:
        """Serve the champion that the audit log names now; True when a new version was
        swapped in. Raises when the log does not verify, the alias disagrees with it (a
        release between its audit entry and its alias move) or the version does not load;
        the current version answers meanwhile."""
        version = self._named()
        if version == self.current.version:
            return False
        replacement = self._load(version)
        previous, self.current = self.current.version, replacement  # the swap
        self._metrics.serving(version, replacement.drift)
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
            except Exception as err:  # whatever failed, the watcher must go on
                message = first_line(str(err))
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
        text = await asyncio.to_thread(metrics.render)  # drift is computed at the scrape
        return Response(text, media_type=CONTENT_TYPE)

    @app.get("/drift")
    async def drift() -> Response:
        status = await asyncio.to_thread(metrics.drift.status)
        return Response(orjson.dumps(status), media_type="application/json")

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        start = time.perf_counter()
        served = champion.current  # this request's version, whatever swaps meanwhile
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        score = functools.partial(_scored, served, metrics)
        status, answer = await asyncio.to_thread(respond, score, body, content_type)
        metrics.request_done(status, time.perf_counter() - start)
        return Response(
            answer,
            status_code=status,
            media_type="application/json",
            headers={VERSION_HEADER: served.version},
        )

    return app
