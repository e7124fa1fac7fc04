"""Scoring receipts on a real audit log: every field the run must leave, the estimate as
null or as its record reports itself, covered by the chain and the HMAC like any entry, and
an output file checked against its newest receipt (match, changed, missing)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from components.provenance.audit import AuditLog
from components.provenance.receipts import ScoringReceipt, check_outputs, record_receipt

KEY = b"receipt-test-key"


class Estimate:
    """A performance estimate as the scoring flow hands it over: it reports itself."""

    def to_dict(self) -> dict[str, Any]:
        return {"precision": {"value": 0.8, "low": 0.6, "high": 0.9}}


def scored(tmp_path: Path, name: str = "scores.csv", text: str = "id,score\na,0.5\n") -> Path:
    (tmp_path / "records.csv").write_text("id,x\na,1.0\n")
    out = tmp_path / name
    out.write_text(text)
    return out


def receipt(tmp_path: Path, out: Path, **changes: Any) -> ScoringReceipt:
    facts: dict[str, Any] = {
        "model_name": "wsad-detector",
        "version": "3",
        "alias": "champion",
        "threshold": 0.25,
        "records": tmp_path / "records.csv",
        "out": out,
        "rows": 1,
        "flagged": 1,
        "drifted": False,
        "drift_summary": "no drift",
    }
    return ScoringReceipt.of_run(**{**facts, **changes})


def test_a_receipt_holds_what_the_run_did_with_both_md5(tmp_path):
    out = scored(tmp_path)
    entry = record_receipt(AuditLog(tmp_path / "audit.jsonl"), receipt(tmp_path, out))
    assert entry["action"] == "score"
    assert (entry["model_name"], entry["version"], entry["alias"]) == (
        "wsad-detector",
        "3",
        "champion",
    )
    assert (entry["threshold"], entry["rows"], entry["flagged"]) == (0.25, 1, 1)
    assert entry["input"] == str((tmp_path / "records.csv").resolve())
    assert entry["input_md5"] == hashlib.md5(b"id,x\na,1.0\n").hexdigest()
    assert entry["output"] == str(out.resolve())
    assert entry["output_md5"] == hashlib.md5(out.read_bytes()).hexdigest()
    assert entry["drift"] == {"status": "within limits", "summary": "no drift"}
    assert entry["estimate"] is None


@pytest.mark.parametrize(("drifted", "status"), [(None, "not measured"), (True, "drifted")])
def test_the_drift_status_says_whether_it_was_measured_and_how_it_came_out(
    tmp_path, drifted, status
):
    event = receipt(tmp_path, scored(tmp_path), drifted=drifted).to_event()
    assert event["drift"]["status"] == status


def test_an_estimate_is_recorded_as_it_reports_itself(tmp_path):
    event = receipt(tmp_path, scored(tmp_path), estimate=Estimate()).to_event()
    assert event["estimate"] == Estimate().to_dict()


def test_receipts_are_chained_and_signed_like_every_entry(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", KEY)
    out = scored(tmp_path)
    for _ in range(2):
        record_receipt(audit, receipt(tmp_path, out))
    assert audit.verify().ok
    lines = audit.path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["flagged"] = 0
    audit.path.write_text("\n".join([json.dumps(edited), lines[1]]) + "\n")
    check = audit.verify()
    assert (check.ok, check.first_bad) == (False, 0)


def test_an_output_is_checked_against_its_newest_receipt(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    kept, edited, gone = (scored(tmp_path, f"{n}.csv") for n in ("kept", "edited", "gone"))
    for out in (kept, edited, gone):
        record_receipt(audit, receipt(tmp_path, out))
    kept.write_text("id,score\na,0.7\n")  # scored again: a newer receipt names the new file
    record_receipt(audit, receipt(tmp_path, kept))
    edited.write_text("id,score\na,0.6\n")
    gone.unlink()
    checks = {c.output.name: c for c in check_outputs(audit.entries())}
    assert {name: c.status for name, c in checks.items()} == {
        "kept.csv": "match",
        "edited.csv": "changed",
        "gone.csv": "missing",
    }
    assert checks["kept.csv"].seq == 3
    line = checks["edited.csv"].line()
    now = hashlib.md5(edited.read_bytes()).hexdigest()
    assert line.startswith(f"{edited.resolve()}: md5 {now} differs from ")
    assert "(audit entry 1): the file changed after it was scored" in line


def test_entries_other_than_receipts_are_not_checked(tmp_path):
    entries = [{"seq": 0, "action": "promote", "output": "x", "output_md5": "y"}]
    assert check_outputs(entries) == []
