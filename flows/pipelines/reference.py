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

from components.data.tables import Schema
from components.monitoring import reference_check, validation
from components.monitoring.profile import ReferenceProfile, build_profile
from components.provenance import lineage
from components.provenance.audit import AuditLog
from components.selection.candidate import Candidate
from components.selection.contamination import ContaminationEstimate
from flows.runtime import progress
from flows.runtime.config import Settings
from flows.usecases.champion_check import check_data_against_champion
from flows.usecases.performance_estimate import estimate_performance


@task(cache_policy=NONE)
def check_against_champion(
    table: pd.DataFrame, confirmed: pd.DataFrame, settings: Settings
) -> validation.ValidationReport:
    """GX expectations built from the champion's reference profile; a failure stops the flow
    before anything is trained or registered, unless the run accepts the drift on purpose
    (`accept_drift_reason`), which is audited with who, why and the failed checks."""
    with progress.stage("check against the champion's reference") as stage:
        report = check_data_against_champion(table, confirmed, settings)
        stage.report(report.note if report.success else "drift")
    if report.success:
        progress.inputs_accepted()
        return report
    reason = settings.accept_drift_reason
    if not reason:
        raise validation.DataValidationError(report, hint=reference_check.ACCEPT_HINT)
    AuditLog(settings.audit_log, settings.audit_key_bytes()).append(
        {
            "model_name": settings.model_name,
            "action": "accept-drift",
            "who": settings.who,
            "reason": reason,
            "champion": report.note,
            "failed": report.failed,
            "data_version": lineage.data_version(settings.data_dvc),
            "git_commit": lineage.git_commit(Path.cwd()),
        }
    )
    report.note += f"; drift accepted by {settings.who}: {reason}"
    progress.inputs_accepted()
    return report


@task(cache_policy=NONE)
def profile_reference(
    raw: np.ndarray,
    y: np.ndarray,
    contamination: ContaminationEstimate,
    candidate: Candidate,
    schema: Schema,
) -> ReferenceProfile:
    """The released candidate's reference: the raw training features, the labels, the
    contamination interval, the share of training rows its threshold flags, and its estimated
    performance (components/monitoring/performance) from its cross-validation and that flag
    rate."""
    with progress.stage("reference profile") as stage:
        flags = candidate.threshold.flag(candidate.scores)
        stage.report(f"training flag rate {flags.mean():.2%}")
        return build_profile(
            raw,
            schema.features,
            n_labelled=int((y == 1).sum()),
            contamination=contamination.to_dict(),
            threshold=candidate.threshold.value,
            flag_rate=float(flags.mean()),
            performance=estimate_performance(candidate, flags, y),
        )
