"""Release through the MLflow model registry: candidates, gated promotion, rollback.

Why: a model reaches production only by the `champion` alias of a registered version, and
that alias moves only when every gate passes (`decide_promotion`, pure) and the move is
written to the hash-chained audit log. A version is a pyfunc bundling the schema, the
scaler, the detector and the threshold, so `models:/<name>@champion` scores a raw table
exactly as training saw it. Every version carries its lineage (data version, git commit,
validation, contamination interval, method, metrics) as tags.

With components/serving.py (MLflow's scoring server), the only module besides flows/ that
imports mlflow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient

import components
from components.audit import AuditLog
from components.calibration import Threshold
from components.candidate_facts import CandidateFacts
from components.data import Scaler, Schema, feature_matrix
from components.profile import ReferenceProfile

if TYPE_CHECKING:  # torch loads with the first model, not with the registry's commands
    from components.detectors.base import Detector

log = logging.getLogger(__name__)

EXPERIMENT = "wsad"
PINNED = ("mlflow", "torch", "numpy", "pandas", "scikit-learn", "catboost", "xgboost-cpu")
BUNDLE_FILES = ("schema.json", "scaler.json", "threshold.json", "detector.pt")
PROFILE_FILE = "profile.json"  # optional: versions registered before profiles have none
GATES = ("validation", "metric_floor", "beats_champion", "contamination_in_interval")
APPROVAL_DECISIONS = ("approve", "reject", "timeout")
RUN_KEY = "run_key"  # run and version tag, audit field: what a retried step knows itself by


class RegistryError(ValueError):
    """A model, version or alias is not in the registry, or a release step is refused."""


@dataclasses.dataclass
class PromotionPolicy:
    """Limits a candidate must meet to become champion."""

    metric_floor: float = 0.1
    margin: float = 0.0
    require_validation: bool = True


@dataclasses.dataclass
class Decision:
    """Every gate's value, limit and outcome; `promote` only when all passed."""

    promote: bool
    gates: dict[str, dict[str, Any]]
    reason: str


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A registered version and the run that produced it."""

    name: str
    version: str
    run_id: str


def _finite(value: float) -> float | None:
    """`value`, or None when it is NaN or infinite (such a number fails its gate)."""
    return value if math.isfinite(value) else None


def decide_promotion(
    candidate: CandidateFacts, champion: CandidateFacts | None, policy: PromotionPolicy
) -> Decision:
    """Pure gate table: the candidate's validation, AUC-PR and contamination (of the current
    data) against the policy and, unless there is no champion yet, against the champion's
    AUC-PR (the flow measures it on the candidate's folds) and its contamination interval."""
    auc = _finite(candidate.auc_pr)
    validated = bool(candidate.validation_passed)  # a numpy bool would not be JSON
    gates: dict[str, dict[str, Any]] = {
        "validation": {
            "value": validated,
            "limit": policy.require_validation,
            "passed": validated or not policy.require_validation,
        },
        "metric_floor": {
            "value": auc,
            "limit": policy.metric_floor,
            "passed": auc is not None and auc >= policy.metric_floor,
        },
    }
    if champion is None:
        gates["beats_champion"] = {"value": auc, "limit": None, "passed": True}
        gates["contamination_in_interval"] = {
            "value": _finite(candidate.contamination),
            "limit": None,
            "passed": True,
        }
    else:
        champ_auc = _finite(champion.auc_pr)
        bar = None if champ_auc is None else champ_auc + policy.margin
        gates["beats_champion"] = {
            "value": auc,
            "limit": bar,
            "passed": auc is not None and bar is not None and auc > bar,
        }
        rate = _finite(candidate.contamination)
        low, high = _finite(champion.contamination_low), _finite(champion.contamination_high)
        inside = rate is not None and low is not None and high is not None and low <= rate <= high
        gates["contamination_in_interval"] = {"value": rate, "limit": [low, high], "passed": inside}
    failed = [name for name in GATES if not gates[name]["passed"]]
    if not failed:
        return Decision(True, gates, "all gates passed")
    detail = "; ".join(
        f"{name} (value {gates[name]['value']}, limit {gates[name]['limit']})" for name in failed
    )
    return Decision(False, gates, f"failed: {detail}")


def with_approval(decision: Decision, approver: str, verdict: str, reason: str) -> Decision:
    """Add a human's answer as the `approval` gate: only 'approve' keeps a passing decision;
    'reject' or 'timeout' (nobody answered in time) turn it into a rejection."""
    if verdict not in APPROVAL_DECISIONS:
        raise RegistryError(
            f"approval decision {verdict!r} is not one of {', '.join(APPROVAL_DECISIONS)}"
        )
    approved = verdict == "approve"
    gates = {
        **decision.gates,
        "approval": {
            "value": verdict,
            "limit": "approve",
            "passed": approved,
            "approver": approver,
            "reason": reason,
        },
    }
    if decision.promote and approved:
        return Decision(True, gates, f"all gates passed; approved by {approver}: {reason}")
    if not decision.promote:
        return Decision(False, gates, decision.reason)
    return Decision(False, gates, f"failed: approval ({verdict} by {approver}: {reason})")


# MLflow set-up ---------------------------------------------------------------------------------
def _client() -> MlflowClient:
    return MlflowClient()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `path` (created if missing) for the block, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def configure(tracking_uri: str, experiment: str = EXPERIMENT) -> None:
    """Point MLflow at the store (its default lives in `Settings.tracking_uri`; a sqlite
    store keeps its artifacts in `artifacts/` next to the database) and create the
    experiment with an explicit artifact location, so artifacts never land in the CWD by
    accident. A sqlite store is created under a lock: two processes migrating a new database
    at once collide."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    artifact_location = None
    lock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        artifact_location = (db.parent / "artifacts").resolve().as_uri()
        lock = _exclusive(db.with_name(f"{db.name}.init.lock"))
    with lock:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        _client().search_registered_models(max_results=1)  # creates the registry's tables
        if mlflow.get_experiment_by_name(experiment) is None:
            try:
                mlflow.create_experiment(experiment, artifact_location=artifact_location)
            except MlflowException:  # created by a concurrent process meanwhile
                if mlflow.get_experiment_by_name(experiment) is None:
                    raise
    mlflow.set_experiment(experiment)


# The model bundle ------------------------------------------------------------------------------
def write_bundle(
    bundle_dir: Path,
    detector: Detector,
    schema: Schema,
    scaler: Scaler,
    threshold: Threshold,
    profile: ReferenceProfile | None = None,
) -> Path:
    """Write what the pyfunc needs to score a raw table: schema, scaler, threshold, detector,
    and the reference profile that scoring compares each batch with."""
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Schema | Scaler | Threshold | ReferenceProfile | None] = {
        "schema": schema,
        "scaler": scaler,
        "threshold": threshold,
        "profile": profile,
    }
    for name, obj in parts.items():
        if obj is not None:
            (bundle_dir / f"{name}.json").write_text(json.dumps(obj.to_dict(), indent=2))
    detector.save(bundle_dir / "detector.pt")
    return bundle_dir


def bundle_reference(model_name: str, version: str) -> tuple[Schema, ReferenceProfile | None]:
    """A version's schema and reference profile, read from its bundle without loading the
    detector (None for a version registered before profiles)."""
    model = f"models:/{model_name}/{version}"
    bundle = mlflow.models.get_model_info(model).flavors["python_function"]["artifacts"]
    uri = f"{model}/{bundle['bundle']['path']}"  # the folder keeps its name when logged
    with tempfile.TemporaryDirectory(prefix="wsad-reference-") as tmp:
        schema = json.loads(
            Path(
                mlflow.artifacts.download_artifacts(f"{uri}/schema.json", dst_path=tmp)
            ).read_text()
        )
        try:
            profile_path = mlflow.artifacts.download_artifacts(
                f"{uri}/{PROFILE_FILE}", dst_path=tmp
            )
        except (MlflowException, OSError):
            return Schema.from_dict(schema), None
        profile = json.loads(Path(profile_path).read_text())
    return Schema.from_dict(schema), ReferenceProfile.from_dict(profile)


class WsadModel(PythonModel):
    """Raw table in, `score` and `is_anomaly` out: the schema is enforced (`feature_matrix`),
    features scaled as in training, rows scored in chunks to bound memory. `profile` is the
    training data's reference (None for versions registered before profiles)."""

    def load_context(self, context: Any) -> None:
        self._load(Path(context.artifacts["bundle"]))

    def _load(self, bundle: Path) -> None:
        missing = [f for f in BUNDLE_FILES if not (bundle / f).is_file()]
        if missing:
            raise RegistryError(
                f"model bundle {bundle} lacks {', '.join(missing)}; use write_bundle"
            )
        self.schema = Schema.from_dict(json.loads((bundle / "schema.json").read_text()))
        self.scaler = Scaler.from_dict(json.loads((bundle / "scaler.json").read_text()))
        self.threshold = Threshold.from_dict(json.loads((bundle / "threshold.json").read_text()))
        from components.detectors.base import Detector

        self.detector = Detector.load(bundle / "detector.pt")
        profile = bundle / PROFILE_FILE
        self.profile = (
            ReferenceProfile.from_dict(json.loads(profile.read_text()))
            if profile.is_file()
            else None
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return self.score(model_input)

    def score(
        self, model_input: pd.DataFrame, observe: Callable[[np.ndarray], None] | None = None
    ) -> pd.DataFrame:
        """`predict` without MLflow's arguments; `observe` sees the raw feature matrix in
        schema order (the drift statistics read it there instead of converting again)."""
        from components.detectors.base import SCORE_CHUNK_ROWS

        X = feature_matrix(model_input, self.schema)
        if observe is not None:
            observe(X)
        scores = np.concatenate(
            [
                self.detector.decision_function(self.scaler.transform(X[i : i + SCORE_CHUNK_ROWS]))
                for i in range(0, len(X), SCORE_CHUNK_ROWS)
            ]
        )
        return pd.DataFrame(
            {"score": scores.astype(np.float64), "is_anomaly": self.threshold.flag(scores)},
            index=model_input.index,
        )

    @classmethod
    def from_bundle(cls, bundle: Path) -> WsadModel:
        """A loaded model straight from a bundle folder (for the signature's output example)."""
        model = cls()
        model._load(Path(bundle))
        return model


def _pinned_requirements() -> list[str]:
    """Exact installed versions, so serving never resolves packages over the network."""
    return [f"{name}=={metadata.version(name).split('+')[0]}" for name in PINNED]


# Registration ----------------------------------------------------------------------------------
def log_candidate(
    model_name: str,
    bundle_dir: Path,
    facts: CandidateFacts,
    params: dict[str, Any],
    artifacts: list[Path],
    input_example: pd.DataFrame,
    audit: AuditLog | None = None,
    who: str = "wsad",
    run_key: str | None = None,
) -> ModelRef:
    """One run (`params` as MLflow logs them, the facts' metrics, report artifacts) whose
    pyfunc becomes a new registered version tagged with the facts and aliased `challenger`
    (audited as 'register' when an audit log is given). With a `run_key`, a retry finds the
    version an earlier attempt registered (its run carries the key) and finishes its tags,
    alias and audit entry instead of registering a second version."""
    output_example = WsadModel.from_bundle(bundle_dir).predict(None, input_example)
    version_tags = facts.to_tags()
    if run_key is not None:
        version_tags[RUN_KEY] = run_key
    version = None if run_key is None else _registered_by(model_name, run_key)
    if version is None:
        with mlflow.start_run(run_name=f"{model_name}-{facts.method}"):
            mlflow.set_tags(version_tags)  # first: the key marks the run before anything else
            mlflow.log_params({k: str(v) for k, v in params.items()})
            mlflow.log_metrics(facts.metrics)
            for path in artifacts:
                mlflow.log_artifact(str(path), artifact_path="reports")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=WsadModel(),
                artifacts={"bundle": str(bundle_dir)},
                code_paths=[str(Path(components.__file__).parent)],
                signature=infer_signature(input_example, output_example),
                input_example=input_example,
                registered_model_name=model_name,
                pip_requirements=_pinned_requirements(),
            )
        version = str(info.registered_model_version)
    else:
        log.warning(
            "%s v%s was registered by an earlier attempt; finishing it", model_name, version
        )
    client = _client()
    for key, value in version_tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    set_alias(model_name, "challenger", version)
    registered = version_info(model_name, version)
    log.info("registered %s v%s (run %s) as challenger", model_name, version, registered["run_id"])
    if audit is not None:
        _record(
            audit,
            registered,
            facts,
            who,
            "registered",
            run_key,
            action="register",
            gates={},
            reason="challenger",
        )
    return ModelRef(model_name, version, registered["run_id"])


def _registered_by(model_name: str, run_key: str) -> str | None:
    """The version of `model_name` that a run tagged `run_key` registered, if any. Looked up
    through the run, which is tagged before `log_model` creates the version."""
    runs = mlflow.search_runs(
        filter_string=f"tags.{RUN_KEY} = '{run_key}'",
        search_all_experiments=True,
        output_format="list",
    )
    if not runs:
        return None
    ids = ", ".join(f"'{run.info.run_id}'" for run in runs)
    found = _client().search_model_versions(f"name = '{model_name}' AND run_id IN ({ids})")
    return min((str(mv.version) for mv in found), key=int, default=None)


def set_alias(model_name: str, alias: str, version: str) -> None:
    """Point `alias` at `version` (it moves away from any other version)."""
    try:
        _client().set_registered_model_alias(model_name, alias, str(version))
    except MlflowException as err:
        raise RegistryError(
            f"cannot set alias {alias!r} on {model_name} v{version}: {err.message.splitlines()[0]}"
        ) from err


def get_alias_version(model_name: str, alias: str) -> str | None:
    """The version holding `alias`, or None when no version (or no such model) has it."""
    try:
        return str(_client().get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def version_info(model_name: str, version: str) -> dict[str, Any]:
    """Tags, aliases, run id and the run's metrics of one registered version."""
    client = _client()
    try:
        mv = client.get_model_version(model_name, str(version))
    except MlflowException as err:
        raise RegistryError(
            f"{model_name} v{version} is not in the registry; list versions with `wsad models`"
        ) from err
    metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
    return {
        "name": model_name,
        "version": str(mv.version),
        "run_id": mv.run_id,
        "tags": dict(mv.tags),
        "metrics": dict(metrics),
        "aliases": list(mv.aliases),
    }


def version_facts(info: dict[str, Any]) -> CandidateFacts:
    """What a version (as `version_info` returns it) recorded as a candidate; a TagError
    naming the version and the tag when one is missing or malformed."""
    return CandidateFacts.from_tags(info["tags"], f"{info['name']} v{info['version']}")


def list_versions(model_name: str) -> list[dict[str, Any]]:
    """Every registered version of `model_name`, oldest first, as `version_info` dicts."""
    found = _client().search_model_versions(f"name = '{model_name}'")
    if not found:
        raise RegistryError(
            f"no registered model named {model_name!r}; train one with `wsad train`"
        )
    return [version_info(model_name, v) for v in sorted((mv.version for mv in found), key=int)]


def load_model(model_name: str, alias: str = "champion", audit: AuditLog | None = None) -> Any:
    """The pyfunc behind `models:/<name>@<alias>`. With an audit log, `champion` is loaded
    only when the (verified) log names that very version as the current champion, and by its
    version URI, so an alias moved outside wsad never reaches production scoring."""
    if audit is not None and alias == "champion":
        return load_version(model_name, champion_version(model_name, audit))
    return load_version(model_name, require_alias(model_name, alias))


def champion_version(model_name: str, audit: AuditLog) -> str:
    """The champion's version, only when the (verified) audit log names that very version."""
    version = require_alias(model_name, "champion")
    _check_named_by_audit(model_name, version, audit)
    return version


def load_version(model_name: str, version: str) -> Any:
    """The pyfunc of one registered version. By version, never by alias: the alias could
    move between a check and the load."""
    return mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")


def require_alias(model_name: str, alias: str) -> str:
    """The version holding `alias`; a RegistryError saying what to do when none does."""
    version = get_alias_version(model_name, alias)
    if version is None:
        raise RegistryError(
            f"no version of {model_name!r} has alias {alias!r}; "
            "train and promote one first (`wsad train`, `wsad promote`)"
        )
    return version


def _check_named_by_audit(model_name: str, version: str, audit: AuditLog) -> None:
    """Refuse a champion that the (verified) audit log does not name as the current one."""
    check = audit.verify()
    if not check.ok:
        raise RegistryError(
            f"audit log {audit.path} fails verification ({check.reason}); fix first"
        )
    history = _champion_history(audit, model_name)
    named = history[-1] if history else None
    if named != version:
        raise RegistryError(
            f"{model_name} champion alias is v{version} but {audit.path} names "
            f"{'no champion' if named is None else f'v{named}'}; refusing to score with it "
            "(release through `wsad promote`/`wsad rollback`)"
        )


# Release: promote, reject, roll back ------------------------------------------------------------
def _record(
    audit: AuditLog,
    info: dict[str, Any],
    facts: CandidateFacts,
    who: str,
    decision: str,
    run_key: str | None = None,
    **event: Any,
) -> dict[str, Any]:
    """Append the audit entry, then copy it to the version's run and tag the version with its
    hash (an anchor outside the log file). With a `run_key`, an entry that an earlier attempt
    of the same step appended (same model, version, action and key) is reused, not repeated;
    the copy and the tag are written again (both overwrite)."""
    keyed = {} if run_key is None else {RUN_KEY: run_key}
    earlier = None
    if run_key is not None:
        earlier = audit.find(
            model_name=info["name"], version=info["version"], action=event["action"], **keyed
        )
    entry = earlier or audit.append(
        {
            "model_name": info["name"],
            "version": info["version"],
            "who": who,
            "data_version": facts.data_version,
            "git_commit": facts.git_commit,
            "decision": decision,
            **event,
            **keyed,
        }
    )
    client = _client()
    if info["run_id"]:
        client.log_dict(info["run_id"], entry, f"audit/{entry['seq']:06d}-{entry['action']}.json")
    client.set_model_version_tag(info["name"], info["version"], "audit_hash", entry["hash"])
    return entry


def await_approval(model_name: str, version: str, flow_run_id: str) -> None:
    """Mark a version whose gates passed as waiting for a human, with the paused run to
    answer (`wsad approve <flow_run_id>`), so `wsad models` shows what is pending."""
    client = _client()
    client.set_model_version_tag(model_name, str(version), "approval_flow_run", flow_run_id)
    client.set_model_version_tag(model_name, str(version), "decision", "awaiting approval")


@contextlib.contextmanager
def release_lock(audit: AuditLog, model_name: str) -> Iterator[None]:
    """Serialise releases of one model across processes (an exclusive `flock` on a file next
    to the audit log), so reading the champion, moving it and auditing the move happen as
    one step even when two flows finish together."""
    with _exclusive(audit.path.with_name(f"{audit.path.name}.{model_name}.lock")):
        yield


def _reconciled_champion(model_name: str, audit: AuditLog) -> str | None:
    """The champion as the audit log records it. A release writes its audit entry before it
    moves the alias; a crash in between leaves the alias behind, and it is moved here."""
    history = _champion_history(audit, model_name)
    current = get_alias_version(model_name, "champion")
    if history and current != history[-1]:
        log.warning(
            "%s: champion alias is v%s but the audit log's last release names v%s (a release "
            "interrupted after its audit entry); moving the alias to v%s",
            model_name,
            current,
            history[-1],
            history[-1],
        )
        set_alias(model_name, "champion", history[-1])
        return history[-1]
    return current


def promote(
    model_name: str,
    version: str,
    decision: Decision,
    audit: AuditLog,
    who: str,
    approver: str | None = None,
    run_key: str | None = None,
) -> dict[str, Any]:
    """Apply a decision: audit 'promote' then move `champion`, or audit 'reject' then tag
    the rejection. The audit entry is the commit record: a crash before it changes nothing,
    a crash after it is completed by the next release (`_reconciled_champion`). `approver` is
    whoever signed it off (`who` when no human gate ran). With a `run_key` (the flow run's),
    a retry reuses the entry its earlier attempt wrote and finishes the alias and tags, so
    one decision is audited once. Returns the audit entry."""
    info = version_info(model_name, version)
    facts = version_facts(info)  # a version without its facts is refused before any write
    client = _client()
    action, outcome = ("promote", "promoted") if decision.promote else ("reject", "rejected")
    with release_lock(audit, model_name):
        previous = _reconciled_champion(model_name, audit)
        client.set_model_version_tag(
            model_name, info["version"], "gates", json.dumps(decision.gates)
        )
        entry = _record(
            audit,
            info,
            facts,
            who,
            outcome,
            run_key,
            action=action,
            gates=decision.gates,
            reason=decision.reason,
            previous_champion=previous,
            approver=approver or who,
        )
        if decision.promote:
            set_alias(model_name, "champion", info["version"])
            if "rejected_reason" in info["tags"]:  # an earlier rejection no longer describes it
                client.delete_model_version_tag(model_name, info["version"], "rejected_reason")
        else:
            client.set_model_version_tag(
                model_name, info["version"], "rejected_reason", decision.reason
            )
        client.set_model_version_tag(model_name, info["version"], "decision", outcome)
    log.info("%s v%s %s: %s", model_name, info["version"], outcome, decision.reason)
    return entry


def promote_version(
    model_name: str, version: str, policy: PromotionPolicy, audit: AuditLog, who: str
) -> Decision:
    """Gate a registered version on what the registry recorded for it and for the current
    champion (their cross-validated metrics may come from different folds), then `promote`."""
    info = version_info(model_name, version)
    current = get_alias_version(model_name, "champion")
    if current == info["version"]:
        raise RegistryError(f"{model_name} v{version} is already champion; nothing to promote")
    candidate = version_facts(info)
    champion = None if current is None else version_facts(version_info(model_name, current))
    decision = decide_promotion(candidate, champion, policy)
    promote(model_name, info["version"], decision, audit, who)
    return decision


def _champion_history(audit: AuditLog, model_name: str) -> list[str]:
    """Replay promotions and rollbacks: the stack of distinct champions, current last. A
    promotion of the version that is already champion (a repeated `wsad promote`, a retry
    audited before releases were keyed) adds nothing, so a rollback never lands on it."""
    stack: list[str] = []
    for entry in audit.entries():
        if entry.get("model_name") != model_name:
            continue
        if entry.get("action") == "promote":
            if not stack or stack[-1] != str(entry["version"]):
                stack.append(str(entry["version"]))
        elif entry.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def rollback(model_name: str, audit: AuditLog, who: str) -> str:
    """Move `champion` back to the champion before the current one, as the (verified) audit
    log records it; audited as 'rollback'. Returns the restored version."""
    check = audit.verify()
    if not check.ok:
        raise RegistryError(
            f"audit log {audit.path} fails verification ({check.reason}); fix first"
        )
    if get_alias_version(model_name, "champion") is None:
        raise RegistryError(f"{model_name} has no champion to roll back")
    with release_lock(audit, model_name):
        current = _reconciled_champion(model_name, audit)
        stack = _champion_history(audit, model_name)
        if current is None or current not in stack:
            raise RegistryError(
                f"{model_name} champion v{current} was not promoted through wsad "
                f"(not in {audit.path})"
            )
        earlier = stack[: len(stack) - stack[::-1].index(current) - 1]
        if not earlier:
            raise RegistryError(
                f"{model_name} v{current} is the first recorded champion; no earlier one"
            )
        target = earlier[-1]
        info = version_info(model_name, target)
        _record(
            audit,
            info,
            version_facts(info),
            who,
            "rolled back",
            action="rollback",
            gates={},
            reason=f"rolled back from v{current}",
            previous_champion=current,
        )
        set_alias(model_name, "champion", target)
        client = _client()
        client.set_model_version_tag(model_name, current, "decision", "rolled back")
        client.set_model_version_tag(model_name, target, "decision", "promoted")
    log.info("%s champion rolled back from v%s to v%s", model_name, current, target)
    return target
