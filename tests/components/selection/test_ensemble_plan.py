"""The release plan: candidates ranked by the contamination-free AUC-ROC, the top ones combined
into a rank ensemble whose cross-validation comes from the members' held-out scores, and a
released configuration replayed on a new run's folds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from components.detectors import make
from components.selection.ensemble_plan import (
    ENSEMBLE,
    combine,
    describe,
    flat_params,
    members,
    plan_release,
    rank,
    ranking_auc,
    replay,
)
from components.selection.evaluation import EvaluationError, SelectionResult, cross_validate
from tests.conftest import decoy_task

SUPERVISED = {"max_iter": 30, "random_state": 0}
IFOREST = {"n_estimators": 50, "random_state": 0}
PI = 0.05


@pytest.fixture(scope="module")
def decoy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return decoy_task()


@pytest.fixture(scope="module")
def results(decoy) -> list[SelectionResult]:
    X, y, _ = decoy
    return [
        cross_validate("iforest", IFOREST, X, y, PI),
        cross_validate("supervised", SUPERVISED, X, y, PI),
    ]


def test_the_clearly_better_candidate_ranks_first_whatever_the_order(results) -> None:
    iforest, supervised = results
    assert ranking_auc(supervised) > ranking_auc(iforest) + 0.03
    assert rank(results)[0] is supervised
    assert rank(results[::-1])[0] is supervised
    with pytest.raises(EvaluationError, match="no cross-validation results"):
        rank([])


def test_ties_go_to_the_higher_pu_auc_pr(results) -> None:
    a = results[0]
    low, high = dataclasses.replace(a, method="low"), dataclasses.replace(a, method="high")
    high.auc_pr = a.auc_pr + 0.1
    assert [r.method for r in rank([low, high])] == ["high", "low"]


def test_top_one_with_one_seed_is_the_method_itself(results) -> None:
    plan = plan_release(results, PI, top=1, n_seeds=1)
    assert plan.selection is results[1]
    assert [m for m, _ in plan.ranking] == ["supervised", "iforest"]


def test_the_plan_builds_the_ensemble_it_cross_validated(results, decoy) -> None:
    X, y, truth = decoy
    plan = plan_release(results, PI, top=2, n_seeds=2, tolerance=1.0)
    sel = plan.selection
    assert sel.method == ENSEMBLE
    assert [m for m, _ in members(sel.method, sel.params)] == ["supervised", "iforest"]
    assert describe(sel.method, sel.params) == "supervised+iforest, 2 seeds each"
    assert flat_params(sel.method, sel.params)["iforest.n_estimators"] == 50
    # the combined held-out scores are the fold-wise rank mean: an AUC between the members'
    assert ranking_auc(results[0]) <= ranking_auc(sel) <= ranking_auc(results[1]) + 0.02
    detector = make(sel.method, **sel.params).fit(X, y)
    assert detector.member_scores(X).shape == (4, len(X))


def test_a_runner_up_joins_only_within_the_tolerance(results) -> None:
    gap = ranking_auc(results[1]) - ranking_auc(results[0])
    alone = plan_release(results, PI, top=2, n_seeds=1, tolerance=gap / 2).selection
    assert alone is results[1]
    both = plan_release(results, PI, top=2, n_seeds=1, tolerance=gap * 2).selection
    assert [m for m, _ in members(both.method, both.params)] == ["supervised", "iforest"]
    with pytest.raises(EvaluationError, match="tolerance >= 0"):
        plan_release(results, PI, tolerance=-0.1)


def test_members_from_other_folds_are_refused(results, decoy) -> None:
    X, y, _ = decoy
    other = cross_validate("iforest", IFOREST, X, y, PI, random_state=1)
    with pytest.raises(EvaluationError, match="other folds"):
        combine([results[1], other], PI, n_seeds=1)


def test_replay_reuses_the_runs_own_members(results, decoy, monkeypatch) -> None:
    X, y, _ = decoy
    sel = plan_release(results, PI, top=2, n_seeds=3, tolerance=1.0).selection

    def refit(*args, **kwargs):
        raise AssertionError("a member this run already cross-validated was fitted again")

    monkeypatch.setattr("components.selection.ensemble_plan.cross_validate", refit)
    again = replay(sel.method, sel.params, results, X, y, PI, 3, 0)
    np.testing.assert_array_equal(again.held_out_scores, sel.held_out_scores)
    assert again.auc_pr == sel.auc_pr
