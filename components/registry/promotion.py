"""Release: apply a gate decision (promote, or record the rejection), gate a registered
version on what the registry recorded (`wsad promote`), and roll back to the previous
champion; each step audited, serialised per model by a file lock, and completed rather
than repeated when a crashed or retried step left it half done."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry import RegistryError
from components.registry.audit_trail import champion_history, record
from components.registry.gates import Decision, PromotionPolicy, decide_promotion
from components.registry.store import (
    exclusive,
    get_alias_version,
    set_alias,
    version_facts,
    version_info,
)

log = logging.getLogger(__name__)


def await_approval(model_name: str, version: str, flow_run_id: str) -> None:
    """Mark a version whose gates passed as waiting for a human, with the paused run to
    answer (`wsad approve <flow_run_id>`), so `wsad models` shows what is pending."""
    client = MlflowClient()
    client.set_model_version_tag(model_name, str(version), "approval_flow_run", flow_run_id)
    client.set_model_version_tag(model_name, str(version), "decision", "awaiting approval")


@contextlib.contextmanager
def release_lock(audit: AuditLog, model_name: str) -> Iterator[None]:
    """Serialise releases of one model across processes (an exclusive `flock` on a file next
    to the audit log), so reading the champion, moving it and auditing the move happen as
    one step even when two flows finish together."""
    with exclusive(audit.path.with_name(f"{audit.path.name}.{model_name}.lock")):
        yield


def _reconciled_champion(model_name: str, audit: AuditLog) -> str | None:
    """The champion as the audit log records it. A release writes its audit entry before it
    moves the alias; a crash in between leaves the alias behind, and it is moved here."""
    history = champion_history(audit, model_name)
    current = get_alias_version(model_name, "champion")
    if history and current != history[-1]:
        log.warning(
            "%s: champion alias is v%s but the audit log's last release names v%s (a release "
            "interrupted after its audit entry); moving the alias to v%s",
            model_name,
            current,
            history[-1],
            history[-1],
        )
        set_alias(model_name, "champion", history[-1])
        return history[-1]
    return current


def promote(
    model_name: str,
    version: str,
    decision: Decision,
    audit: AuditLog,
    who: str,
    approver: str | None = None,
    run_key: str | None = None,
) -> dict[str, Any]:
    """Apply a decision: audit 'promote' then move `champion`, or audit 'reject' then tag
    the rejection. The audit entry is the commit record: a crash before it changes nothing,
    a crash after it is completed by the next release (`_reconciled_champion`). `approver` is
    whoever signed it off (`who` when no human gate ran). With a `run_key` (the flow run's),
    a retry reuses the entry its earlier attempt wrote and finishes the alias and tags, so
    one decision is audited once. Returns the audit entry."""
    info = version_info(model_name, version)
    facts = version_facts(info)  # a version without its facts is refused before any write
    client = MlflowClient()
    action, outcome = ("promote", "promoted") if decision.promote else ("reject", "rejected")
    with release_lock(audit, model_name):
        previous = _reconciled_champion(model_name, audit)
        client.set_model_version_tag(
            model_name, info["version"], "gates", json.dumps(decision.gates)
        )
        entry = record(
            audit,
            info,
            facts,
            who,
            outcome,
            run_key,
            action=action,
            gates=decision.gates,
            reason=decision.reason,
            previous_champion=previous,
            approver=approver or who,
        )
        if decision.promote:
            set_alias(model_name, "champion", info["version"])
            if "rejected_reason" in info["tags"]:  # an earlier rejection no longer describes it
                client.delete_model_version_tag(model_name, info["version"], "rejected_reason")
        else:
            client.set_model_version_tag(
                model_name, info["version"], "rejected_reason", decision.reason
            )
        client.set_model_version_tag(model_name, info["version"], "decision", outcome)
    log.info("%s v%s %s: %s", model_name, info["version"], outcome, decision.reason)
    return entry


def promote_version(
    model_name: str, version: str, policy: PromotionPolicy, audit: AuditLog, who: str
) -> Decision:
    """Gate a registered version on what the registry recorded for it and for the current
    champion (their cross-validated metrics may come from different folds), then `promote`."""
    info = version_info(model_name, version)
    current = get_alias_version(model_name, "champion")
    if current == info["version"]:
        raise RegistryError(f"{model_name} v{version} is already champion; nothing to promote")
    candidate = version_facts(info)
    champion = None if current is None else version_facts(version_info(model_name, current))
    decision = decide_promotion(candidate, champion, policy)
    promote(model_name, info["version"], decision, audit, who)
    return decision


def rollback(model_name: str, audit: AuditLog, who: str) -> str:
    """Move `champion` back to the champion before the current one, as the (verified) audit
    log records it; audited as 'rollback'. Returns the restored version."""
    check = audit.verify()
    if not check.ok:
        raise RegistryError(
            f"audit log {audit.path} fails verification ({check.reason}); fix first"
        )
    if get_alias_version(model_name, "champion") is None:
        raise RegistryError(f"{model_name} has no champion to roll back")
    with release_lock(audit, model_name):
        current = _reconciled_champion(model_name, audit)
        stack = champion_history(audit, model_name)
        if current is None or current not in stack:
            raise RegistryError(
                f"{model_name} champion v{current} was not promoted through wsad "
                f"(not in {audit.path})"
            )
        earlier = stack[: len(stack) - stack[::-1].index(current) - 1]
        if not earlier:
            raise RegistryError(
                f"{model_name} v{current} is the first recorded champion; no earlier one"
            )
        target = earlier[-1]
        info = version_info(model_name, target)
        record(
            audit,
            info,
            version_facts(info),
            who,
            "rolled back",
            action="rollback",
            gates={},
            reason=f"rolled back from v{current}",
            previous_champion=current,
        )
        set_alias(model_name, "champion", target)
        client = MlflowClient()
        client.set_model_version_tag(model_name, current, "decision", "rolled back")
        client.set_model_version_tag(model_name, target, "decision", "promoted")
    log.info("%s champion rolled back from v%s to v%s", model_name, current, target)
    return target
