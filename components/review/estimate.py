"""Precision and recall at the threshold, measured from a review queue's verdicts: the
Horvitz-Thompson estimates of the stratified design the queue was drawn with
(components/review/sample.py), over every row that had no verdict when it was queued.

In stratum h (N_h rows, m_h of them reviewed, k_h confirmed anomalies) the anomaly count is
estimated by N_h k_h / m_h, each reviewed row weighted by the inverse of its inclusion
probability m_h / N_h. With F the flagged strata and N_F their rows (known: the threshold
flags them),

    precision = sum_{h in F} N_h k_h / m_h / N_F,
    recall = sum_{h in F} N_h k_h / m_h / sum_h N_h k_h / m_h.

Precision is unbiased (N_F is fixed); recall is a ratio of two unbiased totals, so
consistent and nearly unbiased. Queued rows nobody reviewed yet are treated as missing at
random within their stratum (m_h counts the reviewed ones); a stratum with no verdict yet
leaves what needs it unestimated. Intervals (90 %) come from draws: per stratum a share of
anomalies and the unreviewed rows' anomalies from a binomial at that share, so a stratum
reviewed in full adds no uncertainty and one with a handful of verdicts adds a lot. The
shares are drawn as Clopper and Pearson bound a proportion: from Beta(k_h, m_h - k_h + 1)
for the low end and Beta(k_h + 1, m_h - k_h) for the high end, and each end of an interval
takes the draws that push it out (recall's low end: few anomalies flagged, many missed).
With a few random rows per stratum, one anomaly found or not moves recall across the truth;
Jeffreys' Beta(k_h + 1/2, m_h - k_h + 1/2) for both ends covered recall less often than
promised. Coverage and width: benchmarks/RESULTS.md, "Review queue that measures".

Import rule: numpy, the standard library and the label file reader (pandas).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from components.data.label_file import ANOMALY, read_labels
from components.monitoring.performance.records import Estimated
from components.review.queue import ReviewError
from components.review.sample import Design, design_path

N_DRAWS = 4000
LEVEL = 0.9


@dataclasses.dataclass(frozen=True)
class StratumCounts:
    """One stratum's verdicts: its rows, how many were reviewed, how many were anomalies."""

    name: str
    flagged: bool
    population: int
    queued: int
    reviewed: int
    anomalies: int


@dataclasses.dataclass(frozen=True)
class ReviewEstimate:
    """Precision and recall at the threshold from a queue's verdicts (None: not estimable
    yet, see `missing`)."""

    precision: Estimated | None
    recall: Estimated | None
    strata: tuple[StratumCounts, ...]
    missing: tuple[str, ...]  # strata without a verdict yet

    @property
    def reviewed(self) -> int:
        return sum(s.reviewed for s in self.strata)

    @property
    def queued(self) -> int:
        return sum(s.queued for s in self.strata)

    def summary(self) -> str:
        """One line: the estimates and how many verdicts they rest on."""
        shown = [
            f"{name} {est.text()}" if est else f"{name} not estimable yet"
            for name, est in (("precision", self.precision), ("recall", self.recall))
        ]
        rows = sum(s.population for s in self.strata)
        return (
            f"at the threshold, over {rows} rows without a verdict when queued: "
            f"{', '.join(shown)} (90 % intervals; {self.reviewed} of {self.queued} queued "
            "rows reviewed)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": None if self.precision is None else self.precision.to_dict(),
            "recall": None if self.recall is None else self.recall.to_dict(),
            "strata": [dataclasses.asdict(s) for s in self.strata],
            "missing": list(self.missing),
            "summary": self.summary(),
        }


def stratum_counts(design: Design, verdicts: dict[str, bool]) -> list[StratumCounts]:
    """Each stratum's counts from `verdicts` (id -> True for a confirmed anomaly, False for a
    dismissal); queued ids without a verdict are not counted as reviewed."""
    counts = []
    for s in design.strata:
        seen = [verdicts[i] for i in s.ids if i in verdicts]
        counts.append(
            StratumCounts(s.name, s.flagged, s.population, len(s.ids), len(seen), sum(seen))
        )
    return counts


def horvitz_thompson(counts: list[StratumCounts]) -> tuple[float, float]:
    """(anomalies among flagged rows, anomalies among all rows), each N_h k_h / m_h summed;
    NaN when a stratum with rows has no verdict."""
    flagged = total = 0.0
    for c in counts:
        if c.population == 0:
            continue
        part = c.population * c.anomalies / c.reviewed if c.reviewed else float("nan")
        total += part
        flagged += part if c.flagged else 0.0
    return flagged, total


def _draws(counts: list[StratumCounts], rng: np.random.Generator, high: bool) -> np.ndarray:
    """(strata, draws) anomaly counts per stratum: the reviewed anomalies plus the unreviewed
    rows' at a draw of the stratum's share from its high (or low) Clopper-Pearson Beta."""
    out = []
    for c in counts:
        a, b = c.anomalies + high, c.reviewed - c.anomalies + (not high)
        share = rng.beta(a, b, N_DRAWS) if a > 0 and b > 0 else np.full(N_DRAWS, float(a > 0))
        out.append(c.anomalies + rng.binomial(c.population - c.reviewed, share))
    return np.array(out, dtype=np.float64)


def _summary(value: float, low_draws: np.ndarray, high_draws: np.ndarray) -> Estimated | None:
    """The estimate and its interval: the low draws' 5 % and the high draws' 95 % point."""
    low_draws, high_draws = low_draws[np.isfinite(low_draws)], high_draws[np.isfinite(high_draws)]
    if not np.isfinite(value) or not len(low_draws) or not len(high_draws):
        return None
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(low_draws, tail), np.quantile(high_draws, 1 - tail)
    return Estimated(float(value), float(min(low, value)), float(max(high, value)))


def estimate_from_verdicts(design: Design, verdicts: dict[str, bool]) -> ReviewEstimate:
    """Horvitz-Thompson precision and recall at the threshold, with intervals, from the
    verdicts on a queue drawn by `design`."""
    counts = stratum_counts(design, verdicts)
    missing = tuple(c.name for c in counts if c.population and not c.reviewed)
    flagged_rows = sum(c.population for c in counts if c.flagged)
    flagged, total = horvitz_thompson(counts)
    rng = np.random.default_rng(0)
    is_flagged = np.array([c.flagged for c in counts], dtype=bool)
    # anomalies among flagged / unflagged rows, at the low and the high draws
    low, high = _draws(counts, rng, high=False), _draws(counts, rng, high=True)
    hit_low, hit_high = low[is_flagged].sum(axis=0), high[is_flagged].sum(axis=0)
    miss_low, miss_high = low[~is_flagged].sum(axis=0), high[~is_flagged].sum(axis=0)
    precision_missing = any(c.flagged for c in counts if c.name in missing)
    precision = None
    if flagged_rows and not precision_missing:
        precision = _summary(
            flagged / flagged_rows, hit_low / flagged_rows, hit_high / flagged_rows
        )
    recall = None
    if not missing and total > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            recall = _summary(
                flagged / total, hit_low / (hit_low + miss_high), hit_high / (hit_high + miss_low)
            )
    return ReviewEstimate(precision, recall, tuple(counts), missing)


def read_design(queue: Path) -> Design:
    """The design written next to the queue at `queue`; a ReviewError naming the file when
    it is missing or unreadable."""
    path = design_path(queue)
    try:
        return Design.from_dict(json.loads(path.read_text()))
    except FileNotFoundError as err:
        raise ReviewError(
            f"{path}: no design next to the queue {queue}; build the queue with `wsad review "
            f"--records ... --out {queue}` first"
        ) from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReviewError(
            f"{path}: cannot read the queue's design ({err}); rebuild the queue"
        ) from err


def measure_queue(queue_file: Path, labels: Path) -> tuple[Design, ReviewEstimate]:
    """The verdicts in `labels` on the queue at `queue_file`, weighed by its design: precision
    and recall at the threshold with intervals."""
    design = read_design(queue_file)
    verdicts = read_labels(labels) if Path(labels).exists() else None
    judged = {}
    if verdicts is not None:
        judged = dict(zip(verdicts["id"], verdicts["verdict"] == ANOMALY, strict=True))
    return design, estimate_from_verdicts(design, judged)
