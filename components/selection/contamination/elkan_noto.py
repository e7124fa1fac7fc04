"""Elkan & Noto (KDD'08) estimator e1, with a basic bootstrap interval (method
"elkan-noto-e1"; the default before "bbe-exact").

1. g(x) ~ P(labelled | x): the held-out logistic classifier of `common.held_out_probability`.
2. c = P(labelled | anomaly) ~ mean of g over the labelled anomalies.
3. Anomalies overall ~ |P| / c, so among the unlabelled rows pi_U = |P| (1 - c) / (c |U|),
   clipped to [0, 1).
The interval is a basic (reverse-percentile) bootstrap: labelled and unlabelled rows are
resampled within each fold, so every replicate keeps the fold design, steps 1-3 refitted,
and the interval is [2 pi - q_high, 2 pi - q_low] of the replicates' quantiles. Not the
plain percentile interval: a replicate holds only about 63% distinct labelled anomalies,
so its classifier is weaker and its pi higher; the percentile interval sat above the truth
on synthetic data, the basic one covered it.

Failure modes (SCAR assumed: the labelled anomalies are a random sample of all anomalies):
- Selection bias: if analysts confirm only the most obvious anomalies, c is over-estimated
  and pi_U under-estimated; a new anomaly type nobody labelled is invisible to it.
- Overlap: where anomalies and normal rows overlap (pima), g on the labelled anomalies is
  diluted, c is under-estimated and pi_U over-estimated, up to saturation at 1.
- Classifier shape: a linear g cannot follow anomalies that surround the normal data or
  sit in several clusters; a flexible g (boosted trees) memorises the few positives.
- Few labels: the regularised classifier is weak on a handful of positives, so g on them
  stays low and pi_U is over-estimated. benchmarks/RESULTS.md ("Contamination estimators")
  measures all of this on the shared tables.
"""

from __future__ import annotations

import numpy as np

from components.selection.contamination.common import PUData, held_out_probability

_BELOW_ONE = float(np.nextafter(1.0, 0.0))


def _prior(data: PUData, rows: np.ndarray) -> float:
    g = held_out_probability(data, rows)
    labelled = data.y[rows] == 1
    c = float(g[labelled].mean())
    n_pos, n_unl = int(labelled.sum()), int((~labelled).sum())
    return float(np.clip(n_pos * (1 - c) / (c * n_unl), 0.0, _BELOW_ONE))


def elkan_noto_e1(
    data: PUData, confidence: float, n_bootstrap: int, random_state: int
) -> tuple[float, float, float]:
    """(estimate, low, high) of the share of anomalies among the unlabelled rows."""
    estimate = _prior(data, np.arange(len(data.y)))
    rng = np.random.default_rng(random_state)
    strata = [
        np.flatnonzero((data.folds == f) & (data.y == c))
        for f in np.unique(data.folds)
        for c in (0, 1)
    ]
    draws = [
        _prior(data, np.concatenate([rng.choice(s, size=len(s)) for s in strata]))
        for _ in range(n_bootstrap)
    ]
    q_low, q_high = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    low = float(np.clip(2 * estimate - q_high, 0.0, estimate))
    high = float(np.clip(2 * estimate - q_low, estimate, _BELOW_ONE))
    return estimate, low, high
