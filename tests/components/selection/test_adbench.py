"""The ADBench protocol: splits are stratified, seeded and shared by every method; a method
that cannot run on a split leaves a visible gap instead of crashing the run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.selection import adbench
from components.selection.adbench import evaluate, load_table, make_split, run
from tests.conftest import synthetic_task


def test_split_is_stratified_seeded_and_scaled_on_train():
    X, _, truth = synthetic_task(n=1000, n_anomalies=50)
    a = make_split(X, truth, label_ratio=0.1, seed=3)
    b = make_split(X, truth, label_ratio=0.1, seed=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert len(a.X_test) == 300
    assert a.y_test.sum() == 15  # 30 % of the 50 anomalies, stratified
    assert a.n_labelled == a.y_train.sum() == math.ceil(0.1 * 35)
    assert a.X_train.min() == pytest.approx(0)
    assert a.X_train.max() == pytest.approx(1)


def test_max_rows_subsamples_stratified():
    X, _, truth = synthetic_task(n=1000, n_anomalies=100)
    split = make_split(X, truth, label_ratio=0.1, seed=0, max_rows=500)
    assert len(split.X_train) + len(split.X_test) == 500
    assert split.y_test.sum() + split.y_train_true.sum() == 50


def test_every_method_sees_the_same_split_and_gaps_are_recorded(table_dir):
    rows = list(
        run(
            [table_dir / "toy.parquet"],
            ["iforest", "prenet"],
            label_ratios=[0.01],  # one labelled anomaly: prenet needs two
            seeds=[0],
            device="cpu",
            params={"epochs": 2},
        )
    )
    by_method = {r["method"]: r for r in rows}
    assert by_method["iforest"]["n_labelled"] == by_method["prenet"]["n_labelled"] == 1
    assert 0 < by_method["iforest"]["auc_roc"] <= 1
    assert math.isnan(by_method["prenet"]["auc_pr"])
    assert by_method["prenet"]["note"] == "needs >= 2 labelled anomalies"


def test_label_ratios_of_a_seed_are_fitted_as_one_ensemble_matching_one_by_one(table_dir):
    params = {"epochs": 3, "batches_per_epoch": 5, "batch_size": 64}
    rows = list(
        run([table_dir / "toy.parquet"], ["devnet"], [0.1, 0.5], [1], device="cpu", params=params)
    )
    assert [r["label_ratio"] for r in rows] == [0.1, 0.5]
    X, y = load_table(table_dir / "toy.parquet")
    for row in rows:
        assert row["note"].endswith("in one stacked pass")
        alone = evaluate(
            "devnet", make_split(X, y, row["label_ratio"], 1), {"random_state": 1, **params}
        )
        assert row["auc_pr"] == pytest.approx(alone["auc_pr"], abs=0.01)
    assert rows[0]["n_labelled"] < rows[1]["n_labelled"]


def test_label_counts_label_exactly_n_train_anomalies_shared_by_every_method(
    table_dir, monkeypatch
):
    """ADGym's protocol: N labelled anomalies (capped at the 28 in train), the same rows for
    every method of a seed."""
    seen: dict[str, list] = {}
    original = adbench.evaluate_many

    def spy(method, splits, params):
        seen[method] = splits
        return original(method, splits, params)

    monkeypatch.setattr(adbench, "evaluate_many", spy)
    rows = list(
        run(
            [table_dir / "toy.parquet"],
            ["iforest", "supervised"],
            label_ratios=[],
            seeds=[4],
            label_counts=[3, 10, 500],
        )
    )
    assert [r["labels"] for r in rows] == [3, 10, 500] * 2
    assert [r["n_labelled"] for r in rows] == [3, 10, 28] * 2
    assert all(r["label_ratio"] is None for r in rows)
    for iforest_split, supervised_split, n in zip(
        seen["iforest"], seen["supervised"], [3, 10, 28], strict=True
    ):
        labelled = np.flatnonzero(iforest_split.y_train)
        assert len(labelled) == n
        assert (iforest_split.y_train_true[labelled] == 1).all()
        np.testing.assert_array_equal(np.flatnonzero(supervised_split.y_train), labelled)
        np.testing.assert_array_equal(supervised_split.X_train, iforest_split.X_train)


def test_make_split_takes_a_ratio_or_a_count_not_both():
    X, _, truth = synthetic_task(n=300, n_anomalies=20)
    with pytest.raises(ValueError, match="label_ratio or n_labels, not both or neither"):
        make_split(X, truth, 0.1, 0, n_labels=5)
    with pytest.raises(ValueError, match="label_ratio or n_labels, not both or neither"):
        make_split(X, truth, None, 0)
