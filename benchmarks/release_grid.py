"""Raw material for judging the release: per (table, labelled count, seed) split, what the
training flow sees (contamination estimate, every candidate's cross-validation over the few
training labels) and what it cannot (every candidate's test scores, k seeds each).

Selection rules, seed ensembles and thresholds are then scored from this cache by
`benchmarks/release_quality.py` without refitting: a rule is a function of the
cross-validation results only, so every rule is judged on the same fits.

Split (ADBench semi-supervised, labelled anomalies as counts as ADGym does): stratified
subsample to `--max-rows`, stratified 70/30 split, `n` of the training anomalies labelled,
min-max scaling fitted on train (components.selection.adbench.make_split). The cross-validation is
the flow's own (`evaluation.cross_validate`, 3 folds, random_state 0) on the training rows.

    OMP_NUM_THREADS=1 python -m benchmarks.release_grid --data-dir ../shared/datasets \
        --labels 5,10,20 --seeds 0,1,2 --cache results-release-cache

Resumable: a (split, method) whose file exists is skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import smoke
from components.detectors import make
from components.detectors.api import applicable_params, fit_many
from components.selection.adbench import Split, load_table, make_split
from components.selection.contamination import contamination_for_threshold, estimate_contamination
from components.selection.evaluation import EvaluationError, cross_validate
from flows.cli.options import select_tables

log = logging.getLogger(__name__)
METHODS = "devnet,prenet,deepsad,iforest,supervised,catboost"
SMOKE_METHODS = "iforest,supervised"  # the cheapest fits
CV_SEED = 0


def split_with_count(
    X: np.ndarray, y: np.ndarray, n_labels: int, seed: int, max_rows: int
) -> Split:
    """`make_split` with exactly `n_labels` training anomalies labelled (fewer if the table
    has fewer)."""
    split = make_split(X, y, 0.0, seed, max_rows)
    anomalies = np.flatnonzero(split.y_train_true == 1)
    rng = np.random.default_rng(seed)
    weak = np.zeros_like(split.y_train)
    weak[rng.choice(anomalies, size=min(n_labels, len(anomalies)), replace=False)] = 1
    return Split(
        X_train=split.X_train,
        y_train=weak,
        X_test=split.X_test,
        y_test=split.y_test,
        n_labelled=int(weak.sum()),
        y_train_true=split.y_train_true,
    )


def _split_facts(split: Split, folder: Path) -> None:
    """Labels and the contamination estimate of one split (the flow's first steps): the
    estimate, and the share the flow calibrates and cross-validates with (the estimate, or
    the fallback when it is not trusted)."""
    if (folder / "contamination.json").exists():
        return
    start = time.perf_counter()
    est = estimate_contamination(split.X_train, split.y_train, random_state=CV_SEED)
    share = contamination_for_threshold(est)
    unlabelled = split.y_train == 0
    facts = {
        **est.to_dict(),
        "share": share.value,
        "fallback": share.fallback,
        "seconds": time.perf_counter() - start,
        "truth": float(split.y_train_true[unlabelled].mean()),
        "test_share": float(split.y_test.mean()),
    }
    (folder / "contamination.json").write_text(json.dumps(facts))
    np.savez_compressed(
        folder / "split.npz",
        y_train=split.y_train,
        y_train_true=split.y_train_true,
        y_test=split.y_test,
    )


def _method_facts(method: str, split: Split, folder: Path, n_seeds: int) -> None:
    """One candidate on one split: the flow's cross-validation, then `n_seeds` refits on
    every training row (seeds 0..n-1, one stacked pass where the method allows)."""
    target = folder / f"{method}.npz"
    if target.exists():
        return
    contamination = json.loads((folder / "contamination.json").read_text())["share"]
    params = applicable_params(method, {"random_state": CV_SEED, "device": "cpu"})
    start = time.perf_counter()
    try:
        cv = cross_validate(method, params, split.X_train, split.y_train, contamination, 3, CV_SEED)
    except EvaluationError as err:
        log.warning("%s %s: %s", folder.name, method, err)
        (folder / f"{method}.skipped").write_text(str(err))
        return
    cv_seconds = time.perf_counter() - start
    start = time.perf_counter()
    members = fit_many(
        make(method, **params), split.X_train, [split.y_train] * n_seeds, list(range(n_seeds))
    )
    fit_seconds = (time.perf_counter() - start) / n_seeds
    folds = np.concatenate([np.full(f["n_test"], f["fold"]) for f in cv.folds])
    np.savez_compressed(
        target,
        cv_scores=cv.held_out_scores.astype(np.float32),
        cv_y=cv.held_out_y,
        cv_fold=folds,
        train_scores=np.stack([m.decision_function(split.X_train) for m in members]).astype(
            np.float32
        ),
        test_scores=np.stack([m.decision_function(split.X_test) for m in members]).astype(
            np.float32
        ),
        seconds=np.array([cv_seconds, fit_seconds]),
    )


def fill_cache(
    tables: list[Path],
    methods: list[str],
    labels: list[int],
    seeds: list[int],
    n_seeds: int,
    max_rows: int,
    cache: Path,
) -> None:
    """Every (seed, table, labelled count) split's facts and every method's on it, in
    `cache / <table>-n<count>-s<seed>/`; what is there already is kept."""
    for seed in seeds:
        for path in tables:
            X, y = load_table(path)
            for n in labels:
                folder = cache / f"{path.stem}-n{n}-s{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                split = split_with_count(X, y, n, seed, max_rows)
                _split_facts(split, folder)
                for method in methods:
                    start = time.perf_counter()
                    _method_facts(method, split, folder, n_seeds)
                    print(f"{folder.name} {method} {time.perf_counter() - start:.1f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--datasets", default="")
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--labels", default="5,10,20")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--ensemble-seeds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--cache", type=Path, default=Path("results-release-cache"))
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        args.data_dir = smoke.smoke_dir()
        args.datasets, args.methods, args.labels, args.seeds = (
            smoke.TABLES[0],
            SMOKE_METHODS,
            "5",
            "0",
        )
        args.ensemble_seeds, args.max_rows, args.cache = 2, 400, args.data_dir / "cache"
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    torch.set_num_threads(1)
    fill_cache(
        select_tables(args.data_dir, args.datasets),
        [m for m in args.methods.split(",") if m],
        [int(c) for c in args.labels.split(",")],
        [int(s) for s in args.seeds.split(",")],
        args.ensemble_seeds,
        args.max_rows,
        args.cache,
    )


if __name__ == "__main__":
    main()
