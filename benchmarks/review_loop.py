"""Does each round of analyst verdicts pay, and which rows should the analyst see?

A simulated analyst: per shared table and seed, a stratified subsample of at most
`--max-rows` rows, a stratified 70/30 train/test split, min-max scaling on train (the
ADBench split of components.selection.adbench) and 5 labelled anomalies to start from. Then
`--rounds` rounds: a strategy picks `--per-round` unlabelled train rows, their true label
answers (anomaly -> y = 1, normal -> dismissed, y = -1), and the detector is refitted on all
verdicts so far. Test AUC-PR is recorded after every fit (round 0 = the 5 starting labels).

Strategies: `queue@s` = components.review.queue.build_queue with uncertain share s (the threshold
calibrated at the contamination quantile, as the training flow does, and the seed
ensemble's member disagreement), as `wsad review` builds it; `top` = the queue with share 0
(top-scored rows only); `random` = unlabelled rows at random;
`anomalies` = hidden anomalies at random (ADBench's protocol of random labelled anomalies:
an analyst who is only ever shown anomalies, a reference, not a strategy anyone can run).

Detector: a 3-seed rank ensemble of `--methods` at their defaults (the released model's
shape; Deep SAD by default, one of the two candidates released most often and the one with a
term for labelled normals), one CPU thread; `--epochs` shortens the deep methods' training.

Run: `OMP_NUM_THREADS=1 python -m benchmarks.review_loop --epochs 20 --max-rows 1000` (the
RESULTS.md run: 468 ensemble fits, about half an hour as two processes on a loaded 2-core
machine; each table and seed is independent: split the run by `--datasets`, add a share later with
`--queues-only`, concatenate the CSVs, then `--report-only`); rows to
benchmarks/results/review_loop_<methods>.csv, plot and RESULTS.md section from them
(benchmarks/review_loop_report.py).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score

from benchmarks.report import replace_section
from benchmarks.review_loop_report import BASELINES, plot, report
from components.detectors import make
from components.detectors.base import applicable_params
from components.detectors.ensemble import RankEnsemble
from components.review.queue import build_queue
from components.selection.adbench import load_table, make_split
from components.selection.calibration import calibrate_threshold
from components.selection.contamination import estimate_contamination

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("annthyroid", "cardio", "mammography", "pageblocks", "thyroid", "wilt")
SHARES = (0.2, 0.4, 0.5)
N_START = 5


def detector(methods: tuple[str, ...], epochs: int | None, seed: int) -> RankEnsemble:
    """A 3-seed rank ensemble of `methods` at their defaults, on one CPU thread; `epochs`,
    when given, caps the deep methods' epochs, pretraining included."""
    shared: dict[str, object] = {"device": "cpu", "verbose": False, "n_jobs": 1}
    if epochs is not None:
        shared |= {"epochs": epochs, "pretrain_epochs": epochs}
    det = make(
        "ensemble",
        methods=methods,
        method_params={m: applicable_params(m, shared) for m in methods},
        n_seeds=3,
        random_state=seed,
    )
    assert isinstance(det, RankEnsemble)
    return det


def pick(
    strategy: str,
    det: RankEnsemble,
    X: np.ndarray,
    y: np.ndarray,
    truth: np.ndarray,
    k: int,
    rng: np.random.Generator,
    seed: int,
) -> np.ndarray:
    """The `k` train rows the strategy sends to the analyst."""
    unlabelled = y == 0
    if strategy == "random":
        return rng.choice(np.flatnonzero(unlabelled), size=k, replace=False)
    if strategy == "anomalies":
        hidden = np.flatnonzero(unlabelled & (truth == 1))
        return rng.choice(hidden, size=min(k, len(hidden)), replace=False)
    share = 0.0 if strategy == "top" else float(strategy.removeprefix("queue@"))
    scores = det.decision_function(X)
    contamination = estimate_contamination(X, y, n_bootstrap=1, random_state=seed).estimate
    threshold = calibrate_threshold(scores[unlabelled], "quantile", contamination).value
    members = det.member_scores(X)
    return build_queue(scores, unlabelled, k, share, threshold, members).rows


def simulate(
    name: str,
    seed: int,
    strategies: list[str],
    rounds: int,
    per_round: int,
    methods: tuple[str, ...],
    epochs: int | None,
    max_rows: int,
) -> list[dict]:
    """One row per (strategy, round): test AUC-PR and the verdicts so far."""
    X, y_true = load_table(SHARED / f"{name}.parquet")
    split = make_split(X, y_true, label_ratio=0.0, seed=seed, max_rows=max_rows)
    truth = split.y_train_true
    rng = np.random.default_rng(seed)
    y0 = np.zeros_like(truth)
    y0[rng.choice(np.flatnonzero(truth == 1), size=N_START, replace=False)] = 1
    start = detector(methods, epochs, seed).fit(split.X_train, y0)
    first = average_precision_score(split.y_test, start.decision_function(split.X_test))
    rows = []
    for strategy in strategies:
        det, y = start, y0.copy()
        rows.append(_row(name, seed, strategy, 0, first, y))
        pick_rng = np.random.default_rng([seed, *strategy.encode()])
        for round_ in range(1, rounds + 1):
            chosen = pick(strategy, det, split.X_train, y, truth, per_round, pick_rng, seed)
            y[chosen] = np.where(truth[chosen] == 1, 1, -1)
            det = detector(methods, epochs, seed).fit(split.X_train, y)
            auc = average_precision_score(split.y_test, det.decision_function(split.X_test))
            rows.append(_row(name, seed, strategy, round_, auc, y))
    return rows


def _row(name: str, seed: int, strategy: str, round_: int, auc: float, y: np.ndarray) -> dict:
    return {
        "dataset": name,
        "seed": seed,
        "strategy": strategy,
        "round": round_,
        "auc_pr": float(auc),
        "anomalies_labelled": int((y == 1).sum()),
        "dismissed": int((y == -1).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--shares", nargs="+", type=float, default=list(SHARES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--methods", nargs="+", default=["deepsad"])
    parser.add_argument("--epochs", type=int, default=None, help="default: each method's own")
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--out", type=Path, help="default: results/review_loop_<methods>.csv")
    parser.add_argument("--report-only", action="store_true", help="table and plot from --out")
    parser.add_argument(
        "--queues-only", action="store_true", help="skip the baselines (to add a share later)"
    )
    parser.add_argument("--command", help="the command(s) to quote in RESULTS.md")
    parser.add_argument("--note", default="", help="how this run differs, for RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    name = "review_loop_" + "+".join(args.methods)
    out = args.out or RESULTS / f"{name}.csv"
    queues = [f"queue@{s:g}" for s in args.shares]
    if not args.report_only:
        run = queues + ([] if args.queues_only else list(BASELINES))
        rows: list[dict] = []
        for table in args.datasets:
            for seed in args.seeds:
                began = time.perf_counter()
                rows += simulate(
                    table,
                    seed,
                    run,
                    args.rounds,
                    args.per_round,
                    tuple(args.methods),
                    args.epochs,
                    args.max_rows,
                )
                pd.DataFrame(rows).to_csv(out, index=False)
                print(f"{table} seed {seed}: {time.perf_counter() - began:.0f}s", flush=True)
        if args.queues_only or set(args.datasets) != set(DATASETS):
            return  # a part of the run: the report waits for all of them (--report-only)
    results = pd.read_csv(out)
    found = set(results["strategy"])
    strategies = sorted(found - set(BASELINES)) + [b for b in BASELINES if b in found]
    detector = " + ".join(args.methods)
    plot(results, strategies, RESULTS / f"{name}.png", f"Simulated analyst, {detector}")
    command = args.command or "OMP_NUM_THREADS=1 python -m benchmarks.review_loop"
    section = report(
        results, strategies, args.rounds, detector, command, name, args.note, tuple(args.methods)
    )
    print(section)
    replace_section(Path(__file__).parent / "RESULTS.md", section.splitlines()[0], section)


if __name__ == "__main__":
    main()
