"""The contamination benchmark's bookkeeping: exact label counts, the truth it scores against,
and a RESULTS.md section that a re-render from the raw rows reproduces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import contamination as bench
from benchmarks.contamination_report import with_verdicts
from tests.conftest import synthetic_task


def test_labelled_split_labels_exactly_n_and_truth_is_the_hidden_share() -> None:
    X, _, truth = synthetic_task(0, n=1200, n_anomalies=100, n_labelled=0)
    X_train, weak, share = bench.labelled_split(X, truth, n_labelled=7, seed=3, max_rows=1000)
    assert weak.sum() == 7
    assert len(weak) == len(X_train) == 700  # 70 % of the 1,000-row subsample
    hidden = round(0.7 * 1000 * 100 / 1200) - 7  # stratified: the table's anomaly share
    assert abs(share * (len(weak) - 7) - hidden) <= 1


@pytest.mark.slow  # a grid and its re-render: 35 CPU s
def test_grid_writes_rows_and_a_section_that_rerenders_from_them(tmp_path, monkeypatch) -> None:
    X, _, truth = synthetic_task(1, n=900, n_anomalies=60, n_labelled=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(label=truth)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    frame.to_parquet(data_dir / "toy.parquet")
    results_md, out_dir = tmp_path / "RESULTS.md", tmp_path / "results"
    kwargs = {
        "results_md": results_md,
        "out_dir": out_dir,
        "simulation_reps": 5,
        "timing_table": "toy",
        "timing_rows": 300,
        "timing_repeats": 1,
    }
    monkeypatch.setattr("sys.argv", ["contamination", "--data-dir", str(data_dir)])
    bench.main(data_dir, methods="bbe-exact,bbe", labels="5,10", seeds="0", **kwargs)

    rows = pd.read_csv(out_dir / "contamination.csv")
    assert len(rows) == 4
    assert set(rows.method) == {"bbe-exact", "bbe"}
    assert np.all((rows.low <= rows.estimate) & (rows.estimate <= rows.high))
    assert (with_verdicts(rows).threshold_value <= 0.5).all()
    section = results_md.read_text()
    assert section.startswith("# Benchmark results\n\n## Contamination estimators\n")
    assert "python -m benchmarks.contamination --data-dir" in section
    assert "| **bbe-exact** | 2 |" in section
    assert "Fit time of one estimate at 300 rows (toy, 10 labelled anomalies, 1 runs)" in section
    tables = _tables_but_fit_time(section)

    bench.main(data_dir, from_csv=out_dir / "contamination.csv", **kwargs)
    rerendered = results_md.read_text()
    assert _tables_but_fit_time(rerendered) == tables
    assert "; this section: `" in rerendered


def _tables_but_fit_time(section: str) -> list[str]:
    """The section's table rows, less the fit-time table (measured anew at every render)."""
    head, rest = section.split("Fit time of one estimate", 1)
    tail = rest.split("The bound on the interval's width", 1)[1]
    return [line for line in (head + tail).splitlines() if line.startswith("|")]


def test_pure_bin_simulation_adjustment_keeps_the_upper_end_above_the_truth() -> None:
    simulated = bench.pure_bin_simulation(reps=30, seed=0).set_index("multiplicity")
    adjusted = simulated.loc[bench.SEARCH_MULTIPLICITY]
    plain = simulated.loc[1]
    assert adjusted.high_below_truth.mean() < plain.high_below_truth.mean()
    assert adjusted.high_below_truth.max() <= 0.15
