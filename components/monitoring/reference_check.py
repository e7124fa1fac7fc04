"""A retrain's table and labels against the current champion's reference profile: the
check the training flow runs before anything is trained, and `wsad train` runs before the
Prefect engine starts (so a broken feed is refused in seconds).

No champion, or one registered before profiles, means the internal checks only, and the
report says so. Fewer labelled anomalies than the champion's pass only when the smaller
label file is a committed DVC version (`lineage.labels_removed_on_purpose`). What the check
needs of the champion arrives as a `Champion` (the registry look-ups are the caller's,
flows/usecases/champion_check.py), so monitoring never imports the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.data.tables import Schema
from components.monitoring.profile import ReferenceProfile
from components.monitoring.reference_validation import validate_against_reference
from components.monitoring.validation import ValidationReport
from components.provenance import lineage

SCOPE = "validation against the champion's reference"
ACCEPT_HINT = "to train on this data on purpose: wsad train --accept-drift --reason '...'"


@dataclass(frozen=True)
class Champion:
    """The champion as the check sees it: its version, schema and reference profile (None
    for a version registered before profiles), and the data version it was trained on
    (read only when there is a profile)."""

    version: str
    schema: Schema
    profile: ReferenceProfile | None
    data_version: str | None


def check_against_champion(
    table: pd.DataFrame,
    labels: pd.DataFrame,
    champion: Champion | None,
    data_dvc: Path,
    labels_path: Path,
) -> ValidationReport:
    """The report of `validate_against_reference` against the `champion` (None: none yet)."""
    if champion is None:
        return ValidationReport(
            True, 0, [], scope=SCOPE, note="no champion yet: internal checks only"
        )
    version, profile = champion.version, champion.profile
    if profile is None:
        note = f"champion v{version} has no reference profile: internal checks only"
        return ValidationReport(True, 0, [], scope=SCOPE, note=note)
    on_purpose = len(labels) < profile.n_labelled and lineage.labels_removed_on_purpose(
        data_dvc, labels_path, champion.data_version
    )
    report = validate_against_reference(
        table, labels, champion.schema, profile, labels_may_shrink=on_purpose
    )
    report.note = f"champion v{version}" + (
        ", labels removed in a committed data version" if on_purpose else ""
    )
    return report
