"""The registry's side of the audit log: each release step's entry, copied to the version's
run and anchored on the version by its hash, written once however often the step is
retried; and the champions the log records, which loading and rollback trust over the
alias (an alias can be moved outside wsad)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry import RegistryError
from components.registry.candidate_facts import CandidateFacts

RUN_KEY = "run_key"  # run and version tag, audit field: what a retried step knows itself by


def record(
    audit: AuditLog,
    info: dict[str, Any],
    facts: CandidateFacts,
    who: str,
    decision: str,
    run_key: str | None = None,
    **event: Any,
) -> dict[str, Any]:
    """Append the audit entry, then copy it to the version's run and tag the version with its
    hash (an anchor outside the log file). With a `run_key`, an entry that an earlier attempt
    of the same step appended (same model, version, action and key) is reused, not repeated;
    the copy and the tag are written again (both overwrite). A version trained on data DVC
    does not version carries who allowed its release, why and the inputs' md5 in each entry
    (`unversioned_data`)."""
    keyed = {} if run_key is None else {RUN_KEY: run_key}
    earlier = None
    if run_key is not None:
        earlier = audit.find(
            model_name=info["name"], version=info["version"], action=event["action"], **keyed
        )
    allowed = facts.unversioned
    entry = earlier or audit.append(
        {
            "model_name": info["name"],
            "version": info["version"],
            "who": who,
            "data_version": facts.data_version,
            "git_commit": facts.git_commit,
            "decision": decision,
            **({} if allowed is None else {"unversioned_data": dataclasses.asdict(allowed)}),
            **event,
            **keyed,
        }
    )
    client = MlflowClient()
    if info["run_id"]:
        client.log_dict(info["run_id"], entry, f"audit/{entry['seq']:06d}-{entry['action']}.json")
    client.set_model_version_tag(info["name"], info["version"], "audit_hash", entry["hash"])
    return entry


def champion_history(audit: AuditLog, model_name: str) -> list[str]:
    """Replay promotions and rollbacks: the stack of distinct champions, current last. A
    promotion of the version that is already champion (a repeated `wsad promote`, a retry
    audited before releases were keyed) adds nothing, so a rollback never lands on it."""
    stack: list[str] = []
    for entry in audit.entries():
        if entry.get("model_name") != model_name:
            continue
        if entry.get("action") == "promote":
            if not stack or stack[-1] != str(entry["version"]):
                stack.append(str(entry["version"]))
        elif entry.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def check_named_by_audit(model_name: str, version: str, audit: AuditLog) -> None:
    """Refuse a champion that the (verified) audit log does not name as the current one."""
    check = audit.verify()
    if not check.ok:
        raise RegistryError(
            f"audit log {audit.path} fails verification ({check.reason}); fix first"
        )
    history = champion_history(audit, model_name)
    named = history[-1] if history else None
    if named != version:
        raise RegistryError(
            f"{model_name} champion alias is v{version} but {audit.path} names "
            f"{'no champion' if named is None else f'v{named}'}; refusing to score with it "
            "(release through `wsad promote`/`wsad rollback`)"
        )
