"""How long does the full benchmark grid take end to end on one device? Every method x
every shared table x label ratios 0.01/0.05/0.1/0.25 x seeds 0,1,2, through the same
`components.selection.adbench.run` as `wsad bench` (stacked ensembles for a seed's label ratios
included), timed as a user waits for it: wall clock from the first table read to the last
test score. Imports only torch/numpy/pandas/scikit-learn/typer/rich, so it runs on a bare GPU
box as `python3 -m benchmarks.grid_walltime --device cuda`.

    python -m benchmarks.grid_walltime --data-dir ../shared/datasets --device cpu
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import torch
import typer
from rich.console import Console
from rich.progress import Progress

from benchmarks import smoke
from benchmarks.plots import bar_chart
from benchmarks.report import SHARED_TABLES, machine, replace_section, show_table
from components.detectors import available
from components.detectors.api import resolve_device
from components.selection import adbench
from flows.cli.options import csv_list, select_tables

HERE = Path(__file__).resolve().parent
HEADING = "## Full grid wall time"


def main(
    data_dir: Annotated[
        Path, typer.Option(help="folder of parquet tables with a 'label' column")
    ] = SHARED_TABLES,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    methods: Annotated[str, typer.Option(help="comma-separated; default every method")] = "",
    datasets: Annotated[str, typer.Option(help="comma-separated; default every table")] = "",
    label_ratios: Annotated[str, typer.Option(help="shares labelled")] = "0.01,0.05,0.1,0.25",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    max_rows: Annotated[int | None, typer.Option(help="stratified subsample per table")] = None,
    note: Annotated[str, typer.Option(help="a line for RESULTS.md")] = "",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="raw CSV folder")] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Run the grid once, print and record its wall time per method and in all."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, methods, label_ratios, seeds = data_dir / "RESULTS.md", "iforest", "0.1", "0"
    tables = select_tables(data_dir, datasets)
    method_list = csv_list(methods, str) or available()
    ratios = csv_list(label_ratios, float)
    seed_list = csv_list(seeds, int)
    where = resolve_device(device)
    rows = []
    total = len(tables) * len(method_list) * len(ratios) * len(seed_list)
    start = time.perf_counter()
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("grid", total=total)
        grid = adbench.run(tables, method_list, ratios, seed_list, device, max_rows)
        for row in grid:
            rows.append(row)
            progress.update(task, advance=1, description=f"{row['dataset']} {row['method']}")
    if where.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    results = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"grid_walltime_{where.type}.csv"
    results.to_csv(csv_path, index=False)
    per = results.groupby("method")[["fit_seconds", "score_seconds"]].sum()
    fits = results.groupby("method").auc_pr.count()
    bar_chart(
        per.reset_index(),
        "method",
        ["fit_seconds", "score_seconds"],
        out_dir / f"grid_walltime_{where.type}.png",
        f"Grid slice on {where}: seconds per method (sum), wall clock {wall:,.0f} s",
        "seconds",
    )
    full = len(select_tables(data_dir, "")) * len(available()) * 4 * 3
    scaled = wall * full / max(1, len(results))
    cells = [
        [m, f"{fits[m]}", f"{per.fit_seconds[m]:,.1f}", f"{per.score_seconds[m]:,.1f}"]
        for m in per.index
    ]
    cells.append(["**grid, wall clock**", f"{fits.sum()}", f"{wall:,.1f}", ""])
    lines = show_table(
        f"Grid wall time on {where}",
        ("method", "fits", "fit seconds (sum)", "score seconds (sum)"),
        cells,
    )
    command = shlex.join(["python", "-m", "benchmarks.grid_walltime", *sys.argv[1:]])
    gpu = torch.cuda.get_device_name(where) if where.type == "cuda" else "none"
    host = machine().replace("1 thread per fit", f"{torch.get_num_threads()} torch thread(s)")
    section = f"""{HEADING}

`{command}` (raw rows: {os.path.relpath(csv_path, HERE.parent)}).
Machine: {host}; device {where} (GPU: {gpu}). Date: {datetime.date.today()}.
{len(tables)} table(s) x {len(method_list)} method(s) x label ratios {label_ratios} x seeds
{seeds}, max_rows {max_rows or "none (whole tables)"}; the last row is the wall clock of
the whole grid (reading, splitting, fitting, scoring), the others sum each method's fit and
score seconds. {note}
This run made {len(results)} of the full grid's {full} fits ({len(available())} methods x every
table x 4 label ratios x 3 seeds); scaled by fits, the full grid would take about
{scaled:,.0f} s (rough: methods and tables differ in cost per fit).

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
