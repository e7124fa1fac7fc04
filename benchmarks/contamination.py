"""How well does each contamination estimator recover the share of anomalies hidden among the
unlabelled rows, with few labels?

Per (table, labelled count, seed): ADBench's split (`components.benchmark.make_split`: a
stratified subsample to at most `max_rows`, a stratified 70/30 split, min-max scaling fitted
on train); the estimator sees the training part only, with exactly N of its anomalies
labelled (ADGym's counts, not ratios). Truth = the share of anomalies among the unlabelled
training rows. Every estimator of a split sees the same rows and labels, in one process, so
their fit times compare.

Per estimator: median absolute error, median ratio estimate / truth, how often the interval
covers the truth, how often it saturated (estimate or upper end >= 0.99 although the truth
is below 0.5), how often `trust.judge` distrusted it (the threshold fallback fired), the
error of the value `contamination_for_threshold` hands the calibration, and fit seconds.

    OMP_NUM_THREADS=1 python -m benchmarks.contamination --data-dir ../shared/datasets

It also simulates bbe-exact's bin search where every top bin is pure, to check its
multiplicity adjustment (`best_bin.SEARCH_MULTIPLICITY`). Writes
benchmarks/results/contamination.csv and the "Contamination estimators" section of
benchmarks/RESULTS.md; `--from-csv` re-renders the section from raw rows without the grid.
Needs no Prefect, MLflow, GX or DVC.
"""

from __future__ import annotations

import datetime
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

from benchmarks.report import machine, replace_section, show_table
from components import benchmark
from components.contamination import (
    DEFAULT_METHOD,
    METHODS,
    contamination_for_threshold,
    estimate_contamination,
)
from components.contamination.best_bin import SEARCH_MULTIPLICITY, search_bins
from components.contamination.common import MAX_SHARE
from components.contamination.trust import MAX_WIDTH, SATURATED, fallback_share, judge

HERE = Path(__file__).resolve().parent
HEADING = "## Contamination estimators"
CONFIDENCE = 0.9
WIDTH_BOUNDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0)  # candidates for trust.MAX_WIDTH
PURE_BIN_SETTINGS = ((5, 30, 500), (10, 60, 600), (20, 100, 3000))  # labelled, hidden, unlabelled


def labelled_split(
    X: np.ndarray, y: np.ndarray, n_labelled: int, seed: int, max_rows: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """The ADBench split's scaled training rows with exactly `n_labelled` of their anomalies
    labelled (chosen with the seed), and the true share of anomalies among the rest."""
    split = benchmark.make_split(X, y, label_ratio=0.0, seed=seed, max_rows=max_rows)
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
        X, y = benchmark.load_table(path)
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
                    seconds = time.perf_counter() - start
                    used = contamination_for_threshold(found)
                    yield {
                        "dataset": path.stem,
                        "n_labelled": n_labelled,
                        "seed": seed,
                        "method": method,
                        "n_rows": len(weak),
                        "truth": truth,
                        **{k: v for k, v in found.to_dict().items() if k != "method"},
                        "threshold_value": used.value,
                        "fallback": used.fallback,
                        "fit_seconds": seconds,
                    }


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


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per method: the figures named in the module docstring."""
    df = results.assign(
        abs_error=(results.estimate - results.truth).abs(),
        ratio=results.estimate / results.truth,
        covered=(results.low <= results.truth) & (results.truth <= results.high),
        saturated=((results.estimate >= SATURATED) | (results.high >= SATURATED))
        & (results.truth < MAX_SHARE),
        value_error=(results.threshold_value - results.truth).abs(),
        over_twice=results.threshold_value > 2 * results.truth,
    )
    return df.groupby("method", sort=False).agg(
        splits=("truth", "size"),
        median_abs_error=("abs_error", "median"),
        median_ratio=("ratio", "median"),
        coverage=("covered", "mean"),
        saturated=("saturated", "mean"),
        fallback=("fallback", "mean"),
        value_error=("value_error", "median"),
        over_twice=("over_twice", "mean"),
        median_fit_s=("fit_seconds", "median"),
        max_fit_s=("fit_seconds", "max"),
    )


def width_sweep(results: pd.DataFrame) -> pd.DataFrame:
    """For the default method: what each candidate bound on the interval's width would do to
    the fallback rate and to the share handed to the threshold calibration."""
    rows = results[results.method == DEFAULT_METHOD]
    out = []
    for bound in WIDTH_BOUNDS:
        trusted = np.array(
            [judge(r.estimate, r.low, r.high, bound)[0] for r in rows.itertuples()], dtype=bool
        )
        value = np.where(trusted, rows.estimate, [fallback_share(e) for e in rows.estimate])
        covered = (rows.low <= rows.truth) & (rows.truth <= rows.high)
        out.append(
            {
                "max_width": bound,
                "fallback": 1 - trusted.mean(),
                "coverage_trusted": covered[trusted].mean() if trusted.any() else np.nan,
                "value_error": np.median(np.abs(value - rows.truth)),
                "over_twice": np.mean(value > 2 * rows.truth),
                "under_half": np.mean(value < rows.truth / 2),
            }
        )
    return pd.DataFrame(out)


def markdown(
    results: pd.DataFrame, simulated: pd.DataFrame, command: str, max_rows: int, note: str
) -> str:
    """The RESULTS.md section: protocol, command, the per-method table and coverage by label
    count."""
    stats = summary(results)
    columns = [
        "method",
        "splits",
        "median abs error",
        "median est/truth",
        f"{CONFIDENCE:.0%} coverage",
        "saturated",
        "fallback fired",
        "threshold value abs error",
        "threshold value > 2x truth",
        "fit s median / max",
    ]
    rows = [
        [
            f"**{m}**" if m == DEFAULT_METHOD else m,
            str(int(s.splits)),
            f"{s.median_abs_error:.4f}",
            f"{s.median_ratio:.2f}",
            f"{s.coverage:.1%}",
            f"{s.saturated:.1%}",
            f"{s.fallback:.1%}",
            f"{s.value_error:.4f}",
            f"{s.over_twice:.1%}",
            f"{s.median_fit_s:.2f} / {s.max_fit_s:.2f}",
        ]
        for m, s in stats.iterrows()
    ]
    by_labels = (
        results.assign(covered=(results.low <= results.truth) & (results.truth <= results.high))
        .pivot_table(index="method", columns="n_labelled", values="covered", aggfunc="mean")
        .reindex(stats.index)
    )
    label_rows = [[str(m), *[f"{v:.1%}" for v in by_labels.loc[m]]] for m in by_labels.index]
    tables = sorted(results.dataset.unique())
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        f"Machine: {machine()}. Date: {when}. {len(tables)} tables x labelled anomalies "
        f"{sorted(results.n_labelled.unique().tolist())} x seeds "
        f"{sorted(results.seed.unique().tolist())}; ADBench split (stratified subsample to at "
        f"most {max_rows} rows, the estimator sees the 70 % training part), exactly N training "
        "anomalies labelled; truth = share of anomalies among the unlabelled training rows. "
        "Saturated: estimate or upper end >= 0.99 where the truth is below 0.5. Fallback fired: "
        "the estimate was not trusted and `contamination_for_threshold` used its fallback; "
        "threshold value = what that function hands the calibration. Fit seconds on a shared "
        "machine (one process, every estimator interleaved per split). Bold: the default. "
        "Raw rows: benchmarks/results/contamination.csv.",
        "",
        f"Command: {command}",
        "",
        *([f"**Note:** {note}", ""] if note else []),
        *show_table("contamination estimators", columns, rows),
        "",
        "Interval coverage by labelled anomalies:",
        "",
        *show_table(
            "coverage by labels",
            ["method", *[str(c) for c in by_labels.columns]],
            label_rows,
        ),
        "",
        f"The bound on the interval's width that `trust.judge` applies ({DEFAULT_METHOD}; bold: "
        "`MAX_WIDTH`); threshold value = the estimate when trusted, else min(estimate, "
        "`PRIOR_SHARE`):",
        "",
        *show_table(
            "width bound",
            [
                "max width",
                "fallback fired",
                "coverage when trusted",
                "threshold value abs error",
                "value > 2x truth",
                "value < truth / 2",
            ],
            [
                [
                    f"**{r.max_width:g}**" if r.max_width == MAX_WIDTH else f"{r.max_width:g}",
                    f"{r.fallback:.1%}",
                    f"{r.coverage_trusted:.1%}",
                    f"{r.value_error:.4f}",
                    f"{r.over_twice:.1%}",
                    f"{r.under_half:.1%}",
                ]
                for r in width_sweep(results).itertuples()
            ],
        ),
        "",
        f"bbe-exact's bin search on simulated pure bins (two independent scores, {CONFIDENCE:.0%} "
        f"interval; multiplicity {SEARCH_MULTIPLICITY} is the default, 1 = no adjustment):",
        "",
        *show_table(
            "pure-bin simulation",
            [
                "labelled",
                "hidden",
                "unlabelled",
                "multiplicity",
                "upper end below truth",
                "coverage",
                "median est/truth",
            ],
            [
                [
                    str(int(r.n_labelled)),
                    str(int(r.hidden)),
                    str(int(r.unlabelled)),
                    f"{r.multiplicity:g}",
                    f"{r.high_below_truth:.1%}",
                    f"{r.coverage:.1%}",
                    f"{r.median_ratio:.2f}",
                ]
                for r in simulated.itertuples()
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables with a 'label' column")],
    methods: Annotated[str, typer.Option(help="comma-separated; default every method")] = "",
    datasets: Annotated[str, typer.Option(help="comma-separated; default every table")] = "",
    labels: Annotated[str, typer.Option(help="labelled anomalies per split")] = "5,10,20",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    max_rows: Annotated[int, typer.Option(help="stratified subsample per table")] = 5000,
    n_bootstrap: Annotated[int, typer.Option(help="for bootstrap estimators")] = 50,
    simulation_reps: Annotated[int, typer.Option(help="draws per pure-bin setting")] = 400,
    note: Annotated[str, typer.Option(help="a line for RESULTS.md")] = "",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="raw CSV folder")] = HERE / "results",
    from_csv: Annotated[
        Path | None, typer.Option(help="re-render RESULTS.md from these raw rows, no grid")
    ] = None,
) -> None:
    """Run every estimator on the grid; write the raw rows and the RESULTS.md section. Raw
    rows of several runs (e.g. one per core, split by table) concatenated into one CSV
    re-render as one section with every run's command."""
    if from_csv is not None:
        results = pd.read_csv(from_csv)
    else:
        results = grid(data_dir, methods, datasets, labels, seeds, max_rows, n_bootstrap)
        out_dir.mkdir(parents=True, exist_ok=True)
        results.to_csv(out_dir / "contamination.csv", index=False)
    simulated = pure_bin_simulation(simulation_reps)
    command = " and ".join(f"`{c}`" for c in results.command.unique())
    if from_csv is not None:
        command += f"; this section: `{this_command()}`"
    section = markdown(results, simulated, command, int(results.max_rows.iloc[0]), note)
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
    tables = benchmark.select_tables(data_dir, datasets)
    method_list = benchmark._csv_list(methods, str) or list(METHODS)
    unknown = sorted(set(method_list) - set(METHODS))
    if unknown:
        raise typer.BadParameter(f"unknown method(s) {', '.join(unknown)}; choose from {METHODS}")
    label_list = benchmark._csv_list(labels, int)
    seed_list = benchmark._csv_list(seeds, int)
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
