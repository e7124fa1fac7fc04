"""A review on a real fitted model: rows without a verdict, in score order, each with its top
features against the training reference; written as CSV or as a page that headless Chromium
renders in score order and re-sorts on request."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.data.tables import DataError, Scaler, Schema, feature_matrix, infer_schema
from components.detectors import Detector, make
from components.monitoring.profile import ReferenceProfile, build_profile
from components.review.page import check_output, write_review
from components.review.queue import ReviewError, decision_margin
from components.review.report import Review, build_review
from components.selection.calibration import Threshold, calibrate_threshold
from tests.conftest import require, synthetic_task

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclasses.dataclass
class Model:
    """What the registry's pyfunc holds, built here from real parts."""

    schema: Schema
    scaler: Scaler
    threshold: Threshold
    detector: Detector
    profile: ReferenceProfile | None


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, Model]:
    X, y, _ = synthetic_task(0, n=600, n_anomalies=30, n_labelled=8)
    table = pd.DataFrame(X * 10 + 50, columns=[f"f{j}" for j in range(X.shape[1])])
    table.insert(0, "id", [f"r{i:03d}" for i in range(len(table))])
    schema = infer_schema(table)
    raw = feature_matrix(table, schema)
    scaler = Scaler.fit(raw)
    scaled = scaler.transform(raw)
    detector = make("devnet", epochs=5).fit(scaled, y)
    threshold = calibrate_threshold(detector.decision_function(scaled[y == 0]), "quantile", 0.04)
    profile = build_profile(
        raw,
        schema.features,
        n_labelled=int(y.sum()),
        contamination={"estimate": 0.05, "low": 0.03, "high": 0.07},
        threshold=threshold.value,
        flag_rate=0.05,
    )
    return table, Model(schema, scaler, threshold, detector, profile)


@pytest.fixture(scope="module")
def review(fitted) -> Review:
    table, model = fitted
    labelled = {f"r{i:03d}" for i in range(8)} | {"r100"}
    return build_review(table, labelled, model, n=12, uncertain_share=0.25, top_features=3)


def test_queue_holds_rows_without_a_verdict_in_score_order(review: Review) -> None:
    rows = review.rows
    assert len(rows) == 12
    assert not set(rows["id"]) & ({f"r{i:03d}" for i in range(8)} | {"r100"})
    assert rows["score"].is_monotonic_decreasing
    assert rows["rank"].tolist() == list(range(1, 13))
    assert sorted(rows["reason"].value_counts().tolist()) == [3, 9]


def test_each_row_explains_its_top_features_against_the_training_reference(fitted, review):
    table, model = fitted
    rows = review.rows.set_index("id")
    for row_id, row in rows.iterrows():
        for k in (1, 2, 3):
            feature = row[f"feature_{k}"]
            assert row[f"value_{k}"] == pytest.approx(table.set_index("id").loc[row_id, feature])
            assert 0.0 <= row[f"percentile_{k}"] <= 100.0
        shares = [row[f"contribution_{k}"] for k in (1, 2, 3)]
        assert shares == sorted(shares, reverse=True)
    medians = rows.groupby("feature_1")["median_1"].nunique()
    assert (medians == 1).all()  # one training median per feature
    top = rows.iloc[0]  # the highest score: a planted anomaly, shifted on features 0-2
    assert {top["feature_1"], top["feature_2"], top["feature_3"]} & {"f0", "f1", "f2"}
    assert top["percentile_1"] > 90


def test_a_seed_ensemble_queues_the_rows_its_seeds_disagree_on(fitted) -> None:
    table, model = fitted
    X = model.scaler.transform(feature_matrix(table, model.schema))
    y = (table["id"] < "r008").to_numpy().astype(int)
    ensemble = make(
        "ensemble", methods=("devnet",), method_params={"devnet": {"epochs": 3}}, n_seeds=3
    )
    ensemble.fit(X, y)
    scores = ensemble.decision_function(X[y == 0])
    threshold = calibrate_threshold(scores, "quantile", 0.04)
    voted = dataclasses.replace(model, detector=ensemble, threshold=threshold)
    review = build_review(table, set(), voted, n=10, uncertain_share=0.4)
    assert review.about["uncertainty"] == "ensemble disagreement"
    all_scores = ensemble.decision_function(X)
    margin = decision_margin(all_scores, threshold.value, ensemble.member_scores(X))
    rows = review.rows.set_index("id")
    top = rows.index[rows["reason"] == "top score"]
    rest = table["id"][~table["id"].isin(top)].to_numpy()
    least_sure = rest[np.argsort(margin[~table["id"].isin(top).to_numpy()], kind="stable")[:4]]
    assert sorted(rows.index[rows["reason"] == "uncertain"]) == sorted(least_sure)


def test_a_model_without_reference_is_refused(fitted) -> None:
    table, model = fitted
    old = dataclasses.replace(model, profile=None)
    with pytest.raises(ReviewError, match="without a training reference.*retrain"):
        build_review(table, set(), old, n=5, uncertain_share=0.2)


def test_columns_that_differ_from_the_models_are_named(fitted) -> None:
    table, model = fitted
    with pytest.raises(DataError, match="missing column\\(s\\) 'f3'"):
        build_review(table.drop(columns="f3"), set(), model, n=5, uncertain_share=0.2)


@pytest.mark.parametrize(
    ("name", "message"), [("queue.json", r"\.html or \.csv"), ("nowhere/q.csv", "does not exist")]
)
def test_output_names_are_checked_before_any_work(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        check_output(tmp_path / name)


def test_csv_holds_the_queue(review: Review, tmp_path: Path) -> None:
    path = write_review(review, tmp_path / "queue.csv", "t")
    written = pd.read_csv(path)
    assert written["id"].tolist() == review.rows["id"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["queue.csv"]  # no temporary file left


def rendered_ids(path: Path, fragment: str = "") -> tuple[list[str], str]:
    """The row ids of the page as headless Chromium laid it out, and its DOM."""
    require("chromium", CHROMIUM is not None, "apt-get install chromium")
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, "--dump-dom", f"{path.resolve().as_uri()}{fragment}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return re.findall(r'<tr[^>]* data-id="([^"]+)"', done.stdout), done.stdout


def test_page_renders_in_headless_chromium_in_score_order(review: Review, tmp_path: Path) -> None:
    page = write_review(review, tmp_path / "queue.html", "Review queue")
    ids, dom = rendered_ids(page)
    assert ids == review.rows["id"].tolist()
    assert dom.count('<svg class="bars"') == len(ids)
    assert 'data-key="score" data-type="number" aria-sort="descending"' in dom
    by_id, dom = rendered_ids(page, "#sort=id-asc")
    assert by_id == sorted(ids)
    assert 'data-key="id" data-type="text" aria-sort="ascending"' in dom
