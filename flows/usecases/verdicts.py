"""Recording analysts' verdicts on records (`wsad label add|dismiss|import`): the ids are
checked against the records table, the verdicts appended to the DVC-tracked label file, the
data that the configured pointer (`settings.data_dvc`) tracks re-versioned with `dvc add`,
and an audit entry appended like a release's: who, when, the note, the ids and the data
version before and after. Every check on the ids runs before anything is written; if
versioning or the audit fails after the file was written, the file and the pointer are put
back as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from components.data import table_io, tables
from components.data.label_file import append_verdicts, read_labels
from components.provenance import lineage
from components.provenance.audit import AuditLog
from flows.runtime.config import Settings


@dataclass(frozen=True)
class Recorded:
    """What a verdict changed: the rows written (0: every id already carried it) and the
    data version of the re-versioned data (None when nothing was written)."""

    added: int
    data_version: str | None


def record(settings: Settings, rows: pd.DataFrame, verdict: str, who: str, note: str) -> Recorded:
    """Check the ids, write the verdicts, version the data and audit the change."""
    labels, pointer = settings.labels, settings.data_dvc
    if settings.id_column not in table_io.read_columns(settings.records):
        raise tables.DataError(
            f"{settings.records} has no id column {settings.id_column!r}; labels need ids"
        )
    table = table_io.read_table(settings.records, [settings.id_column])
    known = set(tables.check_ids(table, settings.id_column))
    had = set(read_labels(labels)["id"]) if labels.exists() else set()
    saved = {path: path.read_bytes() if path.exists() else None for path in (labels, pointer)}
    previous = lineage.data_version(pointer) if pointer.exists() else None
    when = datetime.now(UTC).isoformat(timespec="seconds")
    added = append_verdicts(labels, rows, known, verdict)
    if not added:
        return Recorded(0, None)
    new = [i for i in dict.fromkeys(rows["id"]) if i not in had]
    try:
        version = lineage.track_changes(pointer, [labels])
        if version is None:
            raise lineage.LineageError(
                f"{labels} lies outside the data {pointer} versions; keep the label file "
                "in that folder, or set WSAD_DATA_DVC to the .dvc file that tracks it"
            )
        _audit(settings, new, who, note, when, verdict, previous, version)
    except BaseException:
        _restore(saved)
        raise
    return Recorded(added, version)


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
