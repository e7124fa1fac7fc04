"""The check of a retrain's data against the champion's reference, as `wsad train` runs it
before the Prefect engine starts (flows/usecases/preflight.py) and the training flow runs it
before anything is trained (flows/pipelines/reference.py): the registry says which version
is the champion and what it recorded; components/monitoring/reference_check.py compares."""

from __future__ import annotations

import pandas as pd

from components.monitoring.reference_check import Champion, check_against_champion
from components.monitoring.validation import ValidationReport
from components.registry import bundle, store
from flows.runtime.config import Settings


def champion_reference(model_name: str) -> Champion | None:
    """`model_name`'s champion as the check needs it, or None when there is none yet."""
    version = store.get_alias_version(model_name, "champion")
    if version is None:
        return None
    schema, profile = bundle.bundle_reference(model_name, version)
    data_version = (
        None
        if profile is None
        else store.version_facts(store.version_info(model_name, version)).data_version
    )
    return Champion(version, schema, profile, data_version)


def check_data_against_champion(
    table: pd.DataFrame, labels: pd.DataFrame, settings: Settings
) -> ValidationReport:
    """The table and labels against `settings.model_name`'s champion (a configured store)."""
    champion = champion_reference(settings.model_name)
    return check_against_champion(table, labels, champion, settings.data_dvc, settings.labels)
