"""A release candidate becomes a registered version: one MLflow run (params, metrics,
reports) whose pyfunc is registered with the candidate's facts as tags and the alias
`challenger`, audited, and registered once however often the step is retried."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry.audit_trail import RUN_KEY, record
from components.registry.bundle import WsadModel, scoring_code
from components.registry.candidate_facts import CandidateFacts
from components.registry.store import set_alias, version_info

log = logging.getLogger(__name__)

PINNED = ("mlflow", "torch", "numpy", "pandas", "scikit-learn", "catboost", "xgboost-cpu")


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A registered version and the run that produced it."""

    name: str
    version: str
    run_id: str


def _pinned_requirements() -> list[str]:
    """Exact installed versions, so serving never resolves packages over the network."""
    return [f"{name}=={metadata.version(name).split('+')[0]}" for name in PINNED]


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
        with (
            mlflow.start_run(run_name=f"{model_name}-{facts.method}"),
            tempfile.TemporaryDirectory(prefix="wsad-code-") as code,
        ):
            mlflow.set_tags(version_tags)  # first: the key marks the run before anything else
            mlflow.log_params({k: str(v) for k, v in params.items()})
            mlflow.log_metrics(facts.metrics)
            for path in artifacts:
                mlflow.log_artifact(str(path), artifact_path="reports")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=WsadModel(),
                artifacts={"bundle": str(bundle_dir)},
                code_paths=[str(scoring_code(Path(code)))],
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
    client = MlflowClient()
    for key, value in version_tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    set_alias(model_name, "challenger", version)
    registered = version_info(model_name, version)
    log.info("registered %s v%s (run %s) as challenger", model_name, version, registered["run_id"])
    if audit is not None:
        record(
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
    found = MlflowClient().search_model_versions(f"name = '{model_name}' AND run_id IN ({ids})")
    return min((str(mv.version) for mv in found), key=int, default=None)
