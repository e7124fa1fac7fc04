"""The approval gate is one more row of the pure gate table: only an 'approve' keeps a
passing decision, and it never rescues a failing one."""

from __future__ import annotations

import pytest

from components.registry import RegistryError
from components.registry.gates import PromotionPolicy, decide_promotion, with_approval
from tests.conftest import candidate_facts

PASSING = candidate_facts(auc_pr=0.8)


def test_approval_keeps_a_passing_decision_and_names_the_approver() -> None:
    decision = with_approval(
        decide_promotion(PASSING, None, PromotionPolicy()), "alice", "approve", "looks right"
    )
    assert decision.promote
    assert decision.gates["approval"] == {
        "value": "approve",
        "limit": "approve",
        "passed": True,
        "approver": "alice",
        "reason": "looks right",
    }
    assert "alice" in decision.reason


@pytest.mark.parametrize("verdict", ["reject", "timeout"])
def test_reject_or_timeout_turns_a_passing_decision_into_a_rejection(verdict: str) -> None:
    decision = with_approval(
        decide_promotion(PASSING, None, PromotionPolicy()), "bob", verdict, "not now"
    )
    assert not decision.promote
    assert decision.gates["approval"]["passed"] is False
    assert decision.reason == f"failed: approval ({verdict} by bob: not now)"


def test_approval_does_not_rescue_a_decision_whose_gates_failed() -> None:
    failing = decide_promotion(candidate_facts(auc_pr=0.01), None, PromotionPolicy())
    decision = with_approval(failing, "alice", "approve", "ship it")
    assert not decision.promote
    assert decision.reason == failing.reason


def test_an_unknown_verdict_is_refused() -> None:
    with pytest.raises(RegistryError, match="'maybe' is not one of approve, reject, timeout"):
        with_approval(decide_promotion(PASSING, None, PromotionPolicy()), "eve", "maybe", "")
