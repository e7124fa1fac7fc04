"""The budget curve: its smoke run measures a budgeted and an all-rows release with the flow's
steps and renders a section; the paired difference and the seed noise are computed right."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import budget_curve


def test_paired_difference_and_pooled_seed_noise() -> None:
    rows = []
    for seed, base in ((0, 0.5), (1, 0.7)):
        for state, wobble in ((0, 0.0), (1, 0.02)):
            for budget, loss in ((1000, 0.04), (0, 0.0)):
                auc = base + wobble - loss
                rows.append(("t", 10, seed, state, budget, auc, 0.03, 0.02))
    frame = pd.DataFrame(rows, columns=[*budget_curve.KEY, "auc_pr", "flag_rate", "test_share"])
    frame["refit_cpu_s"], frame["rows_train"] = 1.0, 5000
    summary = budget_curve.noise_and_loss(frame).set_index("budget")
    assert (summary["reference"] == 0).all()
    assert summary.loc[1000, "vs_reference"] == pytest.approx(-0.04)
    assert summary.loc[1000, "paired_runs"] == 4
    assert summary.loc[0, "vs_reference"] == pytest.approx(0.0)
    # each (split, budget) has two seeds 0.02 apart: sd 0.0141, pooled the same
    assert summary.loc[1000, "seed_noise"] == pytest.approx(0.02 / 2**0.5)
    assert summary.loc[1000, "auc_pr"] == pytest.approx((0.46 + 0.48 + 0.66 + 0.68) / 4)
    # 0.04 below every row is more than the noise (0.014): not chosen
    assert budget_curve.smallest_within_noise(summary.reset_index()) is None


def test_largest_budget_is_the_reference_without_an_all_rows_point() -> None:
    rows = []
    for table, losses in (("a", {500: 0.01, 2000: 0.0, 0: 0.0}), ("b", {500: 0.1, 2000: 0.0})):
        for state, wobble in ((0, 0.0), (1, 0.03)):
            for budget, loss in losses.items():
                rows.append((table, 10, 0, state, budget, 0.6 + wobble - loss, 0.03, 0.02))
    frame = pd.DataFrame(rows, columns=[*budget_curve.KEY, "auc_pr", "flag_rate", "test_share"])
    frame["refit_cpu_s"], frame["rows_train"] = 1.0, 5000
    summary = budget_curve.noise_and_loss(frame)
    assert dict(summary.groupby("table")["reference"].first()) == {"a": 0, "b": 2000}
    b_500 = summary[(summary["table"] == "b") & (summary["budget"] == 500)].iloc[0]
    assert b_500["vs_reference"] == pytest.approx(-0.1)
    # 500 is 0.1 below b's reference (noise 0.021); 2000 is b's reference and within on a
    assert budget_curve.smallest_within_noise(summary) == 2000


@pytest.mark.slow
def test_smoke_measures_a_budgeted_and_an_all_rows_release(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["budget_curve", "--smoke"])
    budget_curve.main(smoke=True, smoke_dir=tmp_path)
    frame = pd.read_csv(tmp_path / "budget_curve.csv")
    assert len(frame) == 4  # budgets 300 and all rows, flow seeds 0 and 1
    budgeted, every = frame[frame["budget"] == 300], frame[frame["budget"] == 0]
    assert (budgeted["unlabelled_read"] == 300).all()
    assert (every["unlabelled_read"] == every["rows_train"] - 10).all()
    assert frame["auc_pr"].between(0, 1).all()
    assert frame["flag_rate"].between(0, 1).all()
    section = (tmp_path / "RESULTS.md").read_text()
    assert budget_curve.HEADING in section
    assert "| toy | 2,800 | 10 | 300 | 2 |" in section
    assert (tmp_path / "budget_curve.png").stat().st_size > 0


def test_default_note_names_the_settings_where_the_default_is_outside_the_noise() -> None:
    default = budget_curve.DEFAULT_CV_ROWS
    rows = []
    for table, losses in (("a", {2000: 0.0, default: 0.1, 0: 0.0}), ("b", {2000: 0.0})):
        for state, wobble in ((0, 0.0), (1, 0.03)):
            for budget, loss in losses.items():
                rows.append((table, 10, 0, state, budget, 0.6 + wobble - loss, 0.03, 0.02))
    frame = pd.DataFrame(rows, columns=[*budget_curve.KEY, "auc_pr", "flag_rate", "test_share"])
    frame["refit_cpu_s"], frame["rows_train"] = 1.0, 5000
    summary = budget_curve.noise_and_loss(frame)
    assert budget_curve.outside_noise(summary, default) == ["a, 10 labels", "b, 10 labels"]
    assert budget_curve.smallest_within_noise(summary) == 2000
    note = budget_curve.default_note(summary, 2000)
    assert "not within seed noise of its reference (or not measured) on: a, 10 labels; b" in note
    assert "The smaller 2,000 is not the default" in note


def test_a_label_count_without_repeated_seeds_takes_its_tables_noise() -> None:
    rows = [("t", 10, 0, s, b, 0.6 + 0.02 * s, 0.03, 0.02) for s in (0, 1) for b in (500, 0)]
    rows += [("t", 20, 0, 0, b, 0.7, 0.03, 0.02) for b in (500, 0)]
    frame = pd.DataFrame(rows, columns=[*budget_curve.KEY, "auc_pr", "flag_rate", "test_share"])
    frame["refit_cpu_s"], frame["rows_train"] = 1.0, 5000
    noise = budget_curve.noise_and_loss(frame).groupby("labels")["seed_noise"].first()
    assert noise[20] == pytest.approx(noise[10]) == pytest.approx(0.02 / 2**0.5)
