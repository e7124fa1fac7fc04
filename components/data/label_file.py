"""The analysts' label file: one row per record someone looked at (id, who, when, note,
verdict), versioned by DVC beside the table, and the weak labels it gives each row.

Why its own module: `wsad label add` / `dismiss` write it, training and review read it, and
its rules (one verdict per id, ISO times, ids that exist in the table) hold in one place.

Import rule: numpy, pandas and components.data.tables only.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from components.data.table_io import read_csv_text
from components.data.tables import DataError, Schema, check_ids, ensure_readable, listed

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("id", "who", "when", "note", "verdict")
ANOMALY, NORMAL = "anomaly", "normal"  # verdicts: confirmed anomaly, dismissed (confirmed normal)
VERDICTS = (ANOMALY, NORMAL)


def read_labels(path: Path) -> pd.DataFrame:
    """Read the label file (id, who, when, note, verdict); a header alone means no labels.

    `verdict` is `anomaly` (confirmed, `wsad label add`) or `normal` (dismissed, `wsad label
    dismiss`); files written before dismissals existed have no such column and every row
    reads as `anomaly`.
    """
    path = Path(path)
    ensure_readable(path)
    labels = read_csv_text(path)
    if "verdict" not in labels.columns:
        labels["verdict"] = ANOMALY
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {listed(missing)}; the header must be "
            f"{','.join(LABEL_COLUMNS[:-1])}[,verdict]"
        )
    labels = labels.loc[:, list(LABEL_COLUMNS)]
    for column in ("id", "who"):
        blank = np.flatnonzero(labels[column].str.strip() == "")
        if len(blank):
            raise DataError(f"{path}: column {column!r} is empty in row {blank[0]}; fill it in")
    bad = np.flatnonzero(~labels["verdict"].isin(VERDICTS))
    if len(bad):
        raise DataError(
            f"{path}: column 'verdict' row {bad[0]} is {labels['verdict'].iloc[bad[0]]!r}; "
            f"use {' or '.join(VERDICTS)}"
        )
    both = _both_verdicts(labels)
    if both:
        raise DataError(
            f"{path}: id(s) {listed(both)} are both confirmed and dismissed; keep the one "
            "verdict that stands"
        )
    duplicated = labels["id"][labels["id"].duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"{path}: duplicate label id(s) {listed(duplicated)}; keep one row each")
    when = pd.to_datetime(labels["when"], errors="coerce", utc=True, format="ISO8601")
    if when.isna().any():
        row = int(np.flatnonzero(when.isna())[0])
        raise DataError(
            f"{path}: column 'when' row {row} is {labels['when'].iloc[row]!r}, not an ISO-8601 "
            "time; use e.g. 2026-01-31T12:00:00+00:00"
        )
    return labels.reset_index(drop=True)


def _both_verdicts(labels: pd.DataFrame) -> list[str]:
    """Ids that carry both verdicts."""
    per_id = labels.groupby("id", sort=True)["verdict"].nunique()
    return per_id.index[per_id > 1].tolist()


def append_labels(
    path: Path,
    ids: list[str],
    who: str,
    note: str = "",
    when: str | None = None,
    known_ids: set[str] | None = None,
    verdict: str = ANOMALY,
) -> int:
    """Add one verdict for `ids`, all given by `who` at `when` (now when None) with one
    note: `anomaly` confirms (`wsad label add`), `normal` dismisses (`wsad label dismiss`);
    returns the rows added (see `append_verdicts`)."""
    return append_verdicts(path, verdict_rows(ids, who, note, when), known_ids, verdict)


def verdict_rows(ids: list[str], who: str, note: str = "", when: str | None = None) -> pd.DataFrame:
    """Label rows (id, who, when, note) for `ids` sharing one author, time and note."""
    stamp = when or datetime.now(UTC).isoformat(timespec="seconds")
    return pd.DataFrame(
        {"id": [str(i) for i in ids], "who": who, "when": stamp, "note": note}, dtype=str
    )


def append_verdicts(
    path: Path, rows: pd.DataFrame, known_ids: set[str] | None = None, verdict: str = ANOMALY
) -> int:
    """Add `rows` (id, who, when, note) to the label file with `verdict`; returns the rows
    added.

    Ids that already carry this verdict are kept as they are (the first one stands, in the
    file and within `rows`); an id that carries the other verdict is refused, since a row
    cannot be both. Every check runs before the file is touched, and it is rewritten through
    a temporary file and `os.replace`, so a crash never leaves half a file.
    """
    path = Path(path)
    if verdict not in VERDICTS:
        raise DataError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    rows = rows.loc[:, list(LABEL_COLUMNS[:-1])].astype(str).drop_duplicates("id")
    if (rows["who"].str.strip() == "").any():
        raise DataError(f"who is empty; say who gave these {verdict} verdicts")
    ids = rows["id"].tolist()
    if not ids:
        raise DataError("no ids given; pass at least one record id")
    if known_ids is not None:
        unknown = [i for i in ids if i not in known_ids]
        if unknown:
            raise DataError(f"id(s) {listed(unknown)} are not in the records table; check the ids")
    when = pd.to_datetime(rows["when"], errors="coerce", format="ISO8601", utc=True)
    if when.isna().any():
        stamp = rows["when"].iloc[int(np.flatnonzero(when.isna())[0])]
        raise DataError(f"when={stamp!r} is not an ISO-8601 time; use e.g. 2026-01-31T12:00:00Z")
    existing = read_labels(path) if path.exists() else pd.DataFrame(columns=list(LABEL_COLUMNS))
    given = dict(zip(existing["id"], existing["verdict"], strict=True))
    clash = [i for i in ids if given.get(i, verdict) != verdict]
    if clash:
        other = "confirmed anomalies" if verdict == NORMAL else "dismissed as normal"
        raise DataError(
            f"id(s) {listed(clash)} are already {other} in {path}; a row cannot be both "
            "confirmed and dismissed (edit the label file to change a verdict)"
        )
    new = rows[~rows["id"].isin(set(given))].assign(verdict=verdict)
    if len(new) < len(rows):
        log.info("%d id(s) already labelled in %s; left unchanged", len(rows) - len(new), path)
    combined = pd.concat([existing, new], ignore_index=True) if len(new) else existing
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    combined.to_csv(tmp, index=False, encoding="utf-8")
    os.replace(tmp, path)
    return len(new)


def read_confirmed(
    path: Path,
    id_column: str,
    who: str,
    when_column: str | None = None,
    note_column: str | None = None,
) -> pd.DataFrame:
    """An existing list of confirmed anomalies (any CSV with an id column, optionally a date
    and a note column) as label rows (id, who, when, note) for `append_verdicts`. A blank or
    absent date reads as now: the time the list is brought in."""
    path = Path(path)
    ensure_readable(path)
    given = read_csv_text(path)
    wanted = [id_column, *(c for c in (when_column, note_column) if c)]
    missing = [c for c in wanted if c not in given.columns]
    if missing:
        raise DataError(
            f"{path}: no column {listed(missing)} (its columns: {listed(list(given.columns))}); "
            "name the file's columns with --id-column, --date-column, --note-column"
        )
    ids = given[id_column].str.strip()
    blank = np.flatnonzero(ids == "")
    if len(blank):
        raise DataError(f"{path}: column {id_column!r} is empty in row {blank[0]}; fill it in")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    when = given[when_column].str.strip() if when_column else pd.Series("", index=given.index)
    note = given[note_column] if note_column else pd.Series("", index=given.index)
    return pd.DataFrame(
        {"id": ids, "who": who, "when": when.mask(when == "", now), "note": note}, dtype=str
    )


def weak_labels(records: pd.DataFrame, labels: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Per row: 1 = confirmed anomaly, -1 = dismissed (confirmed normal), 0 = unlabelled.
    No labels at all is not an error here: whether a method can train without them is the
    detector's call (and what a method does with -1 is too: see `components.detectors`)."""
    if schema.id_column is None or schema.id_column not in records.columns:
        raise DataError(
            f"the table has no id column ({schema.id_column or 'none in the schema'}); "
            "labels are matched by id, add an 'id' column"
        )
    ids = check_ids(records, schema.id_column)
    label_ids = labels["id"].astype(str)
    absent = sorted(set(label_ids) - set(ids))
    if absent:
        raise DataError(
            f"label id(s) {listed(absent)} are not in the table's {schema.id_column!r} column; "
            "fix the label file or the table"
        )
    verdicts = labels.get("verdict", pd.Series(ANOMALY, index=labels.index))
    normal = set(label_ids[(verdicts == NORMAL).to_numpy()])
    y = ids.isin(set(label_ids) - normal).to_numpy().astype(np.int64)
    y[ids.isin(normal).to_numpy()] = -1
    return y
