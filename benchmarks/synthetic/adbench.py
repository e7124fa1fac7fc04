"""ADBench's four generated anomaly types on the normal rows of a real table (Han, Hu, Huang,
Jiang, Zhao, NeurIPS 2022, section 4.3; Minqi824/ADBench at 3dac822,
adbench/datasets/data_generator.py, `generate_realistic_synthetic`)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import QuantileTransformer

from benchmarks.synthetic.task import Task, TaskSpec, counts, defaults, protocol_split
from components.selection.adbench import load_table

ADBENCH_KINDS = ("local", "global", "dependency", "cluster")
_MAX_FIT_ROWS = 5000  # normal rows a generative model is fitted on (ADBench: up to 10,000)
_GMM_COMPONENTS = range(1, 10)  # ADBench's BIC search


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
    n_normal, n_anomalies = counts(n_rows, anomaly_share)
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
    split = protocol_split(normal, anomalies, labellable, n_labelled, rng)
    return Task(adbench_name(params), params, split)


def adbench_name(params: dict[str, Any]) -> str:
    """Kind, table, anomaly share, labels and rows, e.g. local-cardio-a0.096-l10-n3000."""
    p = params
    return f"{p['kind']}-{p['table']}-a{p['anomaly_share']:g}-l{p['n_labelled']}-n{p['n_rows']}"


def adbench_spec(path: Path, kind: str, **params: Any) -> TaskSpec:
    """An `adbench_task` on the normal rows of the table at `path`, at the table's own
    anomaly share unless `anomaly_share` is given."""
    X, y = load_table(path)
    rows = X[y == 0]
    chosen = {"anomaly_share": round(float(y.mean()), 3), **params}
    name = adbench_name({**defaults(adbench_task), **chosen, "kind": kind, "table": path.stem})
    return TaskSpec(name, lambda seed: adbench_task(rows, kind, seed, table=path.stem, **chosen))
