"""The audit log: a chain that catches edits, removals, reorders, insertions and forgeries,
survives a torn write and serialises concurrent writers."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from components.provenance.audit import GENESIS, AuditError, AuditLog
from flows.runtime.config import Settings

ROOT = Path(__file__).resolve().parents[3]


def _event(i: int) -> dict:
    return {
        "action": "promote" if i % 2 else "reject",
        "model_name": "wsad",
        "version": str(i + 1),
        "who": "alice",
        "gates": {"metric_floor": {"value": 0.5, "limit": 0.1, "passed": True}},
        "reason": f"event {i}",
    }


def _log(tmp_path: Path, n: int = 5, key: bytes | None = None) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl", key=key)
    for i in range(n):
        audit.append(_event(i))
    return audit


def _lines(audit: AuditLog) -> list[str]:
    return audit.path.read_text().splitlines(keepends=True)


def _write(audit: AuditLog, lines: list[str]) -> None:
    audit.path.write_text("".join(lines))


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSAD_AUDIT_KEY", raising=False)


def test_appended_entries_form_a_valid_chain(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=b"secret")
    entries = audit.entries()
    assert [e["seq"] for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert entries[3]["gates"]["metric_floor"]["passed"] is True
    result = audit.verify()
    assert (result.ok, result.n_entries, result.first_bad) == (True, 5, None)
    assert "HMAC" in result.reason


def test_missing_log_verifies_as_empty(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "none.jsonl").verify()
    assert (result.ok, result.n_entries) == (True, 0)


def test_edited_field_is_caught(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    lines = _lines(audit)
    lines[2] = lines[2].replace('"who": "alice"', '"who": "mallory"')
    _write(audit, lines)
    result = audit.verify()
    assert (result.ok, result.first_bad) == (False, 2)
    assert "edited" in result.reason


def test_deleted_line_is_caught(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    lines = _lines(audit)
    del lines[1]
    _write(audit, lines)
    result = audit.verify()
    assert (result.ok, result.first_bad) == (False, 1)


def test_deleted_first_line_is_caught(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _write(audit, _lines(audit)[1:])
    assert audit.verify().first_bad == 0


def test_swapped_lines_are_caught(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    lines = _lines(audit)
    lines[2], lines[3] = lines[3], lines[2]
    _write(audit, lines)
    result = audit.verify()
    assert (result.ok, result.first_bad) == (False, 2)
    assert "reordered" in result.reason


def test_inserted_line_is_caught(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    lines = _lines(audit)
    lines.insert(3, lines[1])
    _write(audit, lines)
    result = audit.verify()
    assert (result.ok, result.first_bad) == (False, 3)


def _forge(audit: AuditLog, index: int) -> None:
    """Edit one entry and recompute every hash after it, as an attacker without the key would."""
    entries = audit.entries()
    entries[index]["who"] = "mallory"
    prev = entries[index - 1]["hash"] if index else GENESIS
    for entry in entries[index:]:
        entry["prev_hash"] = prev
        body = {k: v for k, v in entry.items() if k not in ("hash", "hmac")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        entry["hash"] = prev = hashlib.sha256(canonical.encode()).hexdigest()
    _write(audit, [json.dumps(e, sort_keys=True) + "\n" for e in entries])


def test_hmac_catches_a_rehashed_forgery(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=b"secret")
    _forge(audit, 2)
    assert AuditLog(audit.path).verify().ok  # the plain hash chain is fooled ...
    result = AuditLog(audit.path, key=b"secret").verify()  # ... the HMAC is not
    assert (result.ok, result.first_bad) == (False, 2)
    assert "HMAC" in result.reason


def test_key_comes_from_settings_and_only_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSAD_AUDIT_KEY", "from-env")
    assert "hmac" not in _log(tmp_path, n=1).entries()[0]  # the log reads no environment
    audit = _log(tmp_path / "signed", n=2, key=Settings().audit_key_bytes())
    assert "hmac" in audit.entries()[0]
    assert AuditLog(audit.path, key=b"from-env").verify().ok
    wrong = AuditLog(audit.path, key=b"other").verify()
    assert (wrong.ok, wrong.first_bad) == (False, 0)


def test_find_returns_the_last_entry_holding_the_fields(tmp_path: Path) -> None:
    audit = _log(tmp_path, n=3)
    audit.append({**_event(3), "reason": "event 1"})
    assert audit.find(reason="event 1")["seq"] == 3
    assert audit.find(reason="event 1", who="alice")["seq"] == 3
    assert audit.find(reason="event 1", who="bob") is None


def test_torn_tail_is_repaired_before_the_next_append(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audit = _log(tmp_path, n=3, key=b"k")
    with audit.path.open("ab") as f:
        f.write(b'{"action": "promote", "model_na')  # crash mid-write
    assert len(audit.entries()) == 3
    with caplog.at_level(logging.WARNING, logger="components.provenance.audit"):
        entry = audit.append(_event(3))
    assert "torn last line" in caplog.text
    assert entry["seq"] == 3
    result = audit.verify()
    assert (result.ok, result.n_entries) == (True, 4)


def test_reserved_and_unserialisable_fields_are_refused(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditError, match="hash"):
        audit.append({"action": "promote", "hash": "0"})
    with pytest.raises(AuditError, match="JSON"):
        audit.append({"action": "promote", "when": object()})
    with pytest.raises(AuditError, match="JSON"):
        audit.append({"action": "promote", "auc_pr": float("nan")})
    assert audit.entries() == []


def test_concurrent_writers_keep_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    go = tmp_path / "go"
    script = (
        "import sys, time; from pathlib import Path\n"
        "from components.provenance.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]), key=b'k')\n"
        "while not Path(sys.argv[3]).exists(): time.sleep(0.001)\n"
        "for i in range(150): log.append({'action': 'register', 'who': sys.argv[2], 'i': i})\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), who, str(go)], cwd=ROOT)
        for who in ("a", "b")
    ]
    go.touch()  # both start appending at the same moment
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    audit = AuditLog(path, key=b"k")
    result = audit.verify()
    assert (result.ok, result.n_entries) == (True, 300)
    assert {e["who"] for e in audit.entries()} == {"a", "b"}
