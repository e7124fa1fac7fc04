"""The analyst's loop through the installed `wsad`: review queues rows without a verdict and
explains them, `label dismiss` / `label add` record verdicts in the DVC-tracked label file
and audit them, the next review leaves them out; the `wsad-review` flow publishes its queue
as a Prefect artifact; bad input ends in one `error:` line and changes nothing on disk."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from components.provenance.audit import AuditLog
from components.provenance.lineage import data_version
from flows.pipelines.review import ARTIFACT_KEY, review_flow
from tests.flows.conftest import FAST, cli_env, copy_project

pytestmark = pytest.mark.slow
WSAD = str(Path(sys.executable).with_name("wsad"))


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, champion_template: Path):
    """A project whose champion (an isolation forest: quick to fit) has a training reference."""
    root = tmp_path_factory.mktemp("review")
    return root, copy_project(champion_template, root).model_copy(update=FAST)


@pytest.fixture(autouse=True)
def _shared_prefect(prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`wsad review` reports to this process's Prefect server instead of starting its own."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)


def wsad(root: Path, settings, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [WSAD, *args],
        cwd=root,
        env={**os.environ, **cli_env(settings), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def review(champion, out: Path):
    root, settings = champion
    return wsad(
        root, settings, "review", "--records", str(settings.records), "--n", "6", "--out", str(out)
    )


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-256 of every file of the registry, the audit log, data/ and the DVC pointer."""
    files = [*(root / "mlruns").rglob("*"), *(root / "data").rglob("*"), root / "data.dvc"]
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files) if p.is_file()
    }


def test_review_flow_publishes_the_queue_as_an_artifact(champion, tmp_path):
    root, settings = champion
    result = review_flow(settings.records, tmp_path / "queue.html", n=8, settings=settings)
    assert result["queued"] == 8
    assert (tmp_path / "queue.html").read_text().count("<svg") == 8
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))
        )
    latest = max(artifacts, key=lambda a: a.created)
    assert latest.type == "table"
    table = json.loads(latest.data)  # a table artifact is stored as a JSON string
    assert [row["id"] for row in table] == result["rows"]["id"].tolist()


def test_dismissed_and_confirmed_rows_leave_the_queue_and_are_audited(champion, tmp_path):
    root, settings = champion
    first = review(champion, tmp_path / "q1.csv")
    assert first.returncode == 0, first.stderr
    assert "6 of 367 rows without a verdict" in first.stdout
    queued = pd.read_csv(tmp_path / "q1.csv")["id"].tolist()
    before = data_version(settings.data_dvc)

    dismissed = wsad(root, settings, "label", "dismiss", queued[0], "--who", "ana", "--note", "ok")
    assert dismissed.returncode == 0, dismissed.stderr
    after_dismissal = data_version(settings.data_dvc)
    confirmed = wsad(root, settings, "label", "add", queued[1], "--who", "bo")
    assert confirmed.returncode == 0, confirmed.stderr

    labels = pd.read_csv(settings.labels).set_index("id")
    assert labels.loc[queued[0], "verdict"] == "normal"
    assert labels.loc[queued[1], "verdict"] == "anomaly"
    assert (labels.drop(index=queued[:2])["verdict"] == "anomaly").all()  # the older rows
    audit = AuditLog(settings.audit_log)
    assert audit.verify().ok
    dismissal, confirmation = [e for e in audit.entries() if e["action"] == "label"][-2:]
    assert (dismissal["verdict"], dismissal["ids"], dismissal["who"]) == (
        "normal",
        queued[:1],
        "ana",
    )
    assert dismissal["previous_data_version"] == before != after_dismissal
    assert dismissal["data_version"] == after_dismissal
    assert confirmation["verdict"] == "anomaly"
    assert confirmation["data_version"] == data_version(settings.data_dvc)
    assert dismissal["when"]
    assert confirmation["when"]

    second = review(champion, tmp_path / "q2.csv")
    assert second.returncode == 0, second.stderr
    assert not set(pd.read_csv(tmp_path / "q2.csv")["id"]) & set(queued[:2])


def assert_rejected(champion, args: list[str], pattern: str, env=None) -> None:
    root, settings = champion
    before = fingerprint(root)
    done = wsad(root, settings, *args, env=env)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode != 0
    assert len(lines) == 1, done.stdout + done.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert fingerprint(root) == before


def test_dismiss_rejects_an_unknown_id(champion):
    assert_rejected(
        champion,
        ["label", "dismiss", "wbc-9999", "--who", "ana"],
        "'wbc-9999' are not in the records",
    )


def test_dismiss_rejects_an_id_already_confirmed(champion):
    confirmed = pd.read_csv(champion[1].labels)["id"].iloc[0]
    assert_rejected(
        champion,
        ["label", "dismiss", confirmed, "--who", "ana"],
        f"'{confirmed}' are already confirmed anomalies.*cannot be both",
    )


def test_review_rejects_a_label_file_with_an_id_both_confirmed_and_dismissed(champion, tmp_path):
    labels = pd.read_csv(champion[1].labels)
    both = pd.concat([labels, labels.head(1).assign(verdict="normal")]).fillna(
        {"verdict": "anomaly"}
    )
    bad = tmp_path / "labels.csv"
    both.to_csv(bad, index=False)
    args = ["review", "--records", str(champion[1].records), "--out", str(tmp_path / "q.html")]
    assert_rejected(champion, args, "both confirmed and dismissed", env={"WSAD_LABELS": str(bad)})
    assert not (tmp_path / "q.html").exists()


def test_review_rejects_records_whose_columns_differ_from_the_models(champion, tmp_path):
    table = pd.read_csv(champion[1].records).rename(columns={"mean_area": "area"})
    bad = tmp_path / "renamed.csv"
    table.to_csv(bad, index=False)
    args = ["review", "--records", str(bad), "--out", str(tmp_path / "q.html")]
    assert_rejected(champion, args, "missing column\\(s\\) 'mean_area'.*unexpected.*'area'")
    assert not (tmp_path / "q.html").exists()
