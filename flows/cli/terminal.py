"""What the `wsad` commands share on a terminal: the output consoles, the one-line error,
the settings with command-line overrides, and a quiet console while a flow runs.

Every known failure ends in exactly one `error:` line on stderr and a non-zero exit code;
`WSAD_DEBUG=1` shows the traceback. Prefect's console handler would print each failed task's
and flow's traceback first: those records are kept off the terminal, while the handler that
sends them to the Prefect API still gets them, so the run's logs in the API and the UI keep
the full traceback. Python warnings of the libraries (deprecations) are not shown either,
unless `WSAD_DEBUG=1`. This module imports nothing heavy, so a refused input is refused fast.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from flows.runtime.config import Settings

out = Console()
err = Console(stderr=True)
ModelName = Annotated[str | None, typer.Option(help="registered model name (WSAD_MODEL_NAME)")]
Who = Annotated[str | None, typer.Option(help="who is acting, for the audit log")]
CONSOLE_HANDLER = "flows.runtime.console_handler.RunFailuresOffConsole"


def debugging() -> bool:
    """`WSAD_DEBUG` set: show tracebacks and warnings."""
    return bool(os.environ.get("WSAD_DEBUG"))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the one `error:` line and exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def quiet_console() -> None:
    """Keep flow and task run failures and anything below WARNING off the terminal, and
    library warnings off stderr. Prefect reads its logging settings when it is imported, so
    this runs before any command loads it (the app's callback): its console handler becomes
    `console_handler.RunFailuresOffConsole`. Nothing changes with `WSAD_DEBUG`."""
    if debugging():
        return
    warnings.simplefilter("ignore")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS", CONSOLE_HANDLER)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


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
