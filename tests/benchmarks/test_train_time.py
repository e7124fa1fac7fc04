"""The train-time harness: its smoke point runs the real `wsad init`, `wsad label import` and
`wsad train` on a generated parquet table and reads each stage back from Prefect."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks.large_table import write_large_table
from benchmarks.train_time import STAGE_ORDER, against_targets, cpu_in, growth


def test_large_table_has_its_anomaly_share_and_ids(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    anomalies = write_large_table(path, 30_000, n_features=12, share=0.02, seed=3)
    table = pd.read_parquet(path)
    assert list(table.columns) == ["id", *[f"f{i}" for i in range(12)]]
    assert np.array_equal(table["id"], np.arange(30_000))
    assert 0.017 < len(anomalies) / 30_000 < 0.023
    # anomalies sit off the normal rows: farther from the table's median, on average
    distance = (table.drop(columns="id") - table.drop(columns="id").median()).abs().sum(axis=1)
    assert distance[anomalies].mean() > 1.2 * distance.drop(index=anomalies).mean()


def test_cpu_in_shares_each_interval_out_by_the_part_the_spans_cover() -> None:
    samples = [(0.0, 0.0), (1.0, 1.0), (2.0, 1.5), (4.0, 3.5)]  # (epoch s, CPU s so far)
    assert cpu_in([(0.0, 1.0)], samples) == pytest.approx(1.0)
    assert cpu_in([(0.5, 1.5)], samples) == pytest.approx(0.5 + 0.25)
    # overlapping spans (parallel tasks) count once; time past the last sample counts none
    assert cpu_in([(2.0, 3.0), (2.5, 4.0), (4.0, 9.0)], samples) == pytest.approx(2.0)


def test_targets_name_the_verdict_and_the_largest_stage_and_what_was_not_measured() -> None:
    stages = {f"{s} s": 1.0 for s in STAGE_ORDER} | {"refit s": 500.0}
    runs = [
        {"tag": "default", "rows": 1_000_000, "wall_s": 700.0, "cpu_s": 650.0, "peak_gib": 1.5},
        {"tag": "ray", "rows": 10_000_000, "wall_s": 100.0, "cpu_s": 90.0, "peak_gib": 9.0},
    ]
    lines = against_targets(pd.DataFrame([{**r, **stages} for r in runs]))
    assert lines[0] == (
        "- 1,000,000 rows: 700 s wall against 600 s (missed), 650 CPU s, peak 1.50 GiB "
        "against 4 GiB (met); the largest stage: refit, 71% of the wall."
    )
    assert lines[1] == "- 10,000,000 rows: not measured."  # only another setting ran it


def test_growth_compares_the_smallest_and_largest_table_of_the_default_setting() -> None:
    runs = pd.DataFrame(
        {
            "tag": ["default", "default", "default", "ray"],
            "rows": [10_000, 1_000_000, 10_000, 10_000_000],
            "cpu_s": [300.0, 400.0, 100.0, 1.0],
            "wall_s": [200.0, 500.0, 250.0, 1.0],
            "peak_gib": [0.5, 2.0, 0.8, 9.0],
        }
    )
    # the latest 10,000-row run (100 CPU s) is the one compared
    assert growth(runs) == [
        "- From 10,000 to 1,000,000 rows (100x the rows): CPU seconds 4.00x, wall 2.00x, "
        "peak memory 2.50x."
    ]
    assert growth(runs[runs["rows"] == 10_000]) == []


@pytest.mark.slow
def test_smoke_point_times_wsad_train_by_stage(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.train_time", "curve", "--smoke", "--work", tmp_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    row = pd.read_csv(tmp_path / "train_time.csv").iloc[0]
    assert row["rows"] == 3000
    assert row["peak_gib"] > 0.1
    stages = {s: row[f"{s} s"] for s in STAGE_ORDER}
    for stage in ("read", "validation", "contamination", "cross-validation", "refit"):
        assert stages[stage] > 0, stage
    assert sum(stages.values()) == pytest.approx(row["wall_s"], abs=0.1)
    cpu = {s: row[f"{s} CPU s"] for s in STAGE_ORDER}
    assert cpu["cross-validation"] > 0
    assert sum(cpu.values()) == pytest.approx(row["cpu_s"], abs=0.1)
    assert "| default | 3,000 |" in (tmp_path / "RESULTS.md").read_text()
