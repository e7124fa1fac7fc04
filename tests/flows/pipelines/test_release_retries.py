"""Prefect's retries of `register` and `release` against real MLflow failures: a real
training flow whose MLflow calls fail once right after the step that cannot be undone (the
model version is created; the audit entry is written). The tests break MLflow's own
functions with pytest's monkeypatch; the product has no hook for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry import gates, promotion, store
from flows.pipelines.training import training_flow
from flows.runtime.config import Settings
from tests.flows.cli.test_serve_model import register_iforest
from tests.flows.conftest import copy_project

# iforest only (seconds); margin -1 lets the second run's equal model beat the champion.
FAST = {"methods": ["iforest"], "params": {}, "margin": -1.0}


def fail_once_after(
    real: Callable[..., Any], when: Callable[..., bool], failures: list[str]
) -> Callable[..., Any]:
    """`real`, which raises an MlflowException once, after it ran, on the first call that
    `when` picks (the effect happened; MLflow's answer is lost, as on a dropped connection)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not failures and when(*args, **kwargs):
            failures.append(real.__name__)
            raise MlflowException(f"injected failure after {real.__name__}")
        return result

    return call


def entries_about(audit: AuditLog, version: str) -> list[dict[str, Any]]:
    """The audit entries about `version`, register and release alike."""
    return [e for e in audit.entries() if e.get("version") == version]


@pytest.fixture
def settings(tmp_path, project_template, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return copy_project(project_template, tmp_path).model_copy(update=FAST)


@pytest.mark.slow  # two training flows and two retry delays
def test_retried_register_and_release_leave_one_version_one_entry_and_a_true_rollback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = training_flow(settings)
    assert first["champion"] == "1"

    after_log_model: list[str] = []
    monkeypatch.setattr(
        mlflow.pyfunc,
        "log_model",
        fail_once_after(mlflow.pyfunc.log_model, lambda *a, **k: True, after_log_model),
    )
    after_audit: list[str] = []
    monkeypatch.setattr(
        MlflowClient,
        "log_dict",
        fail_once_after(
            MlflowClient.log_dict,
            lambda _client, _run, _entry, path: path.endswith("-promote.json"),
            after_audit,
        ),
    )
    second = training_flow(settings)
    assert after_log_model == ["log_model"]  # both failures happened, and were retried
    assert after_audit == ["log_dict"]
    assert second["promoted"], second["reason"]
    assert second["version"] == second["champion"] == "2"

    name = settings.model_name
    assert [v["version"] for v in store.list_versions(name)] == ["1", "2"]
    audit = AuditLog(settings.audit_log)
    assert audit.verify().ok
    assert [e["action"] for e in entries_about(audit, "2")] == ["register", "promote"]
    info = store.version_info(name, "2")
    assert info["tags"]["decision"] == "promoted"
    assert info["tags"]["audit_hash"] == entries_about(audit, "2")[-1]["hash"]
    assert store.get_alias_version(name, "challenger") == "2"

    assert promotion.rollback(name, audit, "tester") == "1"
    assert store.get_alias_version(name, "champion") == "1"


def test_rollback_skips_a_champion_promoted_twice_in_a_row(
    settings: Settings, tmp_path: Path
) -> None:
    """A log that names the same champion twice in a row (a repeated promotion, or a log
    written before releases were keyed) still rolls back to the champion before it."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    store.configure(settings.tracking_uri)
    try:
        for seed in (1, 2):
            register_iforest(settings, tmp_path, n_estimators=10, seed=seed, profiled=False)
        audit = AuditLog(settings.audit_log)
        for version in ("1", "2", "2"):
            decision = gates.Decision(True, {}, f"promote v{version}")
            promotion.promote(settings.model_name, version, decision, audit, "tester")
        assert promotion.rollback(settings.model_name, audit, "tester") == "1"
        assert store.get_alias_version(settings.model_name, "champion") == "1"
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
