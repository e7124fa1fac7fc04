"""The release path on a real MLflow sqlite store: registration, gated promotion, rejection,
rollback, and the pyfunc served by alias."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.data.tables import DataError, Scaler, feature_matrix, infer_schema
from components.detectors import deep as detector_deep
from components.detectors import make
from components.provenance.audit import AuditLog
from components.provenance.lineage import UnversionedData
from components.registry import RegistryError, promotion, registration
from components.registry import store as registry_store
from components.registry.bundle import write_bundle
from components.registry.gates import Decision, PromotionPolicy, decide_promotion
from components.selection.calibration import calibrate_threshold
from tests.conftest import candidate_facts, synthetic_task

NAME = "wsad-test"
ENV = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
PASSING = {"auc_pr": 0.6, "validation_passed": True, "contamination": 0.05}
CHAMPION = {"auc_pr": 0.5, "contamination_low": 0.03, "contamination_high": 0.07}


# decide_promotion: pure -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("candidate", "champion", "policy", "failed"),
    [
        (PASSING, None, PromotionPolicy(), []),
        ({**PASSING, "validation_passed": np.bool_(True)}, None, PromotionPolicy(), []),
        (PASSING, CHAMPION, PromotionPolicy(), []),
        ({**PASSING, "validation_passed": False}, None, PromotionPolicy(), ["validation"]),
        (
            {**PASSING, "validation_passed": False},
            None,
            PromotionPolicy(require_validation=False),
            [],
        ),
        ({**PASSING, "auc_pr": 0.1}, None, PromotionPolicy(metric_floor=0.1), []),  # at floor
        ({**PASSING, "auc_pr": 0.09}, None, PromotionPolicy(metric_floor=0.1), ["metric_floor"]),
        ({**PASSING, "auc_pr": math.nan}, None, PromotionPolicy(), ["metric_floor"]),
        (
            {**PASSING, "auc_pr": math.nan},
            CHAMPION,
            PromotionPolicy(),
            ["metric_floor", "beats_champion"],
        ),
        ({**PASSING, "auc_pr": 0.5}, CHAMPION, PromotionPolicy(), ["beats_champion"]),  # a tie
        ({**PASSING, "auc_pr": 0.54}, CHAMPION, PromotionPolicy(margin=0.05), ["beats_champion"]),
        ({**PASSING, "auc_pr": 0.56}, CHAMPION, PromotionPolicy(margin=0.05), []),
        (
            {**PASSING, "contamination": 0.2},
            CHAMPION,
            PromotionPolicy(),
            ["contamination_in_interval"],
        ),
        ({**PASSING, "contamination": 0.07}, CHAMPION, PromotionPolicy(), []),  # interval edge
        ({**PASSING, "contamination": 0.2}, None, PromotionPolicy(), []),  # nothing to drift from
        (
            PASSING,
            {**CHAMPION, "contamination_low": math.nan},  # an interval drift cannot be checked on
            PromotionPolicy(),
            ["contamination_in_interval"],
        ),
        (
            {"auc_pr": 0.05, "validation_passed": False, "contamination": 0.5},
            CHAMPION,
            PromotionPolicy(),
            ["validation", "metric_floor", "beats_champion", "contamination_in_interval"],
        ),
        ({**PASSING, "data_version": "untracked"}, None, PromotionPolicy(), ["lineage"]),
        ({**PASSING, "data_version": "abc.dir+modified"}, CHAMPION, PromotionPolicy(), ["lineage"]),
    ],
)
def test_decide_promotion_gate_table(
    candidate: dict[str, Any],
    champion: dict[str, Any] | None,
    policy: PromotionPolicy,
    failed: list[str],
) -> None:
    decision = decide(candidate, champion, policy)
    assert set(decision.gates) == {
        "lineage",
        "validation",
        "metric_floor",
        "beats_champion",
        "contamination_in_interval",
    }
    assert all({"value", "limit", "passed"} <= set(g) for g in decision.gates.values())
    assert [n for n, g in decision.gates.items() if not g["passed"]] == failed
    assert decision.promote is (not failed)
    assert all(name in decision.reason for name in failed)
    json.dumps(decision.gates)  # stored as a tag and in the audit log


def decide(
    candidate: dict[str, Any], champion: dict[str, Any] | None, policy: PromotionPolicy
) -> Decision:
    """`decide_promotion` on facts that differ from the defaults as the dicts say."""
    rival = None if champion is None else candidate_facts(**champion)
    return decide_promotion(candidate_facts(**candidate), rival, policy)


def test_gate_values_and_limits_are_reported() -> None:
    gates = decide({**PASSING, "auc_pr": 0.54}, CHAMPION, PromotionPolicy(margin=0.05)).gates
    assert gates["beats_champion"]["value"] == 0.54
    assert gates["beats_champion"]["limit"] == pytest.approx(0.55)
    assert gates["contamination_in_interval"]["limit"] == [0.03, 0.07]


@pytest.mark.parametrize(
    ("version", "what"),
    [
        ("untracked", "DVC does not version them"),
        ("abc.dir+modified", "the DVC-tracked data changed after its last `dvc add`"),
    ],
)
def test_unversioned_data_fails_the_lineage_gate_saying_why_and_what_to_do(
    version: str, what: str
) -> None:
    decision = decide({**PASSING, "data_version": version}, None, PromotionPolicy())
    assert not decision.promote
    assert decision.reason.startswith(
        f"failed: lineage (trained on data/records.csv and data/labels.csv ({version}): {what}"
    )
    assert "--allow-unversioned --reason" in decision.reason
    assert "\n" not in decision.reason


def test_an_allowed_override_passes_the_lineage_gate_and_carries_who_why_and_md5() -> None:
    allowed = UnversionedData("ann", "one-off export", {"/x/export.csv": "f" * 32})
    decision = decide(
        {**PASSING, "data_version": "untracked", "unversioned": allowed}, None, PromotionPolicy()
    )
    assert decision.promote
    assert decision.reason == "all gates passed (unversioned data allowed by ann: one-off export)"
    assert decision.gates["lineage"]["override"] == {
        "who": "ann",
        "reason": "one-off export",
        "md5": {"/x/export.csv": "f" * 32},
    }
    json.dumps(decision.gates)


def test_an_override_on_versioned_data_is_not_needed_and_not_shown() -> None:
    allowed = UnversionedData("ann", "why not", {})
    decision = decide({**PASSING, "unversioned": allowed}, None, PromotionPolicy())
    assert decision.reason == "all gates passed"
    assert "override" not in decision.gates["lineage"]


# The registry ---------------------------------------------------------------------------------
def _table(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y, _ = synthetic_task(seed=seed, n=n, d=4, n_anomalies=20, n_labelled=8)
    table = pd.DataFrame(X.astype(np.float64), columns=[f"f{i}" for i in range(4)])
    table.insert(0, "id", [f"r{i}" for i in range(n)])
    return table, y


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One sqlite store with two registered candidates: v1 iforest, v2 devnet."""
    root = tmp_path_factory.mktemp("registry")
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        registry_store.configure(f"sqlite:///{root}/mlruns/mlflow.db")
        table, y = _table()
        schema = infer_schema(table)
        raw = feature_matrix(table, schema)
        scaler = Scaler.fit(raw)
        X = scaler.transform(raw)
        report = root / "validation.json"
        report.write_text(json.dumps({"success": True}))
        refs, detectors = [], []
        registrations = AuditLog(root / "registrations.jsonl")
        for method, params in (
            ("iforest", {"n_estimators": 20}),
            ("devnet", {"epochs": 2, "batches_per_epoch": 5, "batch_size": 64, "device": "cpu"}),
        ):
            det = make(method, **params).fit(X, y)
            threshold = calibrate_threshold(det.decision_function(X[y == 0]), contamination=0.05)
            bundle = write_bundle(root / method, det, schema, scaler, threshold)
            refs.append(
                registration.log_candidate(
                    NAME,
                    bundle,
                    candidate_facts(
                        method,
                        params,
                        metrics={"auc_pr": 0.4 if method == "iforest" else 0.6, "auc_roc": 0.9},
                    ),
                    params=params,
                    artifacts=[report],
                    input_example=table[list(schema.features)].head(5),
                    audit=registrations,
                    who="trainer",
                )
            )
            detectors.append((det, threshold))
        yield {
            "refs": refs,
            "detectors": detectors,
            "table": table,
            "X": X,
            "registrations": registrations,
            "bundle": (schema, scaler, root),
        }
    mlflow.set_tracking_uri(previous[0])  # later modules must not write into this store
    mlflow.set_registry_uri(previous[1])


@pytest.fixture
def fresh(store: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The shared store with no champion yet and an empty audit log of this test's own."""
    if registry_store.get_alias_version(NAME, "champion") is not None:
        MlflowClient().delete_registered_model_alias(NAME, "champion")
    return {**store, "audit": AuditLog(tmp_path / "audit.jsonl", key=b"k")}


def _passing() -> Decision:
    return decide(PASSING, None, PromotionPolicy())


def test_candidates_are_versions_with_lineage_tags_and_challenger(store: dict[str, Any]) -> None:
    v1, v2 = store["refs"]
    assert (v1.version, v2.version) == ("1", "2")
    assert registry_store.get_alias_version(NAME, "challenger") == "2"
    info = registry_store.version_info(NAME, "2")
    assert info["tags"]["method"] == "devnet"
    assert info["tags"]["data_version"] == "abc123.dir"
    assert info["tags"]["contamination_high"] == "0.07"
    assert json.loads(info["tags"]["metrics"]) == {"auc_pr": 0.6, "auc_roc": 0.9}
    assert info["metrics"]["auc_pr"] == pytest.approx(0.6)
    assert info["run_id"] == v2.run_id
    run_files = [a.path for a in MlflowClient().list_artifacts(v2.run_id, "reports")]
    assert run_files == ["reports/validation.json"]
    assert [v["version"] for v in registry_store.list_versions(NAME)] == ["1", "2"]
    requirements = (
        Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/2")) / "requirements.txt"
    )
    assert "torch==2.13.0" in requirements.read_text().splitlines()
    entries = store["registrations"].entries()
    assert [(e["action"], e["version"], e["who"]) for e in entries] == [
        ("register", "1", "trainer"),
        ("register", "2", "trainer"),
    ]


def test_incomplete_bundle_is_refused_before_anything_is_logged(store: dict[str, Any]) -> None:
    schema, scaler, root = store["bundle"]
    detector, threshold = store["detectors"][0]
    bundle = write_bundle(root / "broken", detector, schema, scaler, threshold)
    (bundle / "detector.pt").unlink()
    with pytest.raises(RegistryError, match="lacks detector.pt"):
        registration.log_candidate(NAME, bundle, candidate_facts(), {}, [], store["table"].head(2))
    assert [v["version"] for v in registry_store.list_versions(NAME)] == ["1", "2"]


def test_promote_moves_champion_only_when_all_gates_pass(fresh: dict[str, Any]) -> None:
    audit = fresh["audit"]
    entry = promotion.promote(NAME, "1", _passing(), audit, "alice")
    assert registry_store.get_alias_version(NAME, "champion") == "1"
    assert (entry["action"], entry["who"], entry["data_version"]) == (
        "promote",
        "alice",
        "abc123.dir",
    )

    failing = decide({**PASSING, "auc_pr": 0.3}, CHAMPION, PromotionPolicy())
    promotion.promote(NAME, "2", failing, audit, "bob")
    assert registry_store.get_alias_version(NAME, "champion") == "1"
    tags = registry_store.version_info(NAME, "2")["tags"]
    assert tags["decision"] == "rejected"
    assert "beats_champion" in tags["rejected_reason"]
    assert json.loads(tags["gates"])["beats_champion"]["passed"] is False

    promotion.promote(NAME, "2", _passing(), audit, "bob")  # a later, passing decision
    assert registry_store.get_alias_version(NAME, "champion") == "2"
    assert "rejected_reason" not in registry_store.version_info(NAME, "2")["tags"]

    assert [e["action"] for e in audit.entries()] == ["promote", "reject", "promote"]
    assert audit.verify().ok
    run_id = fresh["refs"][0].run_id
    logged = mlflow.artifacts.load_dict(f"runs:/{run_id}/audit/000000-promote.json")
    assert (
        logged["hash"]
        == entry["hash"]
        == registry_store.version_info(NAME, "1")["tags"]["audit_hash"]
    )


def test_rollback_restores_the_previous_champion(fresh: dict[str, Any]) -> None:
    audit = fresh["audit"]
    with pytest.raises(RegistryError, match="no champion"):
        promotion.rollback(NAME, audit, "carol")
    promotion.promote(NAME, "1", _passing(), audit, "alice")
    promotion.promote(NAME, "2", _passing(), audit, "alice")
    assert registry_store.get_alias_version(NAME, "champion") == "2"
    assert promotion.rollback(NAME, audit, "carol") == "1"
    assert registry_store.get_alias_version(NAME, "champion") == "1"
    last = audit.entries()[-1]
    assert (last["action"], last["version"], last["previous_champion"]) == ("rollback", "1", "2")
    with pytest.raises(RegistryError, match="first recorded champion"):
        promotion.rollback(NAME, audit, "carol")
    assert registry_store.get_alias_version(NAME, "champion") == "1"


def test_rollback_refuses_a_tampered_audit_log(fresh: dict[str, Any]) -> None:
    audit = fresh["audit"]
    promotion.promote(NAME, "1", _passing(), audit, "alice")
    promotion.promote(NAME, "2", _passing(), audit, "alice")
    audit.path.write_text(audit.path.read_text().replace('"alice"', '"mallory"', 1))
    with pytest.raises(RegistryError, match="fails verification"):
        promotion.rollback(NAME, audit, "carol")
    assert registry_store.get_alias_version(NAME, "champion") == "2"


def test_promote_version_gates_on_what_the_registry_recorded(fresh: dict[str, Any]) -> None:
    audit = fresh["audit"]
    policy = PromotionPolicy(metric_floor=0.1, margin=0.05)
    assert promotion.promote_version(NAME, "1", policy, audit, "alice").promote  # no champion yet
    decision = promotion.promote_version(NAME, "2", policy, audit, "alice")  # 0.6 > 0.4 + 0.05
    assert decision.promote
    assert decision.gates["beats_champion"]["limit"] == pytest.approx(0.45)
    assert registry_store.get_alias_version(NAME, "champion") == "2"
    with pytest.raises(RegistryError, match="already champion"):
        promotion.promote_version(NAME, "2", policy, audit, "alice")


def test_champion_pyfunc_scores_a_raw_table_and_enforces_the_schema(
    fresh: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    promotion.promote(NAME, "2", _passing(), fresh["audit"], "alice")
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    table = fresh["table"]
    out = model.predict(table)
    assert list(out.columns) == ["score", "is_anomaly"]
    assert (out.dtypes["score"], out.dtypes["is_anomaly"]) == (np.float64, np.bool_)
    detector, threshold = fresh["detectors"][1]
    expected = detector.decision_function(fresh["X"])
    np.testing.assert_allclose(out["score"].to_numpy(), expected, rtol=1e-5)
    np.testing.assert_array_equal(out["is_anomaly"].to_numpy(), expected >= threshold.value)
    assert 0 < out["is_anomaly"].sum() < len(table)

    monkeypatch.setattr(detector_deep, "SCORE_CHUNK_ROWS", 7)  # many chunks, same scores
    # float32 matmuls may sum in another order for another chunk shape (CPU-dependent kernels)
    np.testing.assert_allclose(
        model.predict(table)["score"].to_numpy(), out["score"].to_numpy(), rtol=1e-6
    )

    with pytest.raises(DataError, match="'f2'.*row 3"):
        model.predict(table.assign(f2=table["f2"].where(table.index != 3)))
    with pytest.raises(MlflowException, match="f1"):
        model.predict(table.drop(columns=["f1"]))
    reordered = table[["f3", "f0", "id", "f2", "f1"]]
    np.testing.assert_allclose(model.predict(reordered)["score"], out["score"], rtol=1e-6)


def test_unknown_model_alias_or_version_is_a_registry_error(fresh: dict[str, Any]) -> None:
    with pytest.raises(RegistryError, match="'nope'"):
        registry_store.load_model("nope")
    with pytest.raises(RegistryError, match="champion"):
        registry_store.load_model(NAME)  # no champion in this test
    with pytest.raises(RegistryError, match="staging"):
        registry_store.load_model(NAME, "staging")
    with pytest.raises(RegistryError, match="v99 is not in the registry"):
        registry_store.version_info(NAME, "99")
    with pytest.raises(RegistryError, match="no registered model"):
        registry_store.list_versions("nope")
    with pytest.raises(RegistryError, match="v99"):
        promotion.promote(NAME, "99", _passing(), fresh["audit"], "alice")
    assert fresh["audit"].entries() == []
    assert registry_store.get_alias_version("nope", "champion") is None
