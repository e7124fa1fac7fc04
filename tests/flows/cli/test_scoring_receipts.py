"""Scoring receipts through the installed `wsad`: `wsad score` leaves one audit entry with
the version, alias, threshold, md5 of input and output, rows, flags, drift status and a
null estimate; `wsad audit verify --receipts` checks the output against it, and one score
changed in the output file is one error line; a failed scoring run (bad input, or drift
with `--strict`) leaves no receipt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from components.provenance.audit import AuditLog
from components.registry import store
from tests.flows.cli.test_serve_model import demo_store, promote, register_iforest
from tests.flows.conftest import assert_one_error_line, cli_env, run_wsad

pytestmark = pytest.mark.slow  # each test runs `wsad score` or `wsad audit verify` in a process


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, prefect_server: str):
    """The demo table and an isolation forest (with a reference profile) as champion,
    registered and promoted through the registry (training plays no part in receipts)."""
    root = tmp_path_factory.mktemp("receipts")
    settings = demo_store(root)
    store.configure(settings.tracking_uri)
    register_iforest(settings, root, n_estimators=50, seed=0, profiled=True)
    promote(settings, "1")
    env = {**cli_env(settings), "PREFECT_API_URL": prefect_server}
    return root, settings, env


def score(champion, records: Path, out: Path, *extra: str):
    root, _, env = champion
    return run_wsad(["score", "--records", str(records), "--out", str(out), *extra], root, env)


def receipts(settings) -> list[dict]:
    return [e for e in AuditLog(settings.audit_log).entries() if e["action"] == "score"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def scored(champion, tmp_path_factory: pytest.TempPathFactory):
    """One `wsad score` of the demo table to CSV, and its receipt."""
    _, settings, _ = champion
    out = tmp_path_factory.mktemp("scored") / "scores.csv"
    before = len(receipts(settings))
    done = score(champion, settings.records, out)
    assert done.returncode == 0, done.stdout
    (entry,) = receipts(settings)[before:]
    return done, out, entry


def test_wsad_score_leaves_a_receipt_of_what_it_did(champion, scored):
    _, settings, _ = champion
    done, out, entry = scored
    assert f"receipt: audit entry {entry['seq']}" in done.stdout
    scores = pd.read_csv(out)
    threshold = store.load_version(settings.model_name, "1").unwrap_python_model().threshold
    assert (entry["model_name"], entry["version"], entry["alias"]) == (
        settings.model_name,
        "1",
        "champion",
    )
    assert entry["threshold"] == threshold.value
    assert entry["input"] == str(settings.records.resolve())
    assert entry["input_md5"] == md5(settings.records)
    assert entry["output"] == str(out.resolve())
    assert entry["output_md5"] == md5(out)
    assert (entry["rows"], entry["flagged"]) == (len(scores), int(scores["is_anomaly"].sum()))
    assert entry["drift"]["status"] == "within limits"
    assert entry["estimate"] is None
    assert AuditLog(settings.audit_log).verify().ok


def test_audit_verify_checks_outputs_and_catches_one_changed_score(champion, scored, tmp_path):
    root, _, env = champion
    _, out, entry = scored
    checked = run_wsad(["audit", "verify", "--receipts"], root, env)
    assert checked.returncode == 0, checked.stdout
    assert "chain intact; receipts: 1 output file(s) match, 0 no longer present" in (checked.stdout)

    original = out.read_bytes()
    scores = pd.read_csv(out)
    scores.loc[7, "score"] += 0.001  # one score, nudged
    scores.to_csv(out, index=False)
    try:
        tampered = run_wsad(["audit", "verify", "--receipts"], root, env)
    finally:
        out.write_bytes(original)
    assert_one_error_line(
        tampered,
        rf"{out.resolve()}: md5 \w+ differs from {entry['output_md5']} in its receipt "
        rf"\(audit entry {entry['seq']}\): the file changed after it was scored",
    )
    assert tampered.returncode == 1


@pytest.mark.parametrize("case", ["missing_column", "drift_with_strict"])
def test_a_failed_scoring_run_leaves_no_receipt(champion, tmp_path, case):
    _, settings, _ = champion
    table = pd.read_csv(settings.records)
    broken = tmp_path / "broken.csv"
    if case == "missing_column":
        table.drop(columns="mean_area").to_csv(broken, index=False)
        extra: tuple[str, ...] = ()
    else:
        table.assign(mean_area=table["mean_area"] * 1000).to_csv(broken, index=False)
        extra = ("--strict",)
    before = AuditLog(settings.audit_log).entries()
    done = score(champion, broken, tmp_path / "scores.csv", *extra)
    assert done.returncode != 0, done.stdout
    assert not (tmp_path / "scores.csv").exists()
    assert AuditLog(settings.audit_log).entries() == before
