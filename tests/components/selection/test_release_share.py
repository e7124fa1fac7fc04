"""The threshold's share from the release's out-of-fold scores, and its fallback."""

from __future__ import annotations

import numpy as np

from components.selection.contamination import (
    ContaminationEstimate,
    release_estimate,
    threshold_share,
)
from components.selection.contamination.common import MAX_SHARE
from components.selection.contamination.release_share import MAX_WIDTH


def out_of_fold(share: float, separated: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores of 20 labelled anomalies and 4,000 unlabelled rows, `share` of them anomalies;
    anomalies score high when `separated`, like everyone else otherwise."""
    rng = np.random.default_rng(seed)
    hidden = int(share * 4000)
    shift = 4.0 if separated else 0.0
    scores = np.concatenate(
        [rng.normal(shift, 1, 20), rng.normal(shift, 1, hidden), rng.normal(0, 1, 4000 - hidden)]
    )
    labelled = np.r_[np.ones(20, bool), np.zeros(4000, bool)]
    return scores, labelled


def test_a_release_that_separates_its_labels_pins_the_share_down():
    found = release_estimate(*out_of_fold(0.05, separated=True))
    assert found.low <= 0.05 <= found.high
    assert found.high - found.low <= MAX_WIDTH
    assert abs(found.estimate - 0.05) < 0.015
    first = ContaminationEstimate(0.3, 0.0, 0.5, "bbe-exact")  # distrusted, far off
    share = threshold_share(found, first)
    assert (share.value, share.fallback) == (found.estimate, False)


def test_an_untrusted_release_estimate_falls_back_to_the_first_estimate_capped():
    found = release_estimate(*out_of_fold(0.05, separated=False))
    for first, expected in (
        (ContaminationEstimate(0.04, 0.02, 0.07, "bbe-exact"), 0.04),
        (ContaminationEstimate(0.7, 0.6, 0.9, "bbe-exact"), MAX_SHARE),
    ):
        share = threshold_share(found, first)
        assert (share.value, share.fallback) == (expected, True)
        assert "not trusted" in share.note
