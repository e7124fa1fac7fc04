"""Scoring receipts: the audit entry each scoring run leaves, and the check of the output
files against them.

Why: an auditor who asks which model flagged a row must be able to name the scoring run:
which registered version (and under which alias) with which threshold read which input and
wrote which output (the md5 of both), how many rows it scored and flagged, whether the input
had drifted from the model's reference, and the run's performance estimate. The receipt is
an entry of the hash-chained, optionally HMAC-signed audit log (provenance/audit.py, one
`append` under its file lock), so `wsad audit verify` checks it as it checks the release
entries, and an output file edited after scoring no longer matches its receipt's md5
(`check_outputs`). Only a scoring run that published its output writes one.

Import rule: the standard library and provenance's audit and digest only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

from components.provenance.audit import AuditLog
from components.provenance.digest import md5_of

ACTION = "score"  # the audit entries that are receipts
NOT_MEASURED, WITHIN_LIMITS, DRIFTED = "not measured", "within limits", "drifted"


class Reportable(Protocol):
    """A record the receipt carries as it reports itself (the performance estimate)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class ScoringReceipt:
    """What one published scoring run did. `drift` is "not measured" (a version registered
    before reference profiles), "within limits" or "drifted"; `estimate` is None when the
    run made no performance estimate (recorded as null)."""

    model_name: str
    version: str
    alias: str
    threshold: float
    input: Path
    input_md5: str
    output: Path
    output_md5: str
    rows: int
    flagged: int
    drift: str
    drift_summary: str | None
    estimate: Reportable | None = None

    @classmethod
    def of_run(
        cls,
        *,
        model_name: str,
        version: str,
        alias: str,
        threshold: float,
        records: Path,
        out: Path,
        rows: int,
        flagged: int,
        drifted: bool | None,
        drift_summary: str | None = None,
        estimate: Reportable | None = None,
    ) -> ScoringReceipt:
        """The receipt of a run that read `records` and published `out`, hashing both;
        `drifted` is None when drift was not measured."""
        src, dst = Path(records).resolve(), Path(out).resolve()
        state = NOT_MEASURED if drifted is None else DRIFTED if drifted else WITHIN_LIMITS
        return cls(
            model_name=model_name,
            version=str(version),
            alias=alias,
            threshold=float(threshold),
            input=src,
            input_md5=md5_of(src),
            output=dst,
            output_md5=md5_of(dst),
            rows=int(rows),
            flagged=int(flagged),
            drift=state,
            drift_summary=drift_summary,
            estimate=estimate,
        )

    def to_event(self) -> dict[str, Any]:
        """The audit event (the log adds seq, time and the chain)."""
        return {
            "action": ACTION,
            "model_name": self.model_name,
            "version": self.version,
            "alias": self.alias,
            "threshold": self.threshold,
            "input": str(self.input),
            "input_md5": self.input_md5,
            "output": str(self.output),
            "output_md5": self.output_md5,
            "rows": self.rows,
            "flagged": self.flagged,
            "drift": {"status": self.drift, "summary": self.drift_summary},
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
        }


def record_receipt(audit: AuditLog, receipt: ScoringReceipt) -> dict[str, Any]:
    """Append the receipt to the audit log; returns the stored entry (with its seq)."""
    return audit.append(receipt.to_event())


@dataclasses.dataclass(frozen=True)
class OutputCheck:
    """One output file against its newest receipt: "match", "changed" or "missing"."""

    seq: int
    output: Path
    status: Literal["match", "changed", "missing"]
    receipt_md5: str
    file_md5: str | None

    def line(self) -> str:
        """What happened to the file, in one line."""
        if self.status == "changed":
            return (
                f"{self.output}: md5 {self.file_md5} differs from {self.receipt_md5} in its "
                f"receipt (audit entry {self.seq}): the file changed after it was scored; "
                "restore it, or score its input again for a new receipt"
            )
        return f"{self.output}: {self.status} (receipt: audit entry {self.seq})"


def check_outputs(entries: Iterable[dict[str, Any]]) -> list[OutputCheck]:
    """Re-hash every output file that a receipt names, against its newest receipt (a file
    scored again is checked against the run that wrote it last); in entry order."""
    newest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.get("action") == ACTION:
            newest[str(entry["output"])] = entry
    checks = []
    for output, entry in sorted(newest.items(), key=lambda item: int(item[1]["seq"])):
        path, expected = Path(output), str(entry["output_md5"])
        actual = md5_of(path) if path.is_file() else None
        status: Literal["match", "changed", "missing"] = (
            "missing" if actual is None else "match" if actual == expected else "changed"
        )
        checks.append(OutputCheck(int(entry["seq"]), path, status, expected, actual))
    return checks
