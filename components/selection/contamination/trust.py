"""When to believe a contamination estimate, and what the threshold calibration uses when not.

An estimate is *trusted* unless one of these holds (the first that does is its `reason`):
- saturated: the estimate or the interval's upper end is at least `SATURATED` (0.99); the
  classifier could not tell the labelled anomalies from the unlabelled rows at all;
- at half: the estimate exceeds `MAX_SHARE` (0.5), or the interval reaches it (within
  `CAP_MARGIN`); anomalies are the minority by definition, so a majority is the estimator
  failing, not the data, and an interval that only `MAX_SHARE` bounds was bounded by
  "bbe-exact"'s prior, not by the labels;
- too wide: the interval spans more than `MAX_WIDTH` (0.2) of the unlabelled rows; the data
  does not pin the share down. A judgement on the width-bound sweep in
  benchmarks/RESULTS.md ("Contamination estimators"), between how often the fallback fires
  and how far the value handed to the calibration lands from the truth.

`contamination_for_threshold` turns an estimate into the share the quantile threshold is set
from. Trusted: the estimate itself. Not trusted: min(estimate, `PRIOR_SHARE`) with
`PRIOR_SHARE` = 0.10, a prior for anomaly tables (12 of the 14 shared ADBench tables hold at
most 10 % anomalies), so an implausible estimate can never make a release flag more than a
tenth of the rows, and one below the prior is kept as it is. Every value it returns is at
most `MAX_SHARE`, so no release flags most of the table. Its `note` says which rule applied,
for the run report and the model's tags.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from components.selection.contamination.common import MAX_SHARE

SATURATED = 0.99
CAP_MARGIN = 0.01  # an upper end this close to MAX_SHARE reached the prior's cap
MAX_WIDTH = 0.2
PRIOR_SHARE = 0.10


@dataclasses.dataclass(frozen=True)
class ContaminationEstimate:
    """Share of anomalies among the unlabelled rows, its interval, and whether to believe it:
    `trusted` and `reason` are derived from the numbers by `judge`, so they cannot disagree."""

    estimate: float
    low: float
    high: float
    method: str
    trusted: bool = dataclasses.field(init=False)
    reason: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        trusted, reason = judge(self.estimate, self.low, self.high)
        object.__setattr__(self, "trusted", trusted)
        object.__setattr__(self, "reason", reason)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, logged with the model."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContaminationEstimate:
        """Inverse of `to_dict` (the verdict is recomputed, not read)."""
        return cls(float(data["estimate"]), float(data["low"]), float(data["high"]), data["method"])


def judge(
    estimate: float, low: float, high: float, max_width: float = MAX_WIDTH
) -> tuple[bool, str]:
    """(trusted, reason) by the rules in the module docstring; reason is "" when trusted.
    `max_width` is a parameter only so the benchmark can show the choice of `MAX_WIDTH`."""
    if estimate >= SATURATED or high >= SATURATED:
        return False, (
            f"saturated: estimate {estimate:.3f}, interval up to {high:.3f}; the labelled "
            "anomalies are not told apart from the unlabelled rows"
        )
    if estimate > MAX_SHARE:
        return False, f"estimate {estimate:.3f} says most rows are anomalies (cap {MAX_SHARE})"
    if high >= MAX_SHARE - CAP_MARGIN:
        return False, (
            f"interval {low:.3f}-{high:.3f} reaches {MAX_SHARE}; only the cap on the share "
            "bounds it, not the labels"
        )
    if high - low > max_width:
        return False, (
            f"interval {low:.3f}-{high:.3f} is wider than {max_width}; the labels do not pin "
            "the share down"
        )
    return True, ""


@dataclasses.dataclass(frozen=True)
class ThresholdContamination:
    """The share the threshold is calibrated on, whether the fallback set it, and why."""

    value: float
    fallback: bool
    note: str


def contamination_for_threshold(estimate: ContaminationEstimate) -> ThresholdContamination:
    """The estimate when trusted, else min(estimate, PRIOR_SHARE); pure, see the module
    docstring for the rule."""
    if estimate.trusted:
        return ThresholdContamination(
            value=estimate.estimate,
            fallback=False,
            note=f"estimated contamination {estimate.estimate:.4f} ({estimate.method})",
        )
    value = fallback_share(estimate.estimate)
    action = (
        f"capped at the prior share {PRIOR_SHARE}"
        if value < estimate.estimate
        else "kept, as it is below the prior share"
    )
    return ThresholdContamination(
        value=value,
        fallback=True,
        note=(
            f"contamination estimate {estimate.estimate:.4f} ({estimate.method}) not trusted: "
            f"{estimate.reason}; {action}: threshold set at {value:.4f}"
        ),
    )


def fallback_share(estimate: float) -> float:
    """The share an untrusted estimate is replaced by: min(estimate, PRIOR_SHARE)."""
    return min(estimate, PRIOR_SHARE)
