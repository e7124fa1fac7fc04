"""Checks the CLI runs before the Prefect engine starts, so a bad input is refused in seconds
rather than after the engine (and, on a fresh machine, its ephemeral server) has started.
Training reads its table whole anyway, so `train` checks that it fits the memory budget
and parses it here too (schema, ids, label
ids) and checks it against the champion's reference before loading torch or Prefect;
scoring streams, so `score` reads only the header. The flows check the same things again
(deployments run them without the CLI); these only move the refusal earlier. The registry
(MLflow) is imported only by the checks that need it, after the cheap ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from components.data import table_io, table_size, tables
from components.data.label_file import read_labels, weak_labels
from flows.runtime.config import Settings


def same_columns_as_champion(columns: Iterable[object], settings: Settings) -> None:
    """A new feature set would break every client that scores with the champion's columns:
    refuse it unless the run says it is on purpose (`allow_schema_change`)."""
    from components.registry import bundle, store

    if settings.allow_schema_change:
        return
    version = store.get_alias_version(settings.model_name, "champion")
    if version is None:
        return
    schema, _ = bundle.bundle_reference(settings.model_name, version)
    try:
        tables.check_columns(columns, schema)
    except tables.DataError as err:
        raise tables.DataError(
            f"{err} (champion's columns); to train on new columns on purpose, pass "
            "--allow-schema-change"
        ) from err


def train_inputs(settings: Settings) -> None:
    """The table and the label file parse, the schema holds (numeric, finite, unique ids),
    every label id is in the table, the columns are the champion's, and (unless the run
    accepts drift, which the flow audits) the data holds against the champion's reference."""
    from components.monitoring import reference_check
    from components.monitoring.validation import DataValidationError
    from components.registry import store
    from flows.usecases.champion_check import check_data_against_champion

    table_size.ensure_fits(settings.records, settings.memory_budget, what="training")
    table, labels = table_io.read_table(settings.records), read_labels(settings.labels)
    weak_labels(table, labels, tables.infer_schema(table, settings.id_column))
    store.configure(settings.tracking_uri)
    same_columns_as_champion(table.columns, settings)
    if settings.accept_drift_reason:
        return
    report = check_data_against_champion(table, labels, settings)
    if not report.success:
        raise DataValidationError(report, hint=reference_check.ACCEPT_HINT)


def score_inputs(records: Path, out: Path, chunk_rows: int, alias: str, settings: Settings) -> None:
    """The table, the output path, the model under `alias`, the header's columns, and that
    one chunk of the columns scoring reads fits the memory budget."""
    from components.registry import bundle, store
    from components.serving.batch import check_output

    tables.ensure_table_file(records)
    check_output(out, chunk_rows)
    columns = table_io.read_columns(records)
    store.configure(settings.tracking_uri)
    version = store.require_alias(settings.model_name, alias)
    schema, _ = bundle.bundle_reference(settings.model_name, version)
    tables.check_columns(columns, schema)
    wanted = [c for c in (settings.id_column, *schema.features) if c in columns]
    table_size.ensure_chunk_fits(records, settings.memory_budget, chunk_rows, wanted)
