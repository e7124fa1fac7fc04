"""The reference profile of a model's training data, and how far new data may move from it.

Why: a retrain is checked against the champion's reference (`validation.
validate_against_reference`) and every scored batch is compared with its model's reference
while it streams (`drift.DriftMonitor`); both read the same numbers, stored with the model
version (`profile.json` in the pyfunc bundle and as a run artifact).

Per feature: quantiles, mean, std, distinct count, and the bins of the shift statistic.
`wsad review` reads the same profile to show a flagged row's value against the training
median and its training percentile, and integrates gradient attributions from the median row. The
shift statistic is the population stability index over the reference's deciles,

    PSI = sum_b (p_b - q_b) ln(p_b / q_b),   q = reference shares, p = new shares,

with shares floored at `PSI_FLOOR` so an empty bin stays finite. Bins are (e_{b-1}, e_b] of
the distinct deciles, padded with +inf edges (empty in both, so they add nothing), which
keeps every column the same width for one vectorised count. Same data gives 0; by
convention above 0.25 is a major shift. On few rows PSI is noisy: under no shift, n_eff PSI
is about chi-square with (bins - 1) degrees of freedom, 1/n_eff = 1/n + 1/n_ref, so the
limit is the larger of `Limits.psi` and that distribution's 99.9 % point over n_eff.

Import rule: numpy only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)  # checked; every percentile is stored
PERCENTILES = np.linspace(0.0, 1.0, 101)
N_BINS = 10
PSI_FLOOR = 1e-4
Z_999 = 3.09  # one-sided 99.9 % normal quantile


@dataclasses.dataclass(frozen=True)
class Limits:
    """How far data may move from its reference before a check fails (the one place for
    these defaults). Bands are in the reference's own units, so they scale with each column.

    - psi: shift statistic per column (see the module docstring for small samples)
    - mean_shift: |mean - reference mean| in reference standard deviations
    - std_ratio: the standard deviation within [reference / r, reference * r]; wide, because
      a few extreme rows set it (dropping one outlier of a few hundred rows halves some)
    - quantile_rank: each quantile q_p within the reference's quantiles at p -+ this rank
      distance (or 4 binomial standard errors at these row counts, when wider), widened by
      `quantile_slack` x (reference q99 - q01): in rank terms, so a heavy tail's noisy q99
      gets a wide band in value terms and the dense middle a narrow one
    - distinct_floor: distinct values at least this share of the reference's, scaled down
      to the row count when there are fewer rows (a rounded or constant column fails)
    - rows: the row count within these multiples of the reference's
    """

    psi: float = 0.25
    mean_shift: float = 0.5
    std_ratio: float = 2.5
    quantile_rank: float = 0.05
    quantile_slack: float = 0.05
    distinct_floor: float = 0.5
    rows: tuple[float, float] = (0.75, 1.5)


@dataclasses.dataclass(frozen=True)
class Bands:
    """Where one feature of new data must fall (`FeatureProfile.bands`)."""

    quantiles: tuple[tuple[float, float, float], ...]  # (level, low, high) per QUANTILES
    mean: tuple[float, float]
    std: tuple[float, float]
    distinct_min: int
    psi: float


@dataclasses.dataclass(frozen=True)
class FeatureProfile:
    """One feature at training time."""

    percentiles: tuple[float, ...]  # at PERCENTILES (0 %, 1 %, ..., 100 %)
    mean: float
    std: float
    distinct: int
    edges: tuple[float, ...]  # N_BINS - 1 bin edges, distinct deciles padded with +inf
    shares: tuple[float, ...]  # reference share of rows per bin (N_BINS)

    @property
    def n_bins(self) -> int:
        """Bins that can hold rows: one more than the finite edges."""
        return sum(math.isfinite(e) for e in self.edges) + 1

    def quantile(self, level: float) -> float:
        """The reference quantile at `level` (interpolated between percentiles)."""
        return float(np.interp(level, PERCENTILES, self.percentiles))

    def bands(self, n_rows: int, n_reference: int, limits: Limits) -> Bands:
        """The ranges for `n_rows` new rows (see `Limits`); a constant reference column
        allows only its own value."""
        noise = math.sqrt(1 / max(n_rows, 1) + 1 / max(n_reference, 1))
        exact = 1e-9 * max(1.0, abs(self.mean))
        slack = limits.quantile_slack * (self.quantile(0.99) - self.quantile(0.01)) + exact
        quantiles = []
        for level in QUANTILES:
            rank = max(limits.quantile_rank, 4 * math.sqrt(level * (1 - level)) * noise)
            low = self.quantile(max(level - rank, 0.0)) - slack
            quantiles.append((level, low, self.quantile(min(level + rank, 1.0)) + slack))
        mean_band = limits.mean_shift * self.std + 4 * self.std * noise + exact
        return Bands(
            quantiles=tuple(quantiles),
            mean=(self.mean - mean_band, self.mean + mean_band),
            std=(self.std / limits.std_ratio, self.std * limits.std_ratio + exact),
            distinct_min=math.ceil(
                limits.distinct_floor * self.distinct * min(1.0, n_rows / max(n_reference, 1))
            ),
            psi=psi_limit(self.n_bins, n_rows, n_reference, limits),
        )


@dataclasses.dataclass(frozen=True)
class ReferenceProfile:
    """The training data of one model version, as later data is compared with it."""

    features: dict[str, FeatureProfile]
    n_rows: int
    n_labelled: int
    contamination: dict[str, float]  # estimate, low, high
    threshold: float
    flag_rate: float  # share of training rows flagged at `threshold`

    def row_band(self, limits: Limits) -> tuple[int, int]:
        """The row count new training data may have."""
        low, high = limits.rows
        return math.ceil(low * self.n_rows), math.floor(high * self.n_rows)

    def medians(self, columns: Sequence[str]) -> np.ndarray:
        """(d,) training medians of `columns`, in table units: a typical training row."""
        return np.array([self.features[c].quantile(0.5) for c in columns], dtype=np.float64)

    def percentiles_of(self, X: np.ndarray, columns: Sequence[str]) -> np.ndarray:
        """Where each raw value of `X` (n, d) sits among the training rows, 0-100 per cell."""
        if X.ndim != 2 or X.shape[1] != len(columns):
            raise ValueError(f"the profile's {len(columns)} columns do not match shape {X.shape}")
        cells = [
            np.interp(X[:, j], self.features[c].percentiles, 100 * PERCENTILES)
            for j, c in enumerate(columns)
        ]
        return np.stack(cells, axis=1)

    def edges(self, columns: Sequence[str]) -> np.ndarray:
        """(d, N_BINS - 1) bin edges of `columns`, for `bin_counts`."""
        return np.array([self.features[c].edges for c in columns], dtype=np.float64)

    def shares(self, columns: Sequence[str]) -> np.ndarray:
        """(d, N_BINS) reference shares of `columns`."""
        return np.array([self.features[c].shares for c in columns], dtype=np.float64)

    def flag_rate_interval(self, n_rows: int) -> tuple[float, float]:
        """Where the share of flagged rows of `n_rows` new rows should fall: the contamination
        interval the threshold was calibrated for (widened to hold the training flag rate,
        which other threshold rules set), plus 3 binomial standard errors of `n_rows`."""
        low = min(self.contamination["low"], self.flag_rate)
        high = max(self.contamination["high"], self.flag_rate)
        n = max(n_rows, 1)
        return (
            max(0.0, low - 3 * math.sqrt(low * (1 - low) / n)),
            min(1.0, high + 3 * math.sqrt(high * (1 - high) / n)),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (infinite edges as null), stored next to the model."""
        out = dataclasses.asdict(self)
        for feature in out["features"].values():
            feature["edges"] = [e if math.isfinite(e) else None for e in feature["edges"]]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        """Inverse of `to_dict`."""
        features = {
            name: FeatureProfile(
                percentiles=tuple(float(q) for q in f["percentiles"]),
                mean=float(f["mean"]),
                std=float(f["std"]),
                distinct=int(f["distinct"]),
                edges=tuple(math.inf if e is None else float(e) for e in f["edges"]),
                shares=tuple(float(s) for s in f["shares"]),
            )
            for name, f in data["features"].items()
        }
        return cls(
            features=features,
            n_rows=int(data["n_rows"]),
            n_labelled=int(data["n_labelled"]),
            contamination={k: float(v) for k, v in data["contamination"].items()},
            threshold=float(data["threshold"]),
            flag_rate=float(data["flag_rate"]),
        )


def bin_counts(X: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(d, N_BINS) counts of the rows of `X` (n, d) per column bin: a value lands in bin b
    when exactly b of its column's edges lie below it. Edges are float32 values, so float32
    features (training and scoring both read them so) bin the same either way."""
    n, d = X.shape
    edges = edges.astype(X.dtype, copy=False)
    below = np.zeros((n, d), dtype=np.int32)
    for b in range(edges.shape[1]):
        below += edges[:, b] < X
    below += np.arange(d, dtype=np.int32) * N_BINS
    return np.bincount(below.ravel(), minlength=d * N_BINS).reshape(d, N_BINS)


def psi(reference_shares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """PSI per row of `counts` (d, N_BINS) against `reference_shares` (d, N_BINS)."""
    total = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    new = np.maximum(counts / total, PSI_FLOOR)
    ref = np.maximum(reference_shares, PSI_FLOOR)
    return np.asarray(((new - ref) * np.log(new / ref)).sum(axis=1))


def psi_limit(n_bins: int, n_rows: int, n_reference: int, limits: Limits) -> float:
    """The larger of `limits.psi` and the no-shift 99.9 % point of PSI at these row counts
    (Wilson-Hilferty's chi-square quantile)."""
    df = max(n_bins - 1, 1)
    chi2 = df * (1 - 2 / (9 * df) + Z_999 * math.sqrt(2 / (9 * df))) ** 3
    return max(limits.psi, chi2 * (1 / max(n_rows, 1) + 1 / max(n_reference, 1)))


def _deciles(values: np.ndarray) -> tuple[float, ...]:
    """The distinct interior deciles as float32 values, padded with +inf to N_BINS - 1."""
    deciles = np.quantile(values.astype(np.float64), np.linspace(0, 1, N_BINS + 1)[1:-1])
    cuts = np.unique(deciles.astype(np.float32)).astype(np.float64)
    return (*cuts.tolist(), *[math.inf] * (N_BINS - 1 - len(cuts)))


def build_profile(
    X: np.ndarray,
    features: Sequence[str],
    n_labelled: int,
    contamination: dict[str, float],
    threshold: float,
    flag_rate: float,
) -> ReferenceProfile:
    """Profile the raw (unscaled) training features `X` (n, d), columns in `features` order,
    as `data.feature_matrix` gives them (float32)."""
    X = np.asarray(X, dtype=np.float32)
    profiles = {}
    for j, name in enumerate(features):
        edges = _deciles(X[:, j])
        counts = bin_counts(X[:, j : j + 1], np.array([edges]))[0]
        column = X[:, j].astype(np.float64)
        profiles[name] = FeatureProfile(
            percentiles=tuple(np.quantile(column, PERCENTILES).tolist()),
            mean=float(column.mean()),
            std=float(column.std()),
            distinct=int(np.unique(column).size),
            edges=edges,
            shares=tuple((counts / len(column)).tolist()),
        )
    return ReferenceProfile(
        features=profiles,
        n_rows=len(X),
        n_labelled=int(n_labelled),
        contamination={k: float(contamination[k]) for k in ("estimate", "low", "high")},
        threshold=float(threshold),
        flag_rate=float(flag_rate),
    )
