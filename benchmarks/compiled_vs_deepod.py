"""Does the compiled training step (`compile_step="on"`) bring ours to 3x DeepOD's CPU fit
speed at DeepOD's own hyperparameters? Ours eager, ours compiled and DeepOD 0.4.1, interleaved
per (table, seed, method) in one single-threaded process, AUC-PR beside each.

Both sides get `benchmarks.vs_deepod`'s "deepod" configuration (batch 64, one pass over the
rows per epoch, Adam 1e-3, weight decay 1e-5, hidden 100-50, 100 epochs, the ADBench split).
"compiled, first" is the first compiled fit of a (table, method) in the process: it compiles
(inductor, one compile thread, so its CPU seconds are this process's); "compiled, again" is
an identical fit right after it, which reuses the compiled code (same shapes), i.e. the
per-step gain alone. The inductor cache directory is emptied at start, so "first" is a cold
compile. CPU seconds of the process: the machine is shared.

    OMP_NUM_THREADS=1 python -m benchmarks.compiled_vs_deepod --data-dir ../shared/datasets
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import torch
import typer
from sklearn.metrics import average_precision_score

from benchmarks import smoke
from benchmarks.report import SHARED_TABLES, RenderOnly, machine, replace_section, show_table
from benchmarks.vs_deepod import DEEPOD_CLASSES, import_deepod, pair_settings, timed, warm_up
from components.detectors import make
from components.selection.adbench import load_table, make_split
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Compiled training step on CPU: ours eager / compiled vs DeepOD 0.4.1"


def compare(method: str, dataset: str, split: Any, seed: int, deepod: Any) -> dict[str, Any]:
    """Ours eager, ours compiled twice, DeepOD: CPU seconds and test AUC-PR of each fit."""
    ours, theirs, _, _ = pair_settings("deepod", method, len(split.X_train), seed)
    row: dict[str, Any] = {"dataset": dataset, "method": method, "seed": seed}
    row["n_train"] = len(split.X_train)
    fits = {
        "eager": lambda: make(method, **ours).fit(split.X_train, split.y_train),
        "compiled_first": lambda: make(method, **ours, compile_step="on").fit(
            split.X_train, split.y_train
        ),
        "compiled_again": lambda: make(method, **ours, compile_step="on").fit(
            split.X_train, split.y_train
        ),
        "deepod": lambda: getattr(deepod, DEEPOD_CLASSES[method])(**theirs).fit(
            split.X_train, split.y_train
        ),
    }
    for side, fit in fits.items():
        model, _, cpu = timed(fit)
        row[f"fit_s_{side}"] = cpu
        scores = model.decision_function(split.X_test)
        row[f"auc_pr_{side}"] = average_precision_score(split.y_test, scores)
    return row


def run_grid(
    data_dir: Path, datasets: list[str], methods: list[str], seeds: str, csv_path: Path
) -> None:
    """Every (table, seed, method), the CSV rewritten after each so a cut-off run keeps rows."""
    deepod = import_deepod()
    paths = [data_dir / f"{name}.parquet" for name in datasets]
    warm_up(make_split(*load_table(paths[0]), 0.1, 0, 2_000), methods, deepod)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        X, y = load_table(path)
        for seed in csv_list(seeds, int):
            split = make_split(X, y, 0.1, seed, 10_000)
            for method in methods:
                rows.append(compare(method, path.stem, split, seed, deepod))
                pd.DataFrame(rows).to_csv(csv_path, index=False)
                print(rows[-1], flush=True)


def section(frame: pd.DataFrame, command: str, load: tuple[float, float]) -> str:
    """RESULTS.md: per method, means over tables and seeds, and the ratios to DeepOD."""
    sides = ("eager", "compiled_first", "compiled_again")
    cells = []
    for method, part in frame.groupby("method", sort=True):
        means = part.mean(numeric_only=True)
        ratios = [
            f"{(part.fit_s_deepod / part[f'fit_s_{s}']).mean():.2f}x" for s in sides
        ]  # mean of per-fit ratios
        spread = part.groupby("seed")[[f"auc_pr_{s}" for s in (*sides, "deepod")]].mean()
        cells.append(
            [
                str(method),
                f"{means.fit_s_deepod:.2f}",
                *[f"{means[f'fit_s_{s}']:.2f}" for s in sides],
                *ratios,
                " / ".join(
                    f"{means[f'auc_pr_{s}']:.3f}" for s in ("eager", "compiled_again", "deepod")
                ),
                f"{spread.auc_pr_eager.std(ddof=0):.3f}",
            ]
        )
    cols = (
        "method",
        "DeepOD s",
        "eager s",
        "compiled s (first)",
        "compiled s (again)",
        "ratio eager",
        "ratio compiled (first)",
        "ratio compiled (again)",
        "AUC-PR eager / compiled / DeepOD",
        "AUC-PR seed sd (eager)",
    )
    lines = show_table("DeepOD's settings, one thread: fit CPU seconds", cols, cells)
    tables = ", ".join(sorted(frame.dataset.unique()))
    seeds = ",".join(str(s) for s in sorted(frame.seed.unique()))
    return f"""{HEADING}

`{command}` (raw rows: benchmarks/results/compiled_vs_deepod.csv). Machine: {machine()};
load average {load[0]:.1f} before, {load[1]:.1f} after (shared machine). Date:
{datetime.date.today()}. Tables {tables}; seeds {seeds}; ADBench split (label ratio 0.1, at
most 10,000 rows); `vs_deepod`'s "deepod" configuration for both sides (batch 64, one pass per
epoch, Adam 1e-3, weight decay 1e-5, hidden 100-50, 100 epochs). Per (table, seed, method) the
four fits run back to back in one process; seconds are CPU seconds of that process, means over
tables and seeds; a ratio is DeepOD s / ours s, averaged over fits (> 1: ours faster).
"compiled (first)" includes a cold inductor compile (one compile thread, cache emptied at
start; later seeds of a table reuse the compiled code, so only a table's first seed pays it in
full); "compiled (again)" is a repeat that reuses the compiled code: the per-step gain alone.

{chr(10).join(lines)}
"""


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = SHARED_TABLES,
    datasets: Annotated[str, typer.Option(help="comma-separated")] = "cardio,thyroid,pima",
    methods: Annotated[str, typer.Option(help="comma-separated")] = "devnet,prenet,deepsad",
    seeds: Annotated[str, typer.Option(help="comma-separated")] = "0,1",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="raw CSV folder")] = HERE / "results",
    render_only: RenderOnly = False,
    smoke_: smoke.Smoke = False,
) -> None:
    """Run the interleaved fits, write the CSV and the RESULTS.md section."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, datasets, methods, seeds = (
            data_dir / "RESULTS.md",
            smoke.TABLES[0],
            "devnet",
            "0",
        )
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    csv_path = out_dir / "compiled_vs_deepod.csv"
    if not render_only:
        run_grid(data_dir, csv_list(datasets, str), csv_list(methods, str), seeds, csv_path)
    frame = pd.read_csv(csv_path)
    command = "OMP_NUM_THREADS=1 python -m benchmarks.compiled_vs_deepod " + shlex.join(
        sys.argv[1:]
    )
    text = section(frame, command, (load_before, os.getloadavg()[0]))
    replace_section(results_md, HEADING, text)


if __name__ == "__main__":
    # Compile in this process (its CPU seconds are counted) and from a cold, private cache.
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))
    typer.run(main)
