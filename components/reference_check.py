"""A retrain's table and labels against the current champion's reference profile: the
check the training flow runs before anything is trained, and `wsad train` runs before the
Prefect engine starts (so a broken feed is refused in seconds).

No champion, or one registered before profiles, means the internal checks only, and the
report says so. Fewer labelled anomalies than the champion's pass only when the smaller
label file is a committed DVC version (`lineage.labels_removed_on_purpose`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components import lineage
from components.reference_validation import validate_against_reference
from components.registry import bundle, store
from components.validation import ValidationReport

SCOPE = "validation against the champion's reference"
ACCEPT_HINT = "to train on this data on purpose: wsad train --accept-drift --reason '...'"


def check_against_champion(
    table: pd.DataFrame, labels: pd.DataFrame, model_name: str, data_dvc: Path, labels_path: Path
) -> ValidationReport:
    """The report of `validate_against_reference` against `model_name`'s champion."""
    version = store.get_alias_version(model_name, "champion")
    if version is None:
        return ValidationReport(
            True, 0, [], scope=SCOPE, note="no champion yet: internal checks only"
        )
    schema, profile = bundle.bundle_reference(model_name, version)
    if profile is None:
        note = f"champion v{version} has no reference profile: internal checks only"
        return ValidationReport(True, 0, [], scope=SCOPE, note=note)
    champion_data = store.version_facts(store.version_info(model_name, version)).data_version
    on_purpose = len(labels) < profile.n_labelled and lineage.labels_removed_on_purpose(
        data_dvc, labels_path, champion_data
    )
    report = validate_against_reference(
        table, labels, schema, profile, labels_may_shrink=on_purpose
    )
    report.note = f"champion v{version}" + (
        ", labels removed in a committed data version" if on_purpose else ""
    )
    return report
