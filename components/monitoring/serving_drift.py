"""Drift of the rows a scoring server answers: the last N scored rows of the version being
served, against that version's reference profile, for `/metrics` and `/drift`.

The window is the most recent N scored rows (`drift.SERVING_WINDOW_ROWS` by default;
`WSAD_SERVE_DRIFT_WINDOW_ROWS`, `wsad serve-model --drift-window-rows`), a row count rather
than a time span: memory is bounded by rows x features whatever the traffic, and the shift
statistic's noise (hence its limit, `profile.psi_limit`) depends on the row count, which a
time window would leave to the traffic (a quiet hour gives a handful of rows and a PSI that
says little). Drift older than the last N rows is forgotten; a scrape sees the window as it
is at that moment.

A request only copies its raw feature rows (as the schema enforcer converted them) and
their flags into a ring buffer; the statistics are computed when asked, by the batch
scorer's `DriftMonitor` over every row of the window, so the server reports the same
per-column PSI, limits and flag-rate interval as `wsad score`. Each served version owns its
window: a new champion starts with an empty one (its reference differs), and requests still
in flight on the previous version add to the previous window. Import rule: numpy and
prometheus_client only (no torch, MLflow or pandas).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from components.monitoring.drift import SAMPLE_ROWS, DriftMonitor, DriftReport
from components.monitoring.profile import ReferenceProfile


class DriftWindow:
    """The last `size` rows scored by one version: raw features and flags, in a ring buffer
    shared by the request threads."""

    def __init__(self, profile: ReferenceProfile, features: tuple[str, ...], size: int) -> None:
        if size < 1:
            raise ValueError(f"the drift window holds {size} rows; use 1 or more")
        self.profile = profile
        self.features = features
        self.size = size
        self._X = np.empty((size, len(features)), dtype=np.float32)
        self._flags = np.zeros(size, dtype=bool)
        self._added = 0
        self._lock = threading.Lock()

    def add(self, X: np.ndarray, flags: np.ndarray) -> None:
        """Rows just scored (n, d) in schema order and their flags; the oldest make room."""
        X, flags = X[-self.size :], flags[-self.size :]
        n = len(X)
        with self._lock:
            start = self._added % self.size
            head = min(n, self.size - start)
            self._X[start : start + head] = X[:head]
            self._flags[start : start + head] = flags[:head]
            self._X[: n - head] = X[head:]
            self._flags[: n - head] = flags[head:]
            self._added += n

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """A copy of the window's features and flags (row order is not kept)."""
        with self._lock:
            n = min(self._added, self.size)
            return self._X[:n].copy(), self._flags[:n].copy()

    def report(self, model: str) -> DriftReport | None:
        """The window against the reference, every row profiled; None while it is empty."""
        X, flags = self.rows()
        if not len(X):
            return None
        monitor = DriftMonitor(self.profile, self.features)
        for i in range(0, len(X), SAMPLE_ROWS):  # chunks of SAMPLE_ROWS: none is sampled
            monitor.observe(X[i : i + SAMPLE_ROWS])
        return monitor.report(model, len(X), int(flags.sum()))


class DriftCollector(Collector):
    """The served version's window as Prometheus gauges, computed at each scrape."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self._served: tuple[str, DriftWindow | None] = ("", None)

    def serving(self, version: str, window: DriftWindow | None) -> None:
        """The version now answering and its window (None: it has no reference profile)."""
        self._served = (version, window)

    def status(self) -> dict[str, Any]:
        """The `/drift` answer: whether drift is measured and, when it is, the window's report
        (`DriftReport.to_dict`: per column psi, limit, drifted; flag rate and interval)."""
        version, window = self._served
        model = f"models:/{self.model_name}/{version}"
        if window is None:
            return {
                "measured": False,
                "model": model,
                "reason": f"v{version} has no reference profile (registered before profiles); "
                "drift is not measured",
            }
        report = window.report(model)
        if report is None:
            return {"measured": True, "model": model, "window_size": window.size, "rows": 0}
        return {"measured": True, "window_size": window.size, **report.to_dict()}

    def collect(self) -> Iterator[Metric]:
        version, window = self._served
        yield _gauge(
            "measured",
            "1 when the served version has a reference profile and drift is measured, 0 when "
            "it was registered before profiles",
            float(window is not None),
        )
        if window is None:
            return
        report = window.report(f"models:/{self.model_name}/{version}")
        yield _gauge("window_size_rows", "Scored rows the drift window holds at most", window.size)
        rows = 0 if report is None else report.rows
        yield _gauge("window_rows", "Scored rows in the drift window now", rows)
        if report is None:
            return
        yield _gauge(
            "drifted",
            "1 when a feature's PSI passes its limit or the window's flag rate leaves its interval",
            float(report.drifted),
        )
        columns = report.columns
        for name, help_text, key in (
            ("psi", "Population stability index of the window against the reference", "psi"),
            ("psi_limit", "PSI above which the feature counts as drifted", "limit"),
            ("feature_drifted", "1 when the feature's PSI passes its limit", "drifted"),
        ):
            family = GaugeMetricFamily(f"wsad_serving_drift_{name}", help_text, labels=["feature"])
            for feature, stats in columns.items():
                family.add_metric([feature], float(stats[key]))
            yield family
        rate = report.flag_rate
        low, high = rate["interval"]
        yield _gauge("flag_rate", "Share of the window's rows flagged as anomalous", rate["value"])
        yield _gauge("flag_rate_low", "Low end of the flag rate expected from training", low)
        yield _gauge("flag_rate_high", "High end of the flag rate expected from training", high)
        yield _gauge(
            "flag_rate_outside",
            "1 when the window's flag rate is outside its expected interval",
            float(not rate["inside"]),
        )


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"wsad_serving_drift_{name}", help_text, value=value)
