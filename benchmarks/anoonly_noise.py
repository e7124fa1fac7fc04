"""Does AnoOnly's anomaly-only loss make a base method robust to wrong anomaly labels?

For each shared dataset and seed (ADBench split, 10 % of the train anomalies labelled,
at most 5,000 rows), a share of the labelled set (0 %, 10 %, 30 %) is replaced by unlabelled
*normal* rows marked as anomalies (the labelled set keeps its size; the anomalies they
replace go back to the unlabelled set). Each base method and `anoonly(base)` is fitted on the
same noisy labels and scored on the clean test set (AUC-PR).

Run: `OMP_NUM_THREADS=1 python -m benchmarks.anoonly_noise` (about 15 minutes on one core);
prints a markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks import smoke
from components.detectors.api import applicable_params
from components.selection.adbench import Split, evaluate, load_table, make_split

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DATASETS = ("cardio", "annthyroid", "pageblocks")
BASES = ("devnet", "prenet", "deepsad", "feawad")
SHARES = (0.0, 0.1, 0.3)


def with_wrong_labels(split: Split, share: float, seed: int) -> Split:
    """The split with round(share * n_labelled) labelled anomalies swapped for true normals."""
    n_wrong = round(share * split.n_labelled)
    rng = np.random.default_rng(seed)
    y = split.y_train.copy()
    labelled = np.flatnonzero(y == 1)
    normals = np.flatnonzero(split.y_train_true == 0)
    y[rng.choice(labelled, size=n_wrong, replace=False)] = 0
    y[rng.choice(normals, size=n_wrong, replace=False)] = 1
    return dataclasses.replace(split, y_train=y)


def compare(
    data_dir: Path, datasets: list[str], seeds: list[int], epochs: int, pretrain_epochs: int
) -> Iterator[dict[str, Any]]:
    """One row per (dataset, wrong share, seed, method): test AUC-PR/AUC-ROC and fit time."""
    training = {"epochs": epochs, "pretrain_epochs": pretrain_epochs}
    for name in datasets:
        X, y = load_table(data_dir / f"{name}.parquet")
        for seed in seeds:
            clean = make_split(X, y, label_ratio=0.1, seed=seed, max_rows=5000)
            for share in SHARES:
                split = with_wrong_labels(clean, share, seed)
                for base in BASES:
                    for method, params in ((base, {}), ("anoonly", {"base": base})):
                        chosen = applicable_params(method, {"device": "cpu", **training, **params})
                        fitted = evaluate(method, split, {"random_state": seed, **chosen})
                        label = method if method == base else f"anoonly({base})"
                        keys = {"dataset": name, "wrong": share, "seed": seed, "method": label}
                        yield keys | fitted


def markdown(results: pd.DataFrame) -> str:
    """AUC-PR mean ± std over seeds per dataset and wrong-label share, then the mean over
    datasets per share."""
    methods = [m for b in BASES for m in (b, f"anoonly({b})")]
    stats = results.groupby(["dataset", "wrong", "method"])["auc_pr"].agg(["mean", "std"])
    lines = [
        "| dataset | wrong labels | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 2) + "|",
    ]
    for (name, share), block in stats.groupby(level=["dataset", "wrong"]):
        cells = [
            f"{block.loc[(name, share, m), 'mean']:.3f} ± {block.loc[(name, share, m), 'std']:.3f}"
            for m in methods
        ]
        lines.append(f"| {name} | {share:.0%} | " + " | ".join(cells) + " |")
    means = results.groupby(["wrong", "method"])["auc_pr"].mean()
    for share in SHARES:
        cells = [f"**{means.loc[(share, m)]:.3f}**" for m in methods]
        lines.append(f"| **mean** | {share:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("anoonly_noise.csv"))
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        args.data_dir = smoke.smoke_dir()
        args.datasets, args.seeds, args.epochs, args.pretrain_epochs = smoke.TABLES[0], "0", 1, 1
        args.out = args.data_dir / "anoonly_noise.csv"
    torch.set_num_threads(1)
    rows = []
    seeds = [int(s) for s in args.seeds.split(",")]
    datasets = args.datasets.split(",")
    for row in compare(args.data_dir, datasets, seeds, args.epochs, args.pretrain_epochs):
        rows.append(row)
        pd.DataFrame(rows).to_csv(args.out, index=False)  # partial results survive a stop
        print(f"{len(rows)}: {row['dataset']} {row['wrong']} {row['method']}", file=sys.stderr)
    print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
