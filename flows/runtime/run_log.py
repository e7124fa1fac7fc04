"""Where the libraries' output goes while a `wsad` command runs: the run's log, not the
terminal. The terminal shows the stages (flows/cli/progress_display.py), our own warnings and
the one `error:` line; what MLflow, Great Expectations, DVC and Prefect say along the way
(MLflow's cloudpickle notice and "Registered model" lines, deprecation warnings) is kept
in the Prefect run's log (the UI, or `prefect flow-run logs RUN_ID`).

How: the library loggers and Python's warnings are Prefect "extra loggers", whose records
Prefect sends to the run's log (`log_environment`); the CLI's console handler prints only
our own loggers (flows/console_handler.py); and text a library writes straight to stderr
(MLflow's `eprint`) becomes records of the `captured.stderr` logger while a flow runs
(`stderr_to_run_log`). A record outside any run has no run's log and is dropped.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr

OURS = ("components", "flows")
CAPTURED = "captured"  # text libraries wrote to stderr while a flow ran
LIBRARIES = ("mlflow", "great_expectations", "dvc", "alembic", "py.warnings", CAPTURED)


def log_environment() -> dict[str, str]:
    """Prefect's settings that send our records and the libraries' to the run's log, and
    drop (rather than warn about) those logged outside a run."""
    return {
        "PREFECT_LOGGING_EXTRA_LOGGERS": ",".join((*OURS, *LIBRARIES)),
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }


def is_ours(record: logging.LogRecord) -> bool:
    """A record of wsad's own code (components/, flows/)."""
    return any(record.name == name or record.name.startswith(f"{name}.") for name in OURS)


def libraries_off_terminal() -> None:
    """Python's warnings become log records, and no library record falls through to
    Python's last-resort handler (stderr) before Prefect has configured logging; our own
    components log at INFO, so the run's log keeps what they report."""
    logging.captureWarnings(True)
    for name in LIBRARIES:
        logging.getLogger(name).addHandler(logging.NullHandler())
    logging.getLogger(CAPTURED).setLevel(logging.INFO)
    logging.getLogger("components").setLevel(logging.INFO)


class _LinesToLog(io.TextIOBase):
    """A text stream whose every line becomes an INFO record of `logger`. A handler that
    writes to stderr while one of these records is handled would loop: that text is
    dropped."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._pending = ""
        self._lock = threading.Lock()
        self._busy = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if getattr(self._busy, "on", False):
            return len(text)
        with self._lock:
            *lines, self._pending = (self._pending + text).split("\n")
        self._emit(lines)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._pending = self._pending, ""
        self._emit([rest])

    def _emit(self, lines: list[str]) -> None:
        self._busy.on = True
        try:
            for line in lines:
                if line.strip():
                    self._logger.info("%s", line.rstrip())
        finally:
            self._busy.on = False


@contextmanager
def stderr_to_run_log() -> Iterator[None]:
    """Within the block, what is written to `sys.stderr` goes to the run's log."""
    stream = _LinesToLog(logging.getLogger(f"{CAPTURED}.stderr"))
    try:
        with redirect_stderr(stream):
            yield
    finally:
        stream.flush()
        sys.stderr.flush()
