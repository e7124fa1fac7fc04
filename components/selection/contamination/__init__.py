"""Contamination: the share of anomalies hidden among the unlabelled rows, with an interval,
and whether it can be believed.

It sets the default threshold quantile, weights some detectors, and gates promotion (a
jump beyond the champion's interval means the data changed). Positives are the labelled
anomalies, so this is a positive-unlabelled (PU) class-prior, or mixture-proportion,
problem. Assumption (SCAR): the labelled anomalies are a random sample of all anomalies.
If analysts confirm only the most obvious ones, every estimator here under-estimates; a new
anomaly type nobody labelled is invisible to all of them.

API:
- `estimate_contamination(X, y, method=...)` -> `ContaminationEstimate(estimate, low, high,
  method, trusted, reason)`; y = 1 for labelled anomalies, 0 for unlabelled rows, -1 for
  rows an analyst dismissed (confirmed normals: left out of the unlabelled pool).
- `contamination_for_threshold(estimate)` -> `ThresholdContamination(value, fallback, note)`:
  the share to calibrate the threshold on, with the fallback for an untrusted estimate.
The rules for `trusted` and the fallback are in `trust.py`. Once the release is planned,
its threshold's share is estimated again on its out-of-fold scores (`release_share.py`:
`release_estimate`, `threshold_share`).

Methods (`METHODS`; compared in benchmarks/RESULTS.md, "Contamination estimators"):
- "bbe-exact" (default): best-bin estimation with the exact finite-sample law of the
  labelled anomalies' ranks (`best_bin.py`); fast, no bootstrap.
- "bbe": Garg et al.'s BBE with its DKW bound, as the reference code (`best_bin.py`).
- "elkan-noto-e1": Elkan & Noto's e1 with a bootstrap interval, the former default
  (`elkan_noto.py`).

Import rule: numpy, scipy and scikit-learn only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from components.selection.contamination.best_bin import bbe, bbe_exact
from components.selection.contamination.common import (
    MIN_LABELLED,
    ContaminationError,
    PUData,
    prepare,
)
from components.selection.contamination.elkan_noto import elkan_noto_e1
from components.selection.contamination.release_share import release_estimate, threshold_share
from components.selection.contamination.trust import (
    ContaminationEstimate,
    ThresholdContamination,
    contamination_for_threshold,
)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MIN_LABELLED",
    "ContaminationError",
    "ContaminationEstimate",
    "ThresholdContamination",
    "contamination_for_threshold",
    "estimate_contamination",
    "release_estimate",
    "threshold_share",
]

log = logging.getLogger(__name__)

Estimator = Callable[[PUData, float, int, int], tuple[float, float, float]]
METHODS: dict[str, Estimator] = {
    "bbe-exact": bbe_exact,
    "bbe": bbe,
    "elkan-noto-e1": elkan_noto_e1,
}
DEFAULT_METHOD = "bbe-exact"


def estimate_contamination(
    X: np.ndarray,
    y: np.ndarray,
    n_bootstrap: int = 50,
    confidence: float = 0.9,
    random_state: int = 0,
    n_folds: int = 5,
    method: str = DEFAULT_METHOD,
) -> ContaminationEstimate:
    """Share of anomalies among the unlabelled rows (y == 0; confirmed normals, y == -1, are
    left out), with an interval at `confidence` and a verdict on whether to trust it.
    `n_bootstrap` is used by the bootstrap methods only ("elkan-noto-e1")."""
    if method not in METHODS:
        raise ContaminationError(
            f"unknown contamination method {method!r}; choose one of {', '.join(METHODS)}"
        )
    if not 0 < confidence < 1 or n_bootstrap < 1 or n_folds < 2:
        raise ContaminationError(
            "need 0 < confidence < 1, n_bootstrap >= 1 and n_folds >= 2, got "
            f"{confidence}, {n_bootstrap}, {n_folds}"
        )
    data = prepare(X, y, n_folds, random_state)
    estimate, low, high = METHODS[method](data, confidence, n_bootstrap, random_state)
    result = ContaminationEstimate(float(estimate), float(low), float(high), method)
    log.info(
        "contamination of unlabelled rows %.4f (%.0f%% interval %.4f-%.4f, %d labelled, %s)%s",
        result.estimate,
        100 * confidence,
        result.low,
        result.high,
        data.n_labelled,
        method,
        "" if result.trusted else f"; not trusted: {result.reason}",
    )
    return result
