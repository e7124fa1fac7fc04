"""`wsad bench`: the ADBench semi-supervised protocol (components/selection/adbench.py) from the
command line, one CSV row per fit and a summary table.

Import rule: typer, rich and the GPU-box components only (no Prefect, MLflow, GX or DVC;
`make lint` holds it), so on a GPU box that has just torch/numpy/pandas/sklearn/typer/rich
the same command runs as `python3 -m flows.cli.bench --device cuda ...`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from components.detectors import make
from components.selection.adbench import run, summary
from components.selection.defaults import DEFAULT_CANDIDATES
from flows.cli.options import csv_list, select_tables
from flows.cli.terminal import one_line_errors

CANDIDATES = ",".join(DEFAULT_CANDIDATES)  # by default, the release's candidates
DEFAULT_LABEL_RATIOS = "0.05,0.1"
SET_HELP = "hyperparameter override key=value, applied to every method that has it"
RATIOS_HELP = f"shares of train anomalies labelled [default: {DEFAULT_LABEL_RATIOS}]"
LABELS_HELP = "counts of train anomalies labelled, as ADGym (e.g. 5,10,20); not with --label-ratios"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values are read as Python literals where they parse as one."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def label_settings(label_ratios: str, labels: str) -> tuple[list[float], list[int]]:
    """The `--label-ratios` or the `--labels` of a run (never both; ratios by default)."""
    if label_ratios and labels:
        raise ValueError("pass --labels (counts) or --label-ratios (shares), not both")
    counts = csv_list(labels, int)
    if any(count < 1 for count in counts):
        raise ValueError(f"--labels must be counts of at least 1, got {labels}")
    ratios = [] if counts else csv_list(label_ratios or DEFAULT_LABEL_RATIOS, float)
    return ratios, counts


def bench(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables with a 'label' column")],
    datasets: Annotated[str, typer.Option(help="comma-separated table names; default all")] = "",
    methods: Annotated[str, typer.Option(help="comma-separated method names")] = CANDIDATES,
    label_ratios: Annotated[str, typer.Option(help=RATIOS_HELP, show_default=False)] = "",
    labels: Annotated[str, typer.Option(help=LABELS_HELP)] = "",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    max_rows: Annotated[int | None, typer.Option(help="stratified subsample per table")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
    out: Annotated[Path, typer.Option(help="CSV, one row per fit")] = Path("results.csv"),
) -> None:
    """Run the ADBench semi-supervised protocol and write one CSV row per fit."""
    with one_line_errors():
        tables = select_tables(data_dir, datasets)
        method_list = csv_list(methods, str)
        for m in method_list:
            make(m)  # unknown names fail before any training
        ratios, counts = label_settings(label_ratios, labels)
        seed_list = csv_list(seeds, int)
        overrides = parse_overrides(set_ or [])
    total = len(tables) * len(method_list) * len(counts or ratios) * len(seed_list)
    rows = []
    grid = run(tables, method_list, ratios, seed_list, device, max_rows, overrides, counts)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("benchmark", total=total)
        for row in grid:
            rows.append(row)
            pd.DataFrame(rows).to_csv(out, index=False)
            progress.update(task, advance=1, description=f"{row['dataset']} {row['method']}")
    _print_summary(pd.DataFrame(rows), out, by_count=bool(counts))


def _print_summary(rows: pd.DataFrame, out: Path, by_count: bool) -> None:
    table = Table(title=f"AUC-PR / AUC-ROC (mean over seeds), written to {out}")
    setting = "labels" if by_count else "label ratio"
    for col in ("dataset", "method", setting, "AUC-PR", "AUC-ROC", "fit s"):
        table.add_column(col)
    for r in summary(rows).itertuples():
        table.add_row(
            r.dataset,
            r.method,
            f"{r.labels:g}" if by_count else f"{r.label_ratio:g}",
            f"{r.auc_pr:.3f} ± {0 if pd.isna(r.auc_pr_std) else r.auc_pr_std:.3f}",
            f"{r.auc_roc:.3f}",
            f"{r.fit_seconds:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    typer.run(bench)
