"""Which instance definition should `devnet-topk` use on tables? Random feature subsets vs
groups of a shared hidden layer (plain DevNet for reference), on a few shared datasets under
the ADBench protocol (label ratio 0.1, at most 5,000 rows, same split for every column).

Run: `OMP_NUM_THREADS=1 python -m benchmarks.topk_subspaces` (a few minutes on one core);
prints a markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from benchmarks import smoke
from components.selection.adbench import evaluate, load_table, make_split

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DATASETS = ("cardio", "thyroid", "pendigits", "optdigits", "pageblocks", "wilt")
VARIANTS = {  # column -> (method, parameters); plain DevNet as the reference
    "random": ("devnet-topk", {"subspaces": "random"}),
    "hidden": ("devnet-topk", {"subspaces": "hidden"}),
    "devnet": ("devnet", {}),
}


def compare(data_dir: Path, datasets: list[str], seeds: list[int], epochs: int) -> pd.DataFrame:
    """One row per (dataset, variant, seed): test AUC-PR/AUC-ROC and fit time."""
    rows = []
    for name in datasets:
        X, y = load_table(data_dir / f"{name}.parquet")
        for seed in seeds:
            split = make_split(X, y, label_ratio=0.1, seed=seed, max_rows=5000)
            for variant, (method, params) in VARIANTS.items():
                fitted = evaluate(
                    method,
                    split,
                    {**params, "epochs": epochs, "random_state": seed, "device": "cpu"},
                )
                rows.append({"dataset": name, "variant": variant, "seed": seed, **fitted})
    return pd.DataFrame(rows)


def markdown(results: pd.DataFrame) -> str:
    """Mean AUC-PR (± std over seeds) per dataset and variant, plus the mean over datasets."""
    pr = results.groupby(["dataset", "variant"])["auc_pr"].agg(["mean", "std"]).unstack()
    lines = ["| dataset | " + " | ".join(VARIANTS) + " |", "|---" * (len(VARIANTS) + 1) + "|"]
    for name in pr.index:
        cells = [
            f"{pr.loc[name, ('mean', v)]:.3f} ± {pr.loc[name, ('std', v)]:.3f}" for v in VARIANTS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = results.groupby("variant")[["auc_pr", "auc_roc", "fit_seconds"]].mean()
    lines.append(
        "| **mean AUC-PR** | "
        + " | ".join(f"**{means.loc[v, 'auc_pr']:.3f}**" for v in VARIANTS)
        + " |"
    )
    lines.append(
        "| mean AUC-ROC | " + " | ".join(f"{means.loc[v, 'auc_roc']:.3f}" for v in VARIANTS) + " |"
    )
    lines.append(
        "| mean fit s | "
        + " | ".join(f"{means.loc[v, 'fit_seconds']:.1f}" for v in VARIANTS)
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("topk_subspaces.csv"))
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        args.data_dir = smoke.smoke_dir()
        args.datasets, args.seeds, args.epochs = smoke.TABLES[0], "0", 1
        args.out = args.data_dir / "topk_subspaces.csv"
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = compare(args.data_dir, args.datasets.split(","), seeds, args.epochs)
    results.to_csv(args.out, index=False)
    print(markdown(results))


if __name__ == "__main__":
    main()
