"""The performance estimate's records: a value with its interval, the estimate for the
training data or a batch, and what a model keeps from training (in its reference profile) to
estimate later batches. Import rule: numpy only (they ship inside every model)."""

from __future__ import annotations

import dataclasses
from typing import Any

QUANTITIES = ("precision", "recall", "alerts_per_10k", "auc_pr", "anomaly_share")


@dataclasses.dataclass(frozen=True)
class Estimated:
    """A value and its 90 % interval."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low - 1e-9 <= x <= self.high + 1e-9

    def text(self, digits: int = 2) -> str:
        """e.g. "0.82 (0.61-0.97)"."""
        return f"{self.value:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimated:
        return cls(float(data["value"]), float(data["low"]), float(data["high"]))


@dataclasses.dataclass(frozen=True)
class PerformanceEstimate:
    """The estimate for the training data or for one scored batch (`rows` rows)."""

    precision: Estimated
    recall: Estimated
    alerts_per_10k: Estimated
    auc_pr: Estimated
    anomaly_share: Estimated  # pi at training, pi_b for a batch
    rows: int
    contamination_trusted: bool
    moved: tuple[str, ...] = ()  # a batch's WATCHED estimates outside the training interval

    def summary(self) -> str:
        """One line with every estimate and its interval."""
        trust = "" if self.contamination_trusted else "; contamination estimate not trusted"
        return (
            f"precision {self.precision.text()}, recall {self.recall.text()}, "
            f"{self.alerts_per_10k.value:.0f} alerts per 10,000 rows "
            f"({self.alerts_per_10k.low:.0f}-{self.alerts_per_10k.high:.0f}), "
            f"AUC-PR {self.auc_pr.text()}{trust}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        out: dict[str, Any] = {name: getattr(self, name).to_dict() for name in QUANTITIES}
        return {
            **out,
            "rows": self.rows,
            "contamination_trusted": self.contamination_trusted,
            "moved": list(self.moved),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceEstimate:
        """Inverse of `to_dict`."""
        values = {name: Estimated.from_dict(data[name]) for name in QUANTITIES}
        return cls(
            **values,
            rows=int(data["rows"]),
            contamination_trusted=bool(data["contamination_trusted"]),
            moved=tuple(data.get("moved", ())),
        )


@dataclasses.dataclass(frozen=True)
class PerformanceBasis:
    """What a model keeps from training to estimate its performance on later batches."""

    contamination: Estimated  # pi and its interval
    contamination_trusted: bool
    flag_rate: float  # q: share of training rows without a verdict above the threshold
    n_unlabelled: int
    n_labelled: int
    anomaly_ranks: tuple[float, ...]  # u_i per held-out labelled anomaly
    training: PerformanceEstimate | None  # None only while `training_basis` builds it

    def to_dict(self) -> dict[str, Any]:
        return {
            "contamination": self.contamination.to_dict(),
            "contamination_trusted": self.contamination_trusted,
            "flag_rate": self.flag_rate,
            "n_unlabelled": self.n_unlabelled,
            "n_labelled": self.n_labelled,
            "anomaly_ranks": list(self.anomaly_ranks),
            "training": None if self.training is None else self.training.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceBasis:
        return cls(
            contamination=Estimated.from_dict(data["contamination"]),
            contamination_trusted=bool(data["contamination_trusted"]),
            flag_rate=float(data["flag_rate"]),
            n_unlabelled=int(data["n_unlabelled"]),
            n_labelled=int(data["n_labelled"]),
            anomaly_ranks=tuple(float(u) for u in data["anomaly_ranks"]),
            training=None
            if data["training"] is None
            else PerformanceEstimate.from_dict(data["training"]),
        )
