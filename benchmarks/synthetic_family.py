"""Every method on the synthetic task family (benchmarks/synthetic): where does a method
collapse while its peers learn, and where do all of them fall below IsolationForest?

For each task of `synthetic.family` and seed: the task is drawn for the seed, every method is
fitted at its defaults on the train split (`random_state=seed`, one thread) and scored on the
held-out test split with the true labels (AUC-PR, AUC-ROC, fit seconds). Rows are appended
to the CSV as they finish, tagged with `--version` (e.g. before/after a change), so a long
run can be split over processes and resumed; `--report` renders the CSV as markdown tables
(per version, mean AUC-PR over seeds, task x method; then the seed spread).

Run: `OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.synthetic_family --version before
--before` and `... --version after`, then `python -m benchmarks.synthetic_family --report`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks import smoke, synthetic
from benchmarks.report import machine, replace_section
from components.detectors import available
from components.detectors.api import applicable_params
from components.selection.adbench import evaluate

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "datasets"
OUT = HERE / "results" / "synthetic_family.csv"
HEADING = "## Synthetic task family (issue 15)"


# What the training-length and ESAD changes replaced: the papers' fixed step counts and
# ESAD's shuffled batches (`--before` runs the methods so, on the same draws).
BEFORE = {"until_converged": False, "balanced_batches": False}
# A smoke run: one small task, the peers and IsolationForest, one epoch, before and after.
SMOKE_METHODS = ",".join([*synthetic.PEERS, "iforest"])
SMOKE_PARAMS = {"epochs": 1, "pretrain_epochs": 1}


def run(
    specs: list[synthetic.TaskSpec],
    methods: list[str],
    seeds: list[int],
    version: str,
    out: Path,
    overrides: dict[str, Any] | None = None,
) -> None:
    """Fit and score every (task, seed, method) not yet in `out` for this version, with
    `overrides` on top of each method's defaults where the method has them."""
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
                shared = {"random_state": seed, "device": "cpu", **(overrides or {})}
                params = applicable_params(method, shared)
                row |= evaluate(method, task.split, params)
                pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
                print(f"{spec.name} seed {seed} {method}: AUC-PR {row['auc_pr']:.3f}", flush=True)


def _means(frame: pd.DataFrame, values: str) -> pd.DataFrame:
    """Mean over seeds, tasks in run order as rows, methods in registry order as columns."""
    table = frame.pivot_table(index="task", columns="method", values=values, aggfunc="mean")
    table = table.loc[[t for t in dict.fromkeys(frame.task) if t in table.index]]
    return table[[m for m in available() if m in table.columns]]


def _markdown(table: pd.DataFrame, cell: Any) -> list[str]:
    lines = ["| task | " + " | ".join(table.columns) + " |", "|---|" + "---|" * table.shape[1]]
    for task in table.index:
        lines.append(f"| {task} | " + " | ".join(cell(task, m) for m in table.columns) + " |")
    return lines


def collapses(table: pd.DataFrame) -> list[str]:
    """Methods at or below IsolationForest's mean AUC-PR on a task where every peer (DevNet,
    PReNet, Deep SAD) is above it."""
    found = []
    for task, row in table.iterrows():
        if all(row[p] > row["iforest"] for p in synthetic.PEERS):
            found += [
                f"{m} on {task} ({row[m]:.3f} vs IsolationForest {row['iforest']:.3f})"
                for m in table.columns
                if m != "iforest" and row[m] <= row["iforest"]
            ]
    return found


def report(out: Path, before: str = "before", after: str = "after") -> str:
    """Markdown: mean test AUC-PR (task x method; "before -> after" for the methods re-run
    under `after`, every other method's rows are `before`'s: same code, same draws), the
    collapses in each, epochs trained and fit seconds after, and the seed spread."""
    frame = pd.read_csv(out)
    old = frame[frame.version == before]
    rerun = set(frame[frame.version == after].method)
    new = pd.concat([frame[frame.version == after], old[~old.method.isin(rerun)]])
    auc_old, auc_new = _means(old, "auc_pr"), _means(new, "auc_pr")
    for table in (auc_old, auc_new):
        table.loc["**mean**"] = table.mean()

    def auc_cell(task: str, method: str) -> str:
        value = f"{auc_new.loc[task, method]:.3f}"
        return f"{auc_old.loc[task, method]:.3f} → {value}" if method in rerun else value

    seeds = sorted(int(s) for s in new.seed.unique())
    lines = [f"Mean test AUC-PR over seeds {seeds} ({before} → {after} where re-run):", ""]
    lines += _markdown(auc_new, auc_cell) + [""]
    for version, table in ((before, auc_old), (after, auc_new)):
        found = collapses(table.drop(index="**mean**"))
        lines.append(f"Collapses {version}: " + ("; ".join(found) or "none") + ".")
    epochs = _means(new[new.method.isin(rerun)], "epochs")
    lines += ["", f"Mean epochs trained {after} (the papers' count before):", ""]
    lines += _markdown(epochs, lambda t, m: f"{epochs.loc[t, m]:.0f}") + [""]
    fit = _means(new, "fit_seconds")
    lines += [f"Mean fit seconds {after} (wall clock on a shared machine):", ""]
    lines += _markdown(fit, lambda t, m: f"{fit.loc[t, m]:.1f}") + [""]
    spread = new.groupby(["task", "method"]).auc_pr.std().dropna()
    q90 = np.quantile(spread, 0.9)
    lines.append(
        f"Seed std of AUC-PR per (task, method), {after}: median {spread.median():.3f}, "
        f"90th percentile {q90:.3f}, max {spread.max():.3f}; two standard errors of a "
        f"difference of two 2-seed means: {2 * spread.median():.3f} at the median (the tests' "
        f"SEED_NOISE, benchmarks/synthetic/family.py), {2 * q90:.3f} at the 90th percentile."
    )
    return "\n".join(lines)


def smoke_run(folder: Path) -> None:
    """Rows before and after on one small task (two seeds: the report shows their spread),
    then the report, all in `folder`."""
    out, spec = folder / "synthetic_family.csv", synthetic.subspace_spec(n_rows=1000, n_labelled=5)
    for version, before in (("before", BEFORE), ("after", {})):
        run([spec], SMOKE_METHODS.split(","), [0, 1], version, out, {**before, **SMOKE_PARAMS})
    text = report(out)
    print(text)
    replace_section(folder / "RESULTS.md", HEADING, f"{HEADING}\n\n{text}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="current", help="tag for these rows")
    parser.add_argument("--methods", default=",".join(available()))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tasks", default="", help="only tasks whose name contains one of these")
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", action="store_true", help="print before/after tables")
    parser.add_argument("--before", action="store_true", help="fixed lengths, shuffled ESAD")
    parser.add_argument("--write", action="store_true", help="--report into RESULTS.md too")
    parser.add_argument("--command", default="", help="the commands that made the rows")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        smoke_run(smoke.smoke_dir())
        return
    if args.report:
        text = report(args.out)
        print(text)
        if args.write:
            intro = (
                f"Machine: {machine()}. Commands: `{args.command}`; table: "
                f"`python -m benchmarks.synthetic_family --report --write`. Raw rows: "
                f"{args.out.relative_to(HERE.parent)}. Before = the papers' fixed training "
                "lengths and ESAD's shuffled batches (`--before`), after = the defaults now "
                "(training length until the loss stops falling, up to 4x; ESAD class-balanced)."
            )
            replace_section(HERE / "RESULTS.md", HEADING, f"{HEADING}\n\n{intro}\n\n{text}\n")
        return
    torch.set_num_threads(1)
    wanted = args.tasks.split(",")
    specs = [s for s in synthetic.family(args.data_dir) if any(w in s.name for w in wanted)]
    seeds = [int(s) for s in args.seeds.split(",")]
    overrides = BEFORE if args.before else None
    run(specs, args.methods.split(","), seeds, args.version, args.out, overrides)


if __name__ == "__main__":
    main()
