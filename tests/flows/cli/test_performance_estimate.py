"""The label-free performance estimate through the installed `wsad`: `wsad train` prints it,
`wsad models` lists it, `wsad score` writes it next to the scores (JSON, plot) and warns
in one line when a batch's estimate leaves the training interval (a batch whose anomaly share
is far above training's; the Prefect artifact says so too), and not on the training table
itself."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.flows.conftest import cli_env, make_project, run_wsad

pytestmark = pytest.mark.slow  # a `wsad train` process, then `wsad score` (tests/README.md)

ESTIMATE = re.compile(
    r"precision (\d\.\d\d) \((\d\.\d\d)-(\d\.\d\d)\), recall (\d\.\d\d) \((\d\.\d\d)-(\d\.\d\d)\), "
    r"(\d+) alerts per 10,000 rows \((\d+)-(\d+)\), AUC-PR (\d\.\d\d) \((\d\.\d\d)-(\d\.\d\d)\)"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prefect_server: str):
    root = tmp_path_factory.mktemp("estimate")
    settings = make_project(root).model_copy(update={"methods": ["iforest"], "params": {}})
    env = {**cli_env(settings), "PREFECT_API_URL": prefect_server}
    done = run_wsad(["train"], root, env)
    assert done.returncode == 0, done.stdout
    return root, settings, env, done.stdout


def _numbers(line: str) -> list[float]:
    found = ESTIMATE.search(line)
    assert found, line
    return [float(x) for x in found.groups()]


def test_train_prints_the_estimate_with_intervals(trained):
    _, _, _, stdout = trained
    lines = [line for line in stdout.splitlines() if line.startswith("estimated at the threshold")]
    assert len(lines) == 1, stdout
    assert "without new labels (90 % intervals)" in lines[0]
    values = _numbers(lines[0])
    for value, low, high in zip(values[::3], values[1::3], values[2::3], strict=True):
        assert low <= value <= high
    precision, recall = values[0], values[3]
    assert 0 < precision <= 1
    assert 0 < recall <= 1


def test_models_lists_the_estimated_precision_and_recall(trained):
    root, _, env, stdout = trained
    done = run_wsad(["models"], root, env)
    assert done.returncode == 0, done.stdout
    assert "est. precision" in done.stdout
    assert "est. recall" in done.stdout
    trained_line = next(line for line in stdout.splitlines() if "estimated at the" in line)
    precision = re.search(r"precision (\d\.\d\d \(\d\.\d\d-\d\.\d\d\))", trained_line)
    assert precision
    assert precision.group(1) in done.stdout


def _score(trained, records, out):
    root, _, env, _ = trained
    return run_wsad(["score", "--records", str(records), "--out", str(out)], root, env)


def test_the_training_table_scores_without_a_performance_warning(trained, tmp_path):
    out = tmp_path / "scores.csv"
    done = _score(trained, trained[1].records, out)
    assert done.returncode == 0, done.stdout
    assert "warning" not in done.stdout.lower(), done.stdout
    summary = [line for line in done.stdout.splitlines() if line.startswith("estimated at")]
    assert len(summary) == 1, done.stdout
    _numbers(summary[0])
    report = json.loads((tmp_path / "scores.performance.json").read_text())
    assert report["moved"] == []
    assert report["batch"]["rows"] == len(pd.read_csv(out))
    assert report["training"]["precision"]["low"] <= report["batch"]["precision"]["value"]
    assert (tmp_path / "scores.performance.png").stat().st_size > 0


def test_a_batch_far_richer_in_anomalies_warns_in_one_line(trained, tmp_path):
    first = tmp_path / "first.csv"
    assert _score(trained, trained[1].records, first).returncode == 0
    table = pd.read_csv(trained[1].records)
    flagged = table[pd.read_csv(first)["is_anomaly"].to_numpy()]
    batch = pd.concat([table, *[flagged] * 6], ignore_index=True)  # about 7x the flagged rows
    records = tmp_path / "rich.csv"
    batch.to_csv(records, index=False)
    out = tmp_path / "rich-scores.csv"
    done = _score(trained, records, out)
    assert done.returncode == 0, done.stdout
    moved = [line for line in done.stdout.splitlines() if "estimated performance moved" in line]
    assert len(moved) == 1, done.stdout
    assert moved[0].startswith("warning: ")
    assert "anomaly share" in moved[0]
    assert "rich-scores.performance.json" in moved[0]
    report = json.loads((tmp_path / "rich-scores.performance.json").read_text())
    assert "anomaly_share" in report["moved"]
    assert report["batch"]["anomaly_share"]["value"] > report["training"]["anomaly_share"]["high"]
    with (
        temporary_settings(updates={PREFECT_API_URL: trained[2]["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        latest = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["wsad-performance"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )[0]
    assert "estimated performance moved" in latest.data
    assert "| anomaly_share |" in latest.data
