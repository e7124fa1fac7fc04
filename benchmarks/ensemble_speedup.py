"""Does training N seeds of one method as one stacked ensemble (`fit_many`) pay, and does it
give the same models? N sequential fits vs one `fit_many` call, side by side in one process,
on one ADBench split of a shared dataset, at each method's defaults (the papers').

    OMP_NUM_THREADS=1 python -m benchmarks.ensemble_speedup --data-dir ../shared/datasets
    python3 -m benchmarks.ensemble_speedup --data-dir ../shared/datasets --device cuda
"""

from __future__ import annotations

import datetime
import os
import shlex
import statistics
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import torch
import typer
from sklearn.metrics import average_precision_score

from benchmarks import smoke
from benchmarks.plots import bar_chart
from benchmarks.report import SHARED_TABLES, machine, replace_section, show_table, synced_now
from components.detectors import make
from components.detectors.api import fit_many, resolve_device
from components.selection.adbench import load_table, make_split
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Ensemble training: N seeds in one stacked pass"


def measure(
    method: str, split_args: tuple, members: int, device: str, repeats: int, epochs: int | None
) -> dict[str, float | str]:
    """Median seconds of N one-by-one fits and of one `fit_many` call (alternated, so both
    see the same machine load), and the test AUC-PR of both sets of models."""
    split = make_split(*split_args)
    seeds = list(range(members))
    params = {"device": device, **({"epochs": epochs} if epochs else {})}
    template = make(method, **params)
    where = resolve_device(device)
    seq_times, batch_times = [], []
    for _ in range(repeats):
        start = synced_now(where)
        alone = [
            make(method, **params, random_state=s).fit(split.X_train, split.y_train) for s in seeds
        ]
        seq_times.append(synced_now(where) - start)
        start = synced_now(where)
        together = fit_many(template, split.X_train, [split.y_train] * members, seeds)
        batch_times.append(synced_now(where) - start)
    pr_alone = [
        average_precision_score(split.y_test, d.decision_function(split.X_test)) for d in alone
    ]
    pr_together = [
        average_precision_score(split.y_test, d.decision_function(split.X_test)) for d in together
    ]
    gaps = [abs(a - b) for a, b in zip(pr_alone, pr_together, strict=True)]
    seq, batch = statistics.median(seq_times), statistics.median(batch_times)
    return {
        "method": method,
        "sequential_s": seq,
        "stacked_s": batch,
        "speedup": seq / batch,
        "auc_pr_sequential": f"{np.mean(pr_alone):.3f} ± {np.std(pr_alone):.3f}",
        "auc_pr_stacked": f"{np.mean(pr_together):.3f} ± {np.std(pr_together):.3f}",
        "max_same_seed_gap": max(gaps),
    }


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = SHARED_TABLES,
    dataset: Annotated[str, typer.Option(help="table name")] = "cardio",
    methods: Annotated[str, typer.Option(help="comma-separated")] = "devnet,prenet,deepsad",
    members: Annotated[int, typer.Option(help="seeds per ensemble")] = 8,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "cpu",
    repeats: Annotated[int, typer.Option(help="timings per side; medians reported")] = 3,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 1,
    epochs: Annotated[int | None, typer.Option(help="epochs per fit; default the method's")] = None,
    max_rows: Annotated[int, typer.Option(help="stratified subsample (ADBench)")] = 10_000,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="CSV and plot folder")] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table, write the CSV, the plot and the section of RESULTS.md."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, dataset, methods = data_dir / "RESULTS.md", smoke.TABLES[0], "devnet"
        members, repeats, epochs = 2, 1, 1
    torch.set_num_threads(threads)
    split_args = (*load_table(data_dir / f"{dataset}.parquet"), 0.1, 0, max_rows)
    load_before = os.getloadavg()[0]
    rows = [
        measure(m, split_args, members, device, repeats, epochs) for m in csv_list(methods, str)
    ]
    load_after = os.getloadavg()[0]
    where = str(resolve_device(device))
    frame = pd.DataFrame(rows).assign(device=where, members=members, dataset=dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / f"ensemble_speedup_{where}.csv", index=False)
    bar_chart(
        frame.rename(columns={"sequential_s": f"{members} fits", "stacked_s": "stacked"}),
        "method",
        [f"{members} fits", "stacked"],
        out_dir / f"ensemble_speedup_{where}.png",
        f"{members} seeds: one by one vs one stacked pass ({where}, {dataset})",
        "seconds",
    )
    cols = (
        "method",
        f"{members} fits s",
        "stacked s",
        "speed-up",
        "AUC-PR 1-by-1",
        "AUC-PR stacked",
        "max same-seed AUC-PR gap",
    )
    cells = [
        [
            str(r["method"]),
            f"{r['sequential_s']:.1f}",
            f"{r['stacked_s']:.1f}",
            f"{r['speedup']:.2f}x",
            str(r["auc_pr_sequential"]),
            str(r["auc_pr_stacked"]),
            f"{r['max_same_seed_gap']:.4f}",
        ]
        for r in rows
    ]
    title = f"{members} seeds: one by one vs one stacked pass ({where})"
    lines = show_table(title, cols, cells)
    command = "python -m benchmarks.ensemble_speedup " + shlex.join(sys.argv[1:])
    section = f"""{HEADING}

`{command}`. Machine: {machine().replace("1 thread per fit", f"{threads} torch thread(s)")};
device {where}; load average {load_before:.1f} before, {load_after:.1f} after (shared machine).
Date: {datetime.date.today()}. Dataset {dataset}, ADBench split (seed 0, label ratio 0.1, at
most {max_rows:,} rows), each method at its defaults{f", {epochs} epochs" if epochs else ""};
seeds 0-{members - 1} on the same split (raw rows: ensemble_speedup_{where}.csv).
"{members} fits" = {members} sequential `fit` calls; "stacked" = one `fit_many` call (parameters
stacked with torch.func, one vmapped forward/backward and one optimiser step per batch for all
members; each member keeps its own init, reference draws and batches). Median of {repeats}
alternated timings. The same-seed AUC-PR gap compares member i with the sequential fit of seed i
(they differ only by float summation order; Deep SAD's 150 epochs with BatchNorm amplify it
into a seed-sized AUC-PR difference, same mean and spread). On CPU the members' arithmetic
still shares the same cores, so the gain is the per-step overhead saved (Python, dispatch,
sampler and optimiser calls for one stack instead of N nets), not compute; the issue's target
(>= 4x for 8 seeds) is for one GPU, where the stacked pass fills the device.
{"" if where.startswith("cuda") else "GPU: unmeasured here (benchmarks/gpu_suite.sh)."}

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
