"""Retraining against a champion: every broken feed of the corpus (tests/flows/feeds.py) is
refused by the installed `wsad train` before anything is trained, in one error line naming
the failing column or check, with mlruns/ byte-identical; benign refreshes pass the same
check (no false alarm); a deliberate change trains with --accept-drift --reason, audited;
labels removed in a committed DVC version are accepted, a truncated label file is not.

One champion (iforest) serves the module. The refusals run two at a time (they only read
the store), and mlruns/ is compared before and after all of them."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.provenance import lineage
from components.provenance.audit import AuditLog
from components.registry import store
from flows.pipelines.reference import check_against_champion
from tests.flows.conftest import (
    FAST,
    assert_one_error_line,
    cli_env,
    commit_data,
    copy_project,
    run_wsad,
)
from tests.flows.feeds import BENIGN, BROKEN

pytestmark = pytest.mark.slow  # a `wsad train` process per feed (tests/README.md)

KEEP_CHAMPION = {"WSAD_METRIC_FLOOR": "2"}  # registers, never promotes: v1 stays the reference


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def write_feed(root: Path, name: str, out: Path, feed) -> tuple[Path, Path]:
    """The champion's records and labels through `feed`, as files a feed would deliver."""
    records, labels = (
        pd.read_csv(root / "data" / "records.csv"),
        pd.read_csv(root / "data" / "labels.csv"),
    )
    new_records, new_labels = feed(records, labels, np.random.default_rng(0))
    out.mkdir(parents=True, exist_ok=True)
    paths = out / f"{name}.csv", out / f"{name}-labels.csv"
    new_records.to_csv(paths[0], index=False)
    new_labels.to_csv(paths[1], index=False)
    return paths


@pytest.fixture(scope="module")
def champion(
    tmp_path_factory: pytest.TempPathFactory, champion_template: Path, prefect_server: str
):
    root = tmp_path_factory.mktemp("feeds")
    settings = copy_project(champion_template, root).model_copy(update=FAST)
    return root, settings, {**cli_env(settings), "PREFECT_API_URL": prefect_server}


@pytest.fixture(scope="module")
def refusals(champion, tmp_path_factory: pytest.TempPathFactory):
    """`wsad train` on every broken feed; mlruns/ before and after them all."""
    root, _, env = champion
    feeds = tmp_path_factory.mktemp("broken")
    args = {}
    for name, (feed, _) in BROKEN.items():
        records, labels = write_feed(root, name, feeds, feed)
        args[name] = ["train", "--records", str(records), "--labels", str(labels)]
    before = fingerprint(root / "mlruns")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda a: run_wsad(a, root, env), args.values())
        done = dict(zip(args, runs, strict=True))
    return done, before, fingerprint(root / "mlruns")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_feed_is_refused_naming_what_moved(case, refusals):
    done, before, after = refusals
    line = assert_one_error_line(done[case], BROKEN[case][1])
    assert "Traceback" not in done[case].stdout
    assert line.count("error:") == 1
    assert after == before


@pytest.mark.parametrize("case", sorted(BENIGN))
def test_benign_refresh_passes_the_champion_check(case, champion, tmp_path, monkeypatch):
    root, settings, _ = champion
    monkeypatch.chdir(root)
    records, labels = write_feed(root, case, tmp_path, BENIGN[case])
    report = check_against_champion.fn(
        pd.read_csv(records), pd.read_csv(labels, dtype=str), settings
    )
    assert report.success, report.summary()
    assert report.evaluated > 100


def test_benign_refresh_trains_end_to_end(champion, tmp_path):
    root, _, env = champion
    records, labels = write_feed(root, "plus5", tmp_path, BENIGN["five_percent_new_rows"])
    args = ["train", "--records", str(records), "--labels", str(labels)]
    done = run_wsad(args, root, {**env, **KEEP_CHAMPION})
    assert done.returncode == 0, done.stdout
    assert "validation against the champion's reference passed" in done.stdout
    assert "(champion v1)" in done.stdout


def test_accepted_drift_trains_and_is_audited(champion, tmp_path):
    root, settings, env = champion
    records, labels = write_feed(root, "x1000", tmp_path, BROKEN["units_x1000"][0])
    args = ["train", "--records", str(records), "--labels", str(labels), "--accept-drift"]
    refused = run_wsad([*args], root, env)
    assert_one_error_line(refused, "--accept-drift and --reason go together")
    reason = ["--reason", "mean_area now in square micrometres", "--who", "ann"]
    done = run_wsad([*args, *reason], root, {**env, **KEEP_CHAMPION})
    assert done.returncode == 0, done.stdout
    assert "drift accepted by ann: mean_area now in square micrometres" in done.stdout
    entry = [e for e in AuditLog(settings.audit_log).entries() if e["action"] == "accept-drift"]
    assert len(entry) == 1
    assert entry[0]["who"] == "ann"
    assert entry[0]["reason"] == "mean_area now in square micrometres"
    assert any("mean_area" in failed for failed in entry[0]["failed"])
    store.configure(settings.tracking_uri)  # this project's store, not the template's
    version = store.get_alias_version(settings.model_name, "challenger")
    tags = store.version_info(settings.model_name, version)["tags"]
    assert tags["reference_check"].startswith("drift accepted")


def test_labels_removed_in_a_committed_data_version_are_accepted(champion, monkeypatch):
    """Runs last: it changes the project's data. Fewer labels pass only when the smaller
    label file is the committed DVC version (a decision someone recorded)."""
    root, settings, _ = champion
    monkeypatch.chdir(root)
    labels = pd.read_csv(settings.labels, dtype=str)
    table = pd.read_csv(settings.records)
    labels.iloc[:-2].to_csv(settings.labels, index=False)
    fewer = pd.read_csv(settings.labels, dtype=str)
    with pytest.raises(ValueError, match="labelled anomalies"):
        check_against_champion.fn(table, fewer, settings)  # edited, not versioned
    lineage.dvc_add(root, "data")
    with pytest.raises(ValueError, match="labelled anomalies"):
        check_against_champion.fn(table, fewer, settings)  # versioned, not committed
    commit_data(root, "two labels were wrong: removed")
    report = check_against_champion.fn(table, fewer, settings)
    assert report.success, report.summary()
    assert "labels removed in a committed data version" in report.note
