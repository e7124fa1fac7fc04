"""How close the label-free performance estimate (components/monitoring/performance/) comes
to the truth, out of sample: estimated vs realised precision and recall at the threshold,
alerts per 10,000 rows and AUC-PR on each split's held-out test rows.

Reads the release grid's cache (benchmarks/release_grid.py) and rebuilds on every split what
`wsad train` releases, with `benchmarks.release_quality.release` (the flow's `plan_release`
and threshold, nothing refitted). The estimate is the flow's
(flows/usecases/performance_estimate.py): `performance.training_basis` on the release's
combined cross-validation, the threshold's flag rate on the training rows without a label,
and the contamination estimated on the release's out-of-fold scores. Beside it, to tell
where its error comes from: the same estimate from the first, feature-space contamination
estimate, from both searched together, from the true contamination,
and read at the test rows' own flag rate (the threshold's in-sample bias removed); the naive
baseline precision = contamination / flag rate; and the batch estimate
(`performance.estimate_batch`) on two batches: the test rows as they are, and the test rows
with their anomaly share tripled (normal rows dropped at random), the shift the batch model
assumes.

    python -m benchmarks.estimate_accuracy --cache /work/cache/release --write
    python -m benchmarks.estimate_accuracy --smoke   # a synthetic cache, seconds
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from benchmarks.estimate_accuracy_report import HEADING, QUANTITIES, SHIFT, render
from benchmarks.release_quality import CachedSplit, load_split, normalised, release
from benchmarks.report import replace_section
from components.monitoring.performance import (
    Estimated,
    PerformanceBasis,
    PerformanceError,
    PerformanceEstimate,
    estimate_batch,
    training_basis,
)
from components.selection.contamination import (
    ContaminationError,
    ContaminationEstimate,
    release_estimate,
)
from components.selection.defaults import (
    DEFAULT_CANDIDATES,
    DEFAULT_SEEDS,
    DEFAULT_TOLERANCE,
    DEFAULT_TOP,
)
from components.selection.ensemble_plan import fold_ids
from components.selection.evaluation import SelectionResult

RESULTS = Path(__file__).with_name("RESULTS.md")


def realised(scores: np.ndarray, flags: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The truth on labelled rows: precision and recall at the threshold, alerts, AUC-PR."""
    return {
        "precision": float(y[flags].mean()) if flags.any() else float("nan"),
        "recall": float(flags[y == 1].mean()),
        "alerts_per_10k": 10_000 * float(flags.mean()),
        "auc_pr": float(average_precision_score(y, scores)),
    }


def binomial_floor(recall: float, n: int) -> float:
    """E|k / n - recall| for k ~ Binomial(n, recall): the mean absolute error of a recall read
    off n held-out labelled anomalies even when everything else is exact."""
    return sum(
        math.comb(n, k) * recall**k * (1 - recall) ** (n - k) * abs(k / n - recall)
        for k in range(n + 1)
    )


def _cells(prefix: str, estimate: PerformanceEstimate | None) -> dict[str, float]:
    assert estimate is not None  # training_basis always sets it
    out: dict[str, float] = {}
    for name in QUANTITIES:
        est: Estimated = getattr(estimate, name)
        out |= {f"{prefix}{name}": est.value, f"{prefix}{name}_low": est.low,
                f"{prefix}{name}_high": est.high}  # fmt: skip
    return out


def shifted(y: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Rows of a batch holding every anomaly and enough normal rows, drawn at random, for
    `factor` times the anomaly share (capped below one half)."""
    anomalies, normal = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    share = min(factor * len(anomalies) / len(y), 0.5)
    keep = min(len(normal), round(len(anomalies) * (1 - share) / share))
    return np.sort(np.r_[anomalies, rng.choice(normal, size=keep, replace=False)])


def contaminations(split: CachedSplit, sel: SelectionResult) -> dict[str, ContaminationEstimate]:
    """Every contamination source compared, by its cell prefix: the flow's (best-bin on the
    release's out-of-fold scores), the first estimate (on feature-space scores), both
    searched together (best-bin's rule over the union of their bins: the lower upper end,
    the lowest lower end), and the truth (an oracle no run has)."""
    facts = split.facts
    scores = release_estimate(sel.held_out_scores, sel.held_out_y == 1)
    features = ContaminationEstimate(facts["estimate"], facts["low"], facts["high"], "features")
    tighter = min(scores, features, key=lambda c: c.high)
    both = ContaminationEstimate(
        tighter.estimate, min(scores.low, features.low), tighter.high, "both"
    )
    truth = facts["truth"]
    return {
        "est_": scores,
        "features_": features,
        "both_": both,
        "oracle_": ContaminationEstimate(truth, truth, truth, "truth"),
    }


def split_row(folder: Path, split: CachedSplit) -> dict[str, object]:
    """One split: the training estimate from each contamination source, the naive baseline,
    the batch estimates and the truth on the test rows; only the split's name and why when
    there is no estimate (as the flow logs it and goes on)."""
    try:
        return _estimated(folder, split)
    except (PerformanceError, ContaminationError) as err:
        return {"split": folder.name, "no_estimate": str(err)}


def _estimated(folder: Path, split: CachedSplit) -> dict[str, object]:
    k = DEFAULT_SEEDS
    normed = {m: normalised(c, k, split.unlabelled) for m, c in split.candidates.items()}
    rel = release(split, normed, DEFAULT_TOP, DEFAULT_TOLERANCE, k)
    facts, y_test, sel = split.facts, split.labels["y_test"], rel.selection
    flag_rate = float(rel.threshold.flag(rel.train[split.unlabelled]).mean())
    flags = rel.threshold.flag(rel.test)
    counts = int(split.unlabelled.sum()), int((split.labels["y_train"] == 1).sum())

    def basis(c: ContaminationEstimate, rate: float) -> PerformanceBasis:
        pi = Estimated(c.estimate, c.low, c.high)
        return training_basis(
            sel.held_out_scores, sel.held_out_y, fold_ids(sel), rate, *counts, pi, c.trusted
        )

    sources = contaminations(split, sel)
    bases = {prefix: basis(c, flag_rate) for prefix, c in sources.items()}
    # the flow's estimate read at the test rows' own flag rate: what a flag rate measured on
    # rows the model was not fitted on would give (the in-sample bias removed)
    bases["atq_"] = basis(sources["est_"], float(flags.mean()))
    product = bases["est_"]
    batch = estimate_batch(product, len(y_test), int(flags.sum()))
    rows = shifted(y_test, SHIFT, np.random.default_rng(0))
    moved = estimate_batch(product, len(rows), int(flags[rows].sum()))
    table, n, seed = folder.name.rsplit("-", 2)
    truth = realised(rel.test, flags, y_test)
    truth_moved = realised(rel.test[rows], flags[rows], y_test[rows])
    cells: dict[str, float] = {}
    for prefix, b in bases.items():
        cells |= _cells(prefix, b.training)
    return {
        "split": folder.name,
        "table": table,
        "n_labels": int(n[1:]),
        "seed": int(seed[1:]),
        "members": "+".join(rel.members),
        "trusted": sources["est_"].trusted,
        "features_trusted": facts["trusted"],
        **{f"{p}contamination": c.estimate for p, c in sources.items()},
        "flag_rate": flag_rate,
        "naive_precision": min(1.0, facts["estimate"] / flag_rate),
        "batch_naive_precision": min(1.0, facts["estimate"] / max(float(flags.mean()), 1e-12)),
        "recall_floor": binomial_floor(truth["recall"], len(product.anomaly_ranks)),
        **cells,
        **_cells("batch_", batch),
        **_cells("moved_", moved),
        **{f"true_{k}": v for k, v in truth.items()},
        **{f"moved_true_{k}": v for k, v in truth_moved.items()},
        "moved_flags_training": bool(moved.moved),
    }


def _smoke_cache(root: Path, methods: list[str]) -> None:
    """Two synthetic splits in the cache's layout: scores that separate anomalies partly."""
    rng = np.random.default_rng(0)
    for n_labels in (5, 10):
        folder = root / f"toy-n{n_labels}-s0"
        folder.mkdir(parents=True)
        truth = (rng.random(700) < 0.08).astype(int)
        y_train = np.zeros(700, dtype=int)
        y_train[rng.choice(np.flatnonzero(truth), n_labels, replace=False)] = 1
        y_test = (rng.random(300) < 0.08).astype(int)
        facts = {"estimate": 0.07, "low": 0.04, "high": 0.1, "trusted": True, "share": 0.07,
                 "fallback": False, "truth": 0.08, "test_share": float(y_test.mean())}  # fmt: skip
        (folder / "contamination.json").write_text(json.dumps(facts))
        np.savez(folder / "split.npz", y_train=y_train, y_train_true=truth, y_test=y_test)
        folds = np.empty(700, dtype=int)  # stratified: labelled anomalies in every fold
        for label in (0, 1):
            folds[y_train == label] = np.arange((y_train == label).sum()) % 3
        for m in methods:
            train = np.stack([_noisy(truth, rng) for _ in range(DEFAULT_SEEDS)])
            test = np.stack([_noisy(y_test, rng) for _ in range(DEFAULT_SEEDS)])
            np.savez(folder / f"{m}.npz", cv_scores=_noisy(truth, rng), cv_y=y_train,
                     cv_fold=folds, train_scores=train, test_scores=test)  # fmt: skip


def _noisy(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores two standard deviations higher for anomalies."""
    return 2.0 * y + rng.normal(size=len(y))


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/release"))
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/results/estimate.csv"))
    parser.add_argument("--write", action="store_true", help="replace the RESULTS.md section")
    parser.add_argument("--smoke", action="store_true", help="a synthetic cache, no RESULTS")
    args = parser.parse_args(argv)
    methods = list(DEFAULT_CANDIDATES)
    load_before, cpu = os.getloadavg()[0], time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache
        if args.smoke:
            cache = Path(tmp)
            _smoke_cache(cache, methods)
        folders = [f for f in sorted(cache.iterdir()) if f.is_dir()]
        complete = [f for f in folders if all((f / f"{m}.npz").exists() for m in methods)]
        every = pd.DataFrame([split_row(f, load_split(f, methods)) for f in complete])
    if "no_estimate" not in every.columns:
        every["no_estimate"] = None
    skipped = every[every["no_estimate"].notna()]
    rows = every.drop(index=skipped.index, columns="no_estimate", errors="ignore")
    rows = rows.astype({"n_labels": int, "seed": int, "trusted": bool, "features_trusted": bool})
    command = f"python -m benchmarks.estimate_accuracy --cache {args.cache} --write"
    cost = (
        f"{time.process_time() - cpu:.0f} CPU-s (no model is fitted: the cache holds the "
        f"scores), load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(shared machine)"
    )
    section = render(rows, command, skipped, cost)
    if not args.smoke:
        rows.to_csv(args.csv, index=False)
        if args.write:
            replace_section(RESULTS, HEADING, section)
    return rows


if __name__ == "__main__":
    main()
