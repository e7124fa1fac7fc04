"""Streaming drift statistics: chunk by chunk equals all at once, a moved column and a
flag rate outside its interval are reported, and the report is readable JSON/markdown."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.monitoring.drift import SAMPLE_ROWS, DriftMonitor
from components.monitoring.profile import build_profile

FEATURES = ("a", "b", "c")


def table(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal([0.0, 5.0, -3.0], [1.0, 2.0, 0.5], size=(n, 3)).astype(np.float32)


@pytest.fixture
def profile():
    contamination = {"estimate": 0.05, "low": 0.03, "high": 0.08}
    return build_profile(table(0, 3000), FEATURES, 10, contamination, 1.0, 0.05)


def streamed(profile, X: np.ndarray, chunk: int) -> DriftMonitor:
    monitor = DriftMonitor(profile, FEATURES)
    for start in range(0, len(X), chunk):
        monitor.observe(X[start : start + chunk])
    return monitor


def test_chunked_statistics_equal_one_pass(profile):
    X = table(1, 5000)
    one = streamed(profile, X, len(X) if len(X) <= SAMPLE_ROWS else SAMPLE_ROWS)
    many = streamed(profile, X, 700)
    a, b = one.report("m", 5000, 250), many.report("m", 5000, 250)
    assert a.rows_profiled == b.rows_profiled == 5000
    for name in FEATURES:
        assert a.columns[name]["psi"] == pytest.approx(b.columns[name]["psi"])
        assert a.columns[name]["mean"] == pytest.approx(b.columns[name]["mean"], rel=1e-6)
        assert a.columns[name]["std"] == pytest.approx(X[:, FEATURES.index(name)].std(), rel=1e-4)


def test_same_source_shows_no_drift(profile):
    report = streamed(profile, table(2, 4000), 1000).report("m", 4000, 200)
    assert not report.drifted, report.summary()
    assert report.summary().startswith("no drift")


def test_a_column_in_other_units_is_named_and_the_flag_rate_checked(profile):
    X = table(3, 4000)
    X[:, 1] *= 1000
    report = streamed(profile, X, 1000).report("models:/m@champion", 4000, 2000)
    assert report.drifted_columns == ["b"]
    assert not report.flag_rate["inside"]
    assert "b (PSI" in report.summary()
    assert "flag rate 50.00%" in report.summary()
    assert "| b |" in report.markdown()
    assert json.loads(json.dumps(report.to_dict()))["drifted"] is True


def test_large_chunks_are_profiled_on_an_even_sample(profile):
    X = table(4, 3 * SAMPLE_ROWS)
    monitor = streamed(profile, X, len(X))
    report = monitor.report("m", len(X), 0)
    assert report.rows_profiled == SAMPLE_ROWS
    assert not any(c["drifted"] for c in report.columns.values())


def test_report_is_written_whole(profile, tmp_path):
    report = streamed(profile, table(5, 500), 100).report("m", 500, 25)
    path = report.write_json(tmp_path / "scores.drift.json")
    assert json.loads(path.read_text())["rows"] == 500
    assert [p.name for p in tmp_path.iterdir()] == ["scores.drift.json"]
