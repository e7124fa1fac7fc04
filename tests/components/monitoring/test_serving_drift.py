"""The server's drift window: it holds exactly the last N rows whatever the request sizes,
reports what the batch monitor reports for those rows, and its gauges name a moved column."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from components.monitoring.drift import DriftMonitor
from components.monitoring.profile import build_profile
from components.monitoring.serving_drift import DriftCollector, DriftWindow
from tests.components.monitoring.test_drift import FEATURES, table


@pytest.fixture
def reference():
    """The reference of test_drift's table (3 features, 5 % flagged in training)."""
    contamination = {"estimate": 0.05, "low": 0.03, "high": 0.08}
    return build_profile(table(0, 3000), FEATURES, 10, contamination, 1.0, 0.05)


def test_the_window_keeps_exactly_the_last_rows(reference):
    window = DriftWindow(reference, FEATURES, size=100)
    X = np.arange(250 * 3, dtype=np.float32).reshape(250, 3)
    flags = np.arange(250) % 7 == 0
    for start, stop in ((0, 1), (1, 60), (60, 61), (61, 190), (190, 250)):  # 1 row to > size
        window.add(X[start:stop], flags[start:stop])
    kept, kept_flags = window.rows()
    order = np.argsort(kept[:, 0])
    np.testing.assert_array_equal(kept[order], X[150:])
    np.testing.assert_array_equal(kept_flags[order], flags[150:])


def test_the_window_reports_what_the_batch_monitor_reports(reference):
    window = DriftWindow(reference, FEATURES, size=5_000)
    X = table(1, 9_000)
    flags = np.arange(9_000) % 20 == 0
    for start in range(0, 9_000, 700):
        window.add(X[start : start + 700], flags[start : start + 700])
    monitor = DriftMonitor(reference, FEATURES)
    monitor.observe(X[4_000:][:4_096])
    monitor.observe(X[4_000:][4_096:])
    expected = monitor.report("m", 5_000, int(flags[4_000:].sum()))
    report = window.report("m")
    assert report is not None
    assert report.rows == report.rows_profiled == 5_000
    for column in FEATURES:
        assert report.columns[column]["psi"] == pytest.approx(expected.columns[column]["psi"])
    assert report.flag_rate == expected.flag_rate


def test_gauges_name_the_moved_column_and_say_when_drift_is_not_measured(reference):
    collector = DriftCollector("m")
    registry = CollectorRegistry()
    registry.register(collector)
    collector.serving("3", None)
    text = generate_latest(registry).decode()
    assert "wsad_serving_drift_measured 0.0" in text
    assert "wsad_serving_drift_psi" not in text
    assert collector.status()["measured"] is False
    window = DriftWindow(reference, FEATURES, size=1_000)
    collector.serving("4", window)
    assert "wsad_serving_drift_window_rows 0.0" in generate_latest(registry).decode()
    X = table(2, 1_000)
    X[:, 1] *= 1000
    window.add(X, np.arange(1_000) % 20 == 0)
    text = generate_latest(registry).decode()
    assert 'wsad_serving_drift_feature_drifted{feature="b"} 1.0' in text
    assert 'wsad_serving_drift_feature_drifted{feature="a"} 0.0' in text
    assert "wsad_serving_drift_window_rows 1000.0" in text
    assert "wsad_serving_drift_drifted 1.0" in text
    assert collector.status()["summary"].startswith("drift against models:/m/4")
