"""Drift at scoring: compare a streamed table with its model's reference while it is scored.

Why streamed: the table is read once, chunk by chunk (components/serving/batch.py); the monitor
sees each chunk's feature matrix as the model converted it and keeps only running counts
(rows per reference bin, sums and sums of squares), so there is no second pass and memory
does not grow with the table. The statistics are taken on an even-stride sample of at most
`SAMPLE_ROWS` rows of each chunk: a chunk of that size or less is profiled entirely, larger
ones every k-th row, which keeps the scoring throughput (benchmarks/RESULTS.md) while the
shift statistic of hundreds of thousands of rows is as good as of millions.

A column drifts when its PSI (components/monitoring/profile.py) passes its limit; the share of
flagged rows drifts when it leaves the interval the threshold was calibrated for
(`ReferenceProfile.flag_rate_interval`). Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from components.monitoring.profile import Limits, ReferenceProfile, bin_counts, psi, psi_limit

SAMPLE_ROWS = 4_096
SERVING_WINDOW_ROWS = 10_000  # `wsad serve-model`: its window of scored rows (serving_drift)
WORST_SHOWN = 3


class DriftError(ValueError):
    """Scored data drifted away from its model's reference and drift was asked to fail."""


@dataclasses.dataclass(frozen=True)
class DriftReport:
    """Per-column shift and the flag rate of one scored table, against the model's reference."""

    model: str
    rows: int
    rows_profiled: int
    # per column: psi, limit, mean, std and the reference's, shift_std (None for a column
    # constant in the reference), drifted
    columns: dict[str, dict[str, Any]]
    flag_rate: dict[str, Any]  # value, interval, training, inside

    @property
    def drifted_columns(self) -> list[str]:
        """Columns past their PSI limit, the most shifted first."""
        over = [c for c, s in self.columns.items() if s["drifted"]]
        return sorted(over, key=lambda c: -self.columns[c]["psi"])

    @property
    def drifted(self) -> bool:
        """Any column past its limit, or the flag rate outside its interval."""
        return bool(self.drifted_columns) or not self.flag_rate["inside"]

    def summary(self) -> str:
        """One line: which columns and whether the flag rate moved."""
        parts = []
        worst = self.drifted_columns
        if worst:
            shown = ", ".join(
                f"{c} (PSI {self.columns[c]['psi']:.3g} > {self.columns[c]['limit']:.3g})"
                for c in worst[:WORST_SHOWN]
            )
            more = f" and {len(worst) - WORST_SHOWN} more" if len(worst) > WORST_SHOWN else ""
            parts.append(f"{len(worst)} column(s) drifted: {shown}{more}")
        if not self.flag_rate["inside"]:
            low, high = self.flag_rate["interval"]
            parts.append(f"flag rate {self.flag_rate['value']:.2%} outside {low:.2%}..{high:.2%}")
        if not parts:
            return f"no drift against {self.model}'s reference ({self.rows} rows)"
        return f"drift against {self.model}'s reference: " + "; ".join(parts)

    def markdown(self) -> str:
        """A table per column, most shifted first (the Prefect artifact)."""
        rows = [
            "| column | PSI | limit | mean | reference mean | shift (std) | drifted |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in sorted(self.columns.items(), key=lambda kv: -kv[1]["psi"]):
            shift = "n/a" if s["shift_std"] is None else f"{s['shift_std']:+.3g}"
            rows.append(
                f"| {name} | {s['psi']:.3g} | {s['limit']:.3g} | {s['mean']:.4g} | "
                f"{s['reference_mean']:.4g} | {shift} | {'**yes**' if s['drifted'] else 'no'} |"
            )
        low, high = self.flag_rate["interval"]
        return (
            f"**{self.summary()}**\n\nFlag rate {self.flag_rate['value']:.2%} (calibrated "
            f"interval {low:.2%}..{high:.2%}, training {self.flag_rate['training']:.2%}); "
            f"{self.rows_profiled} of {self.rows} rows profiled.\n\n" + "\n".join(rows)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the report written next to the scores)."""
        return {**dataclasses.asdict(self), "drifted": self.drifted, "summary": self.summary()}

    def write_json(self, path: Path) -> Path:
        """Write the report through a temporary file, so a reader never sees half of it."""
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        os.replace(tmp, path)
        return path


class DriftMonitor:
    """Running per-column statistics of the rows scored so far (`observe` per chunk)."""

    def __init__(
        self, profile: ReferenceProfile, features: tuple[str, ...], limits: Limits | None = None
    ) -> None:
        self.profile = profile
        self.features = features
        self.limits = limits or Limits()
        self._edges = profile.edges(features).astype(np.float32)
        self._centre = np.array([profile.features[c].mean for c in features], dtype=np.float32)
        self._counts = np.zeros((len(features), self._edges.shape[1] + 1), dtype=np.int64)
        self._sum = np.zeros(len(features))
        self._squares = np.zeros(len(features))
        self._n = 0

    def observe(self, X: np.ndarray) -> None:
        """Add a chunk's raw features (n, d), in the model's schema order."""
        sample = np.ascontiguousarray(X[:: max(1, math.ceil(len(X) / SAMPLE_ROWS))])
        self._counts += bin_counts(sample, self._edges)
        centred = sample - self._centre  # near the reference mean: no cancellation below
        self._sum += centred.sum(axis=0, dtype=np.float64)
        self._squares += np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
        self._n += len(sample)

    def report(self, model: str, rows: int, flagged: int) -> DriftReport:
        """The shift of every column and the flag rate, over all chunks observed."""
        n = max(self._n, 1)
        shifts = psi(self.profile.shares(self.features), self._counts)
        means = self._sum / n
        columns = {}
        for j, name in enumerate(self.features):
            ref = self.profile.features[name]
            limit = psi_limit(ref.n_bins, self._n, self.profile.n_rows, self.limits)
            mean = float(ref.mean + means[j])
            columns[name] = {
                "psi": float(shifts[j]),
                "limit": limit,
                "mean": mean,
                "reference_mean": ref.mean,
                "std": float(math.sqrt(max(self._squares[j] / n - means[j] ** 2, 0.0))),
                "reference_std": ref.std,
                "shift_std": (mean - ref.mean) / ref.std if ref.std > 0 else None,
                "drifted": bool(shifts[j] > limit),
            }
        rate = flagged / max(rows, 1)
        low, high = self.profile.flag_rate_interval(rows)
        return DriftReport(
            model=model,
            rows=rows,
            rows_profiled=self._n,
            columns=columns,
            flag_rate={
                "value": rate,
                "interval": [low, high],
                "training": self.profile.flag_rate,
                "inside": low <= rate <= high,
            },
        )
