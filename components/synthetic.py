"""A family of synthetic weakly supervised tasks, shared by tests and benchmarks.

The contract test's task (Gaussian normals, anomalies shifted on three features) fixes what
decides whether a method learns from a dozen labels: one normal cluster, a low dimension,
one anomaly type, labelled anomalies that look like every other anomaly. The family varies
each of those:

- `subspace_task`: normal rows from several correlated Gaussian clusters in a few to a few
  dozen dimensions; an anomaly is a normal draw of some cluster shifted by `shift` of that
  cluster's per-feature standard deviation on a small feature subspace (one fixed subspace
  and direction per anomaly type). With `hidden_share` > 0 that share of the anomalies is of
  a second type (another subspace) of which none is labelled.
- `adbench_task`: ADBench's four generated anomaly types (Han et al., NeurIPS 2022, section
  4.3; Minqi824/ADBench, adbench/datasets/data_generator.py, `generate_realistic_synthetic`)
  built on the normal rows of a real table.

Every task is drawn fresh from its process for a seed: rows split 70/30 stratified into
train and test, `n_labelled` train anomalies labelled (of the labelled type only), min-max
scaling fitted on train, as the benchmark protocol (components/benchmark.py) does; a task
holds a `components.benchmark.Split`, so anything that runs on a benchmark split runs on it.
`FAMILY` lists the benchmark's tasks (benchmarks/synthetic_family.py), `floor_check` compares
a detector (or a release) with IsolationForest on a list of tasks.

Import rule: numpy, scikit-learn and components.benchmark only (runs on a bare GPU box).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer

from components.benchmark import Split, load_table

ADBENCH_KINDS = ("local", "global", "dependency", "cluster")
_TEST_SIZE = 0.3
_MAX_FIT_ROWS = 5000  # normal rows a generative model is fitted on (ADBench: up to 10,000)
_GMM_COMPONENTS = range(1, 10)  # ADBench's BIC search


@dataclasses.dataclass(frozen=True)
class Task:
    """One drawn task: its name, the parameters that made it, and the protocol split
    (train features and weak labels, hidden train truth, test features and truth)."""

    name: str
    params: dict[str, Any]
    split: Split

    @property
    def X(self) -> np.ndarray:
        return self.split.X_train

    @property
    def y(self) -> np.ndarray:
        """Weak labels: 1 = labelled anomaly, 0 = unlabelled (hidden anomalies included)."""
        return self.split.y_train

    @property
    def truth(self) -> np.ndarray:
        return self.split.y_train_true


def _protocol_split(
    normal: np.ndarray,
    anomalies: np.ndarray,
    labellable: np.ndarray,
    n_labelled: int,
    rng: np.random.Generator,
) -> Split:
    """70/30 stratified split, `n_labelled` labelled among the labellable train anomalies,
    min-max scaling fitted on train."""
    X = np.vstack([normal, anomalies])
    truth = np.r_[np.zeros(len(normal), np.int64), np.ones(len(anomalies), np.int64)]
    kind = np.r_[np.zeros(len(normal), bool), labellable]  # labellable anomaly
    seed = int(rng.integers(2**31))
    X_tr, X_te, y_tr, y_te, k_tr, _ = train_test_split(
        X, truth, kind, test_size=_TEST_SIZE, stratify=truth, random_state=seed
    )
    candidates = np.flatnonzero(k_tr)
    if len(candidates) < n_labelled:
        raise ValueError(
            f"only {len(candidates)} labellable anomalies in the train split, "
            f"{n_labelled} asked for; raise n_rows or anomaly_share"
        )
    weak = np.zeros_like(y_tr)
    weak[rng.choice(candidates, n_labelled, replace=False)] = 1
    scaler = MinMaxScaler().fit(X_tr)
    return Split(
        X_train=scaler.transform(X_tr).astype(np.float32),
        y_train=weak,
        X_test=np.clip(scaler.transform(X_te), -1e6, 1e6).astype(np.float32),
        y_test=y_te,
        n_labelled=n_labelled,
        y_train_true=y_tr,
    )


def _counts(n_rows: int, anomaly_share: float) -> tuple[int, int]:
    n_anomalies = max(1, round(n_rows * anomaly_share))
    return n_rows - n_anomalies, n_anomalies


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
    in its type's fixed direction. Type 0 is labelled; a `hidden_share` of the anomalies is
    type 1, on a disjoint subspace, never labelled."""
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

    n_normal, n_anomalies = _counts(n_rows, anomaly_share)
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
    split = _protocol_split(normal, anomalies, labellable, n_labelled, rng)
    return Task(task_name(params), params, split)


def _best_gmm(X: np.ndarray, seed: int) -> GaussianMixture:
    """ADBench's normal model: a full-covariance GMM, components 1-9 by the lowest BIC."""
    fits = [GaussianMixture(k, random_state=seed).fit(X) for k in _GMM_COMPONENTS]
    return min(fits, key=lambda gm: gm.bic(X))


def _gmm_sample(gm: GaussianMixture, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws, each call from a fresh seed (GaussianMixture.sample re-seeds from its int
    random_state, so two calls would otherwise reuse one stream)."""
    gm = copy.copy(gm)
    gm.random_state = int(rng.integers(2**31))
    return gm.sample(n)[0]


def _kde_bandwidth(X: np.ndarray) -> np.ndarray:
    """Scott's rule per feature (scipy.stats.gaussian_kde's default, which copulas'
    GaussianKDE uses)."""
    return X.std(0) * len(X) ** (-1 / 5)


def _copula_normals(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian copula of X with KDE marginals: normal scores with the rows' rank
    correlations, mapped back through each feature's empirical quantiles, plus the KDE
    kernel's noise."""
    quantiles = QuantileTransformer(
        n_quantiles=min(1000, len(X)), output_distribution="normal"
    ).fit(X)
    scores = quantiles.transform(X)
    corr = np.nan_to_num(np.atleast_2d(np.corrcoef(scores, rowvar=False)))
    corr += 1e-6 * np.eye(X.shape[1])  # constant features
    z = rng.multivariate_normal(np.zeros(X.shape[1]), corr, n, method="cholesky")
    base = quantiles.inverse_transform(z)
    return base + rng.normal(size=base.shape) * _kde_bandwidth(X)


def _independent_kde(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Each feature drawn on its own from its Gaussian KDE: the marginals of X, none of its
    dependencies."""
    picks = rng.integers(len(X), size=(n, X.shape[1]))
    base = np.take_along_axis(X, picks, axis=0)
    return base + rng.normal(size=base.shape) * _kde_bandwidth(X)


def adbench_task(
    normal_rows: np.ndarray,
    kind: str,
    seed: int,
    table: str = "table",
    n_rows: int = 3000,
    anomaly_share: float = 0.05,
    n_labelled: int = 10,
    alpha: float = 5.0,
    percentage: float = 0.1,
) -> Task:
    """ADBench's generated anomalies on the normal rows of a real table. Normals are drawn
    from a model of those rows (a GMM, or for `dependency` a copula), anomalies:
    - local: the same GMM with every covariance scaled by `alpha`;
    - cluster: the same GMM with every mean scaled by `alpha`;
    - global: per feature uniform on [min * (1 + percentage), max * (1 + percentage)] of the
      drawn normals (ADBench's range, which widens a feature only where min < 0 < max and
      shifts it otherwise; kept as written);
    - dependency: every feature drawn independently from its KDE marginal, against normals
      from a model that keeps the dependencies.
    Where we differ, and why: ADBench's dependency normals come from a C-vine copula
    (`copulas.VineCopula('center')`), a dependency not allowed here and slow to fit; we use
    a Gaussian copula with the same KDE marginals, which keeps every pairwise rank correlation
    but not tail dependence. Generative models are fitted on at most 5,000 normal rows and the
    task has `n_rows` rows at `anomaly_share` (ADBench: the table's own counts, up to
    10,000)."""
    if kind not in ADBENCH_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ADBENCH_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    source = np.asarray(normal_rows, dtype=np.float64)
    if len(source) > _MAX_FIT_ROWS:
        source = source[rng.choice(len(source), _MAX_FIT_ROWS, replace=False)]
    n_normal, n_anomalies = _counts(n_rows, anomaly_share)
    if kind == "dependency":
        normal = _copula_normals(source, n_normal, rng)
        anomalies = _independent_kde(source, n_anomalies, rng)
    else:
        gm = _best_gmm(source, seed)
        normal = _gmm_sample(gm, n_normal, rng)
        if kind == "global":
            low, high = normal.min(0) * (1 + percentage), normal.max(0) * (1 + percentage)
            anomalies = rng.uniform(low, high, (n_anomalies, source.shape[1]))
        else:
            changed = copy.deepcopy(gm)
            if kind == "local":
                changed.covariances_ = alpha * gm.covariances_
            else:
                changed.means_ = alpha * gm.means_
            anomalies = _gmm_sample(changed, n_anomalies, rng)
    params = {
        "kind": kind,
        "table": table,
        "n_rows": n_rows,
        "anomaly_share": anomaly_share,
        "n_labelled": n_labelled,
        "alpha": alpha,
        "percentage": percentage,
    }
    labellable = np.ones(n_anomalies, bool)
    split = _protocol_split(normal, anomalies, labellable, n_labelled, rng)
    return Task(task_name(params), params, split)


def task_name(params: dict[str, Any]) -> str:
    """A short name that says what a task varies, e.g. subspace-k4-d30-s3-a0.03-l12-n3000."""
    tail = f"a{params['anomaly_share']:g}-l{params['n_labelled']}-n{params['n_rows']}"
    if params["kind"] != "subspace":
        return f"{params['kind']}-{params['table']}-{tail}"
    head = (
        f"subspace-k{params['n_clusters']}-d{params['n_features']}-s{params['subspace']}"
        f"-x{params['shift']:g}"
    )
    hidden = f"-h{params['hidden_share']:g}" if params["hidden_share"] else ""
    return f"{head}{'r' if params['scattered'] else ''}-{tail}{hidden}"


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A task of the family with its parameters fixed, drawn afresh for each seed."""

    name: str
    build: Callable[[int], Task]


def subspace_spec(**params: Any) -> TaskSpec:
    """A `subspace_task` with fixed parameters (the defaults for any not given)."""
    defaults = {
        k: v.default for k, v in inspect.signature(subspace_task).parameters.items() if k != "seed"
    }
    full = {"kind": "subspace", **defaults, **params}
    return TaskSpec(task_name(full), lambda seed: subspace_task(seed, **params))


def adbench_spec(path: Path, kind: str, **params: Any) -> TaskSpec:
    """An `adbench_task` on the normal rows of the table at `path`, at the table's own
    anomaly share unless `anomaly_share` is given."""
    X, y = load_table(path)
    rows = X[y == 0]
    chosen = {"anomaly_share": round(float(y.mean()), 3), **params}
    defaults = {
        k: v.default
        for k, v in inspect.signature(adbench_task).parameters.items()
        if v.default is not inspect.Parameter.empty
    }
    full = {**defaults, **chosen, "kind": kind, "table": path.stem}
    return TaskSpec(
        task_name(full), lambda seed: adbench_task(rows, kind, seed, table=path.stem, **chosen)
    )


ADBENCH_TABLES = ("cardio", "pendigits")


def family(data_dir: Path | None = None) -> list[TaskSpec]:
    """The benchmark's tasks: clustered-subspace variants (clusters, dimension, subspace size,
    shift, anomaly share, labels, rows, a hidden type, scattered subspaces), then ADBench's
    four types on each table of `ADBENCH_TABLES` found in `data_dir` (none if None)."""
    specs = [
        subspace_spec(),
        subspace_spec(n_clusters=8, n_features=20, subspace=2, anomaly_share=0.05, n_labelled=5),
        subspace_spec(n_clusters=2, n_features=10, subspace=1, shift=4.0, anomaly_share=0.01,
                      n_rows=5000, n_labelled=10),
        subspace_spec(n_features=50, subspace=4, shift=2.5, anomaly_share=0.1, n_rows=2000,
                      n_labelled=20),
        subspace_spec(anomaly_share=0.04, n_labelled=10, hidden_share=0.5),
        subspace_spec(subspace=2, shift=4.0, scattered=True),
        subspace_spec(n_rows=20000),
        subspace_spec(n_clusters=6, n_features=20, subspace=2, anomaly_share=0.02, n_labelled=15,
                      n_rows=20000, hidden_share=0.3),
    ]  # fmt: skip
    for table in ADBENCH_TABLES:
        path = Path(data_dir or "", f"{table}.parquet")
        if data_dir is not None and path.exists():
            specs += [adbench_spec(path, kind) for kind in ADBENCH_KINDS]
    return specs
