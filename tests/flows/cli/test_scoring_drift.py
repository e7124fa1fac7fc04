"""Drift at scoring through the installed `wsad score`: the demo table scores without a
warning; the same table with one column x1000 still scores and prints one warning line
naming that column; `--strict` makes it one error line and publishes no scores. The report
is written next to the scores (JSON and a plot) and as a Prefect artifact, and the failed
run's traceback stays in the Prefect API although the terminal shows one line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.flows.conftest import FAST, assert_one_error_line, cli_env, copy_project, run_wsad

pytestmark = pytest.mark.slow  # `wsad score` processes (tests/README.md)


@pytest.fixture(scope="module")
def champion(
    tmp_path_factory: pytest.TempPathFactory, champion_template: Path, prefect_server: str
):
    root = tmp_path_factory.mktemp("drift")
    settings = copy_project(champion_template, root).model_copy(update=FAST)
    x1000 = root / "x1000.csv"
    pd.read_csv(settings.records).assign(mean_area=lambda t: t["mean_area"] * 1000).to_csv(
        x1000, index=False
    )
    return root, settings, {**cli_env(settings), "PREFECT_API_URL": prefect_server}, x1000


@contextmanager
def prefect_api(url: str) -> Iterator[SyncPrefectClient]:
    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as c:
        yield c


def score(champion, records, out, *extra: str):
    root, _, env, _ = champion
    return run_wsad(["score", "--records", str(records), "--out", str(out), *extra], root, env)


def test_demo_table_scores_without_a_warning(champion, tmp_path):
    out = tmp_path / "scores.parquet"
    done = score(champion, champion[1].records, out)
    assert done.returncode == 0, done.stdout
    assert "warning" not in done.stdout.lower()
    report = json.loads((tmp_path / "scores.drift.json").read_text())
    assert report["drifted"] is False
    assert report["rows"] == report["rows_profiled"] == len(pd.read_parquet(out))
    assert all(c["psi"] < 1e-6 for c in report["columns"].values())
    assert report["flag_rate"]["inside"]
    assert (tmp_path / "scores.drift.png").stat().st_size > 0


def test_one_column_in_other_units_warns_naming_it(champion, tmp_path, prefect_server):
    out = tmp_path / "scores.csv"
    done = score(champion, champion[3], out)
    assert done.returncode == 0, done.stdout
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning:")]
    # One line per problem: the drift, and (a column x1000 moves the scores) the estimate.
    warnings, others = (
        [w for w in warnings if w.startswith("warning: drift")],
        [w for w in warnings if not w.startswith("warning: drift")],
    )
    assert len(warnings) == 1, done.stdout
    assert all(w.startswith("warning: estimated performance moved") for w in others), others
    assert "mean_area (PSI" in warnings[0]
    assert "scores.drift.json" in warnings[0]
    assert len(pd.read_csv(out)) == len(pd.read_csv(champion[3]))
    report = json.loads((tmp_path / "scores.drift.json").read_text())
    assert [c for c, s in report["columns"].items() if s["drifted"]] == ["mean_area"]
    with prefect_api(prefect_server) as client:
        latest = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["wsad-drift"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert "| mean_area |" in latest[0].data
    assert "**yes**" in latest[0].data


def test_strict_drift_is_one_error_line_and_no_scores(champion, tmp_path, prefect_server):
    out = tmp_path / "scores.csv"
    started = time.time()
    done = score(champion, champion[3], out, "--strict")
    assert_one_error_line(done, r"mean_area \(PSI.*scores not written \(--strict\)")
    assert not out.exists()
    assert json.loads((tmp_path / "scores.drift.json").read_text())["drifted"] is True
    with prefect_api(prefect_server) as client:
        failed = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED]))
            ),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )[0]
        assert failed.start_time is not None
        assert failed.start_time.timestamp() >= started - 5
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[failed.id]))
        )
    assert any("Traceback" in entry.message and "DriftError" in entry.message for entry in logs)
