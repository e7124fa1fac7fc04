"""How does fit time grow with the number of rows, ours vs DeepOD 0.4.1 at equal
hyperparameters? DevNet, PReNet and Deep SAD on 10k, 100k and 1M training rows resampled
(with replacement) from the training split of a real shared dataset.

Both sides get DeepOD's loop (Adam 1e-3, weight decay 1e-5, batch 64, no clipping, last
epoch kept, no pretraining; `benchmarks.vs_deepod`'s "deepod" configuration) and the same
number of epochs, an epoch being one pass over the rows as in DeepOD. A full 100-epoch fit at
1M rows takes hours on two cores, so the default is a few epochs: seconds per epoch and
microseconds per optimiser step are the fair units (a fit is epochs x that, plus fixed
set-up). DeepOD's `fit` also scores the whole training set for its threshold; that is inside
its fit time, as a user waits for it. CPU seconds of this process (one thread each side).

    OMP_NUM_THREADS=1 python -m benchmarks.fit_scaling --data-dir ../shared/datasets
    python3 -m benchmarks.fit_scaling --data-dir ../shared/datasets --device cuda
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import torch
import typer
from sklearn.metrics import average_precision_score

from benchmarks import smoke
from benchmarks.report import SHARED_TABLES, gpu_name, machine, replace_section, show_table
from benchmarks.vs_deepod import DEEPOD_CLASSES, import_deepod, pair_settings, warm_up
from components.detectors import make
from components.detectors.api import resolve_device
from components.selection.adbench import load_table, make_split
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Fit time vs rows: ours vs DeepOD 0.4.1"


def resample(split: Any, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n_rows` training rows drawn with replacement, labelled and unlabelled rows kept in
    their proportions (so the labelled share stays that of the split)."""
    rng = np.random.default_rng(seed)
    lab, unl = np.flatnonzero(split.y_train == 1), np.flatnonzero(split.y_train == 0)
    n_lab = max(2, round(n_rows * len(lab) / len(split.y_train)))
    idx = np.concatenate([rng.choice(lab, n_lab), rng.choice(unl, n_rows - n_lab)])
    return split.X_train[idx], split.y_train[idx]


def clock(device: torch.device) -> float:
    """CPU seconds of this process on CPU; wall seconds after a sync on a GPU."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def measure(
    method: str,
    X: np.ndarray,
    y: np.ndarray,
    test: tuple[np.ndarray, np.ndarray],
    epochs: int,
    device: str,
    deepod: Any | None,
) -> dict[str, Any]:
    """Seconds of one fit per side, per epoch / per step, and each model's AUC-PR on the
    split's test rows (DeepOD's NaN when skipped)."""
    ours, theirs, our_steps, their_steps = pair_settings("deepod", method, len(X), seed=0)
    ours = {**ours, "epochs": epochs, "device": device}
    theirs = {**theirs, "epochs": epochs, "device": device}
    where = resolve_device(device)
    start = clock(where)
    model = make(method, **ours).fit(X, y)
    ours_s = clock(where) - start
    auc_ours = average_precision_score(test[1], model.decision_function(test[0]))
    theirs_s = auc_theirs = float("nan")
    if deepod is not None:
        start = clock(where)
        model = getattr(deepod, DEEPOD_CLASSES[method])(**theirs).fit(X, y)
        theirs_s = clock(where) - start
        auc_theirs = average_precision_score(test[1], model.decision_function(test[0]))
    steps_ours = our_steps // 100 * epochs  # pair_settings counts DeepOD's 100 epochs
    steps_theirs = their_steps // 100 * epochs
    return {
        "method": method,
        "rows": len(X),
        "epochs": epochs,
        "device": str(where),
        "ours_s": ours_s,
        "deepod_s": theirs_s,
        "ours_s_per_epoch": ours_s / epochs,
        "deepod_s_per_epoch": theirs_s / epochs,
        "ours_us_per_step": 1e6 * ours_s / steps_ours,
        "deepod_us_per_step": 1e6 * theirs_s / steps_theirs,
        "speedup": theirs_s / ours_s,
        "auc_pr_ours": auc_ours,
        "auc_pr_deepod": auc_theirs,
    }


def plot(frame: pd.DataFrame, path: Path, other: pd.DataFrame | None = None) -> None:
    """Seconds per epoch vs rows, log-log, one colour per method, solid ours, dashed DeepOD;
    `other` (another device's CSV, e.g. the CPU run beside a GPU run) adds its curves dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (method, part) in enumerate(frame.groupby("method")):
        colour = f"C{i}"
        ax.plot(part["rows"], part["ours_s_per_epoch"], "o-", color=colour, label=f"{method} ours")
        ax.plot(
            part["rows"], part["deepod_s_per_epoch"], "s--", color=colour, label=f"{method} DeepOD"
        )
        if other is not None:
            theirs = other[other.method == method]
            where = theirs.device.iloc[0] if len(theirs) else ""
            for column, side, marker in (("ours", "ours", "o:"), ("deepod", "DeepOD", "s:")):
                ax.plot(
                    theirs["rows"],
                    theirs[f"{column}_s_per_epoch"],
                    marker,
                    color=colour,
                    alpha=0.5,
                    label=f"{method} {side} ({where})",
                )
    ax.set(xscale="log", yscale="log", xlabel="training rows", ylabel="seconds per epoch")
    ax.set_title(f"Fit time vs rows ({frame['device'].iloc[0]}, DeepOD's loop, batch 64)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = SHARED_TABLES,
    dataset: Annotated[str, typer.Option(help="table to resample")] = "cover",
    methods: Annotated[str, typer.Option(help="comma-separated")] = "devnet,prenet,deepsad",
    rows: Annotated[str, typer.Option(help="comma-separated sizes")] = "10000,100000,1000000",
    epochs: Annotated[int, typer.Option(help="passes over the rows per fit")] = 1,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    deepod_skip: Annotated[
        str, typer.Option(help="method:rows cells where DeepOD is not run (too slow)")
    ] = "",
    no_deepod: Annotated[bool, typer.Option(help="ours only (DeepOD not installed)")] = False,
    compare_csv: Annotated[
        Path | None, typer.Option(help="another device's fit_scaling CSV, drawn dotted")
    ] = None,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="CSV and plot folder")] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table, write the CSV, the plot and the RESULTS.md section."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, dataset, rows, epochs = data_dir / "RESULTS.md", smoke.TABLES[0], "300,600", 1
    torch.set_num_threads(1)
    deepod = None if no_deepod else import_deepod()
    split = make_split(*load_table(data_dir / f"{dataset}.parquet"), 0.1, 0)
    method_list = csv_list(methods, str)
    warm_up(
        make_split(*load_table(data_dir / f"{dataset}.parquet"), 0.1, 0, 2_000),
        method_list,
        deepod,
        device,
    )
    load_before = os.getloadavg()[0]
    results = []
    for n in csv_list(rows, int):
        X, y = resample(split, n, seed=n)
        skipped = set(csv_list(deepod_skip, str))
        results += [
            measure(
                m,
                X,
                y,
                (split.X_test, split.y_test),
                epochs,
                device,
                None if f"{m}:{n}" in skipped else deepod,
            )
            for m in method_list
        ]
    load_after = os.getloadavg()[0]
    frame = pd.DataFrame(results)
    where = frame["device"].iloc[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / f"fit_scaling_{where}.csv", index=False)
    plot(
        frame,
        out_dir / f"fit_scaling_{where}.png",
        pd.read_csv(compare_csv) if compare_csv else None,
    )
    cols = (
        "method",
        "rows",
        "ours s/epoch",
        "DeepOD s/epoch",
        "ours µs/step",
        "DeepOD µs/step",
        "speed-up",
        "AUC-PR ours / DeepOD",
    )
    cells = [
        [
            str(r.method),
            f"{r.rows:,}",
            f"{r.ours_s_per_epoch:.2f}",
            f"{r.deepod_s_per_epoch:.2f}",
            f"{r.ours_us_per_step:,.0f}",
            f"{r.deepod_us_per_step:,.0f}",
            f"{r.speedup:.2f}x",
            f"{r.auc_pr_ours:.3f} / {r.auc_pr_deepod:.3f}",
        ]
        for r in frame.itertuples()
    ]
    lines = show_table(f"Fit time vs rows ({where}, {epochs} epoch(s) per fit)", cols, cells)
    command = "python -m benchmarks.fit_scaling " + shlex.join(sys.argv[1:])
    unit = "CPU seconds of this process" if where == "cpu" else "wall seconds (synchronised)"
    heading = HEADING if where == "cpu" else f"{HEADING}, {gpu_name(where)}"
    section = f"""{heading}

`{command}` (raw rows: benchmarks/results/fit_scaling_{where}.csv, plot:
benchmarks/results/fit_scaling_{where}.png). Machine: {machine()}; device {where}; load average
{load_before:.1f} before, {load_after:.1f} after (shared machine). Date: {datetime.date.today()}.
Rows resampled with replacement from the training split of {dataset} (seed 0, label ratio 0.1),
labelled share kept. Both sides: DeepOD's loop (Adam 1e-3, weight decay 1e-5, batch 64, no
clipping, last epoch, no pretraining, `vs_deepod`'s "deepod" architectures), {epochs} epoch(s)
of one pass over the rows each; {unit}. DeepOD's fit includes scoring the training set for
its threshold (as in its API); cells in `--deepod-skip` were not run for DeepOD ("nan"):
its PReNet scores every training row against 30 + 30 random partners, hours at 1M rows on
two cores. A full fit is epochs x seconds per epoch plus set-up. AUC-PR: each fitted model on
the split's test rows (after {epochs} epoch(s) neither side has converged: the column shows
both sides learn alike, not final accuracy).

{chr(10).join(lines)}

![fit time vs rows](results/fit_scaling_{where}.png)
"""
    replace_section(results_md, heading, section)


if __name__ == "__main__":
    typer.run(main)
