"""The release's estimated performance (components/monitoring/performance) from what the
training run has: the candidate's cross-validation (components/selection), the share of the
rows without a verdict its threshold flags, and the contamination estimated on the release's
own out-of-fold scores (`release_estimate`, the estimate the threshold's share is read
from when trusted; compared with the first estimate in benchmarks/RESULTS.md, "Estimated
performance"). Here because it reads both domains, which
do not import each other."""

from __future__ import annotations

import logging

import numpy as np

from components.monitoring.performance import (
    Estimated,
    PerformanceBasis,
    PerformanceError,
    training_basis,
)
from components.selection.candidate import Candidate
from components.selection.contamination import ContaminationError, release_estimate
from components.selection.ensemble_plan import fold_ids

log = logging.getLogger(__name__)


def estimate_performance(
    candidate: Candidate, flags: np.ndarray, y: np.ndarray
) -> PerformanceBasis | None:
    """The release's estimate from its cross-validation and its threshold's `flags` on the
    training rows (`y`: 1 labelled anomaly, 0 no verdict, -1 dismissed); None (logged) when
    it cannot be made."""
    sel = candidate.selection
    try:
        contamination = release_estimate(sel.held_out_scores, sel.held_out_y == 1)
        return training_basis(
            sel.held_out_scores,
            sel.held_out_y,
            fold_ids(sel),
            flag_rate=float(flags[y == 0].mean()),
            n_unlabelled=int((y == 0).sum()),
            n_labelled=int((y == 1).sum()),
            contamination=Estimated(contamination.estimate, contamination.low, contamination.high),
            contamination_trusted=contamination.trusted,
        )
    except (PerformanceError, ContaminationError) as err:
        log.warning("performance not estimated: %s", err)
        return None
