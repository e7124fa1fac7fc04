"""The scoring report's performance part: one batch's estimate beside the training one, as
JSON next to the scores, a markdown table (the Prefect artifact) and one warning line when
the batch's estimate left the training interval. Import rule: standard library only."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from components.data.files import write_json
from components.monitoring.performance.records import PerformanceEstimate

NAMES = {"precision": "precision", "auc_pr": "AUC-PR", "anomaly_share": "anomaly share"}


@dataclasses.dataclass(frozen=True)
class PerformanceReport:
    """A scored batch's estimated performance against its model's training estimate."""

    model: str
    batch: PerformanceEstimate
    training: PerformanceEstimate

    @property
    def moved(self) -> bool:
        return bool(self.batch.moved)

    def summary(self) -> str:
        """One line: the batch's estimates (90 % intervals)."""
        return f"estimated at the threshold (90 % intervals): {self.batch.summary()}"

    def warning(self) -> str | None:
        """One line naming each estimate outside its training interval, or None."""
        if not self.moved:
            return None
        parts = [
            f"{NAMES[name]} {getattr(self.batch, name).value:.2f} outside training "
            f"{getattr(self.training, name).low:.2f}-{getattr(self.training, name).high:.2f}"
            for name in self.batch.moved
        ]
        return f"estimated performance moved from {self.model}'s training: " + "; ".join(parts)

    def markdown(self) -> str:
        """The batch's and the training's estimates side by side."""
        head = f"**{self.warning() or self.summary()}**"
        rows = ["| estimate | batch (90 % interval) | training (90 % interval) |", "|---|---|---|"]
        for name in ("precision", "recall", "alerts_per_10k", "auc_pr", "anomaly_share"):
            digits = 0 if name == "alerts_per_10k" else 3
            batch, training = getattr(self.batch, name), getattr(self.training, name)
            rows.append(f"| {name} | {batch.text(digits)} | {training.text(digits)} |")
        return f"{head}\n\n" + "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the report written next to the scores; a receipt can carry it)."""
        return {
            "model": self.model,
            "batch": self.batch.to_dict(),
            "training": self.training.to_dict(),
            "moved": list(self.batch.moved),
            "summary": self.warning() or self.summary(),
        }

    def write_json(self, path: Path) -> Path:
        """Write the report through a temporary file, so a reader never sees half of it."""
        return write_json(path, self.to_dict())
