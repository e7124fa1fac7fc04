"""MLflow's /invocations protocol without a server: every request format MLflow's scoring
server reads for a DataFrame model becomes the same table (`params` and other keys set
aside), what it refuses is refused, and every refusal is one line with the right status."""

from __future__ import annotations

import io
import json

import orjson
import pandas as pd
import pytest

from components.data.tables import DataError
from components.serving.invocations import RequestError, request_table, respond

TABLE = pd.DataFrame({"id": ["a", "b"], "x": [1.5, -2.0], "y": [0.25, 3.0]})
CSV = TABLE.to_csv(index=False)


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


BODIES = {
    "dataframe_split": (
        json.dumps({"dataframe_split": TABLE.to_dict(orient="split")}),
        "application/json",
    ),
    "dataframe_records": (
        json.dumps({"dataframe_records": TABLE.to_dict(orient="records")}),
        "application/json; charset=utf-8",
    ),
    "instances_records": (
        json.dumps({"instances": TABLE.to_dict(orient="records")}),
        "application/json",
    ),
    "instances_columns": (
        json.dumps({"instances": TABLE.to_dict(orient="list")}),
        "application/json",
    ),
    "inputs_records": (
        json.dumps({"inputs": TABLE.to_dict(orient="records")}),
        "application/json",
    ),
    "inputs_columns": (json.dumps({"inputs": TABLE.to_dict(orient="list")}), "application/json"),
    "split_with_params": (
        json.dumps({"dataframe_split": TABLE.to_dict(orient="split"), "params": {"k": 1}}),
        "application/json",
    ),
    "inputs_with_params_and_other_keys": (
        json.dumps({"inputs": TABLE.to_dict(orient="records"), "params": 5, "note": "x"}),
        "application/json",
    ),
    "csv": (CSV, "text/csv"),
    "parquet": (parquet(TABLE), "application/vnd.apache.parquet"),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_every_mlflow_request_format_reads_as_the_same_table(kind):
    body, content_type = BODIES[kind]
    raw = body.encode() if isinstance(body, str) else body
    got = request_table(raw, content_type).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(TABLE.columns)], TABLE, check_dtype=False)


def test_one_record_of_scalars_is_one_row():
    body = json.dumps({"inputs": TABLE.to_dict(orient="records")[1]}).encode()
    got = request_table(body, "application/json")
    pd.testing.assert_frame_equal(got, TABLE.iloc[[1]].reset_index(drop=True))


REFUSED = {
    "no_content_type": (b"{}", "", 415, "content type '' is not supported"),
    "json_as_text": (b"{}", "text/plain", 415, "text/plain"),
    "latin1": (b"x\n1\n", "text/csv; charset=latin-1", 415, "UTF-8 only"),
    "broken_json": (b'{"dataframe_split": [', "application/json", 400, "not valid UTF-8"),
    "json_list": (b"[1, 2]", "application/json", 400, "exactly one of the input fields"),
    "unknown_format": (b'{"rows": []}', "application/json", 400, "holds none of them"),
    "two_formats": (
        b'{"inputs": [{"x": 1}], "dataframe_records": [{"x": 1}]}',
        "application/json",
        400,
        "holds dataframe_records, inputs",
    ),
    "tensor": (b'{"inputs": [[1.5, 0.25]]}', "application/json", 400, "need column names"),
    "empty_inputs": (b'{"inputs": []}', "application/json", 400, "holds no table"),
    "scalar_inputs": (b'{"instances": 3}', "application/json", 400, "holds no table"),
    "uneven_columns": (
        b'{"inputs": {"x": [1, 2], "y": [1]}}',
        "application/json",
        400,
        "holds no table.*same length",
    ),
    "split_as_list": (
        b'{"dataframe_split": [[1]]}',
        "application/json",
        400,
        "split format must be a dictionary",
    ),
    "not_utf8_csv": (b"x\n\xff\n", "text/csv", 400, "not valid UTF-8 text/csv"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unreadable_requests_are_refused_in_one_line(case):
    body, content_type, status, pattern = REFUSED[case]
    with pytest.raises(RequestError, match=pattern) as caught:
        request_table(body, content_type)
    assert caught.value.status == status
    assert "\n" not in caught.value.message


def predictions(records: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"score": records["x"] * 2, "is_anomaly": records["x"] > 0})


def test_answer_is_one_object_per_row_in_input_order():
    body, content_type = BODIES["dataframe_split"]
    status, answer = respond(predictions, body.encode(), content_type)
    assert status == 200
    assert orjson.loads(answer) == {
        "predictions": [{"score": 3.0, "is_anomaly": True}, {"score": -4.0, "is_anomaly": False}]
    }


def test_a_schema_error_is_400_with_its_first_line():
    def refuse(records: pd.DataFrame) -> pd.DataFrame:
        raise DataError("missing column(s) 'z'; the model expects exactly 'x', 'y', 'z'\nmore")

    status, answer = respond(refuse, CSV.encode(), "text/csv")
    assert (status, orjson.loads(answer)) == (
        400,
        {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "missing column(s) 'z'; the model expects exactly 'x', 'y', 'z'",
        },
    )


def test_a_fault_of_the_server_is_500_without_its_traceback(caplog):
    def broken(records: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("secret internals")

    status, answer = respond(broken, CSV.encode(), "text/csv")
    assert status == 500
    assert b"secret" not in answer
    assert b"Traceback" not in answer
    assert "secret internals" in caplog.text  # the server's log keeps it
