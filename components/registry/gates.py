"""Whether a candidate becomes champion: every gate's value, limit and outcome, decided
from the candidate's and the champion's facts alone (pure: nothing moves here), and a human
approver's answer folded in as one more gate. The effects happen in `promotion`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from components.registry import RegistryError
from components.registry.candidate_facts import CandidateFacts

GATES = ("validation", "metric_floor", "beats_champion", "contamination_in_interval")
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


def decide_promotion(
    candidate: CandidateFacts, champion: CandidateFacts | None, policy: PromotionPolicy
) -> Decision:
    """Pure gate table: the candidate's validation, AUC-PR and contamination (of the current
    data) against the policy and, unless there is no champion yet, against the champion's
    AUC-PR (the flow measures it on the candidate's folds) and its contamination interval."""
    auc = _finite(candidate.auc_pr)
    validated = bool(candidate.validation_passed)  # a numpy bool would not be JSON
    gates: dict[str, dict[str, Any]] = {
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
        return Decision(True, gates, "all gates passed")
    detail = "; ".join(
        f"{name} (value {gates[name]['value']}, limit {gates[name]['limit']})" for name in failed
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
