"""A large table with a known anomaly share, written to parquet in row groups so that ten
million rows never sit in memory at once: the input of the train-time curve
(benchmarks/train_time.py).

Normal rows come from `N_CLUSTERS` correlated Gaussian clusters (centres N(0, 3^2) per
feature, each cluster a random rotation of per-axis standard deviations in [0.5, 1.5]); a
row is an anomaly with probability `share`, drawn from a random cluster and then shifted by
`SHIFT` of that cluster's feature standard deviation on one of `N_TYPES` disjoint
`SUBSPACE`-feature subspaces, in that type's fixed direction. Columns: `id` (int64, the row
number), `f0`..`f{d-1}` (float64). The anomalies' ids come back so a caller can label some.

Import rule: numpy and pyarrow only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N_CLUSTERS = 4
N_TYPES = 3
SUBSPACE = 3
SHIFT = 4.0
CHUNK_ROWS = 250_000  # rows per parquet row group (and in memory at once)


def write_large_table(
    path: Path, n_rows: int, n_features: int = 30, share: float = 0.02, seed: int = 0
) -> np.ndarray:
    """Write the table to `path`; returns the ids of its anomalies (sorted)."""
    if n_features < N_TYPES * SUBSPACE:
        raise ValueError(f"{N_TYPES} subspaces of {SUBSPACE} features need more than {n_features}")
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, (N_CLUSTERS, n_features))
    mixers = []
    for _ in range(N_CLUSTERS):
        rotation, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        mixers.append(rotation * rng.uniform(0.5, 1.5, n_features))
    sds = np.array([np.sqrt((m**2).sum(1)) for m in mixers])
    subspaces = rng.permutation(n_features)[: N_TYPES * SUBSPACE].reshape(N_TYPES, SUBSPACE)
    directions = rng.choice([-1.0, 1.0], (N_TYPES, SUBSPACE))
    names = [f"f{i}" for i in range(n_features)]
    schema = pa.schema([("id", pa.int64()), *[(n, pa.float64()) for n in names]])
    anomaly_ids = []
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n_rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, n_rows - start)
            cluster = rng.integers(N_CLUSTERS, size=n)
            rows = np.empty((n, n_features))
            for c in range(N_CLUSTERS):
                members = cluster == c
                noise = rng.normal(size=(int(members.sum()), n_features))
                rows[members] = centres[c] + noise @ mixers[c].T
            anomalous = np.flatnonzero(rng.random(n) < share)
            kinds = rng.integers(N_TYPES, size=len(anomalous))
            for k in range(N_TYPES):
                which = anomalous[kinds == k]
                space = subspaces[k]
                shift = SHIFT * directions[k] * sds[cluster[which]][:, space]
                rows[np.ix_(which, space)] += shift
            anomaly_ids.append(start + anomalous)
            columns = [pa.array(np.arange(start, start + n, dtype=np.int64))]
            columns += [pa.array(rows[:, i]) for i in range(n_features)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    return np.concatenate(anomaly_ids)
