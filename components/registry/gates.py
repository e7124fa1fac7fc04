"""Whether a candidate becomes champion: every gate's value, limit and outcome, decided
from the candidate's and the champion's facts alone (pure: nothing moves here), and a human
approver's answer folded in as one more gate. The effects happen in `promotion`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from components.provenance.lineage import MODIFIED, is_versioned
from components.registry import RegistryError
from components.registry.candidate_facts import CandidateFacts

GATES = ("lineage", "validation", "metric_floor", "beats_champion", "contamination_in_interval")
ALLOW_HINT = "train with --allow-unversioned --reason '...' to release it all the same (audited)"
APPROVAL_DECISIONS = ("approve", "reject", "timeout")


@dataclasses.dataclass
class PromotionPolicy:
    """Limits a candidate must meet to become champion."""

    metric_floor: float = 0.1
    margin: float = 0.0
    require_validation: bool = True


@dataclasses.dataclass
class Decision:
    """Every gate's value, limit and outcome; `promote` only when all passed."""

    promote: bool
    gates: dict[str, dict[str, Any]]
    reason: str


def _finite(value: float) -> float | None:
    """`value`, or None when it is NaN or infinite (such a number fails its gate)."""
    return value if math.isfinite(value) else None


def lineage_gate(candidate: CandidateFacts) -> dict[str, Any]:
    """Only a version whose data DVC versions can be reproduced (`wsad reproduce` restores
    that data version), so only such a version may become champion, unless the run allowed
    unversioned data on purpose: then the gate passes and carries who allowed it, why, and
    the inputs' md5 into every audit entry of the decision. `why` says what to do."""
    version = candidate.data_version
    gate: dict[str, Any] = {"value": version, "limit": "a DVC data version", "passed": True}
    if is_versioned(version):
        return gate
    if candidate.unversioned is not None:
        return {**gate, "override": dataclasses.asdict(candidate.unversioned)}
    where = (
        "the DVC-tracked data changed after its last `dvc add`; `dvc add` it"
        if version.endswith(MODIFIED)
        else "DVC does not version them; put them in the DVC-tracked folder"
    )
    why = (
        f"trained on {candidate.records} and {candidate.labels} ({version}): {where}, or "
        f"{ALLOW_HINT}"
    )
    return {**gate, "passed": False, "why": why}


def decide_promotion(
    candidate: CandidateFacts, champion: CandidateFacts | None, policy: PromotionPolicy
) -> Decision:
    """Pure gate table: the candidate's lineage, validation, AUC-PR and contamination (of
    the current data) against the policy and, unless there is no champion yet, against the
    champion's AUC-PR (the flow measures it on the candidate's folds) and its contamination
    interval."""
    auc = _finite(candidate.auc_pr)
    validated = bool(candidate.validation_passed)  # a numpy bool would not be JSON
    gates: dict[str, dict[str, Any]] = {
        "lineage": lineage_gate(candidate),
        "validation": {
            "value": validated,
            "limit": policy.require_validation,
            "passed": validated or not policy.require_validation,
        },
        "metric_floor": {
            "value": auc,
            "limit": policy.metric_floor,
            "passed": auc is not None and auc >= policy.metric_floor,
        },
    }
    if champion is None:
        gates["beats_champion"] = {"value": auc, "limit": None, "passed": True}
        gates["contamination_in_interval"] = {
            "value": _finite(candidate.contamination),
            "limit": None,
            "passed": True,
        }
    else:
        champ_auc = _finite(champion.auc_pr)
        bar = None if champ_auc is None else champ_auc + policy.margin
        gates["beats_champion"] = {
            "value": auc,
            "limit": bar,
            "passed": auc is not None and bar is not None and auc > bar,
        }
        rate = _finite(candidate.contamination)
        low, high = _finite(champion.contamination_low), _finite(champion.contamination_high)
        inside = rate is not None and low is not None and high is not None and low <= rate <= high
        gates["contamination_in_interval"] = {"value": rate, "limit": [low, high], "passed": inside}
    failed = [name for name in GATES if not gates[name]["passed"]]
    if not failed:
        override = gates["lineage"].get("override")
        allowed = (
            f" (unversioned data allowed by {override['who']}: {override['reason']})"
            if override
            else ""
        )
        return Decision(True, gates, f"all gates passed{allowed}")
    detail = "; ".join(
        f"{name} ({gates[name]['why']})"
        if "why" in gates[name]
        else f"{name} (value {gates[name]['value']}, limit {gates[name]['limit']})"
        for name in failed
    )
    return Decision(False, gates, f"failed: {detail}")


def with_approval(decision: Decision, approver: str, verdict: str, reason: str) -> Decision:
    """Add a human's answer as the `approval` gate: only 'approve' keeps a passing decision;
    'reject' or 'timeout' (nobody answered in time) turn it into a rejection."""
    if verdict not in APPROVAL_DECISIONS:
        raise RegistryError(
            f"approval decision {verdict!r} is not one of {', '.join(APPROVAL_DECISIONS)}"
        )
    approved = verdict == "approve"
    gates = {
        **decision.gates,
        "approval": {
            "value": verdict,
            "limit": "approve",
            "passed": approved,
            "approver": approver,
            "reason": reason,
        },
    }
    if decision.promote and approved:
        return Decision(True, gates, f"all gates passed; approved by {approver}: {reason}")
    if not decision.promote:
        return Decision(False, gates, decision.reason)
    return Decision(False, gates, f"failed: approval ({verdict} by {approver}: {reason})")
