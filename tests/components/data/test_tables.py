"""The data contract: every broken file or table fails with one line naming what to fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.data.table_io import read_table
from components.data.tables import DataError, Scaler, Schema, feature_matrix, infer_schema
from components.data.label_file import (
    append_labels,
    append_verdicts,
    read_confirmed,
    read_labels,
    weak_labels,
)


@pytest.fixture
def records() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(20)],
            "a": rng.normal(size=20),
            "b": rng.integers(0, 10, size=20),
        }
    )


@pytest.fixture
def schema(records: pd.DataFrame) -> Schema:
    return infer_schema(records)


def one_line(err: pytest.ExceptionInfo[DataError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# read_table ---------------------------------------------------------------------------------
def test_csv_and_parquet_round_trip(tmp_path: Path, records: pd.DataFrame) -> None:
    records.to_csv(tmp_path / "r.csv", index=False)
    records.to_parquet(tmp_path / "r.parquet")
    from_csv, from_parquet = read_table(tmp_path / "r.csv"), read_table(tmp_path / "r.parquet")
    np.testing.assert_allclose(from_csv["a"], records["a"])
    pd.testing.assert_frame_equal(from_parquet, records)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.csv: file not found") as err:
        read_table(tmp_path / "nope.csv")
    one_line(err)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_zero_byte_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / name)


def test_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("id,a,b\n")
    with pytest.raises(DataError, match="h.csv: table has no rows"):
        read_table(tmp_path / "h.csv")


def test_corrupted_parquet_is_refused(tmp_path: Path, records: pd.DataFrame) -> None:
    good = tmp_path / "good.parquet"
    records.to_parquet(good)
    raw = good.read_bytes()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="bad.parquet: not a readable parquet file") as err:
        read_table(bad)
    one_line(err)


def test_wrong_encoding_names_the_byte(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes("id,a\ncafé,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv: line 2 is not valid UTF-8; re-save"):
        read_table(tmp_path / "latin.csv")


def test_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match="unknown file type '.xlsx'"):
        read_table(tmp_path / "t.xlsx")


# schema and feature matrix ------------------------------------------------------------------
def test_schema_is_inferred_and_json_round_trips(schema: Schema, records: pd.DataFrame) -> None:
    assert schema.id_column == "id"
    assert schema.features == ("a", "b")
    assert schema.dtypes == {"a": "float64", "b": "int64"}
    assert schema.ranges["b"] == (float(records["b"].min()), float(records["b"].max()))
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_id_column_is_optional(records: pd.DataFrame) -> None:
    schema = infer_schema(records.drop(columns="id"))
    assert schema.id_column is None
    assert feature_matrix(records.drop(columns="id"), schema).shape == (20, 2)


def test_non_numeric_feature_is_named(records: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="column\\(s\\) 'colour' are not numeric"):
        infer_schema(records.assign(colour="red"))


def test_feature_matrix_follows_schema_order(schema: Schema, records: pd.DataFrame) -> None:
    X = feature_matrix(records[["b", "id", "a"]], schema)
    assert X.dtype == np.float32
    np.testing.assert_allclose(X[:, 0], records["a"].to_numpy(np.float32))
    np.testing.assert_allclose(X[:, 1], records["b"])


def test_missing_column(schema: Schema, records: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="missing column\\(s\\) 'b'; the model expects") as err:
        feature_matrix(records.drop(columns="b"), schema)
    one_line(err)


def test_extra_column(schema: Schema, records: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="unexpected column\\(s\\) 'c'"):
        feature_matrix(records.assign(c=1.0), schema)


def test_renamed_column(schema: Schema, records: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="missing column\\(s\\) 'a'; unexpected .*'A' \\(renamed"):
        feature_matrix(records.rename(columns={"a": "A"}), schema)


def test_string_in_numeric_column_names_column_and_row(
    schema: Schema, records: pd.DataFrame
) -> None:
    broken = records.astype({"a": object})
    broken.loc[7, "a"] = "n/a"
    with pytest.raises(DataError, match="column 'a' row 7 holds 'n/a', not a number"):
        feature_matrix(broken, schema)


def test_string_column_from_csv_is_caught(
    tmp_path: Path, schema: Schema, records: pd.DataFrame
) -> None:
    broken = records.astype({"b": object})
    broken.loc[3, "b"] = "seven"
    broken.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="column 'b' row 3 holds 'seven'"):
        feature_matrix(read_table(tmp_path / "s.csv"), schema)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_name_column_and_first_row(
    schema: Schema, records: pd.DataFrame, bad: float
) -> None:
    broken = records.copy()
    broken.loc[[4, 9], "a"] = bad
    with pytest.raises(DataError, match="column 'a' has 2 NaN/inf value\\(s\\), first in row 4"):
        feature_matrix(broken, schema)


def test_empty_table(schema: Schema, records: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="table has no rows"):
        feature_matrix(records.iloc[:0], schema)


def test_duplicate_record_ids_are_refused(records: pd.DataFrame) -> None:
    records.loc[5, "id"] = "r1"
    with pytest.raises(DataError, match="duplicate id\\(s\\) 'r1'"):
        infer_schema(records)


# labels -------------------------------------------------------------------------------------
def test_append_then_read_labels(tmp_path: Path) -> None:
    path = tmp_path / "data" / "labels.csv"
    added = append_labels(path, ["r1", "r2"], who="ana", note="fraud", known_ids={"r1", "r2"})
    again = append_labels(path, ["r2", "r3"], who="bo", when="2026-01-02T00:00:00Z")
    labels = read_labels(path)
    assert (added, again) == (2, 1)
    assert labels["id"].tolist() == ["r1", "r2", "r3"]
    assert labels.loc[1, "who"] == "ana"  # the first confirmation stands
    assert labels.loc[2, "when"] == "2026-01-02T00:00:00Z"
    assert not list(path.parent.glob(".*tmp"))


def test_read_confirmed_takes_the_files_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text("case,closed,why\nr1,2026-01-02,chargeback\nr2,,\nr1,2026-01-03,again\n")
    rows = read_confirmed(path, "case", "ana", when_column="closed", note_column="why")
    assert rows["id"].tolist() == ["r1", "r2", "r1"]
    assert rows.loc[0, ["who", "when", "note"]].tolist() == ["ana", "2026-01-02", "chargeback"]
    assert rows.loc[1, "when"].startswith(str(pd.Timestamp.now("UTC").year))  # blank: now
    assert append_verdicts(tmp_path / "l.csv", rows, known_ids={"r1", "r2"}) == 2
    assert read_labels(tmp_path / "l.csv")["note"].tolist() == ["chargeback", ""]  # first stands
    with pytest.raises(DataError, match="cases.csv: no column 'id', 'date' \\(its columns"):
        read_confirmed(path, "id", "ana", when_column="date")


def test_append_refuses_unknown_ids(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="id\\(s\\) 'x9' are not in the records table"):
        append_labels(tmp_path / "l.csv", ["r1", "x9"], who="ana", known_ids={"r1"})
    assert not (tmp_path / "l.csv").exists()


def test_duplicate_label_ids(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,who,when,note\nr1,a,2026-01-01,\nr1,b,2026-01-02,\n")
    with pytest.raises(DataError, match="l.csv: duplicate label id\\(s\\) 'r1'"):
        read_labels(tmp_path / "l.csv")


def test_label_file_missing_column(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,who,note\nr1,a,\n")
    with pytest.raises(DataError, match="missing column\\(s\\) 'when'; the header must be"):
        read_labels(tmp_path / "l.csv")


def test_label_time_must_be_iso(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,who,when,note\nr1,a,yesterday,\n")
    with pytest.raises(DataError, match="column 'when' row 0 is 'yesterday'"):
        read_labels(tmp_path / "l.csv")


def test_weak_labels_mark_labelled_rows(schema: Schema, records: pd.DataFrame) -> None:
    labels = pd.DataFrame({"id": ["r3", "r11"], "who": "a", "when": "2026-01-01", "note": ""})
    y = weak_labels(records, labels, schema)
    assert y.tolist() == [int(i in (3, 11)) for i in range(20)]


def test_zero_labels_is_not_a_data_error(
    tmp_path: Path, schema: Schema, records: pd.DataFrame
) -> None:
    (tmp_path / "l.csv").write_text("id,who,when,note\n")
    assert weak_labels(records, read_labels(tmp_path / "l.csv"), schema).sum() == 0


def test_label_ids_absent_from_table(schema: Schema, records: pd.DataFrame) -> None:
    labels = pd.DataFrame({"id": ["r3", "zz", "yy"], "who": "a", "when": "2026", "note": ""})
    with pytest.raises(DataError, match="label id\\(s\\) 'yy', 'zz' are not in the table"):
        weak_labels(records, labels, schema)


def test_weak_labels_need_an_id_column(records: pd.DataFrame) -> None:
    no_ids = records.drop(columns="id")
    labels = pd.DataFrame({"id": ["r3"], "who": "a", "when": "2026", "note": ""})
    with pytest.raises(DataError, match="no id column"):
        weak_labels(no_ids, labels, infer_schema(no_ids))


def test_integer_ids_match_string_labels(records: pd.DataFrame) -> None:
    numbered = records.assign(id=range(100, 120))
    labels = pd.DataFrame({"id": ["105"], "who": "a", "when": "2026", "note": ""})
    assert np.flatnonzero(weak_labels(numbered, labels, infer_schema(numbered))).tolist() == [5]


# scaler -------------------------------------------------------------------------------------
def test_scaler_maps_training_range_to_unit_interval() -> None:
    X = np.array([[0.0, 5.0, 2.0], [10.0, 7.0, 2.0], [5.0, 6.0, 2.0]])
    scaler = Scaler.fit(X)
    Z = scaler.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, :2], [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_allclose(Z[:, 2], 0)  # a constant column does not divide by zero
    restored = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.transform(X), Z)


def test_scaler_refuses_wrong_width() -> None:
    with pytest.raises(DataError, match="fitted on 2 features"):
        Scaler.fit(np.ones((3, 2))).transform(np.ones((3, 3)))


# verdicts: confirmed anomalies and dismissed rows ----------------------------------------------
def test_label_file_without_verdict_column_reads_as_confirmed(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,who,when,note\nr1,a,2026-01-01,\n")
    assert read_labels(tmp_path / "l.csv")["verdict"].tolist() == ["anomaly"]


def test_dismissals_are_kept_with_their_verdict(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("id,who,when,note\nr1,a,2026-01-01,\n")  # an older file
    added = append_labels(path, ["r2", "r3"], who="bo", note="benign", verdict="normal")
    labels = read_labels(path)
    assert added == 2
    assert labels[["id", "verdict"]].values.tolist() == [
        ["r1", "anomaly"],
        ["r2", "normal"],
        ["r3", "normal"],
    ]
    assert "verdict" in path.read_text().splitlines()[0]


@pytest.mark.parametrize(("first", "second"), [("anomaly", "normal"), ("normal", "anomaly")])
def test_a_row_cannot_be_both_confirmed_and_dismissed(
    tmp_path: Path, first: str, second: str
) -> None:
    path = tmp_path / "l.csv"
    append_labels(path, ["r1"], who="ana", verdict=first)
    before = path.read_bytes()
    with pytest.raises(DataError, match="'r1' are already .* cannot be both"):
        append_labels(path, ["r2", "r1"], who="bo", verdict=second)
    assert path.read_bytes() == before


def test_label_file_with_both_verdicts_for_an_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(
        "id,who,when,note,verdict\nr1,a,2026-01-01,,anomaly\nr1,b,2026-01-02,,normal\n"
    )
    with pytest.raises(DataError, match="'r1' are both confirmed and dismissed"):
        read_labels(tmp_path / "l.csv")


def test_unknown_verdict_is_refused(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("id,who,when,note,verdict\nr1,a,2026-01-01,,maybe\n")
    with pytest.raises(DataError, match="'verdict' row 0 is 'maybe'; use anomaly or normal"):
        read_labels(tmp_path / "l.csv")


def test_weak_labels_mark_dismissed_rows_minus_one(schema: Schema, records: pd.DataFrame) -> None:
    labels = pd.DataFrame(
        {
            "id": ["r3", "r4"],
            "who": "a",
            "when": "2026",
            "note": "",
            "verdict": ["anomaly", "normal"],
        }
    )
    y = weak_labels(records, labels, schema)
    assert (y[3], y[4]) == (1, -1)
    assert set(np.delete(y, [3, 4]).tolist()) == {0}


def test_scaler_inverse_transform_restores_table_units() -> None:
    X = np.array([[0.0, 5.0, 2.0], [10.0, 7.0, 2.0], [5.0, 6.0, 2.0]])
    scaler = Scaler.fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-6)
