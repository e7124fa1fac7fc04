"""Best-bin estimation (BBE; Garg, Wu, Smola, Balakrishnan, Lipton, NeurIPS 2021): the paper's
estimator ("bbe") and our finite-sample version ("bbe-exact", the default).

The principle: for any score h and threshold t, the unlabelled rows mix anomalies and normal
rows, U(h >= t) = a A(h >= t) + (1 - a) N(h >= t) >= a A(h >= t), so the share a of
anomalies among them is at most U(h >= t) / A(h >= t), with equality in a "top bin" that no
normal row reaches. Under SCAR the labelled anomalies are a random sample of all anomalies,
so their held-out scores estimate A. BBE takes the bin whose upper confidence bound is
lowest.

"bbe" follows the reference code (acmi-lab/PU_learning, `estimator.py`: `BBE_estimator`,
`DKW_bound`): thresholds at the unlabelled scores, a DKW bound
(sqrt(log(4/d)/2 n_P) + sqrt(log(4/d)/2 n_U)) (1 + gamma) / P(h >= t) with d = 1 - confidence
and gamma = 0.01, the estimate at the bin with the lowest estimate + bound and the interval
estimate +- bound there. Differences: out-of-fold outputs of `common.held_out_probability`
instead of a held-out half of P and U (5-20 labelled anomalies cannot be halved), a
regularised logistic classifier instead of a network, counts inclusive of the threshold. With
a handful of positives the DKW term alone is about 0.6 / P(h >= t), so it always picks the
lowest bin and its bound is close to vacuous.

"bbe-exact" keeps the principle and replaces DKW by the exact law. Under SCAR the order in
which the n labelled and the H hidden anomalies fall when sorted by a held-out score is a
uniformly random interleaving, whatever the score's distribution; so the number of hidden
anomalies at or above the j-th highest labelled score is negative hypergeometric,
NHG(H, n, j). If that bin holds no normal row, it equals the bin's unlabelled count u_j,
and a flat prior on H in 0..|U| / 2 (`MAX_SHARE`: anomalies are the minority, so a bin with
more unlabelled rows than that is skipped as impure) gives a posterior for H, hence for
a = H / |U|. Normal rows in a bin only raise u_j, so every bin's posterior sits at or above
the truth. We take the bin whose upper posterior quantile is lowest (BBE's rule with the
exact law) and report the posterior median there as the estimate, that quantile as the
interval's upper end, and the lowest lower quantile over all bins searched as its lower end:
the interval holds if any searched bin is free of normal rows, not only the chosen one. The
upper quantile is 1 - (1 - confidence) / 2 / `SEARCH_MULTIPLICITY`, not 1 - (1 - confidence)
/ 2: the minimum over about 2n bins of two scores undercuts any one bin's quantile (simulated
in benchmarks/contamination.py, results in benchmarks/RESULTS.md). No bootstrap; the interval is
the posterior's. Two scores are searched:
- the held-out logistic P-vs-U probability (above);
- IsolationForest's score, fitted on every row without the labels, so labelled and hidden
  anomalies are exchangeable without folds. It finds a clean top bin where anomalies are
  isolated but not linearly separable from the few labelled ones; on the features as given,
  since IsolationForest's splits do not change under the per-feature min-max scaling the
  flow applies.
Where no score has a clean top bin (anomalies that look like normal rows), the estimate is
too high and the interval wide: `trust.judge` flags it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln
from sklearn.ensemble import IsolationForest

from components.selection.contamination.common import MAX_SHARE, PUData, held_out_probability

SEARCH_MULTIPLICITY = 5  # Bonferroni-style factor for the bin search, simulated at 5-20 labels
DKW_GAMMA = 0.01  # the reference code's gamma
ISOLATION_TREES = 100
MAX_BINS = 64  # thresholds searched per score: every labelled score while there are <= 64


def _log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def _posterior_cdf(u: int, n: int, j: int, h_max: int) -> np.ndarray:
    """CDF over H = 0..h_max of the hidden-anomaly count, given u <= h_max hidden anomalies at
    or above the j-th highest of n labelled ones (flat prior on 0..h_max). The NHG pmf is
    C(u+j-1, u) C(H-u+n-j, n-j) / C(H+n, n); the first factor does not depend on H."""
    H = np.arange(u, h_max + 1, dtype=np.float64)
    log_like = _log_choose(H - u + n - j, np.full_like(H, n - j)) - _log_choose(
        H + n, np.full_like(H, n)
    )
    like = np.exp(log_like - log_like.max())
    return np.concatenate([np.zeros(u), np.cumsum(like) / like.sum()])


def _quantile(cdf: np.ndarray, level: float) -> int:
    return min(int(np.searchsorted(cdf, level)), len(cdf) - 1)


def _counts_at(thresholds: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """How many of `scores` are >= each threshold."""
    return len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")


def _isolation_score(X: np.ndarray, random_state: int) -> np.ndarray:
    forest = IsolationForest(n_estimators=ISOLATION_TREES, random_state=random_state).fit(X)
    return -forest.score_samples(X)


def top_bins(score: np.ndarray, labelled: np.ndarray) -> list[tuple[int, int]]:
    """(j, u) per distinct labelled score t, highest first: j labelled and u unlabelled rows
    score at or above t. At most `MAX_BINS` thresholds, evenly spaced among the labelled
    scores, so many labels cost no more than a few dozen posteriors."""
    thresholds = np.unique(score[labelled])[::-1]
    if len(thresholds) > MAX_BINS:
        keep = np.unique(np.linspace(0, len(thresholds) - 1, MAX_BINS).round().astype(np.int64))
        thresholds = thresholds[keep]
    js = _counts_at(thresholds, score[labelled])
    us = _counts_at(thresholds, score[~labelled])
    return [(int(j), int(u)) for j, u in zip(js, us, strict=True)]


def search_bins(
    bins: list[tuple[int, int]],
    n: int,
    m: int,
    confidence: float,
    multiplicity: float = SEARCH_MULTIPLICITY,
) -> tuple[float, float, float]:
    """(estimate, low, high) of H / m from the (j, u) bins of every score searched, n
    labelled and m unlabelled rows: the selection rule of the module docstring. The prior
    on H is flat up to MAX_SHARE * m; a bin with more unlabelled rows than that cannot be
    pure and is skipped, and if every bin is, nothing is known below MAX_SHARE."""
    h_max = int(MAX_SHARE * m)
    upper_level = 1 - (1 - confidence) / 2 / multiplicity
    best: tuple[int, int] | None = None  # (upper quantile, median) of the chosen bin
    lows = []
    for j, u in bins:
        if u > h_max:
            continue
        cdf = _posterior_cdf(u, n, j, h_max)
        lows.append(_quantile(cdf, (1 - confidence) / 2))
        upper = _quantile(cdf, upper_level)
        if best is None or upper < best[0]:
            best = (upper, _quantile(cdf, 0.5))
    if best is None:
        return MAX_SHARE, 0.0, MAX_SHARE
    return best[1] / m, min(lows) / m, best[0] / m


def bbe_exact(
    data: PUData, confidence: float, n_bootstrap: int, random_state: int
) -> tuple[float, float, float]:
    """(estimate, low, high) of the share of anomalies among the unlabelled rows; the
    interval is exact, so `n_bootstrap` is not used."""
    del n_bootstrap
    labelled = data.y == 1
    scores = (held_out_probability(data), _isolation_score(data.X, random_state))
    bins = [b for score in scores for b in top_bins(score, labelled)]
    return search_bins(bins, data.n_labelled, data.n_unlabelled, confidence)


def bbe(
    data: PUData, confidence: float, n_bootstrap: int, random_state: int
) -> tuple[float, float, float]:
    """The paper's BBE with its DKW interval; `n_bootstrap` and `random_state` are not used
    (the classifier's folds come with `data`)."""
    del n_bootstrap, random_state
    g = held_out_probability(data)
    g_pos, g_unl = g[data.y == 1], g[data.y == 0]
    n, m = len(g_pos), len(g_unl)
    thresholds = np.unique(g_unl)[::-1]
    p_share = _counts_at(thresholds, g_pos) / n
    u_count = _counts_at(thresholds, g_unl)
    usable = (p_share * n >= 2) & (u_count >= 2)  # the reference's `j > 1 and i > 1`
    if not usable.any():
        return 0.0, 0.0, 1.0
    delta = 1 - confidence
    estimate = (u_count[usable] / m) / p_share[usable]
    bound = (
        (np.sqrt(np.log(4 / delta) / (2 * n)) + np.sqrt(np.log(4 / delta) / (2 * m)))
        * (1 + DKW_GAMMA)
        / p_share[usable]
    )
    best = int(np.argmin(estimate + bound))
    return (
        float(min(estimate[best], 1.0)),
        float(np.clip(estimate[best] - bound[best], 0.0, 1.0)),
        float(min(estimate[best] + bound[best], 1.0)),
    )
