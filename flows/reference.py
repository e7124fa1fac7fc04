"""The training flow's reference tasks: check a retrain's data against the champion's
reference before anything is trained, and profile the released candidate's data.

Why a module of its own: these tasks bracket the flow's middle (contamination ->
cross-validation -> selection -> refit), which changes independently of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NONE

from components import lineage, registry, validation
from components.audit import AuditLog
from components.candidate import Candidate
from components.contamination import ContaminationEstimate
from components.data import Schema
from components.profile import ReferenceProfile, build_profile
from flows.config import Settings

SCOPE = "validation against the champion's reference"


def _internal_only(why: str) -> validation.ValidationReport:
    return validation.ValidationReport(
        True, 0, [], scope=SCOPE, note=f"{why}: internal checks only"
    )


@task(cache_policy=NONE)
def check_against_champion(
    table: pd.DataFrame, confirmed: pd.DataFrame, settings: Settings
) -> validation.ValidationReport:
    """GX expectations built from the champion's reference profile; a failure stops the flow
    before anything is trained or registered, unless the run accepts the drift on purpose
    (`accept_drift_reason`), which is audited with who, why and the failed checks."""
    version = registry.get_alias_version(settings.model_name, "champion")
    if version is None:
        return _internal_only("no champion yet")
    schema, profile = registry.bundle_reference(settings.model_name, version)
    if profile is None:
        return _internal_only(f"champion v{version} has no reference profile")
    champion_data = registry.version_info(settings.model_name, version)["tags"].get("data_version")
    on_purpose = len(confirmed) < profile.n_labelled and lineage.labels_removed_on_purpose(
        settings.data_dvc, settings.labels, champion_data
    )
    report = validation.validate_against_reference(
        table, confirmed, schema, profile, labels_may_shrink=on_purpose
    )
    report.note = f"champion v{version}" + (
        ", labels removed in a committed data version" if on_purpose else ""
    )
    if report.success:
        return report
    reason = settings.accept_drift_reason
    if not reason:
        raise validation.DataValidationError(
            report,
            hint="to train on this data on purpose: wsad train --accept-drift --reason '...'",
        )
    AuditLog(settings.audit_log, settings.audit_key_bytes()).append(
        {
            "model_name": settings.model_name,
            "action": "accept-drift",
            "who": settings.who,
            "reason": reason,
            "champion": version,
            "failed": report.failed,
            "data_version": lineage.data_version(settings.data_dvc),
            "git_commit": lineage.git_commit(Path.cwd()),
        }
    )
    report.note += f"; drift accepted by {settings.who}: {reason}"
    return report


@task(cache_policy=NONE)
def profile_reference(
    raw: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    contamination: ContaminationEstimate,
    candidate: Candidate,
    schema: Schema,
) -> ReferenceProfile:
    """The released candidate's reference: the raw training features, the labels, the
    contamination interval and the share of training rows its threshold flags."""
    flags = candidate.threshold.flag(candidate.detector.decision_function(X))
    return build_profile(
        raw,
        schema.features,
        n_labelled=int(y.sum()),
        contamination=contamination.to_dict(),
        threshold=candidate.threshold.value,
        flag_rate=float(flags.mean()),
    )
