"""The MLflow store: set-up (one experiment with its artifacts next to a sqlite database),
an exclusive file lock across processes, registered versions with their facts, aliases, and
loading a version's pyfunc (the champion only when the audit log names it)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry import RegistryError
from components.registry.audit_trail import check_named_by_audit
from components.registry.candidate_facts import CandidateFacts

EXPERIMENT = "wsad"


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
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
        lock = exclusive(db.with_name(f"{db.name}.init.lock"))
    with lock:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        MlflowClient().search_registered_models(max_results=1)  # creates the registry's tables
        if mlflow.get_experiment_by_name(experiment) is None:
            try:
                mlflow.create_experiment(experiment, artifact_location=artifact_location)
            except MlflowException:  # created by a concurrent process meanwhile
                if mlflow.get_experiment_by_name(experiment) is None:
                    raise
    mlflow.set_experiment(experiment)


def set_alias(model_name: str, alias: str, version: str) -> None:
    """Point `alias` at `version` (it moves away from any other version)."""
    try:
        MlflowClient().set_registered_model_alias(model_name, alias, str(version))
    except MlflowException as err:
        raise RegistryError(
            f"cannot set alias {alias!r} on {model_name} v{version}: {err.message.splitlines()[0]}"
        ) from err


def get_alias_version(model_name: str, alias: str) -> str | None:
    """The version holding `alias`, or None when no version (or no such model) has it."""
    try:
        return str(MlflowClient().get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def require_alias(model_name: str, alias: str) -> str:
    """The version holding `alias`; a RegistryError saying what to do when none does."""
    version = get_alias_version(model_name, alias)
    if version is None:
        raise RegistryError(
            f"no version of {model_name!r} has alias {alias!r}; "
            "train and promote one first (`wsad train`, `wsad promote`)"
        )
    return version


def version_info(model_name: str, version: str) -> dict[str, Any]:
    """Tags, aliases, run id and the run's metrics of one registered version."""
    client = MlflowClient()
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
    found = MlflowClient().search_model_versions(f"name = '{model_name}'")
    if not found:
        raise RegistryError(
            f"no registered model named {model_name!r}; train one with `wsad train`"
        )
    return [version_info(model_name, v) for v in sorted((mv.version for mv in found), key=int)]


def resolve_version(model_name: str, alias: str = "champion", audit: AuditLog | None = None) -> str:
    """The version behind `models:/<name>@<alias>`. With an audit log, `champion` resolves
    only when the (verified) log names that very version as the current champion, so an
    alias moved outside wsad never reaches production scoring."""
    if audit is not None and alias == "champion":
        return champion_version(model_name, audit)
    return require_alias(model_name, alias)


def load_model(model_name: str, alias: str = "champion", audit: AuditLog | None = None) -> Any:
    """The pyfunc of `resolve_version`'s version, loaded by its version URI."""
    return load_version(model_name, resolve_version(model_name, alias, audit))


def champion_version(model_name: str, audit: AuditLog) -> str:
    """The champion's version, only when the (verified) audit log names that very version."""
    version = require_alias(model_name, "champion")
    check_named_by_audit(model_name, version, audit)
    return version


def load_version(model_name: str, version: str) -> Any:
    """The pyfunc of one registered version. By version, never by alias: the alias could
    move between a check and the load."""
    return mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")
