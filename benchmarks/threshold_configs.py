"""Every threshold rule scored on one split of the release grid's cache: which contamination
estimate sets the quantile, when it is trusted, and what replaces it when not.

The release's threshold is the quantile of its scores on the training rows without a label,
at the share a rule returns; its flag rate on the held-out test rows is compared with their
true anomaly share. Estimators: the flow's first estimate (logistic P-vs-U and
IsolationForest bins, cached by the grid: "features"), best-bin estimation on the release's
own out-of-fold scores ("release"), and both bin sets searched together ("both").
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmarks.release_configs import SplitCache, SplitScores
from components.selection.calibration import calibrate_threshold
from components.selection.contamination.best_bin import search_bins, top_bins
from components.selection.contamination.trust import judge
from components.selection.ensemble_plan import combine

ESTIMATORS = ("features", "release", "both")
WIDTHS = (0.1, 0.2, 0.3, 1.0)  # 1.0: width never distrusts
FALLBACKS = ("prior 0.10", "estimate", "features")
CONFIDENCE = 0.9


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """Which estimate, the widest interval still trusted, and the fallback."""

    estimator: str
    max_width: float
    fallback: str

    @property
    def name(self) -> str:
        return f"{self.estimator}, width <= {self.max_width:g}, else {self.fallback}"


def threshold_rules() -> list[ThresholdRule]:
    return [
        ThresholdRule(e, w, f)
        for e in ESTIMATORS
        for w in WIDTHS
        for f in FALLBACKS
        if not (e == "features" and f == "features")
    ]


def release_bins(split: SplitCache, chosen: list[str], seeds: int) -> tuple[list, int, int]:
    """(bins, labelled, unlabelled) of the release's out-of-fold scores."""
    oof = combine([split.methods[m].cv for m in chosen], split.share, seeds)
    labelled = oof.held_out_y == 1
    return top_bins(oof.held_out_scores, labelled), int(labelled.sum()), int((~labelled).sum())


def estimates(
    split: SplitCache, chosen: list[str], seeds: int, feature_bins: list | None
) -> dict[str, tuple[float, float, float]]:
    """(estimate, low, high) per estimator; "both" needs the feature bins (None: skipped)."""
    f = split.facts
    out = {"features": (float(f["estimate"]), float(f["low"]), float(f["high"]))}
    bins, n, m = release_bins(split, chosen, seeds)
    out["release"] = search_bins(bins, n, m, CONFIDENCE)
    if feature_bins is not None:
        out["both"] = search_bins(bins + feature_bins, n, m, CONFIDENCE)
    return out


def share_for(rule: ThresholdRule, found: dict[str, tuple[float, float, float]]) -> float:
    """The share `rule` calibrates the quantile on."""
    estimate, low, high = found[rule.estimator]
    trusted, _ = judge(estimate, low, high, max_width=rule.max_width)
    if trusted:
        return estimate
    if rule.fallback == "prior 0.10":
        return min(estimate, 0.10)
    if rule.fallback == "estimate":
        return min(estimate, 0.5)
    return min(found["features"][0], 0.5)


def threshold_rows(
    split: SplitCache, chosen: list[str], seeds: int, feature_bins: list | None
) -> list[dict[str, object]]:
    """Test flag rate of every rule's threshold on one split's release."""
    scores = SplitScores(split)
    test, train = scores.release(chosen, seeds)
    found = estimates(split, chosen, seeds, feature_bins)
    truth = float(np.mean(split.y_test))
    base = {"split": split.name, "table": split.table, "n_labels": split.n_labels,
            "seed": split.seed, "test_share": truth}  # fmt: skip
    rows = []
    for rule in threshold_rules():
        if rule.estimator not in found:
            continue
        share = share_for(rule, found)
        threshold = calibrate_threshold(train[split.unlabelled], "quantile", share)
        flag = float(threshold.flag(test).mean())
        ratio = flag / truth
        rows.append({**base, "config": rule.name, "share": share, "flag_rate": flag,
                     "in_band": float(0.5 <= ratio <= 2.0)})  # fmt: skip
    return rows


def feature_bins(X_train: np.ndarray, y_train: np.ndarray) -> list:
    """The flow's first estimate's bins (logistic P-vs-U and IsolationForest), recomputed."""
    from components.selection.contamination.best_bin import _isolation_score
    from components.selection.contamination.common import held_out_probability, prepare

    data = prepare(X_train, y_train, 5, 0)
    labelled = data.y == 1
    return top_bins(held_out_probability(data), labelled) + top_bins(
        _isolation_score(data.X, 0), labelled
    )
