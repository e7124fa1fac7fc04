"""The release lifecycle through real flows: promote, refuse a worse model, stop on invalid
data, roll back, and an audit trail that detects tampering."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from components.monitoring.validation import DataValidationError
from components.provenance.audit import AuditLog
from components.registry import promotion, store
from flows.cli.main import app
from flows.pipelines.scoring import scoring_flow
from flows.pipelines.training import training_flow


@pytest.mark.slow  # three training runs
def test_release_lifecycle(project, tmp_path):
    weak = project.model_copy(update={"params": {"devnet": {"epochs": 1, "lr": 1e-7}}})
    first = training_flow(weak)
    assert first["promoted"], first["reason"]
    assert first["champion"] == first["version"] == "1"

    strong = training_flow(project)
    assert strong["promoted"], strong["reason"]
    assert strong["champion"] == "2"
    assert strong["metrics"]["auc_pr"] > first["metrics"]["auc_pr"]

    worse = training_flow(weak)
    assert not worse["promoted"]
    assert worse["gates"]["beats_champion"]["passed"] is False
    assert store.get_alias_version(project.model_name, "champion") == "2"
    tags = store.version_info(project.model_name, worse["version"])["tags"]
    assert tags["rejected_reason"]
    assert tags["data_version"] == strong_data_version(project)

    audit = AuditLog(project.audit_log)
    assert promotion.rollback(project.model_name, audit, "tester") == "1"
    assert store.get_alias_version(project.model_name, "champion") == "1"
    actions = [e["action"] for e in audit.entries()]
    assert actions == [*["register", "promote"] * 2, "register", "reject", "rollback"]
    assert [e["version"] for e in audit.entries() if e["action"] == "register"] == ["1", "2", "3"]
    assert audit.verify().ok
    env = {"WSAD_AUDIT_LOG": str(project.audit_log)}
    assert CliRunner().invoke(app, ["audit", "verify"], env=env).exit_code == 0

    lines = project.audit_log.read_text().splitlines()
    lines[1] = lines[1].replace('"promote"', '"reject"')  # the first promotion
    project.audit_log.write_text("\n".join(lines) + "\n")
    assert not AuditLog(project.audit_log).verify().ok
    tampered = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert tampered.exit_code == 1
    assert "entry 1 is bad" in tampered.stderr


def strong_data_version(project) -> str:
    from components.provenance.lineage import data_version

    return data_version(project.data_dvc)


def test_invalid_data_fails_validation_and_promotes_nothing(project):
    confirmed = pd.read_csv(project.labels)
    confirmed.loc[len(confirmed)] = ["wbc-9999", "mallory", "2026-01-01T00:00:00+00:00", "typo"]
    confirmed.to_csv(project.labels, index=False)
    with pytest.raises(DataValidationError, match="wbc-9999"):
        training_flow(project)
    store.configure(project.tracking_uri)
    assert store.get_alias_version(project.model_name, "champion") is None
    assert not project.audit_log.exists() or AuditLog(project.audit_log).entries() == []


@pytest.mark.slow  # one training run
def test_scoring_flow_writes_scores_and_flags(project, tmp_path):
    training_flow(project)
    out = tmp_path / "scores.parquet"
    result = scoring_flow(project.records, out, settings=project)
    scores = pd.read_parquet(out)
    assert result["rows"] == len(scores) == len(pd.read_csv(project.records))
    assert list(scores.columns) == ["id", "score", "is_anomaly"]
    assert 0 < scores["is_anomaly"].sum() < len(scores) // 2
