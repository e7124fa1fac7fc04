"""MLflow's `/invocations` protocol for a model that scores tables: a request body in, a
DataFrame for the model; its predictions out as `{"predictions": [...]}` (one object per
row); a refusal as MLflow's JSON error body, one line, never a stack trace.

Why not `mlflow.pyfunc.scoring_server.invocations` as it stands: it decodes a JSON body
twice and writes the answer with Python's pure-Python JSON encoder, which together take
most of the time of a 1,000-row request (benchmarks/RESULTS.md, "Online scoring"), and it
turns an exception from predict into "Failed to predict data '<the whole frame>'" or into a
generic message with the stack trace. So the body is decoded once and the answer, of the
same shape, encoded, both with orjson; the reading follows MLflow 3.17's scoring server for
a model with a column-based signature, without MLflow's schema casts, so that our enforcer
sees the table as it was sent:

- JSON needs exactly one of `dataframe_split`, `dataframe_records`, `inputs`, `instances`;
  every other key, `params` included, is set aside (`_split_data_and_params`; this model's
  signature declares no params, so MLflow ignores them with a warning, and so do we).
- `dataframe_split` / `dataframe_records`: MLflow's own `infer_and_parse_data`.
- `inputs` / `instances` (`parse_tf_serving_input`, then `models.utils._enforce_schema`):
  a list of records is the table; an object of columns is the table, or one row when every
  value is a scalar; a list of plain rows (a tensor) has no column names, and MLflow
  refuses it for this signature, so do we (400).
- CSV and parquet: MLflow's `parse_csv_input` and `parse_parquet_input`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import orjson
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from components.data.tables import DataError

log = logging.getLogger(__name__)

CONTENT_TYPES = tuple(scoring_server.CONTENT_TYPES)
SCHEMA_ERROR = "INVALID_PARAMETER_VALUE"  # what MLflow answers a bad input with (HTTP 400)
NO_TABLE = (
    "the request holds no table; send dataframe_split, dataframe_records, inputs or instances "
    "JSON (records or columns), CSV or parquet"
)
TABLE_FORMATS = (scoring_server.DF_SPLIT, scoring_server.DF_RECORDS)


class RequestError(ValueError):
    """A request that cannot be scored, with its HTTP status and MLflow error code."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def first_line(text: str) -> str:
    """The first non-empty line of a message."""
    lines = text.strip().splitlines()
    return lines[0] if lines else "error"


def _content(content_type: str) -> str:
    """The media type of a Content-Type header; 415 for anything MLflow would refuse."""
    mime, *parameters = (part.strip() for part in content_type.split(";"))
    options = dict(part.partition("=")[::2] for part in parameters)
    if mime not in CONTENT_TYPES or set(options) - {"charset"}:
        raise RequestError(
            415,
            "BAD_REQUEST",
            f"content type {content_type!r} is not supported; use {', '.join(CONTENT_TYPES)}",
        )
    if options.get("charset", "utf-8").lower() != "utf-8":
        raise RequestError(415, "BAD_REQUEST", "the scoring server reads UTF-8 only")
    return mime


def _scalar(value: object) -> bool:
    """A JSON value that is one cell (MLflow's `_is_scalar`: not a list or an object)."""
    return not isinstance(value, list | dict)


def tensor_table(data: object) -> pd.DataFrame:
    """The table an `inputs` or `instances` value holds, as MLflow builds it for a model
    with a column-based signature: records, columns, or one row of scalars."""
    if isinstance(data, dict):
        return pd.DataFrame([data]) if all(map(_scalar, data.values())) else pd.DataFrame(data)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return pd.DataFrame(data)
    raise RequestError(400, SCHEMA_ERROR, f"{NO_TABLE}; rows need column names")


def json_table(payload: object) -> pd.DataFrame:
    """The table a decoded JSON request holds; keys other than the one format are set
    aside as MLflow's scoring server sets them aside (`params` among them)."""
    if not isinstance(payload, dict):
        raise RequestError(400, "BAD_REQUEST", scoring_server.REQUIRED_INPUT_FORMAT)
    formats = set(payload) & scoring_server.SUPPORTED_FORMATS
    if len(formats) != 1:
        raise RequestError(
            400,
            "BAD_REQUEST",
            f"{scoring_server.REQUIRED_INPUT_FORMAT}; the request holds "
            f"{', '.join(sorted(formats)) or 'none of them'}",
        )
    (kind,) = formats
    if kind in TABLE_FORMATS:
        return scoring_server.infer_and_parse_data({kind: payload[kind]})
    return tensor_table(payload[kind])


def request_table(body: bytes, content_type: str) -> pd.DataFrame:
    """The table a request carries, read as MLflow's scoring server reads it."""
    mime = _content(content_type)
    try:
        if mime == scoring_server.CONTENT_TYPE_JSON:
            data = json_table(orjson.loads(body))
        elif mime == scoring_server.CONTENT_TYPE_CSV:
            data = scoring_server.parse_csv_input(io.StringIO(body.decode("utf-8")))
        else:
            data = scoring_server.parse_parquet_input(io.BytesIO(body))
    except RequestError:
        raise
    except (orjson.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(
            400, "BAD_REQUEST", f"the request body is not valid UTF-8 {mime} ({err})"
        ) from err
    except MlflowException as err:  # MLflow's own refusals: a malformed split, unreadable CSV
        status, code = err.get_http_status_code(), err.error_code
        raise RequestError(status, code, first_line(err.message)) from err
    except ValueError as err:  # pandas: columns of different lengths
        raise RequestError(400, SCHEMA_ERROR, f"{NO_TABLE} ({first_line(str(err))})") from err
    if not isinstance(data, pd.DataFrame):
        raise RequestError(400, SCHEMA_ERROR, NO_TABLE)
    return data


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """`frame.to_dict(orient="records")`, as MLflow answers, built column by column (faster
    than pandas' row-by-row conversion)."""
    names = [str(name) for name in frame.columns]
    columns = (frame[name].tolist() for name in frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def error_body(error_code: str, message: str) -> bytes:
    """MLflow's error body."""
    return orjson.dumps({"error_code": error_code, "message": message})


def respond(
    score: Callable[[pd.DataFrame], pd.DataFrame], body: bytes, content_type: str
) -> tuple[int, bytes]:
    """HTTP status and body for one request; `score` enforces the schema (a `DataError`
    becomes 400 with its line, the one `wsad score` prints)."""
    try:
        predictions = score(request_table(body, content_type))
    except RequestError as err:
        return err.status, error_body(err.error_code, err.message)
    except DataError as err:
        return 400, error_body(SCHEMA_ERROR, first_line(str(err)))
    except Exception:  # a fault of the server, not of the request: the traceback stays here
        log.exception("scoring a request failed")
        return 500, error_body("INTERNAL_ERROR", "internal error; the server log has the details")
    return 200, orjson.dumps({"predictions": _records(predictions)})
