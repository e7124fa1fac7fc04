"""The share the release's threshold is set at, estimated again once the release is known.

The first estimate (`estimate_contamination`) runs before any detector is fitted, on two
feature-space scores (a labelled-vs-unlabelled classifier and IsolationForest). The
released ensemble usually separates the labelled anomalies far better than either, so
best-bin estimation on its own out-of-fold scores (the cross-validation's, no extra fit)
finds a purer top bin and a narrower interval. Rule:

- the out-of-fold estimate when `judge` trusts it with an interval at most `MAX_WIDTH`
  (0.1) wide;
- otherwise the first estimate, at most `MAX_SHARE`, trusted or not. The former fallback,
  min(estimate, 0.10), made the flag rate a constant wherever the estimate was distrusted
  (a release flagged about 10 % of the rows of a table with 2 % anomalies).

Chosen leave-tables-out among three estimators (feature scores, release scores, both), four
width bounds and three fallbacks (benchmarks/threshold_configs.py); the out-of-sample flag
rates are in benchmarks/RESULTS.md, "Release out of sample".
"""

from __future__ import annotations

import numpy as np

from components.selection.contamination.best_bin import search_bins, top_bins
from components.selection.contamination.common import MAX_SHARE
from components.selection.contamination.trust import (
    ContaminationEstimate,
    ThresholdContamination,
    judge,
)

CONFIDENCE = 0.9
MAX_WIDTH = 0.1  # narrower than the first estimate's bound: chosen with the rule (see above)
METHOD = "bbe-exact on the release's out-of-fold scores"


def release_estimate(
    scores: np.ndarray, labelled: np.ndarray, confidence: float = CONFIDENCE
) -> ContaminationEstimate:
    """Best-bin estimate of the share of anomalies among the unlabelled rows, from the
    release's out-of-fold `scores` (`labelled`: the held-out labelled anomalies)."""
    bins = top_bins(scores, labelled)
    estimate, low, high = search_bins(bins, int(labelled.sum()), int((~labelled).sum()), confidence)
    return ContaminationEstimate(float(estimate), float(low), float(high), METHOD)


def threshold_share(
    release: ContaminationEstimate, first: ContaminationEstimate
) -> ThresholdContamination:
    """The release's estimate when trusted, else the first estimate capped at MAX_SHARE."""
    trusted, reason = judge(release.estimate, release.low, release.high, max_width=MAX_WIDTH)
    if trusted:
        return ThresholdContamination(
            value=release.estimate,
            fallback=False,
            note=f"estimated contamination {release.estimate:.4f} ({release.method})",
        )
    value = min(first.estimate, MAX_SHARE)
    return ThresholdContamination(
        value=value,
        fallback=True,
        note=(
            f"contamination estimate {release.estimate:.4f} ({release.method}) not trusted: "
            f"{reason}; threshold set at the first estimate {value:.4f} "
            f"({first.method}{'' if first.trusted else ', not trusted either'})"
        ),
    )
