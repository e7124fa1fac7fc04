"""`wsad init [DIR]`: start a project of one's own data (components/data/project.py lays it out),
and print the three commands that take it to a champion and scores.

The `.env.example` it writes is rendered from `flows/runtime/config.py`'s `Settings`, the one place
settings and their defaults are defined, so it lists every `WSAD_*` variable there is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.terminal import one_line_errors, out, settings_with


def env_example() -> str:
    """Every setting as a commented `WSAD_<NAME>=<default>` line (JSON where not a plain
    string, as pydantic-settings reads it back)."""
    from flows.runtime.config import Settings

    lines = [
        "# wsad settings (flows/runtime/config.py). Copy to .env and uncomment what you change;",
        "# environment variables win over .env, and these are the defaults.",
    ]
    for name, value in Settings.model_construct().model_dump(mode="json").items():
        shown = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        lines.append(f"# WSAD_{name.upper()}={shown}")
    return "\n".join(lines) + "\n"


def init(
    directory: Annotated[Path, typer.Argument(help="project folder (created if missing)")] = Path(
        "."
    ),
) -> None:
    """Start a project: git (unless already in one) and DVC, data/ with the label file's
    header, mlruns/ and .prefect/ kept out of git and DVC, a commented .env.example. Running
    it again changes nothing."""
    from components.data.project import init_project

    settings = settings_with()
    with one_line_errors():
        done = init_project(directory, settings.labels, env_example())
    if done:
        out.print(f"initialised a wsad project in {directory}:", highlight=False)
        for line in done:
            out.print(f"  {line}", highlight=False)
    else:
        out.print(f"{directory} is already a wsad project; nothing changed", highlight=False)
    records = directory / settings.records
    out.print("next:" if records.exists() else f"next, with your table at {records}:")
    if directory.resolve() != Path.cwd().resolve():
        out.print(f"  cd {directory}", highlight=False)
    for command in (
        f"wsad label import confirmed.csv --id-column {settings.id_column} --who YOUR_NAME",
        "wsad train",
        f"wsad score --records {settings.records} --out scores.csv",
    ):
        out.print(f"  {command}", highlight=False, soft_wrap=True)
