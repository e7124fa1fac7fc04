"""What the scoring server's `/metrics` reports, in Prometheus' text format.

Why its own module: request counts, errors, latency and reloads describe the server; the
drift of the scored rows over a sliding window (components/monitoring/serving_drift.py) is computed
at each scrape by its collector, registered here, from the window of the version that
`serving` names. Counters live in one worker process: with `--workers N` a scrape reaches
one worker, so scrape one port per worker.
"""

from __future__ import annotations

import pandas as pd
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from components.monitoring.serving_drift import DriftCollector, DriftWindow

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServingMetrics:
    """Counters, gauges and the latency histogram of one server process."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wsad_serving_requests",
            "Scoring requests (/invocations) answered, by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wsad_serving_request_seconds",
            "Seconds from the request's arrival to its response, parsing and scoring included",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter("wsad_serving_rows", "Rows scored", registry=self.registry)
        self.flagged = Counter(
            "wsad_serving_flagged_rows", "Rows flagged as anomalous", registry=self.registry
        )
        self.version = Gauge(
            "wsad_serving_model_version",
            "Registered version of the champion being served",
            ["model"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "wsad_serving_reloads",
            "Looks at the audit log after it changed, by outcome (swapped, unchanged, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.reload_pending = Gauge(
            "wsad_serving_reload_pending",
            "1 while the audit log names a champion this process could not load (the previous "
            "one still answers)",
            registry=self.registry,
        )
        self.drift = DriftCollector(model_name)
        self.registry.register(self.drift)

    def request_done(self, status: int, seconds: float) -> None:
        """One answered scoring request."""
        self.requests.labels(status=str(status)).inc()
        self.latency.observe(seconds)

    def observe_scored(self, predictions: pd.DataFrame) -> None:
        """A request that passed the schema and was scored."""
        self.rows.inc(len(predictions))
        self.flagged.inc(int(predictions["is_anomaly"].sum()))

    def serving(self, version: str, drift: DriftWindow | None) -> None:
        """The version now answering and its drift window (None: no reference profile)."""
        self.version.labels(model=self.model_name).set(int(version))
        self.drift.serving(version, drift)

    def reloaded(self, outcome: str, pending: bool) -> None:
        """A look at the audit log after it changed: 'swapped', 'unchanged' or 'failed';
        `pending` while the champion it names is not the one answering."""
        self.reloads.labels(outcome=outcome).inc()
        self.reload_pending.set(int(pending))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
