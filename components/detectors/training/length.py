"""Training length: how many epochs a fit runs.

A method's paper fixes its steps (DevNet: 50 epochs x 20 batches), which left some seeds far
from converged, more often as tables grow. With `until_converged` (on for the fixed-step
methods) the paper's epochs always run, then more while the training loss still falls: the
best epoch loss of the last fifth of the paper's epochs must beat the best before by over
5 % of the whole fall since the first epoch, for at most four times the paper's epochs. It
reads the training loss only, never a label beyond the training ones; a method whose epoch
is a pass over the rows already trains longer on larger tables and keeps its fixed count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# `until_converged`: after its `epochs`, a fit goes on while the best epoch loss of the last
# epochs // LOSS_WINDOW_SHARE epochs beats the best before them by more than LOSS_FALL_SHARE
# of the whole fall since the first epoch, for at most EPOCH_CAP_FACTOR x `epochs` in all.
LOSS_WINDOW_SHARE = 5
LOSS_FALL_SHARE = 0.05
EPOCH_CAP_FACTOR = 4


def loss_still_falling(history: Sequence[float], window: int) -> bool:
    """Whether the last `window` epochs still lowered the best loss by more than
    LOSS_FALL_SHARE of its whole fall since the first epoch (no labels involved)."""
    if len(history) <= window:
        return True
    best = min(history)
    return min(history[:-window]) - best > LOSS_FALL_SHARE * (history[0] - best)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A training stage's length: `epochs` of `steps` batches each, and with
    `until_converged` more epochs while the loss still falls, up to EPOCH_CAP_FACTOR x
    `epochs` in all."""

    epochs: int
    steps: int
    until_converged: bool = False

    def goes_on(self, history: Sequence[float]) -> bool:
        """Another epoch after `history`: always up to `epochs`, then up to the cap while
        the loss still falls."""
        cap = EPOCH_CAP_FACTOR * self.epochs if self.until_converged else self.epochs
        window = max(1, self.epochs // LOSS_WINDOW_SHARE)
        return len(history) < self.epochs or (
            len(history) < cap and loss_still_falling(history, window)
        )
