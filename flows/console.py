"""A failed flow on the terminal: one `error:` line, not Prefect's tracebacks.

Prefect's console handler prints every failed task and flow run with its traceback; the CLI
already reports the failure as one line naming what to fix (`flows.cli.one_line_errors`).
While the block runs, the console handler drops Prefect's run-failure records; the Prefect
API handler still gets them, so the run's logs in the UI keep the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.logging.handlers import PrefectConsoleHandler

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def _not_a_run_failure(record: logging.LogRecord) -> bool:
    return not (record.name.startswith(RUN_LOGGERS) and record.levelno >= logging.ERROR)


@contextmanager
def run_failures_off_the_console() -> Iterator[None]:
    """Keep failed-run records off the terminal for the block (see the module docstring)."""
    consoles = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    for handler in consoles:
        handler.addFilter(_not_a_run_failure)
    try:
        yield
    finally:
        for handler in consoles:
            handler.removeFilter(_not_a_run_failure)
