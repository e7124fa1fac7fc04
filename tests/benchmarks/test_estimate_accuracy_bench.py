"""The estimate-accuracy benchmark end to end on its synthetic cache (`--smoke`): every split
gets a training estimate, a naive baseline, batch estimates and the truth, and the section
renders from those rows."""

from __future__ import annotations

import numpy as np

from benchmarks import estimate_accuracy
from benchmarks.estimate_accuracy_report import HEADING, QUANTITIES, render


def test_smoke_estimates_every_split_and_renders_the_section() -> None:
    rows = estimate_accuracy.main(["--smoke"])
    assert sorted(rows["n_labels"]) == [5, 10]
    for prefix in ("est_", "features_", "both_", "atq_", "batch_", "moved_", "oracle_"):
        for name in QUANTITIES:
            low, value, high = (rows[f"{prefix}{name}{s}"] for s in ("_low", "", "_high"))
            assert (low <= value).all()
            assert (value <= high).all()
    assert rows["true_recall"].between(0, 1).all()
    # the shifted batch holds three times the anomaly share: its estimate says more anomalies
    assert (rows["moved_precision"] >= rows["batch_precision"] - 1e-9).all()
    section = render(rows, "cmd", rows.iloc[0:0], "1 CPU-s")
    assert section.startswith(HEADING)
    assert "Reading, against the targets" in section
    assert "| first estimate (feature-space scores) |" in section  # the contamination sources
    assert "held 1 when this ran" in section  # smoke: one seed, the note says so
    assert np.isfinite(rows["recall_floor"]).all()


def test_binomial_floor_is_zero_at_the_ends_and_largest_in_the_middle() -> None:
    floor = estimate_accuracy.binomial_floor
    assert floor(1.0, 5) == 0.0
    assert floor(0.0, 5) == 0.0
    assert floor(0.5, 4) > floor(0.9, 4) > 0
