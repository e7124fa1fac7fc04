"""The console handler the `wsad` CLI gives Prefect's logging (flows/cli/terminal.py sets
`PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS` to it): Prefect's own console handler, for our
own warnings only (a repaired audit log, a run waiting for approval). Flow and task run
failures are reported by the CLI in one line, and library records go to the run's log
(flows/runtime/run_log.py); Prefect's API handler still sends both, with their tracebacks, to
the Prefect API and UI. While a stage display is shown, a line goes onto it instead, so it
does not tear the bars."""

from __future__ import annotations

import logging

from prefect.logging.handlers import PrefectConsoleHandler

from flows.runtime import progress
from flows.runtime.run_log import is_ours


class OursOnConsole(PrefectConsoleHandler):
    """Prefect's console handler, for wsad's own records only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return is_ours(record) and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.name != progress.log.name:
            text = f"{record.levelname.lower()}: {text}"
        if not progress.to_display(text):
            super().emit(record)
