"""How well does each contamination estimator recover the share of anomalies hidden among the
unlabelled rows, with few labels?

Per (table, labelled count, seed): ADBench's split (`components.selection.adbench.make_split`: a
stratified subsample to at most `max_rows`, a stratified 70/30 split, min-max scaling fitted
on train); the estimator sees the training part only, with exactly N of its anomalies
labelled (ADGym's counts, not ratios). Truth = the share of anomalies among the unlabelled
training rows. Every estimator of a split sees the same rows and labels, in one process, so
their fit times compare.

Per estimator: median absolute error, median ratio estimate / truth, how often the interval
covers the truth, how often it saturated (estimate or upper end >= 0.99 although the truth
is below 0.5), how often `trust.judge` distrusted it (the threshold fallback fired), the
error of the value `contamination_for_threshold` hands the calibration, and fit seconds.
The raw rows hold what the estimators returned; the verdicts are derived when the section is
rendered, with the trust rules as they are then.

    OMP_NUM_THREADS=1 python -m benchmarks.contamination --data-dir ../shared/datasets

It also simulates bbe-exact's bin search where every top bin is pure, to check its
multiplicity adjustment (`best_bin.SEARCH_MULTIPLICITY`). Writes
benchmarks/results/contamination.csv and the "Contamination estimators" section of
benchmarks/RESULTS.md (rendered by benchmarks/contamination_report.py); `--from-csv`
re-renders the section from raw rows without the grid.
Needs no Prefect, MLflow, GX or DVC.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from benchmarks import smoke
from benchmarks.contamination_report import CONFIDENCE, HEADING, markdown
from benchmarks.report import SHARED_TABLES, replace_section
from components.selection import adbench
from components.selection.contamination import METHODS, estimate_contamination
from components.selection.contamination.best_bin import SEARCH_MULTIPLICITY, search_bins
from flows.cli.options import csv_list, select_tables

HERE = Path(__file__).resolve().parent
TIMING_LABELS = 10  # labelled anomalies in the fit-time run
PURE_BIN_SETTINGS = ((5, 30, 500), (10, 60, 600), (20, 100, 3000))  # labelled, hidden, unlabelled


def labelled_split(
    X: np.ndarray, y: np.ndarray, n_labelled: int, seed: int, max_rows: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """The ADBench split's scaled training rows with exactly `n_labelled` of their anomalies
    labelled (chosen with the seed), and the true share of anomalies among the rest."""
    split = adbench.make_split(X, y, label_ratio=0.0, seed=seed, max_rows=max_rows)
    anomalies = np.flatnonzero(split.y_train_true == 1)
    if len(anomalies) <= n_labelled:
        raise typer.BadParameter(
            f"only {len(anomalies)} training anomalies; cannot label {n_labelled}"
        )
    weak = np.zeros_like(split.y_train_true)
    weak[np.random.default_rng(seed).choice(anomalies, size=n_labelled, replace=False)] = 1
    truth = float(split.y_train_true[weak == 0].mean())
    return split.X_train, weak, truth


def run(
    tables: list[Path],
    methods: list[str],
    labels: list[int],
    seeds: list[int],
    max_rows: int,
    n_bootstrap: int,
) -> Iterator[dict[str, Any]]:
    """One row per (table, labelled count, seed, method)."""
    for path in tables:
        X, y = adbench.load_table(path)
        for seed in seeds:
            for n_labelled in labels:
                X_train, weak, truth = labelled_split(X, y, n_labelled, seed, max_rows)
                for method in methods:
                    start = time.perf_counter()
                    found = estimate_contamination(
                        X_train,
                        weak,
                        n_bootstrap=n_bootstrap,
                        confidence=CONFIDENCE,
                        random_state=seed,
                        method=method,
                    )
                    yield {
                        "dataset": path.stem,
                        "n_labelled": n_labelled,
                        "seed": seed,
                        "method": method,
                        "n_rows": len(weak),
                        "truth": truth,
                        "estimate": found.estimate,
                        "low": found.low,
                        "high": found.high,
                        "fit_seconds": time.perf_counter() - start,
                    }


def fit_times(path: Path, n_rows: int, n_labelled: int, repeats: int) -> pd.DataFrame:
    """Wall and CPU seconds of each method on one table at `n_rows` rows (a stratified
    subsample, min-max scaled, `n_labelled` anomalies labelled), every method once per repeat
    in turn, median over repeats."""
    X, y = adbench.load_table(path)
    X, _, y, _ = train_test_split(X, y, train_size=n_rows, stratify=y, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    weak = np.zeros_like(y)
    weak[np.random.default_rng(0).choice(np.flatnonzero(y == 1), n_labelled, replace=False)] = 1
    rows = []
    for repeat in range(repeats):
        for method in METHODS:
            wall, cpu = time.perf_counter(), time.process_time()
            estimate_contamination(X, weak, random_state=repeat, method=method)
            rows.append(
                {
                    "method": method,
                    "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu,
                }
            )
    return pd.DataFrame(rows).groupby("method", sort=False).median()


def pure_bin_simulation(reps: int, seed: int = 0) -> pd.DataFrame:
    """bbe-exact's bin search where every bin is pure (no normal row above any labelled
    anomaly) and two independent scores are searched: how often the interval's upper end falls
    below the truth with and without the multiplicity adjustment. The labelled anomalies'
    places among all anomalies are a uniformly random interleaving, as SCAR implies."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, hidden, m in PURE_BIN_SETTINGS:
        for multiplicity in (1, SEARCH_MULTIPLICITY):
            for _ in range(reps):
                bins = []
                for _score in range(2):
                    places = np.sort(rng.choice(hidden + n, size=n, replace=False))
                    bins += [(j, int(places[j - 1]) - (j - 1)) for j in range(1, n + 1)]
                estimate, low, high = search_bins(bins, n, m, CONFIDENCE, multiplicity)
                truth = hidden / m
                rows.append(
                    {
                        "n_labelled": n,
                        "hidden": hidden,
                        "unlabelled": m,
                        "multiplicity": multiplicity,
                        "high_below_truth": high < truth,
                        "covered": low <= truth <= high,
                        "ratio": estimate / truth,
                    }
                )
    keys = ["n_labelled", "hidden", "unlabelled", "multiplicity"]
    return (
        pd.DataFrame(rows)
        .groupby(keys, as_index=False)
        .agg(
            high_below_truth=("high_below_truth", "mean"),
            coverage=("covered", "mean"),
            median_ratio=("ratio", "median"),
        )
    )


def main(
    data_dir: Annotated[
        Path, typer.Option(help="folder of parquet tables with a 'label' column")
    ] = SHARED_TABLES,
    methods: Annotated[str, typer.Option(help="comma-separated; default every method")] = "",
    datasets: Annotated[str, typer.Option(help="comma-separated; default every table")] = "",
    labels: Annotated[str, typer.Option(help="labelled anomalies per split")] = "5,10,20",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    max_rows: Annotated[int, typer.Option(help="stratified subsample per table")] = 5000,
    n_bootstrap: Annotated[int, typer.Option(help="for bootstrap estimators")] = 50,
    simulation_reps: Annotated[int, typer.Option(help="draws per pure-bin setting")] = 400,
    timing_table: Annotated[str, typer.Option(help="table of the fit-time run")] = "shuttle",
    timing_rows: Annotated[int, typer.Option(help="rows of the fit-time run")] = 5000,
    timing_repeats: Annotated[int, typer.Option(help="runs of the fit-time run")] = 3,
    note: Annotated[str, typer.Option(help="a line for RESULTS.md")] = "",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="raw CSV folder")] = HERE / "results",
    from_csv: Annotated[
        Path | None, typer.Option(help="re-render RESULTS.md from these raw rows, no grid")
    ] = None,
    smoke_: smoke.Smoke = False,
) -> None:
    """Run every estimator on the grid; write the raw rows and the RESULTS.md section. Raw
    rows of several runs (e.g. one per core, split by table) concatenated into one CSV
    re-render as one section with every run's command."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md = data_dir / "RESULTS.md"
        labels, seeds, max_rows, n_bootstrap, simulation_reps = "5", "0", 400, 5, 5
        timing_table, timing_rows, timing_repeats = smoke.TABLES[0], 200, 1
    if from_csv is not None:
        results = pd.read_csv(from_csv)
    else:
        results = grid(data_dir, methods, datasets, labels, seeds, max_rows, n_bootstrap)
        out_dir.mkdir(parents=True, exist_ok=True)
        results.to_csv(out_dir / "contamination.csv", index=False)
    simulated = pure_bin_simulation(simulation_reps)
    (timing_path,) = select_tables(data_dir, timing_table)
    timed = fit_times(timing_path, timing_rows, TIMING_LABELS, timing_repeats)
    timing_label = (
        f"{timing_rows:,} rows ({timing_table}, {TIMING_LABELS} labelled anomalies, "
        f"{timing_repeats} runs)"
    )
    command = " and ".join(f"`{c}`" for c in results.command.unique())
    if from_csv is not None:
        command += f"; this section: `{this_command()}`"
    max_rows_used = int(results.max_rows.iloc[0])
    section = markdown(results, simulated, timed, timing_label, command, max_rows_used, note)
    replace_section(results_md, HEADING, section)


def grid(
    data_dir: Path,
    methods: str,
    datasets: str,
    labels: str,
    seeds: str,
    max_rows: int,
    n_bootstrap: int,
) -> pd.DataFrame:
    """The raw rows of `run`, each with the command that made them."""
    tables = select_tables(data_dir, datasets)
    method_list = csv_list(methods, str) or list(METHODS)
    unknown = sorted(set(method_list) - set(METHODS))
    if unknown:
        raise typer.BadParameter(f"unknown method(s) {', '.join(unknown)}; choose from {METHODS}")
    label_list = csv_list(labels, int)
    seed_list = csv_list(seeds, int)
    total = len(tables) * len(label_list) * len(seed_list) * len(method_list)
    rows = []
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("contamination", total=total)
        for row in run(tables, method_list, label_list, seed_list, max_rows, n_bootstrap):
            rows.append(row)
            progress.advance(task)
    return pd.DataFrame(rows).assign(max_rows=max_rows, command=this_command())


def this_command() -> str:
    """The command line this process runs, with OMP_NUM_THREADS when set."""
    threads = os.environ.get("OMP_NUM_THREADS")
    command = shlex.join(["python", "-m", "benchmarks.contamination", *sys.argv[1:]])
    return f"OMP_NUM_THREADS={threads} {command}" if threads else command


if __name__ == "__main__":
    typer.run(main)
