"""What the `wsad` commands share on a terminal: the output consoles, the one-line error,
the settings with command-line overrides, and a quiet console while a flow runs.

Every known failure ends in exactly one `error:` line on stderr and a non-zero exit code;
`WSAD_DEBUG=1` shows the traceback. Prefect's console handler would print each failed task's
and flow's traceback first: only our own warnings reach the terminal
(flows/console_handler.py), while the handler that sends records to the Prefect API still
gets them all, so the run's logs in the API and the UI keep the full traceback and what the
libraries said (flows/runtime/run_log.py). While a flow runs, its stages are shown
(flows/cli/progress_display.py). With `WSAD_DEBUG=1` everything reaches the terminal. This
module imports nothing heavy, so a refused input is refused fast.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from flows.runtime import run_log

if TYPE_CHECKING:
    from flows.runtime.config import Settings

out = Console()
err = Console(stderr=True)
ModelName = Annotated[str | None, typer.Option(help="registered model name (WSAD_MODEL_NAME)")]
Who = Annotated[str | None, typer.Option(help="who is acting, for the audit log")]
CONSOLE_HANDLER = "flows.runtime.console_handler.OursOnConsole"


def debugging() -> bool:
    """`WSAD_DEBUG` set: show tracebacks and warnings."""
    return bool(os.environ.get("WSAD_DEBUG"))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the one `error:` line and exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def quiet_console() -> None:
    """Keep run failures, library records and anything below WARNING off the terminal (they
    go to the run's log). Prefect and MLflow read their logging settings when they are
    imported, so this runs before any command loads them (the app's callback): Prefect's
    console handler becomes `console_handler.OursOnConsole`, and MLflow leaves its records
    to the root logger. Nothing changes with `WSAD_DEBUG`."""
    if debugging():
        return
    run_log.libraries_off_terminal()
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS", CONSOLE_HANDLER)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")


@contextmanager
def flow_on_terminal() -> Iterator[None]:
    """While a command runs a flow: its stages on the terminal, and what the libraries
    write to stderr in the run's log (unless `WSAD_DEBUG`)."""
    from flows.cli.progress_display import stages_on

    with stages_on(out), nullcontext() if debugging() else run_log.stderr_to_run_log():
        yield


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the components' exceptions into one line and exit code 2."""
    try:
        yield
    except Exception as exc:
        if debugging() or not _known(exc):
            raise
        text = str(exc).strip().splitlines()
        fail(text[0] if text else type(exc).__name__)


def _known(exc: Exception) -> bool:
    """The failures a user can fix from the message: bad data or settings, a missing file or
    model, a store that cannot be reached (MLflow's errors; MLflow is not imported for them:
    without it loaded, none can have been raised)."""
    mlflow_errors = sys.modules.get("mlflow.exceptions")
    known: tuple[type[Exception], ...] = (ValueError, OSError)
    if mlflow_errors is not None:
        known += (mlflow_errors.MlflowException,)
    return isinstance(exc, known)


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's non-empty options on top; a
    bad value ends in one line naming its WSAD_ variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from flows.runtime.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v not in (None, "", [])})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"WSAD_{str(first['loc'][0]).upper()}"
        fail(f"{name} (or its option) = {first['input']!r} is invalid: {first['msg']}; fix it")
    except SettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"WSAD_{field.group(1).upper()}" if field else "a WSAD_ variable"
        fail(f"{name} is not valid JSON ({exc}); set it to e.g. '[\"devnet\"]' or '{{}}'")
