"""What the release is made of, decided from the cross-validation over the few labels alone.

Why not "the method with the best cross-validated AUC-PR": with 5 to 20 labelled anomalies,
a fold holds one to seven of them, so one method's lead is mostly noise, and the PU-corrected
AUC-PR moves with the contamination estimate (itself uncertain). Two changes measured on the
shared tables (benchmarks/RESULTS.md, release quality) make the release steadier:

- Rank the candidates by the mean over folds of the plain labelled-vs-unlabelled AUC-ROC.
  The PU-corrected AUC-ROC is an increasing affine map of it, (AUC - pi/2) / (1 - pi), so the
  order is the true one under SCAR whatever the contamination; AUC-ROC uses every held-out
  label's rank where AUC-PR hinges on the top few.
- Release the rank ensemble (components/detectors/ensemble.py) of the best-ranked methods,
  `n_seeds` seeds each: the leader, and each of the next `top - 1` whose ranking AUC is
  within `tolerance` of the leader's. When the few labels cannot separate two methods, the
  mean of both is rarely far below the better one; when one leads clearly, a runner-up
  would only dilute it.

The plan's own cross-validation is computed without refitting: every method saw the same
folds, so each fold's held-out scores are rank-normalised against that fold's held-out
unlabelled rows and averaged, as the ensemble averages its members. The gates read it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from components.detectors.ensemble import rank_normalise, score_quantiles
from components.selection.defaults import (
    DEFAULT_CRITERION,
    DEFAULT_SEEDS,
    DEFAULT_TOLERANCE,
    DEFAULT_TOP,
)
from components.selection.evaluation import (
    EvaluationError,
    SelectionResult,
    cross_validate,
    pu_average_precision,
    pu_roc_auc,
)

ENSEMBLE = "ensemble"


def fold_ids(result: SelectionResult) -> np.ndarray:
    """The fold of each held-out score (folds are concatenated in order)."""
    return np.concatenate([np.full(f["n_test"], f["fold"]) for f in result.folds])


def ranking_auc(result: SelectionResult) -> float:
    """Mean over folds of the labelled-vs-unlabelled AUC-ROC: the contamination-free order."""
    return float(np.mean([f["auc_roc_uncorrected"] for f in result.folds]))


def plain_average_precision(result: SelectionResult) -> float:
    """Mean over folds of the labelled-vs-unlabelled AUC-PR (no contamination needed)."""
    return float(np.mean([f["auc_pr_uncorrected"] for f in result.folds]))


# What a candidate is ranked by, and what the tolerance is measured in.
CRITERIA: dict[str, Callable[[SelectionResult], float]] = {
    "auc_roc": ranking_auc,
    "auc_pr": lambda r: r.auc_pr,
    "plain_auc_pr": plain_average_precision,
}


def rank(
    results: list[SelectionResult], criterion: str = DEFAULT_CRITERION
) -> list[SelectionResult]:
    """Best first by `criterion`; ties go to the higher PU-corrected AUC-PR, then to the
    earlier entry."""
    if not results:
        raise EvaluationError("no cross-validation results to rank")
    if criterion not in CRITERIA:
        raise EvaluationError(
            f"unknown ranking criterion {criterion!r}; use one of {', '.join(CRITERIA)}"
        )
    value = CRITERIA[criterion]
    nan = [r.method for r in results if np.isnan(value(r))]
    if nan:
        raise EvaluationError(f"{criterion} is NaN for {', '.join(nan)}; check its scores")
    key = [(-value(r), -r.auc_pr, i) for i, r in enumerate(results)]
    return [results[i] for *_, i in sorted(key)]


def combine(results: list[SelectionResult], contamination: float, n_seeds: int) -> SelectionResult:
    """The cross-validation of the rank ensemble of `results`' methods, from their held-out
    scores on the shared folds; a single result is returned as it is (plus its seeds)."""
    if len(results) == 1 and n_seeds == 1:
        return results[0]
    first = results[0]
    folds = fold_ids(first)
    y = first.held_out_y
    for other in results[1:]:
        same_rows = np.array_equal(other.held_out_rows, first.held_out_rows)
        if not (same_rows and np.array_equal(fold_ids(other), folds)):
            raise EvaluationError(f"{other.method} was cross-validated on other folds")
    normalised = np.empty((len(results), len(y)))
    for f in np.unique(folds):
        rows = folds == f
        for i, r in enumerate(results):
            s = r.held_out_scores[rows]
            normalised[i, rows] = rank_normalise(s, score_quantiles(s[y[rows] == 0]))
    scores = normalised.mean(axis=0)
    records = []
    per_fold = zip(*(r.folds for r in results), strict=True)
    for fold, member_folds in zip(np.unique(folds), per_fold, strict=True):
        rows = folds == fold
        s, y_f = scores[rows], y[rows]
        records.append(
            {
                **{k: member_folds[0][k] for k in ("fold", "n_train", "n_test")},
                **{k: member_folds[0][k] for k in ("labelled_train", "labelled_test")},
                "auc_pr": pu_average_precision(s, y_f, contamination),
                "auc_pr_uncorrected": float(average_precision_score(y_f, s)),
                "auc_roc": pu_roc_auc(s, y_f, contamination),
                "auc_roc_uncorrected": float(roc_auc_score(y_f, s)),
                # recall at each member's own threshold, averaged: the ensemble's threshold
                # is calibrated on its refit, not per fold
                "recall_at_threshold": float(
                    np.mean([m["recall_at_threshold"] for m in member_folds])
                ),
                "threshold": float("nan"),
            }
        )
    auc_pr = [r["auc_pr"] for r in records]
    return SelectionResult(
        method=ENSEMBLE,
        params=ensemble_params(results, n_seeds),
        auc_pr=float(np.mean(auc_pr)),
        auc_pr_std=float(np.std(auc_pr)),
        auc_roc=float(np.mean([r["auc_roc"] for r in records])),
        recall_at_threshold=float(np.mean([r["recall_at_threshold"] for r in records])),
        held_out_scores=scores,
        held_out_y=y,
        held_out_rows=first.held_out_rows,
        folds=records,
    )


def ensemble_params(results: list[SelectionResult], n_seeds: int) -> dict[str, Any]:
    """`make("ensemble", **params)` builds the release from these (JSON-safe); its seeds
    start at the members' cross-validation seed."""
    return {
        "methods": [r.method for r in results],
        "method_params": {r.method: dict(r.params) for r in results},
        "n_seeds": n_seeds,
        "random_state": int(results[0].params.get("random_state", 0)),
    }


def members(method: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (method, params) a released configuration is made of: itself, or an ensemble's
    members."""
    if method != ENSEMBLE:
        return [(method, params)]
    return [(m, dict(params["method_params"][m])) for m in params["methods"]]


def describe(method: str, params: dict[str, Any]) -> str:
    """A released configuration in a few words, e.g. "devnet+prenet, 3 seeds each"."""
    if method != ENSEMBLE:
        return method
    names = "+".join(m for m, _ in members(method, params))
    return f"{names}, {params['n_seeds']} seed{'s each' if params['n_seeds'] > 1 else ''}"


def flat_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as MLflow logs them: one key per member's parameter."""
    if method != ENSEMBLE:
        return {"method": method, **params}
    flat: dict[str, Any] = {"method": method, "n_seeds": params["n_seeds"]}
    for name, member_params in members(method, params):
        flat |= {f"{name}.{k}": v for k, v in member_params.items()}
    return flat


@dataclasses.dataclass(frozen=True)
class ReleasePlan:
    """The configuration to refit on every row, and the cross-validation that chose it."""

    selection: SelectionResult  # method "ensemble" (params build it) with its combined CV
    ranking: list[tuple[str, float]]  # every candidate's ranking AUC, best first


def plan_release(
    results: list[SelectionResult],
    contamination: float,
    top: int = DEFAULT_TOP,
    n_seeds: int = DEFAULT_SEEDS,
    tolerance: float = DEFAULT_TOLERANCE,
    criterion: str = DEFAULT_CRITERION,
) -> ReleasePlan:
    """The rank ensemble of the best-ranked candidate and those of the next `top - 1` within
    `tolerance` of its `criterion`, `n_seeds` seeds each."""
    if top < 1 or n_seeds < 1 or tolerance < 0:
        raise EvaluationError(
            f"need top >= 1, n_seeds >= 1 and tolerance >= 0, got {top}, {n_seeds}, {tolerance}"
        )
    ranked = rank(results, criterion)
    value = CRITERIA[criterion]
    best = value(ranked[0])
    close = [r for r in ranked[:top] if best - value(r) <= tolerance]
    chosen = combine(close, contamination, n_seeds)
    return ReleasePlan(chosen, [(r.method, value(r)) for r in ranked])


def replay(
    method: str,
    params: dict[str, Any],
    results: list[SelectionResult],
    X: np.ndarray,
    y: np.ndarray,
    contamination: float,
    n_folds: int,
    random_state: int,
) -> SelectionResult:
    """A released configuration (e.g. the champion's) cross-validated on this run's folds, so
    a gate compares like with like: members this run already cross-validated with the same
    parameters are reused, the others are cross-validated now."""
    done = {(r.method, json.dumps(r.params, sort_keys=True, default=str)): r for r in results}
    member_results = [
        done.get((m, json.dumps(p, sort_keys=True, default=str)))
        or cross_validate(m, p, X, y, contamination, n_folds, random_state)
        for m, p in members(method, params)
    ]
    n_seeds = int(params.get("n_seeds", 1)) if method == ENSEMBLE else 1
    return combine(member_results, contamination, n_seeds)
