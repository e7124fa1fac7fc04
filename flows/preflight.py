"""Checks the CLI runs before the Prefect engine starts, so a bad input is refused in seconds
rather than after the engine (and, on a fresh machine, its ephemeral server) has started:
the files are readable tables, the label file is well formed, the output path is usable,
the model exists and the table's header has its columns. The flows check the same things
again (deployments run them without the CLI); these only move the refusal earlier."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from components import data, registry
from components.scoring import check_output
from flows.config import Settings


def same_columns_as_champion(columns: Iterable[object], settings: Settings) -> None:
    """A new feature set would break every client that scores with the champion's columns:
    refuse it unless the run says it is on purpose (`allow_schema_change`)."""
    if settings.allow_schema_change:
        return
    version = registry.get_alias_version(settings.model_name, "champion")
    if version is None:
        return
    schema, _ = registry.bundle_reference(settings.model_name, version)
    try:
        data.check_columns(columns, schema)
    except data.DataError as err:
        raise data.DataError(
            f"{err} (champion's columns); to train on new columns on purpose, pass "
            "--allow-schema-change"
        ) from err


def train_inputs(settings: Settings) -> None:
    """The table and label files, and the table's header against the champion's columns."""
    data.ensure_table_file(settings.records)
    data.read_labels(settings.labels)
    registry.configure(settings.tracking_uri)
    same_columns_as_champion(data.read_columns(settings.records), settings)


def score_inputs(records: Path, out: Path, chunk_rows: int, alias: str, settings: Settings) -> None:
    """The table, the output path, the model under `alias` and the header's columns."""
    data.ensure_table_file(records)
    check_output(out, chunk_rows)
    registry.configure(settings.tracking_uri)
    version = registry.require_alias(settings.model_name, alias)
    schema, _ = registry.bundle_reference(settings.model_name, version)
    data.check_columns(data.read_columns(records), schema)
