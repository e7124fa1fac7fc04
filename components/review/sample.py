"""The measuring part of the review queue: rows drawn at random with known inclusion
probabilities, so the verdicts on the whole queue estimate precision and recall at the
threshold over every row without a verdict (components/review/estimate.py), although most
of the queue comes from the top of the scores.

The design is stratified. The rows the queue takes by rule (top scores, uncertain rows) are
certainty strata: each is in the sample with probability 1, split by whether the threshold
flags it. The remaining rows without a verdict form the random strata: those the threshold
flags, and those below it cut into `N_BANDS` bands of equal size by score (the band nearest
the threshold holds most of the missed anomalies, the lowest few). The random rows are drawn
without replacement within each stratum, half of them from the flagged stratum (precision's
part) and half spread over the bands (recall's part), capped at each stratum's size; a row
of stratum h is drawn with probability m_h / N_h. Everything the estimate needs is written
next to the queue (`Design`, `<queue>.design.json`): per stratum its size, whether it is
flagged, and the ids it put in the queue.

Import rule: numpy and the standard library only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from components.data.files import write_json

N_BANDS = 3
QUEUE_FLAGGED, QUEUE_NOT_FLAGGED = "queue, flagged", "queue, not flagged"
RANDOM_FLAGGED = "random, flagged"


def band_name(band: int) -> str:
    """The random stratum of the `band`-th score band below the threshold (1 = highest)."""
    return f"random, below threshold, band {band} of {N_BANDS}"


@dataclasses.dataclass(frozen=True)
class DrawnStratum:
    """One stratum as row indices: all its rows without a verdict, and those queued."""

    name: str
    flagged: bool
    population: np.ndarray
    drawn: np.ndarray

    @property
    def random(self) -> bool:
        """Drawn at random (else a certainty stratum: the queue's rows taken by rule)."""
        return self.name not in (QUEUE_FLAGGED, QUEUE_NOT_FLAGGED)

    @property
    def inclusion(self) -> float:
        """The probability that a row of this stratum is in the queue."""
        return len(self.drawn) / max(len(self.population), 1)


def _allocate(m: int, weights: list[float], caps: list[int]) -> list[int]:
    """`m` draws over strata in proportion to `weights`, none above its cap (D'Hondt's
    highest-average rule, so small budgets land where the weights say)."""
    taken = [0] * len(weights)
    for _ in range(min(m, sum(caps))):
        open_ = [i for i in range(len(weights)) if taken[i] < caps[i]]
        best = max(open_, key=lambda i: (weights[i] / (taken[i] + 1), -i))
        taken[best] += 1
    return taken


def draw_strata(
    scores: np.ndarray,
    flagged: np.ndarray,
    reviewable: np.ndarray,
    queued: np.ndarray,
    n_random: int,
    rng: np.random.Generator,
) -> list[DrawnStratum]:
    """The design over the `reviewable` rows: the `queued` ones (taken by rule) as certainty
    strata, `n_random` more drawn from the rest as the module docstring says."""
    certain = [
        DrawnStratum(name, is_flagged, rows, rows)
        for name, is_flagged, rows in (
            (QUEUE_FLAGGED, True, queued[flagged[queued]]),
            (QUEUE_NOT_FLAGGED, False, queued[~flagged[queued]]),
        )
        if len(rows)
    ]
    rest = np.setdiff1d(np.flatnonzero(reviewable), queued)
    below = rest[~flagged[rest]]
    below = below[np.argsort(-scores[below], kind="stable")]
    pools = [(RANDOM_FLAGGED, True, rest[flagged[rest]])] + [
        (band_name(b + 1), False, np.sort(rows))
        for b, rows in enumerate(np.array_split(below, N_BANDS))
    ]
    pools = [p for p in pools if len(p[2])]
    weights = [N_BANDS if is_flagged else 1.0 for _, is_flagged, _ in pools]
    sizes = _allocate(n_random, weights, [len(rows) for *_, rows in pools])
    drawn = [
        DrawnStratum(name, is_flagged, rows, np.sort(rng.choice(rows, size=k, replace=False)))
        for (name, is_flagged, rows), k in zip(pools, sizes, strict=True)
    ]
    return certain + drawn


@dataclasses.dataclass(frozen=True)
class Stratum:
    """One stratum as the design file keeps it: its size, flagged or not, its queued ids."""

    name: str
    flagged: bool
    population: int
    ids: tuple[str, ...]

    @property
    def inclusion(self) -> float:
        return len(self.ids) / max(self.population, 1)


@dataclasses.dataclass(frozen=True)
class Design:
    """How a queue was drawn: what its verdicts are weighed by."""

    model: str
    threshold: float
    records: str
    random_share: float
    seed: int
    strata: tuple[Stratum, ...]

    @classmethod
    def from_drawn(cls, strata: list[DrawnStratum], ids: np.ndarray, **about: Any) -> Design:
        """The design of index strata over rows whose ids are `ids`."""
        kept = tuple(
            Stratum(s.name, s.flagged, len(s.population), tuple(str(i) for i in ids[s.drawn]))
            for s in strata
        )
        return cls(strata=kept, **about)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        strata = tuple(
            Stratum(str(s["name"]), bool(s["flagged"]), int(s["population"]), tuple(s["ids"]))
            for s in data["strata"]
        )
        fields = {k: data[k] for k in ("model", "threshold", "records", "random_share", "seed")}
        return cls(**fields, strata=strata)

    def write_json(self, path: Path) -> Path:
        """Through a temporary file, so a reader never sees half of it."""
        return write_json(path, self.to_dict())


def design_path(queue: Path) -> Path:
    """Where a queue's design is written: next to it."""
    return Path(queue).with_suffix(".design.json")
