"""The simulated analyst's report: margins per seed over tables, and the default share chosen
below one half, whatever share scores best."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import review_loop
from benchmarks.review_loop_report import margins, report

AUC = {"queue@0.2": 0.6, "queue@0.4": 0.7, "queue@0.5": 0.9, "top": 0.65, "random": 0.5}


def _results() -> pd.DataFrame:
    rows = [
        {
            "dataset": table,
            "seed": seed,
            "strategy": strategy,
            "round": round_,
            "auc_pr": 0.4 if round_ == 0 else auc + 0.01 * seed + (0.1 if table == "b" else 0),
            "anomalies_labelled": 5 + 10 * round_,
            "dismissed": 10 * round_,
        }
        for table in ("a", "b")
        for seed in (0, 1, 2)
        for strategy, auc in {**AUC, "anomalies": 0.8}.items()
        for round_ in (0, 1)
    ]
    return pd.DataFrame(rows)


def test_margins_are_per_seed_means_over_tables() -> None:
    diff = margins(_results(), "queue@0.4", rounds=1)
    assert list(diff.index) == [0, 1, 2]
    assert diff["random"].tolist() == pytest.approx([0.2, 0.2, 0.2])
    assert diff["anomalies"].tolist() == pytest.approx([-0.1, -0.1, -0.1])


def test_report_picks_the_best_share_below_one_half() -> None:
    strategies = [*AUC, "anomalies"]
    section = report(_results(), strategies, 1, "devnet", "cmd", "review_loop_devnet")
    assert section.startswith("## Review queue: a simulated analyst, devnet")
    assert "**queue@0.4**" in section  # queue@0.5 scores higher but is not "most from the top"
    assert "random review by +0.200 ± 0.000 (3 of 3 seeds)" in section


def test_smoke_run_measures_the_random_share_and_runs_the_rounds() -> None:
    out = review_loop.main(["--smoke"])
    loop = pd.read_csv(out)
    assert set(loop["strategy"]) == {"queue@0.4", "queue@0.4+random@0.2"}
    assert sorted(loop["round"].unique()) == [0, 1]
    queues = pd.read_csv(out.with_name(out.stem + "_queues.csv.gz"))
    assert sorted(queues["random_share"].unique()) == [0.0, 0.2]
    measured = queues[queues["random_share"] > 0]
    assert len(measured) == 3  # the smoke's draws
    assert measured["precision"].between(0, 1).all()
    assert (measured["precision_low"] <= measured["precision"]).all()
