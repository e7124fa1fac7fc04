"""Every method on the synthetic task family (components/synthetic.py): where does a method
collapse while its peers learn, and where do all of them fall below IsolationForest?

For each task of `synthetic.family` and seed: the task is drawn for the seed, every method is
fitted at its defaults on the train split (`random_state=seed`, one thread) and scored on the
held-out test split with the true labels (AUC-PR, AUC-ROC, fit seconds). Rows are appended
to the CSV as they finish, tagged with `--version` (e.g. before/after a change), so a long
run can be split over processes and resumed; `--report` renders the CSV as markdown tables
(per version, mean AUC-PR over seeds, task x method; then the seed spread).

Run: `OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.synthetic_family --version after`,
then `python -m benchmarks.synthetic_family --report`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from components import synthetic
from components.benchmark import evaluate
from components.detectors import available
from components.detectors.base import applicable_params

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "datasets"
OUT = HERE / "results" / "synthetic_family.csv"


def run(
    specs: list[synthetic.TaskSpec], methods: list[str], seeds: list[int], version: str, out: Path
) -> None:
    """Fit and score every (task, seed, method) not yet in `out` for this version."""
    done: set[tuple[str, int, str]] = set()
    if out.exists():
        old = pd.read_csv(out)
        old = old[old.version == version]
        done = set(zip(old.task, old.seed, old.method, strict=True))
    for spec in specs:
        for seed in seeds:
            todo = [m for m in methods if (spec.name, seed, m) not in done]
            if not todo:
                continue
            start = time.perf_counter()
            task = spec.build(seed)
            generate = time.perf_counter() - start
            for method in todo:
                row: dict[str, Any] = {"version": version, "task": spec.name, "seed": seed}
                row |= {"method": method, "n_train": len(task.X), "generate_seconds": generate}
                params = applicable_params(method, {"random_state": seed, "device": "cpu"})
                row |= evaluate(method, task.split, params)
                pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
                print(f"{spec.name} seed {seed} {method}: AUC-PR {row['auc_pr']:.3f}", flush=True)


def _table(frame: pd.DataFrame, values: str, fmt: str) -> list[str]:
    table = frame.pivot_table(index="task", columns="method", values=values, aggfunc="mean")
    order = [t for t in dict.fromkeys(frame.task) if t in table.index]
    table = table.loc[order]
    table.loc["**mean**"] = table.mean()
    columns = [m for m in available() if m in table.columns]
    lines = ["| task | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for task, cells in table[columns].iterrows():
        lines.append(f"| {task} | " + " | ".join(format(v, fmt) for v in cells) + " |")
    return lines


def report(out: Path) -> str:
    """Markdown: per version, mean test AUC-PR over seeds and mean fit seconds (task x
    method), then the median and 90th percentile of the per-(task, method) seed std."""
    frame = pd.read_csv(out)
    lines: list[str] = []
    for version, part in frame.groupby("version", sort=False):
        seeds = sorted(part.seed.unique())
        lines += [f"**{version}**: mean test AUC-PR over seeds {seeds}", ""]
        lines += _table(part, "auc_pr", ".3f") + [""]
        lines += [f"**{version}**: mean fit seconds", ""]
        lines += _table(part, "fit_seconds", ".1f") + [""]
        spread = part.groupby(["task", "method"]).auc_pr.std().dropna()
        lines.append(
            f"{version}: seed std of AUC-PR per (task, method): median {spread.median():.3f}, "
            f"90th percentile {np.quantile(spread, 0.9):.3f}, max {spread.max():.3f}"
        )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="current", help="tag for these rows")
    parser.add_argument("--methods", default=",".join(available()))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tasks", default="", help="only tasks whose name contains this")
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", action="store_true", help="print the markdown tables")
    args = parser.parse_args()
    if args.report:
        print(report(args.out))
        return
    torch.set_num_threads(1)
    specs = [s for s in synthetic.family(args.data_dir) if args.tasks in s.name]
    seeds = [int(s) for s in args.seeds.split(",")]
    run(specs, args.methods.split(","), seeds, args.version, args.out)


if __name__ == "__main__":
    main()
