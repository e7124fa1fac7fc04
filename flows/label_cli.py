"""`wsad label add`, `wsad label dismiss` and `wsad label import`: analysts' verdicts on
records (import: an existing list of confirmed anomalies, e.g. from a case system).

All three write the DVC-tracked label file (`verdict` anomaly or normal), re-version it with
`dvc add`, and append an audit entry like a release does: who, when, the note, the ids and
the data version before and after. Every check runs before anything is written; if
versioning fails after the file was written, the file is put back as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pandas, DVC and the settings load when a verdict is recorded
    import pandas as pd

    from flows.config import Settings

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
    from components.label_file import ANOMALY, read_confirmed
    from flows.terminal import one_line_errors

    with one_line_errors():
        rows = read_confirmed(file, id_column, who, date_column, note_column)
    _record(rows, ANOMALY, who, f"imported from {file}")


def record_verdicts(ids: list[str], who: str, note: str, verdict: str) -> None:
    """One verdict for every id, given now by `who` with one note."""
    from components.label_file import verdict_rows

    _record(verdict_rows(ids, who, note), verdict, who, note)


def _record(rows: pd.DataFrame, verdict: str, who: str, note: str) -> None:
    """Check the ids, write the verdicts, version the data and audit the change."""
    from components import data, lineage, table_io
    from components.label_file import ANOMALY, append_verdicts, read_labels
    from flows.terminal import fail, one_line_errors, out, settings_with

    settings = settings_with()
    labels, pointer = settings.labels, Path.cwd() / f"{settings.labels.parent}.dvc"
    with one_line_errors():
        if settings.id_column not in table_io.read_columns(settings.records):
            fail(f"{settings.records} has no id column {settings.id_column!r}; labels need ids")
        table = table_io.read_table(settings.records, [settings.id_column])
        known = set(data.check_ids(table, settings.id_column))
        had = set(read_labels(labels)["id"]) if labels.exists() else set()
        saved = {path: path.read_bytes() if path.exists() else None for path in (labels, pointer)}
        previous = lineage.data_version(pointer) if pointer.exists() else None
        when = datetime.now(UTC).isoformat(timespec="seconds")
        added = append_verdicts(labels, rows, known, verdict)
        if not added:
            out.print(f"every id already carries the {verdict} verdict; nothing changed")
            return
        new = [i for i in dict.fromkeys(rows["id"]) if i not in had]
        try:
            version = lineage.dvc_add(Path.cwd(), str(labels.parent))
            _audit(settings, new, who, note, when, verdict, previous, version)
        except BaseException:
            _restore(saved)
            raise
    kind = "confirmed anomaly" if verdict == ANOMALY else "dismissed (normal)"
    out.print(
        f"recorded {added} {kind} verdict(s) in {labels}; data version {version}. "
        "Commit data.dvc (git add data.dvc && git commit) and `dvc push` to publish it.",
        highlight=False,
        soft_wrap=True,
    )


def _audit(
    settings: Settings,
    ids: list[str],
    who: str,
    note: str,
    when: str,
    verdict: str,
    previous: str | None,
    version: str,
) -> None:
    from components import lineage
    from components.audit import AuditLog

    AuditLog(settings.audit_log, settings.audit_key_bytes()).append(
        {
            "action": "label",
            "verdict": verdict,
            "ids": list(dict.fromkeys(ids)),
            "who": who,
            "when": when,
            "note": note,
            "labels": str(settings.labels),
            "previous_data_version": previous,
            "data_version": version,
            "git_commit": lineage.git_commit(Path.cwd()),
        }
    )


def _restore(saved: dict[Path, bytes | None]) -> None:
    """Put the label file and its DVC pointer back as they were before this command."""
    for path, before in saved.items():
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)
