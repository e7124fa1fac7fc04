"""Clustered normal rows in a few to a few dozen dimensions; anomalies that deviate on a small
feature subspace, of a labelled type and optionally of a hidden type nobody labelled."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.synthetic.task import Task, TaskSpec, counts, defaults, protocol_split


def subspace_task(
    seed: int,
    n_rows: int = 3000,
    n_features: int = 30,
    n_clusters: int = 4,
    subspace: int = 3,
    anomaly_share: float = 0.03,
    n_labelled: int = 12,
    shift: float = 3.0,
    hidden_share: float = 0.0,
    scattered: bool = False,
) -> Task:
    """Clustered normals; anomalies shifted on a small feature subspace. Cluster centres are
    N(0, 3^2) per feature (well apart), each cluster a random rotation of per-axis standard
    deviations in [0.5, 1.5] (correlated features). An anomaly is a draw of a random cluster
    with `shift` of that cluster's feature standard deviation added on its type's subspace,
    in its type's fixed direction (`scattered`: each anomaly its own subspace of that size and
    its own direction, drawn from its type's features). Type 0 is labelled; a `hidden_share`
    of the anomalies is type 1, on disjoint features, never labelled."""
    if not 0 <= hidden_share < 1:
        raise ValueError(f"hidden_share must be in [0, 1), got {hidden_share}")
    if 2 * subspace > n_features:
        raise ValueError(f"two disjoint {subspace}-feature subspaces need more than {n_features}")
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, (n_clusters, n_features))
    mixers = []
    for _ in range(n_clusters):
        rotation, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        mixers.append(rotation * rng.uniform(0.5, 1.5, n_features))
    sds = np.array([np.sqrt((m**2).sum(1)) for m in mixers])  # per cluster, per feature

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        cluster = rng.integers(n_clusters, size=n)
        noise = rng.normal(size=(n, n_features))
        rows = centres[cluster] + np.einsum("nij,nj->ni", np.stack(mixers)[cluster], noise)
        return rows, cluster

    n_normal, n_anomalies = counts(n_rows, anomaly_share)
    n_hidden = round(n_anomalies * hidden_share)
    features = rng.permutation(n_features)
    normal, _ = draw(n_normal)
    anomalies, cluster = draw(n_anomalies)
    pools = np.array_split(features, 2) if hidden_share else [features, features]
    for kind, rows in ((0, np.arange(n_hidden, n_anomalies)), (1, np.arange(n_hidden))):
        if not len(rows):
            continue
        if scattered:  # each anomaly its own subspace and direction within its type's pool
            pool = pools[kind]
            space = np.array([rng.choice(pool, subspace, replace=False) for _ in rows])
            direction = rng.choice([-1.0, 1.0], (len(rows), subspace))
        else:
            space = np.tile(features[kind * subspace : (kind + 1) * subspace], (len(rows), 1))
            direction = np.tile(rng.choice([-1.0, 1.0], subspace), (len(rows), 1))
        sd = np.take_along_axis(sds[cluster[rows]], space, axis=1)
        np.add.at(anomalies, (rows[:, None], space), shift * direction * sd)
    labellable = np.arange(n_anomalies) >= n_hidden
    params = {
        "kind": "subspace",
        "n_rows": n_rows,
        "n_features": n_features,
        "n_clusters": n_clusters,
        "subspace": subspace,
        "anomaly_share": anomaly_share,
        "n_labelled": n_labelled,
        "shift": shift,
        "hidden_share": hidden_share,
        "scattered": scattered,
    }
    split = protocol_split(normal, anomalies, labellable, n_labelled, rng)
    return Task(subspace_name(params), params, split)


def subspace_name(params: dict[str, Any]) -> str:
    """What the task varies, e.g. subspace-k4-d30-s3-x3-a0.03-l12-n3000 (clusters, features,
    subspace size, shift; r = scattered; anomaly share, labels, rows; h = hidden share)."""
    p = params
    head = f"subspace-k{p['n_clusters']}-d{p['n_features']}-s{p['subspace']}-x{p['shift']:g}"
    tail = f"a{p['anomaly_share']:g}-l{p['n_labelled']}-n{p['n_rows']}"
    hidden = f"-h{p['hidden_share']:g}" if p["hidden_share"] else ""
    return f"{head}{'r' if p['scattered'] else ''}-{tail}{hidden}"


def subspace_spec(**params: Any) -> TaskSpec:
    """A `subspace_task` with fixed parameters (the defaults for any not given)."""
    name = subspace_name({**defaults(subspace_task), **params})
    return TaskSpec(name, lambda seed: subspace_task(seed, **params))
