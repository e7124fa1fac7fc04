"""Great Expectations suites built from the schema: a good table passes, a bad one fails with
one readable line per broken expectation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components.data.tables import Schema, infer_schema
from components.monitoring.profile import ReferenceProfile, build_profile
from components.monitoring.reference_validation import validate_against_reference
from components.monitoring.validation import (
    DataValidationError,
    validate_scoring_data,
    validate_training_data,
)


@pytest.fixture
def records() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"id": [f"r{i}" for i in range(200)], "a": rng.normal(size=200), "b": rng.random(200)}
    )


@pytest.fixture
def schema(records: pd.DataFrame) -> Schema:
    return infer_schema(records)


@pytest.fixture
def labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["r1", "r7"],
            "who": "ana",
            "when": "2026-01-01T00:00:00Z",
            "note": "",
            "verdict": "anomaly",
        }
    )


def test_good_training_data_passes(
    records: pd.DataFrame, labels: pd.DataFrame, schema: Schema
) -> None:
    report = validate_training_data(records, labels, schema)
    assert report.success, report.failed
    assert report.evaluated == 20  # table 2, id 3, features 2 x 4; labels: columns 5, id 2
    assert report.summary() == "validation passed: 20 expectations met"


def test_bad_training_data_names_every_failure(
    records: pd.DataFrame, labels: pd.DataFrame, schema: Schema
) -> None:
    bad = records.copy()
    bad.loc[3, "a"] = np.nan
    bad.loc[5, "id"] = "r4"
    bad["b"] = bad["b"] + 10.0  # the whole column moved out of its training range
    bad_labels = pd.concat([labels, labels.iloc[:1].assign(id="ghost")], ignore_index=True)
    report = validate_training_data(bad, bad_labels, schema)
    assert not report.success
    text = "\n".join(report.failed)
    assert "records: column 'a': expect_column_values_to_not_be_null 1 row(s)" in text
    assert "records: column 'id': expect_column_values_to_be_unique 2 row(s)" in text
    assert "records: column 'b': expect_column_values_to_be_between" in text
    assert "labels: column 'id': expect_column_values_to_be_in_set 1 row(s)" in text
    assert "'ghost'" in text
    assert len(report.failed) == 4
    assert str(DataValidationError(report)).startswith("validation failed: 4 of 20")
    assert json.loads(json.dumps(report.to_dict()))["failed"] == report.failed


def test_a_few_extreme_rows_are_not_a_failure(records: pd.DataFrame, schema: Schema) -> None:
    scoring = records.copy()
    scoring.loc[0, "a"] = 1e6  # one anomaly is what we score for, not a broken table
    assert validate_scoring_data(scoring, schema).success


def test_scoring_data_with_wrong_columns_and_types(records: pd.DataFrame, schema: Schema) -> None:
    scoring = records.drop(columns=["id", "b"]).assign(a=lambda d: d["a"].astype(str), c=1.0)
    report = validate_scoring_data(scoring, schema)
    text = "\n".join(report.failed)
    assert "records: table: expect_table_columns_to_match_set" in text
    assert "records: column 'b': expect_column_to_exist" in text
    assert "records: column 'a': expect_column_values_to_be_in_type_list observed 'str'" in text
    assert "column 'id'" not in text  # scoring does not need ids


def test_empty_scoring_table_fails(records: pd.DataFrame, schema: Schema) -> None:
    report = validate_scoring_data(records.iloc[:0], schema)
    assert "records: table: expect_table_row_count_to_be_between" in report.summary()


def reference_of(records: pd.DataFrame, schema: Schema, n_labelled: int) -> ReferenceProfile:
    X = records[list(schema.features)].to_numpy(np.float32)
    contamination = {"estimate": 0.05, "low": 0.02, "high": 0.1}
    return build_profile(X, schema.features, n_labelled, contamination, 1.0, 0.05)


def test_reference_check_names_the_moved_column_and_how_far(records, schema, labels):
    reference = reference_of(records, schema, len(labels))
    assert validate_against_reference(records, labels, schema, reference).success
    moved = records.assign(a=records["a"] * 1000)
    report = validate_against_reference(moved, labels, schema, reference)
    assert not report.success
    assert len(report.failed) == 1
    assert report.failed[0].startswith("column 'a': ")
    assert "std" in report.failed[0]
    assert "shift (PSI)" in report.failed[0]


def test_reference_check_refuses_fewer_labels_unless_removed_on_purpose(records, schema, labels):
    reference = reference_of(records, schema, len(labels))
    fewer = labels.head(1)
    report = validate_against_reference(records, fewer, schema, reference)
    assert report.failed == ["labels: labelled anomalies 2 -> 1 (fewer than the champion's)"]
    assert validate_against_reference(
        records, fewer, schema, reference, labels_may_shrink=True
    ).success
