"""MLflow's `/invocations` protocol for a model that scores tables: a request body in, a
DataFrame for the model; its predictions out as `{"predictions": [...]}` (one object per
row); a refusal as MLflow's JSON error body, one line, never a stack trace.

Why not `mlflow.pyfunc.scoring_server.invocations` as it stands: it decodes a JSON body
twice and writes the answer with Python's pure-Python JSON encoder, which together take
most of the time of a 1,000-row request (benchmarks/RESULTS.md, "Online scoring"), and it
turns an exception from predict into "Failed to predict data '<the whole frame>'" or into a
generic message with the stack trace. So the reading stays MLflow's own
(`infer_and_parse_data`: dataframe_split, dataframe_records, instances, inputs;
`parse_csv_input`; `parse_parquet_input`), without MLflow's schema, so that our enforcer
sees the table as it was sent; the JSON body is decoded once, and the answer, of the same
shape, is encoded, both with orjson.
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
    "the request holds no table; send dataframe_split or dataframe_records JSON, CSV or parquet"
)


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


def request_table(body: bytes, content_type: str) -> pd.DataFrame:
    """The table a request carries, read as MLflow's scoring server reads it."""
    mime = _content(content_type)
    try:
        if mime == scoring_server.CONTENT_TYPE_JSON:
            payload = orjson.loads(body)
            if not isinstance(payload, dict):
                raise RequestError(400, "BAD_REQUEST", scoring_server.REQUIRED_INPUT_FORMAT)
            data = scoring_server.infer_and_parse_data(payload)
        elif mime == scoring_server.CONTENT_TYPE_CSV:
            data = scoring_server.parse_csv_input(io.StringIO(body.decode("utf-8")))
        else:
            data = scoring_server.parse_parquet_input(io.BytesIO(body))
    except (orjson.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(
            400, "BAD_REQUEST", f"the request body is not valid UTF-8 {mime} ({err})"
        ) from err
    except MlflowException as err:  # MLflow's own refusals: unknown JSON format, unreadable CSV
        status, code = err.get_http_status_code(), err.error_code
        raise RequestError(status, code, first_line(err.message)) from err
    if isinstance(data, dict):  # instances / inputs: columns
        try:
            data = pd.DataFrame(data)
        except ValueError as err:
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
