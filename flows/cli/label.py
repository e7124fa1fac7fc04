"""`wsad label add`, `wsad label dismiss` and `wsad label import`: analysts' verdicts on
records (import: an existing list of confirmed anomalies, e.g. from a case system).

All three record the verdicts (`verdict` anomaly or normal) through
flows/usecases/verdicts.py: the DVC-tracked label file, `dvc add`, an audit entry. This
module parses the options and prints what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pandas, DVC and the settings load when a verdict is recorded
    import pandas as pd

Ids = Annotated[list[str], typer.Argument(help="record ids")]
Who = Annotated[str, typer.Option(help="who gives the verdict (audited)")]


def label_add(
    ids: Ids,
    who: Who,
    note: Annotated[str, typer.Option(help="why they are anomalies")] = "",
) -> None:
    """Confirm anomalies: add them to the label file, version it with DVC, audit it."""
    record_verdicts(ids, who, note, "anomaly")


def label_dismiss(
    ids: Ids,
    who: Who,
    note: Annotated[str, typer.Option(help="why they are normal")] = "",
) -> None:
    """Dismiss rows as normal (confirmed normals): label file, DVC, audit, as `label add`."""
    record_verdicts(ids, who, note, "normal")


def label_import(
    file: Annotated[Path, typer.Argument(help="CSV of confirmed anomalies (one id a row)")],
    who: Who,
    id_column: Annotated[str, typer.Option(help="the file's column of record ids")] = "id",
    date_column: Annotated[
        str | None, typer.Option(help="the file's column of when each was confirmed (ISO)")
    ] = None,
    note_column: Annotated[str | None, typer.Option(help="the file's column of notes")] = None,
) -> None:
    """Bring in an existing list of confirmed anomalies: every id must be in the records
    table; then label file, DVC and audit, as `label add`."""
    from components.data.label_file import ANOMALY, read_confirmed
    from flows.cli.terminal import one_line_errors

    with one_line_errors():
        rows = read_confirmed(file, id_column, who, date_column, note_column)
    _record(rows, ANOMALY, who, f"imported from {file}")


def record_verdicts(ids: list[str], who: str, note: str, verdict: str) -> None:
    """One verdict for every id, given now by `who` with one note."""
    from components.data.label_file import verdict_rows

    _record(verdict_rows(ids, who, note), verdict, who, note)


def _record(rows: pd.DataFrame, verdict: str, who: str, note: str) -> None:
    """Record the verdicts (flows/usecases/verdicts.py) and say what changed."""
    from components.data.label_file import ANOMALY
    from flows.cli.terminal import one_line_errors, out, settings_with
    from flows.usecases import verdicts

    settings = settings_with()
    with one_line_errors():
        recorded = verdicts.record(settings, rows, verdict, who, note)
    if not recorded.added:
        out.print(f"every id already carries the {verdict} verdict; nothing changed")
        return
    kind = "confirmed anomaly" if verdict == ANOMALY else "dismissed (normal)"
    pointer = settings.data_dvc
    out.print(
        f"recorded {recorded.added} {kind} verdict(s) in {settings.labels}; data version "
        f"{recorded.data_version}. Commit {pointer} (git add {pointer} && git commit) and "
        "`dvc push` to publish it.",
        highlight=False,
        soft_wrap=True,
    )
