"""A tamper-evident, append-only audit log of release decisions (JSON lines).

Why: an auditor must be able to show which promotion, rejection or rollback happened, by
whom and on what evidence, and that nobody rewrote that history afterwards. Each entry
carries the SHA-256 of its canonical JSON including the previous entry's hash, so an edited,
removed, reordered or inserted line breaks the chain. With a key (the caller passes
`Settings.audit_key`, env WSAD_AUDIT_KEY; this module reads no environment) each entry is
also HMAC-signed, so an attacker who edits a line and recomputes every hash is still
caught. A chain alone cannot show that its newest lines were cut off: compare the head with
the copy of each entry logged to MLflow for that.

Crash safety: one `write` of the whole line then fsync, under an exclusive `flock`, so
concurrent writers serialise; a torn last line left by a crash is cut off (with a warning)
before the next append.

Import rule: standard library only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHAIN_FIELDS = ("seq", "ts", "prev_hash", "hash", "hmac")


class AuditError(ValueError):
    """The audit log cannot be read or written; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """Outcome of `AuditLog.verify`: the first bad entry (0-based line) and why."""

    ok: bool
    n_entries: int
    first_bad: int | None
    reason: str


def _canonical(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k not in ("hash", "hmac")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _signature(key: bytes, entry: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


class AuditLog:
    """One JSON-lines file; `append` adds an event, `verify` checks the whole chain. `key`
    signs and checks entries (HMAC); None leaves them unsigned."""

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = Path(path)
        self.key = key

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Chain, sign and durably append one event; returns the stored entry."""
        clash = sorted(set(event) & set(CHAIN_FIELDS))
        if clash:
            raise AuditError(
                f"event field(s) {', '.join(clash)} are set by the audit log; drop them"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = self._repair_and_read_last(fd)
            entry = dict(event)
            entry["seq"] = 0 if last is None else int(last["seq"]) + 1
            entry["ts"] = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            entry["prev_hash"] = GENESIS if last is None else str(last["hash"])
            try:
                json.dumps(entry, allow_nan=False)
                entry["hash"] = _digest(entry)
            except (TypeError, ValueError) as err:
                raise AuditError(
                    f"audit event is not JSON-serialisable ({err}); pass plain values"
                ) from err
            if self.key is not None:
                entry["hmac"] = _signature(self.key, entry)
            line = (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode()
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry in order (a torn last line is left out)."""
        return [entry for entry, _ in self._parsed()]

    def find(self, **fields: Any) -> dict[str, Any] | None:
        """The last complete entry holding every one of `fields` with that value, or None: a
        retried step looks up the entry its earlier attempt appended."""
        for entry in reversed(self.entries()):
            if all(entry.get(name) == value for name, value in fields.items()):
                return entry
        return None

    def verify(self) -> VerifyResult:
        """Walk the chain; report the first entry that was edited, moved, removed or forged."""
        parsed = self._parsed()
        prev = GENESIS
        for i, (entry, error) in enumerate(parsed):
            bad = error or self._check(i, entry, prev)
            if bad:
                return VerifyResult(False, len(parsed), i, f"entry {i}: {bad}")
            prev = entry["hash"]
        signed = (
            "hash chain and HMAC intact"
            if self.key
            else "hash chain intact (no key: HMAC not checked)"
        )
        return VerifyResult(True, len(parsed), None, f"{len(parsed)} entries, {signed}")

    def _check(self, i: int, entry: dict[str, Any], prev: str) -> str:
        missing = [f for f in ("seq", "prev_hash", "hash") if f not in entry]
        if missing:
            return f"missing field(s) {', '.join(missing)}"
        if entry["hash"] != _digest(entry):
            return "content does not match its hash (entry edited)"
        if entry["seq"] != i:
            return f"seq {entry['seq']} at position {i} (entry removed, inserted or reordered)"
        if entry["prev_hash"] != prev:
            return (
                "prev_hash does not match the previous entry (entry removed, inserted or reordered)"
            )
        if self.key is not None:
            if "hmac" not in entry:
                return (
                    "no HMAC although a key is configured (entry written without the key or forged)"
                )
            if not hmac.compare_digest(str(entry["hmac"]), _signature(self.key, entry)):
                return "HMAC mismatch (entry forged, or the key differs from the writer's)"
        return ""

    def _parsed(self) -> list[tuple[dict[str, Any], str]]:
        """(entry, parse error) per complete line."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise AuditError(
                f"cannot read audit log {self.path} ({err}); check its permissions"
            ) from err
        lines = data.split(b"\n")
        if lines[-1]:
            log.warning("%s: torn last line ignored (an interrupted append)", self.path)
        out: list[tuple[dict[str, Any], str]] = []
        for raw in lines[:-1]:
            try:
                entry = json.loads(raw)
            except ValueError:
                out.append(({}, "not valid JSON"))
                continue
            out.append((entry, "") if isinstance(entry, dict) else ({}, "not a JSON object"))
        return out

    def _repair_and_read_last(self, fd: int) -> dict[str, Any] | None:
        """Cut a torn tail back to the last newline, then parse the last complete line.
        Reads backwards in blocks so appending stays cheap on a long log."""
        size = os.fstat(fd).st_size
        tail, pos = b"", size
        while pos > 0 and tail.count(b"\n") < 2:
            step = min(65_536, pos)
            pos -= step
            tail = os.pread(fd, step, pos) + tail
        if tail and not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n") + 1
            new_size = pos + cut
            log.warning(
                "%s: torn last line (%d bytes, crash mid-write) removed before appending",
                self.path,
                size - new_size,
            )
            os.ftruncate(fd, new_size)
            tail = tail[:cut]
        lines = tail.split(b"\n")
        if len(lines) < 2:
            return None
        try:
            last = json.loads(lines[-2])
        except ValueError as err:
            raise AuditError(
                f"{self.path}: last complete line is not JSON; run `wsad audit verify`"
            ) from err
        if not isinstance(last, dict) or "hash" not in last or "seq" not in last:
            raise AuditError(f"{self.path}: last entry lacks hash/seq; run `wsad audit verify`")
        return last
