"""Data validation with Great Expectations: the schema stored at training becomes a suite.

Why GX rather than asserts: the suite is declarative, every result carries what was
observed, and the report is logged next to the model as evidence of what was checked.
The suite is rebuilt from the `Schema` in an ephemeral context each time, so nothing is
stored outside the model bundle. With components/monitoring/reference_validation.py (a retrain
against the champion's reference profile, run by `run_suites` here), the only modules that import
great_expectations.

Value ranges are the training ranges widened by `RANGE_TOLERANCE` of their span and need
only hold for `RANGE_MOSTLY` of the rows: a few extreme rows are what we are looking for;
a whole column out of range means the data changed.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig

from components.data.label_file import LABEL_COLUMNS
from components.data.tables import Schema

log = logging.getLogger(__name__)

RANGE_TOLERANCE = 0.1
RANGE_MOSTLY = 0.99
NUMERIC_TYPES = [
    *(f"{kind}{bits}" for kind in ("int", "uint", "Int", "UInt") for bits in (8, 16, 32, 64)),
    *(f"{kind}{bits}" for kind in ("float", "Float") for bits in (32, 64)),
    "bool",
    "boolean",
]
_MAX_EXAMPLES = 3


class DataValidationError(ValueError):
    """The data failed its expectations; `.report` holds every failed check, `hint` says
    what to do."""

    def __init__(self, report: ValidationReport, hint: str = "") -> None:
        super().__init__(f"{report.summary()}; {hint}" if hint else report.summary())
        self.report = report


@dataclasses.dataclass
class ValidationReport:
    """What was checked and, one readable line each, what failed."""

    success: bool
    evaluated: int
    failed: list[str]
    scope: str = "validation"
    note: str = ""
    n_failed: int = 0  # failed expectations when `failed` groups them (one line per column)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        note = f" ({self.note})" if self.note else ""
        if self.evaluated == 0:
            return f"{self.scope}: not run{note}"
        if self.success:
            return f"{self.scope} passed: {self.evaluated} expectations met{note}"
        return (
            f"{self.scope} failed{note}: {self.n_failed or len(self.failed)} of {self.evaluated} "
            "expectations; " + "; ".join(self.failed)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, logged as an MLflow artifact."""
        return dataclasses.asdict(self)


def _record_expectations(records: pd.DataFrame, schema: Schema, require_id: bool) -> list[Any]:
    """Columns present and nothing else, numeric, non-null, in range; ids present and unique
    (at scoring the id column is optional: scores do not need it)."""
    id_column = schema.id_column
    if id_column is not None and not require_id and id_column not in records.columns:
        id_column = None
    columns = [*([id_column] if id_column else []), *schema.features]
    expectations: list[Any] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True),
    ]
    for column in columns:
        expectations.append(gxe.ExpectColumnToExist(column=column))
        if column not in records.columns:
            continue  # value checks on a missing column would only repeat the failure above
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
        if column == id_column:
            expectations.append(gxe.ExpectColumnValuesToBeUnique(column=column))
            continue
        expectations.append(
            gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES)
        )
        if not pd.api.types.is_numeric_dtype(records[column]):
            continue  # a range on text only repeats the type failure, as an error
        low, high = schema.ranges[column]
        slack = RANGE_TOLERANCE * (high - low)
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=low - slack, max_value=high + slack, mostly=RANGE_MOSTLY
            )
        )
    return expectations


def _label_expectations(records: pd.DataFrame, labels: pd.DataFrame, schema: Schema) -> list[Any]:
    """The label file's columns, unique ids, and every id present in the records."""
    expectations: list[Any] = [gxe.ExpectColumnToExist(column=c) for c in LABEL_COLUMNS]
    expectations.append(gxe.ExpectColumnValuesToBeUnique(column="id"))
    if schema.id_column is None or schema.id_column not in records.columns:
        expectations.append(gxe.ExpectTableRowCountToBeBetween(max_value=0))  # nothing to match
    else:
        # The set is the label ids found among the records, not every record id: the same
        # verdict per label, but a set (and a suite) as large as the label file, where every
        # record id made GX's cost and memory grow with the table.
        ids = labels["id"].astype(str) if "id" in labels.columns else pd.Series([], dtype=str)
        found = ids[ids.isin(records[schema.id_column].astype(str))].unique().tolist()
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column="id", value_set=found))
    return expectations


def _describe(asset: str, result: ExpectationValidationResult) -> str:
    """One readable line: where, which expectation, what was observed."""
    config = result.expectation_config
    assert config is not None  # GX fills it for every result of a suite run
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "column")}
    where = f"column {config.kwargs['column']!r}" if "column" in config.kwargs else "table"
    detail = result.result or {}
    if "unexpected_count" in detail:
        examples = detail.get("partial_unexpected_list", [])[:_MAX_EXAMPLES]
        observed = (
            f"{detail['unexpected_count']} row(s) ({detail.get('unexpected_percent', 0):.1f}%) "
            f"unexpected, e.g. {examples}"
        )
    elif "observed_value" in detail:
        observed = f"observed {detail['observed_value']!r}"
    elif result.exception_info and result.exception_info.get("raised_exception"):
        observed = f"error: {result.exception_info.get('exception_message')}"
    else:
        observed = "failed"
    shown = {k: v for k, v in kwargs.items() if k not in ("value_set", "type_list")}
    return f"{asset}: {where}: {config.type}{shown or ''} {observed}"


def run_suites(
    frames: dict[str, tuple[pd.DataFrame, list[Any]]],
) -> tuple[int, list[tuple[str, ExpectationValidationResult]]]:
    """Validate each named frame against its expectations in one ephemeral GX context:
    the number evaluated and the failed results with their frame's name."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("wsad")
    evaluated, failed = 0, []
    for asset, (frame, expectations) in frames.items():
        batch_definition = source.add_dataframe_asset(asset).add_batch_definition_whole_dataframe(
            "all"
        )
        # One suite with every expectation: adding them one by one re-serialises the suite
        # on each add (quadratic in the number of expectations).
        suite = context.suites.add(
            gx.ExpectationSuite(name=f"wsad_{asset}", expectations=expectations)
        )
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result: ExpectationSuiteValidationResult = batch.validate(suite)
        evaluated += len(result.results)
        failed += [(asset, r) for r in result.results if not r.success]
    return evaluated, failed


def _run(frames: dict[str, tuple[pd.DataFrame, list[Any]]]) -> ValidationReport:
    """Validate the frames; one line per failed expectation."""
    evaluated, failed = run_suites(frames)
    lines = [_describe(asset, result) for asset, result in failed]
    report = ValidationReport(success=not failed, evaluated=evaluated, failed=lines)
    log.info(report.summary())
    return report


def validate_training_data(
    records: pd.DataFrame, labels: pd.DataFrame, schema: Schema
) -> ValidationReport:
    """Check the training table and its label file against the schema."""
    return _run(
        {
            "records": (records, _record_expectations(records, schema, require_id=True)),
            "labels": (labels, _label_expectations(records, labels, schema)),
        }
    )


def validate_scoring_data(records: pd.DataFrame, schema: Schema) -> ValidationReport:
    """Check a table to be scored against the schema the model was trained on."""
    return _run({"records": (records, _record_expectations(records, schema, require_id=False))})
