"""Which way of running the shared training step pays: eager, `torch.compile`, compile with
CUDA graphs, bf16 autocast? Each method's fit at its defaults (the papers') on one ADBench
split, every mode in turn per seed (interleaved, so all see the same machine), AUC-PR beside.

A mode's first fit in the process compiles (its seconds are in "first fit s"); later seeds
reuse the compiled code, so "fit s" (their mean) is the steady-state cost. A mode is worth a
default only where "fit s" beats eager by more than the compile costs over the fits a user
runs, and its AUC-PR stays within the eager seeds' spread
(components/detectors/training/compiled_step.py).

    python3 -m benchmarks.step_modes --data-dir ../shared/datasets --device cuda
"""

from __future__ import annotations

import datetime
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import torch
import typer
from sklearn.metrics import average_precision_score

from benchmarks import smoke
from benchmarks.plots import bar_chart
from benchmarks.report import (
    SHARED_TABLES,
    gpu_name,
    machine,
    replace_section,
    show_table,
    synced_now,
)
from components.detectors import make
from components.detectors.api import resolve_device
from components.selection.adbench import load_table, make_split
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Training step modes: eager, compiled, CUDA graphs, bf16"
MODES: dict[str, dict[str, Any]] = {
    "eager": {},
    "compiled": {"compile_step": "on"},
    "cudagraphs": {"compile_step": "cudagraphs"},
    "bf16": {"bf16": True},
    "compiled+bf16": {"compile_step": "on", "bf16": True},
}


def run_modes(
    split: Any, methods: list[str], modes: list[str], seeds: list[int], device: str, extra: dict
) -> pd.DataFrame:
    """One fit per (method, seed, mode), modes interleaved within each seed."""
    where = resolve_device(device)
    rows = []
    for method in methods:
        for seed in seeds:
            for mode in modes:
                params = {**extra, **MODES[mode], "device": device, "random_state": seed}
                start = synced_now(where)
                det = make(method, **params).fit(split.X_train, split.y_train)
                seconds = synced_now(where) - start
                auc = average_precision_score(split.y_test, det.decision_function(split.X_test))
                rows.append(
                    {"method": method, "mode": mode, "seed": seed, "fit_s": seconds, "auc_pr": auc}
                )
    return pd.DataFrame(rows).assign(device=str(where))


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (method, mode): the first fit's seconds (with compiling), the later fits' mean,
    AUC-PR mean and spread over seeds, and the speed-up of the later fits over eager."""
    first_seed = frame.seed.min()
    out = frame.groupby(["method", "mode"], sort=False).agg(
        auc_pr=("auc_pr", "mean"), auc_pr_sd=("auc_pr", lambda a: a.std(ddof=0))
    )
    out["first_fit_s"] = frame[frame.seed == first_seed].set_index(["method", "mode"]).fit_s
    later = frame[frame.seed != first_seed] if frame.seed.nunique() > 1 else frame
    out["fit_s"] = later.groupby(["method", "mode"], sort=False).fit_s.mean()
    eager = out.xs("eager", level="mode").fit_s
    out["speedup"] = [eager[m] / s for (m, _), s in out.fit_s.items()]
    return out.reset_index()


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = SHARED_TABLES,
    dataset: Annotated[str, typer.Option(help="table name")] = "cardio",
    methods: Annotated[str, typer.Option(help="comma-separated")] = "devnet,prenet,deepsad",
    modes: Annotated[str, typer.Option(help=f"comma-separated of {', '.join(MODES)}")] = (
        "eager,compiled,cudagraphs,bf16"
    ),
    seeds: Annotated[str, typer.Option(help="comma-separated; the first pays compiling")] = "0,1,2",
    epochs: Annotated[int | None, typer.Option(help="epochs per fit; default the method's")] = None,
    max_rows: Annotated[int, typer.Option(help="stratified subsample (ADBench)")] = 10_000,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cuda",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="CSV and plot folder")] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table, write the CSV, the plot and the RESULTS.md section."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, dataset, methods, modes = (
            data_dir / "RESULTS.md",
            smoke.TABLES[0],
            "devnet",
            "eager,bf16",
        )
        seeds, epochs, device = "0,1", 1, "cpu"
    torch.set_num_threads(1)
    mode_list = csv_list(modes, str)
    unknown = sorted(set(mode_list) - set(MODES))
    if unknown or "eager" not in mode_list:
        raise typer.BadParameter(f"--modes needs 'eager' and only {', '.join(MODES)}")
    split = make_split(*load_table(data_dir / f"{dataset}.parquet"), 0.1, 0, max_rows)
    extra = {"epochs": epochs} if epochs else {}
    frame = run_modes(split, csv_list(methods, str), mode_list, csv_list(seeds, int), device, extra)
    where = frame.device.iloc[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / f"step_modes_{where}.csv", index=False)
    summary = summarise(frame)
    wide = summary.pivot(index="method", columns="mode", values="fit_s")[mode_list]
    bar_chart(
        wide.reset_index(),
        "method",
        mode_list,
        out_dir / f"step_modes_{where}.png",
        f"Fit seconds per training-step mode ({where}, {dataset}, later seeds)",
        "seconds",
    )
    cells = [
        [
            str(r.method),
            str(r.mode),
            f"{r.first_fit_s:.2f}",
            f"{r.fit_s:.2f}",
            f"{r.speedup:.2f}x",
            f"{r.auc_pr:.3f} ± {r.auc_pr_sd:.3f}",
        ]
        for r in summary.itertuples()
    ]
    cols = ("method", "mode", "first fit s", "fit s", "vs eager", "AUC-PR")
    lines = show_table(f"Training step modes ({where})", cols, cells)
    command = "python3 -m benchmarks.step_modes " + shlex.join(sys.argv[1:])
    section = f"""{HEADING}

`{command}` (raw rows: step_modes_{where}.csv). Machine: {machine()}; device {where}
({gpu_name(where)}). Date: {datetime.date.today()}. Dataset {dataset}, ADBench split (seed 0,
label ratio 0.1, at most {max_rows:,} rows); each method at its defaults{
        f", {epochs} epochs" if epochs else ""
    }; seeds {seeds}, every mode in turn per seed. "first fit s" is the first seed's fit,
which compiles; "fit s" the later seeds' mean (wall seconds, synchronised); "vs eager" = eager
fit s / this mode's; AUC-PR mean ± sd over seeds.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
