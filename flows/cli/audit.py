"""`wsad audit verify`: the audit log's hash chain (and HMAC), and with `--receipts` each
scored output file against the receipt its scoring run left
(components/provenance/receipts.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flows.cli.terminal import fail, one_line_errors, out, settings_with


def audit_verify(
    receipts: Annotated[
        bool, typer.Option(help="also re-hash each scored output file against its receipt")
    ] = False,
) -> None:
    """Check the audit log's hash chain (and HMAC when WSAD_AUDIT_KEY is set); with
    --receipts, also each scored output file still present against its receipt."""
    from components.provenance.audit import AuditLog

    settings = settings_with()
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    with one_line_errors():
        result = audit.verify()
    if not result.ok:
        fail(f"{settings.audit_log}: entry {result.first_bad} is bad: {result.reason}", code=1)
    summary = _verify_receipts(audit.entries()) if receipts else ""
    out.print(
        f"{settings.audit_log}: {result.n_entries} entries, chain intact{summary}",
        highlight=False,
        soft_wrap=True,
    )


def _verify_receipts(entries: list[dict[str, Any]]) -> str:
    """Each scored output still present against its newest receipt: the summary, or a
    changed file as the one error line (the first, and how many more)."""
    from components.provenance.receipts import check_outputs

    with one_line_errors():
        checks = check_outputs(entries)
    changed = [c for c in checks if c.status == "changed"]
    if changed:
        more = f" ({len(changed) - 1} more changed)" if len(changed) > 1 else ""
        fail(changed[0].line() + more, code=1)
    present = sum(c.status == "match" for c in checks)
    return f"; receipts: {present} output file(s) match, {len(checks) - present} no longer present"
