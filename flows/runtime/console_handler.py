"""The console handler the `wsad` CLI gives Prefect's logging (flows/cli/terminal.py sets
`PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS` to it): Prefect's own console handler, minus the
error records of flow and task runs. The CLI reports those failures in one line; the API
handler, attached to the run loggers themselves, still sends them with their traceback to
the Prefect API and UI."""

from __future__ import annotations

import logging

from prefect.logging.handlers import PrefectConsoleHandler

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def is_run_failure(record: logging.LogRecord) -> bool:
    """A flow or task run's error record (its failure and traceback)."""
    return record.name.startswith(RUN_LOGGERS) and record.levelno >= logging.ERROR


class RunFailuresOffConsole(PrefectConsoleHandler):
    """Prefect's console handler without run failures."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_run_failure(record) and bool(super().filter(record))
