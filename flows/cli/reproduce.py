"""`wsad reproduce VERSION`: retrain a released version from what it records and compare it
with the registered model (flows/usecases/reproduction.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.terminal import ModelName, fail, one_line_errors, out, settings_with


def reproduce(
    version: Annotated[str, typer.Argument(help="released version to reproduce")],
    model_name: ModelName = None,
) -> None:
    """Retrain a released version from what it records and compare it with the registry's.

    It takes the data version (restored from the DVC cache or remote), method, parameters,
    seed and threshold rule, retrains on CPU and compares scores and threshold on the same
    rows: equal, equal within the stated tolerance, or what differs (exit 1)."""
    from flows.usecases.reproduction import NotReproduced, reproduce_version

    settings = settings_with(model_name=model_name)
    try:
        with one_line_errors():
            verdict = reproduce_version(settings, version)
    except NotReproduced as differs:
        fail(str(differs), code=1)
    out.print(f"{settings.model_name} v{version}: {verdict}", soft_wrap=True, highlight=False)
