"""ADBench's semi-supervised protocol on a folder of parquet tables (`wsad bench`).

Per (dataset, seed): an optional stratified subsample (`max_rows`; ADBench uses 10,000), a
stratified 70/30 train/test split, a share of the *training* anomalies labelled (at least
one; the rest stay hidden in the unlabelled set), min-max scaling fitted on train. Instead of
a share, `--labels` asks for a count of labelled anomalies, as ADGym (Jiang et al., NeurIPS
2023) does; a count above the training anomalies is capped at them (ADGym fails there
instead), and the result row says what was asked (`labels`) and what was labelled
(`n_labelled`), with `label_ratio` left empty. Every method of a (dataset, label setting, seed)
sees the identical split. A seed's label settings share their rows (the split depends on the
seed only; the setting only picks which train anomalies are labelled), so a batchable method
fits one seed's label settings as one stacked ensemble
(`fit_many`), each member with `random_state=seed` and its own labels, exactly the detectors the
one-by-one protocol fits; seeds are never batched together, as each has its own split. Metrics
on the test set:
AUC-ROC and AUC-PR (average precision). Unlike ADBench we do not duplicate tables smaller
than 1,000 rows. Import rule: torch/numpy/pandas/sklearn only (no typer: the `wsad bench` command is
flows/cli/bench.py), so this runs on a bare GPU box.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from components.detectors import Detector, make
from components.detectors.api import applicable_params, fit_many, resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """One protocol split: scaled train/test features, weak train labels, true test labels."""

    X_train: np.ndarray
    y_train: np.ndarray  # 1 = labelled anomaly, 0 = unlabelled (hidden anomalies included)
    X_test: np.ndarray
    y_test: np.ndarray
    n_labelled: int
    y_train_true: np.ndarray  # hidden truth of the train rows, for label-noise studies only


def load_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features = every column but `label`; label 1 = anomaly."""
    df = pd.read_parquet(path)
    if "label" not in df.columns:
        raise ValueError(f"{path} has no 'label' column; benchmark tables need one (1 = anomaly)")
    return df.drop(columns="label").to_numpy(np.float64), df["label"].to_numpy(np.int64)


def make_split(
    X: np.ndarray,
    y: np.ndarray,
    label_ratio: float | None,
    seed: int,
    max_rows: int | None = None,
    n_labels: int | None = None,
) -> Split:
    """The ADBench semi-supervised split for one seed, labelling either a share of the
    training anomalies (`label_ratio`) or a count of them (`n_labels`, capped at how many
    there are); each at least one."""
    if (label_ratio is None) == (n_labels is None):
        raise ValueError("make_split takes a label_ratio or n_labels, not both or neither")
    if max_rows is not None and len(X) > max_rows:
        X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=seed)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed, shuffle=True
    )
    anomalies = np.flatnonzero(y_tr == 1)
    wanted = n_labels if n_labels is not None else math.ceil((label_ratio or 0) * len(anomalies))
    n_lab = max(1, min(wanted, len(anomalies)))
    rng = np.random.default_rng(seed)
    weak = np.zeros_like(y_tr)
    weak[rng.choice(anomalies, size=n_lab, replace=False)] = 1
    return scaled_split(X_tr, weak, y_tr, X_te, y_te)


def scaled_split(
    X_train: np.ndarray,
    y_weak: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> Split:
    """The protocol's split from raw train/test rows: min-max scaling fitted on train (test
    values outside the train range kept, clipped to +-1e6), float32 features."""
    scaler = MinMaxScaler().fit(X_train)
    return Split(
        X_train=scaler.transform(X_train).astype(np.float32),
        y_train=y_weak,
        X_test=np.clip(scaler.transform(X_test), -1e6, 1e6).astype(np.float32),
        y_test=y_test,
        n_labelled=int(y_weak.sum()),
        y_train_true=y_train,
    )


def evaluate(method: str, split: Split, params: dict[str, Any]) -> dict[str, Any]:
    """Fit one method on a split and score the test set; times are wall-clock seconds."""
    det = make(method, **params)
    start = time.perf_counter()
    det.fit(split.X_train, split.y_train)
    return _test_metrics(det, split, time.perf_counter() - start, note="")


def evaluate_many(method: str, splits: list[Split], params: dict[str, Any]) -> list[dict[str, Any]]:
    """`evaluate` for splits that share their train rows (one seed's label settings): a
    batchable method fits them in one `fit_many` call, each row getting an equal share of
    its time; any other method, or splits on different rows, one by one."""
    template = make(method, **params)
    if (
        len(splits) < 2
        or not getattr(template, "batchable", False)
        or not all(np.array_equal(s.X_train, splits[0].X_train) for s in splits[1:])
    ):
        return [evaluate(method, split, params) for split in splits]
    X_train = splits[0].X_train
    seeds = [template.random_state] * len(splits)
    start = time.perf_counter()
    fitted = fit_many(template, X_train, [s.y_train for s in splits], seeds)
    share = (time.perf_counter() - start) / len(splits)
    note = f"fitted with {len(splits) - 1} other label setting(s) in one stacked pass"
    return [_test_metrics(d, s, share, note) for d, s in zip(fitted, splits, strict=True)]


def _test_metrics(det: Detector, split: Split, fit_seconds: float, note: str) -> dict[str, Any]:
    start = time.perf_counter()
    scores = det.decision_function(split.X_test)
    return {
        "auc_roc": roc_auc_score(split.y_test, scores),
        "auc_pr": average_precision_score(split.y_test, scores),
        "fit_seconds": fit_seconds,
        "score_seconds": time.perf_counter() - start,
        # epochs of the main training stage: the papers' count, or more (`until_converged`)
        "epochs": len(det.loss_history_) if hasattr(det, "loss_history_") else float("nan"),
        "note": note,
    }


def run(
    tables: list[Path],
    methods: list[str],
    label_ratios: list[float],
    seeds: list[int],
    device: str = "auto",
    max_rows: int | None = None,
    params: dict[str, Any] | None = None,
    label_counts: list[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one result row per (dataset, seed, method, label setting): each of
    `label_counts` labelled anomalies when given, else each share in `label_ratios`."""
    device_name = str(resolve_device(device))
    settings: list[tuple[float | None, int | None]] = (
        [(None, count) for count in label_counts]
        if label_counts
        else [(ratio, None) for ratio in label_ratios]
    )
    for path in tables:
        X, y = load_table(path)
        for seed in seeds:
            splits = {
                (ratio, count): make_split(X, y, ratio, seed, max_rows, n_labels=count)
                for ratio, count in settings
            }
            for method in methods:
                chosen = applicable_params(method, {"device": device, **(params or {})})
                det_params = {"random_state": seed, **chosen}
                needed = make(method, **det_params).min_labelled
                runnable = [r for r, s in splits.items() if s.n_labelled >= needed]
                done = evaluate_many(method, [splits[r] for r in runnable], det_params)
                fitted = dict(zip(runnable, done, strict=True))
                for (ratio, count), split in splits.items():
                    yield {
                        "dataset": path.stem,
                        "method": method,
                        "label_ratio": ratio,
                        "labels": count,
                        "seed": seed,
                        **fitted.get(
                            (ratio, count), _skipped(f"needs >= {needed} labelled anomalies")
                        ),
                        "n_train": len(split.X_train),
                        "n_labelled": split.n_labelled,
                        "device": device_name if "device" in chosen else "cpu",
                    }


def _skipped(reason: str) -> dict[str, Any]:
    """A row for a method that cannot run on a split (kept, so the gap is visible)."""
    nan = float("nan")
    return {
        "auc_roc": nan,
        "auc_pr": nan,
        "fit_seconds": nan,
        "score_seconds": nan,
        "epochs": nan,
        "note": reason,
    }


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of AUC-PR/AUC-ROC and mean fit time per dataset, method and label setting
    (`label_ratio` or `labels`, whichever the run used; the other is empty)."""
    grouped = results.groupby(["dataset", "method", "label_ratio", "labels"], dropna=False)
    return grouped.agg(
        auc_pr=("auc_pr", "mean"),
        auc_pr_std=("auc_pr", "std"),
        auc_roc=("auc_roc", "mean"),
        fit_seconds=("fit_seconds", "mean"),
    ).reset_index()
