"""The budget curve: what the release `wsad train` would make loses, in test AUC-PR and flag
rate, when contamination, cross-validation and the refit read a budget of unlabelled rows
instead of every row, on the large shared tables at their full size.

Split (ADBench semi-supervised protocol, labelled anomalies as counts): stratified 70/30
train/test split of the whole table, `n` of the training anomalies labelled, min-max scaling
fitted on train (components.selection.adbench.make_split). Then the flow's own steps on the
training rows, each stage on its draw (components/selection/row_budget.py, one budget for all
three stages, the flow's seed): `estimate_contamination`, `contamination_for_threshold`,
`cross_validate` of every candidate (3 folds), `plan_release`, `refit_detector`,
`calibrate_candidate` on every training row. The release's threshold and scores are then
applied to the test rows: AUC-PR, AUC-ROC and the share flagged against the true anomaly
share. `--random-states` repeats a split with other flow seeds (draws, folds, model seeds):
their spread on one split is the seed noise a budget is compared with. CPU seconds per stage
are recorded too.

    OMP_NUM_THREADS=1 python -m benchmarks.budget_curve --datasets donors,http,cover \
        --labels 10,20 --seeds 0,1 --budgets 2000,5000,10000,20000,50000,0 --write
    python -m benchmarks.budget_curve --smoke

Resumable: a (table, labels, seed, random state, budget) already in the CSV is skipped. A
budget of 0 is every row.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import torch
import typer
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks.large_table import write_large_table
from benchmarks.report import RenderOnly, machine, replace_section, show_table
from components.detectors.api import applicable_params
from components.selection.adbench import Split, load_table, make_split
from components.selection.candidate import calibrate_candidate, refit_detector
from components.selection.contamination import contamination_for_threshold, estimate_contamination
from components.selection.defaults import DEFAULT_CANDIDATES
from components.selection.ensemble_plan import describe, plan_release
from components.selection.evaluation import EvaluationError, SelectionResult, cross_validate
from components.selection.row_budget import ALL_ROWS, DEFAULT_CV_ROWS, draw_stages
from flows.cli.options import csv_list, select_tables

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
HEADING = "## Training row budget: release quality against the unlabelled-row budget (issue 24)"
KEY = ["table", "labels", "seed", "random_state", "budget"]
CV_FOLDS = 3
RELEASE_GRID_ROWS = 5000  # "Release quality" subsamples each table to at most this


def cpu_timed(seconds: dict[str, float], stage: str, call: Callable[[], Any]) -> Any:
    """`call()`, its process CPU seconds added to `seconds[stage]`."""
    start = time.process_time()
    result = call()
    seconds[stage] = seconds.get(stage, 0.0) + time.process_time() - start
    return result


def release_on_budget(
    split: Split, budget: int, methods: list[str], random_state: int
) -> dict[str, Any]:
    """The flow's steps on the training rows with every stage on `budget` unlabelled rows;
    the release's test metrics and each stage's CPU seconds."""
    X, y = split.X_train, split.y_train
    seconds: dict[str, float] = {}
    draws = draw_stages(y, budget, budget, budget, random_state)
    X_c, y_c = draws.contamination.take(X, y)
    estimate = cpu_timed(
        seconds,
        "contamination",
        lambda: estimate_contamination(X_c, y_c, random_state=random_state),
    )
    share = contamination_for_threshold(estimate).value
    X_cv, y_cv = draws.cross_validation.take(X, y)
    results: list[SelectionResult] = []
    for method in methods:
        params = applicable_params(method, {"random_state": random_state, "device": "cpu"})
        try:
            results.append(
                cpu_timed(
                    seconds,
                    "cross-validation",
                    partial(
                        cross_validate, method, params, X_cv, y_cv, share, CV_FOLDS, random_state
                    ),
                )
            )
        except EvaluationError as err:
            log.warning("%s: %s", method, err)
    chosen = plan_release(results, share).selection
    detector = cpu_timed(seconds, "refit", lambda: refit_detector(chosen, *draws.refit.take(X, y)))
    candidate = cpu_timed(
        seconds, "calibration", lambda: calibrate_candidate(detector, chosen, X, y, share)
    )
    test = detector.decision_function(split.X_test)
    return {
        "rows_train": len(y),
        "unlabelled_read": int((y[draws.refit.rows] == 0).sum()),
        "release": describe(chosen.method, chosen.params),
        "contamination": estimate.estimate,
        "threshold_share": share,
        "auc_pr": float(average_precision_score(split.y_test, test)),
        "auc_roc": float(roc_auc_score(split.y_test, test)),
        "flag_rate": float(candidate.threshold.flag(test).mean()),
        "test_share": float(split.y_test.mean()),
        **{f"{stage}_cpu_s": round(s, 2) for stage, s in seconds.items()},
    }


def reference_budget(part: pd.DataFrame) -> int:
    """What one table and label count's budgets are compared with: every row where that was
    measured, else the largest budget (on a loaded machine every row may not fit)."""
    budgets = set(part["budget"])
    return ALL_ROWS if ALL_ROWS in budgets else max(budgets)


def noise_and_loss(frame: pd.DataFrame) -> pd.DataFrame:
    """Per table and label count: each budget's mean test AUC-PR and flag rate, its mean
    paired difference from the reference budget (`reference_budget`; same split and seed),
    and the seed noise: the standard deviation of AUC-PR over flow seeds on one split,
    pooled over splits and budgets; a label count with no repeated flow seed takes its
    table's, pooled over the label counts (the seeds' spread is the table's more than the
    labels')."""
    by_split = frame.groupby(["table", "labels", "seed", "budget"])["auc_pr"]
    spread = by_split.std(ddof=1).dropna()

    def pooled(sds: pd.Series) -> float:
        return float(np.sqrt((sds**2).mean()))

    noise = spread.groupby(level=["table", "labels"]).apply(pooled)
    table_noise = spread.groupby(level="table").apply(pooled)
    rows = []
    for (table, labels), setting in frame.groupby(["table", "labels"]):
        reference = reference_budget(setting)
        ref = setting[setting["budget"] == reference].set_index(["seed", "random_state"])
        for budget, part in setting.groupby("budget"):
            keyed = part.set_index(["seed", "random_state"])
            paired = keyed["auc_pr"] - ref["auc_pr"].reindex(keyed.index)
            rows.append(
                {
                    "table": table,
                    "labels": labels,
                    "budget": budget,
                    "reference": reference,
                    "rows_train": int(part["rows_train"].iloc[0]),
                    "runs": len(part),
                    "auc_pr": part["auc_pr"].mean(),
                    "flag_rate": part["flag_rate"].mean(),
                    "test_share": part["test_share"].mean(),
                    "vs_reference": paired.mean(),
                    "paired_runs": int(paired.notna().sum()),
                    "seed_noise": noise.get((table, labels), table_noise.get(table, np.nan)),
                    "cpu_s": part.filter(like="_cpu_s").sum(axis=1).mean(),
                }
            )
    return pd.DataFrame(rows)


def outside_noise(summary: pd.DataFrame, budget: int) -> list[str]:
    """The table and label settings where `budget` is not measured, or is not the reference
    and its mean paired AUC-PR is more than the seed noise below the reference's."""
    failing = []
    for (table, labels), setting in summary.groupby(["table", "labels"]):
        row = setting[setting["budget"] == budget]
        fine = len(row) == 1 and (
            budget == row["reference"].iloc[0]
            or bool(row["vs_reference"].iloc[0] >= -row["seed_noise"].iloc[0])
        )
        if not fine:
            failing.append(f"{table}, {labels} labels")
    return failing


def smallest_within_noise(summary: pd.DataFrame) -> int | None:
    """The smallest budget within seed noise of its reference on every table and label
    count (`outside_noise` names none)."""
    for budget in sorted(set(summary["budget"]) - {ALL_ROWS}):
        if not outside_noise(summary, int(budget)):
            return int(budget)
    return None


def default_note(summary: pd.DataFrame, chosen: int | None) -> str:
    """How the default budget stands against the measurement: where it is not within seed
    noise of the reference, and how it compares with the smallest budget that is."""
    note = f"The default budget (components/selection/row_budget.py) is {DEFAULT_CV_ROWS:,}"
    failing = outside_noise(summary, DEFAULT_CV_ROWS)
    if failing:
        note += "; it is not within seed noise of its reference (or not measured) on: "
        note += "; ".join(failing) + "."
    else:
        note += "; it is within seed noise of its reference on every setting."
    if chosen is not None and chosen < RELEASE_GRID_ROWS:
        note += (
            f" The smaller {chosen:,} is not the default: it would subsample the tables of"
            f' "Release quality" (at most {RELEASE_GRID_ROWS:,} rows, each trained on every'
            " row there), changing releases that were not measured on a budget."
        )
    elif chosen is not None and chosen < DEFAULT_CV_ROWS:
        note += f" The smallest budget within seed noise everywhere is {chosen:,}."
    return note


def budget_name(budget: int) -> str:
    return "all rows" if budget == ALL_ROWS else f"{budget:,}"


def render(frame: pd.DataFrame, plot: Path, results_md: Path) -> None:
    """The RESULTS.md section (per table, labels and budget) and the PNG curve; it names
    every command that measured a point (the CSV's `command` column)."""
    summary = noise_and_loss(frame)
    order = {b: (b == ALL_ROWS, b) for b in summary["budget"].unique()}
    summary = summary.sort_values(
        ["table", "labels", "budget"], key=lambda c: c.map(order) if c.name == "budget" else c
    )
    columns = ["table", "train rows", "labels", "budget", "runs", "test AUC-PR"]
    columns += ["vs reference (paired)", "seed noise (sd)", "flag rate", "true share", "CPU s"]
    rows = [
        [
            r.table,
            f"{r.rows_train:,}",
            str(r.labels),
            budget_name(r.budget) + (" (reference)" if r.budget == r.reference else ""),
            str(r.runs),
            f"{r.auc_pr:.3f}",
            ""
            if r.budget == r.reference or np.isnan(r.vs_reference)
            else f"{r.vs_reference:+.3f} ({r.paired_runs})",
            f"{r.seed_noise:.3f}",
            f"{r.flag_rate:.2%}",
            f"{r.test_share:.2%}",
            f"{r.cpu_s:.0f}",
        ]
        for r in summary.itertuples()
    ]
    lines = show_table("release on a row budget", columns, rows)
    chosen = smallest_within_noise(summary)
    references = summary.groupby(["table", "labels"])["reference"].first()
    every_row = int((references == ALL_ROWS).sum())
    verdict = (
        f"Smallest budget within seed noise of its reference (mean paired difference >= minus "
        f"the noise) on each of the {len(references)} table and label settings: "
        f"**{budget_name(chosen)}**. The reference is every row on {every_row} of them, the "
        "largest budget measured on the others."
        if chosen is not None
        else "No budget measured is within seed noise of its reference on every setting."
    )
    draw_curve(summary, plot)
    dates = f"{frame['date'].min()} to {frame['date'].max()}"
    section = [
        HEADING,
        "",
        "Commands (`OMP_NUM_THREADS=1`, resumable: each adds its missing points to the CSV):",
        "",
        *(f"- `{c}`" for c in dict.fromkeys(frame["command"])),
        "",
        f"Dates: {dates}. Machine: {machine()}. Load: the 1-minute load",
        f"average during the runs was {frame['load'].min():.1f} to {frame['load'].max():.1f}",
        "(other jobs); the CPU seconds are this process's own.",
        "",
        "`runs`: splits x flow seeds measured; `vs reference`: the mean paired difference in",
        "test AUC-PR from the same split and flow seed on the reference, which is every row",
        "where that was measured and the largest budget elsewhere (how many pairs); `seed",
        "noise`: the standard deviation of test AUC-PR over flow seeds on one split, pooled",
        "over the budgets (a label count measured with one flow seed takes its table's);",
        "`flag rate`: share of test rows the release flags (mean over runs);",
        "`CPU s`: contamination + cross-validation + refit + calibration, mean per run.",
        "",
        *lines,
        "",
        verdict,
        "",
        default_note(summary, chosen),
        "",
        f"![budget curve]({plot.relative_to(results_md.parent)})",
    ]
    replace_section(results_md, HEADING, "\n".join(section))


def draw_curve(summary: pd.DataFrame, path: Path) -> None:
    """Test AUC-PR and flag rate against the budget, one line per table and label count;
    every row is drawn at the right edge."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = sorted(b for b in summary["budget"].unique() if b != ALL_ROWS)
    position = {b: i for i, b in enumerate([*budgets, ALL_ROWS])}
    fig, (auc_ax, flag_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for (table, labels), part in summary.groupby(["table", "labels"]):
        xs = part["budget"].map(position)
        order = np.argsort(xs.to_numpy())
        line = auc_ax.plot(
            xs.to_numpy()[order], part["auc_pr"].to_numpy()[order], "-o", label=f"{table}, {labels}"
        )
        flag_ax.plot(
            xs.to_numpy()[order],
            part["flag_rate"].to_numpy()[order],
            "-o",
            color=line[0].get_color(),
        )
        flag_ax.axhline(part["test_share"].mean(), color=line[0].get_color(), ls=":", lw=0.8)
    for ax in (auc_ax, flag_ax):
        ax.set_xticks(list(position.values()), [budget_name(b) for b in position])
        ax.set_xlabel("unlabelled rows per stage")
        ax.grid(True, alpha=0.3)
    auc_ax.set(ylabel="release test AUC-PR", title="release quality against the budget")
    flag_ax.set(ylabel="share of test rows flagged", title="flag rate (dotted: true share)")
    flag_ax.set_yscale("log")
    auc_ax.legend(fontsize=7, title="table, labels", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def smoke_tables(folder: Path) -> Path:
    """A 4,000-row table in the benchmark format (features and `label`)."""
    path = folder / "toy.parquet"
    anomalies = write_large_table(path, 4000, n_features=10, share=0.03)
    table = pd.read_parquet(path).drop(columns="id")
    table["label"] = np.isin(np.arange(len(table)), anomalies).astype(np.int64)
    table.to_parquet(path)
    return folder


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = Path(
        "../shared/datasets"
    ),
    datasets: Annotated[
        str, typer.Option(help="comma-separated table names")
    ] = "donors,http,cover",
    labels: Annotated[str, typer.Option(help="labelled anomalies per split")] = "10,20",
    seeds: Annotated[str, typer.Option(help="split seeds")] = "0,1",
    random_states: Annotated[str, typer.Option(help="flow seeds per split")] = "0",
    budgets: Annotated[str, typer.Option(help="unlabelled rows per stage; 0 = all")] = (
        "2000,5000,10000,20000,50000,0"
    ),
    methods: Annotated[str, typer.Option(help="candidates")] = ",".join(DEFAULT_CANDIDATES),
    csv: Annotated[Path, typer.Option(help="rows appended here")] = HERE
    / "results"
    / "budget_curve.csv",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    write: Annotated[bool, typer.Option(help="rewrite the RESULTS.md section")] = False,
    smoke: Annotated[bool, typer.Option(help="a 4,000-row toy table, iforest, seconds")] = False,
    smoke_dir: Annotated[Path | None, typer.Option(help="--smoke's folder (default: new)")] = None,
    render_only: RenderOnly = False,
) -> None:
    """Run the missing points, append them to the CSV, and (with --write) render."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    torch.set_num_threads(1)
    command = "python -m benchmarks.budget_curve " + " ".join(sys.argv[1:])
    if smoke:
        folder = smoke_dir or Path(tempfile.mkdtemp(prefix="budget-curve-"))
        folder.mkdir(parents=True, exist_ok=True)
        data_dir, datasets, labels, seeds = smoke_tables(folder), "toy", "10", "0"
        random_states, budgets, methods = "0,1", "300,0", "iforest"
        csv, results_md, write = folder / "budget_curve.csv", folder / "RESULTS.md", True
    done = set()
    if csv.exists():
        done = set(map(tuple, pd.read_csv(csv)[KEY].astype(str).to_numpy().tolist()))
    method_list = csv_list(methods, str)
    for path in [] if render_only else select_tables(data_dir, datasets):
        X, y = load_table(path)
        for seed in csv_list(seeds, int):
            for n in csv_list(labels, int):
                split = make_split(X, y, None, seed, n_labels=n)
                for state in csv_list(random_states, int):
                    for budget in csv_list(budgets, int):
                        key = (path.stem, n, seed, state, budget)
                        if tuple(map(str, key)) in done:
                            continue
                        start = time.perf_counter()
                        row = release_on_budget(split, budget, method_list, state)
                        row = {
                            **dict(zip(KEY, key, strict=True)),
                            **row,
                            "wall_s": round(time.perf_counter() - start, 1),
                            "load": round(os.getloadavg()[0], 1),
                            "date": str(datetime.date.today()),
                            "command": command,
                        }
                        frame = pd.DataFrame([row])
                        frame.to_csv(csv, mode="a", header=not csv.exists(), index=False)
                        print(frame.to_string(index=False, header=False), flush=True)
    if write:
        render(pd.read_csv(csv), csv.with_suffix(".png"), results_md)


if __name__ == "__main__":
    typer.run(main)
