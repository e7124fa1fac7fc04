"""Training length: the papers' epochs always run, then more only while the training loss
still falls (`until_converged`), never past the cap; no labels beyond the training ones."""

from __future__ import annotations

import pytest

from components.detectors import make
from components.detectors.training.length import EPOCH_CAP_FACTOR, loss_still_falling
from tests.conftest import synthetic_task


@pytest.mark.parametrize(
    ("history", "falling"),
    [
        ([5.0, 4.0, 3.0, 2.0, 1.0], True),  # steady fall: the last window did a fifth of it
        ([5.0, 2.0, 1.0, 1.0, 1.0], False),  # flat for the last window
        ([5.0, 1.0, 1.02, 1.01, 0.99], False),  # the last window added 0.25 % of the fall
        ([5.0, 1.0, 1.5, 2.0, 3.0], False),  # rising
        ([3.0, 3.0, 3.0, 3.0, 3.0], False),  # never fell
        ([5.0, 4.0], True),  # shorter than the window: too early to tell
    ],
)
def test_loss_still_falling_compares_the_last_window_with_the_whole_fall(history, falling):
    assert loss_still_falling(history, window=2) is falling


def test_fit_goes_past_its_epochs_only_while_the_loss_falls():
    X, y, _ = synthetic_task(n=600, n_anomalies=30, n_labelled=6)
    params = {"epochs": 5, "batches_per_epoch": 5, "batch_size": 64, "device": "cpu"}
    fixed = make("devnet", until_converged=False, **params).fit(X, y).loss_history_
    extended = make("devnet", **params).fit(X, y).loss_history_
    assert len(fixed) == 5
    assert 5 < len(extended) <= 5 * EPOCH_CAP_FACTOR  # this short run is still learning
    assert extended[:5] == pytest.approx(fixed)  # the same run, only longer
    if len(extended) < 5 * EPOCH_CAP_FACTOR:  # stopped by the rule, not by the cap
        assert not loss_still_falling(extended, window=1)
        assert loss_still_falling(extended[:-1], window=1)
