"""Tree candidates at ADGym's label counts: render `wsad bench --labels` CSVs into RESULTS.md.

Run `wsad bench ... --labels 5,10,20` (one or several processes, split by table), then
`python -m benchmarks.trees_report part*.csv --command "..."`: mean AUC-PR over tables and
seeds per method and label count beside ADGym's published means, the mean fit and score time
per method, and per label count the mean AUC-PR per dataset and method. In that run a
batchable method's fit time is its share of one `fit_many` over a seed's label counts, so
`--single-fits` takes a run with one label count (every fit on its own, the methods
interleaved per table in one process) for the time of one fit. The merged raw rows go to
benchmarks/results/trees_labels.csv and trees_fit_times.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from benchmarks import smoke
from benchmarks.grid_report import markdown_table, pivot
from benchmarks.report import machine, replace_section, show_table

HERE = Path(__file__).resolve().parent
HEADING = "## Tree candidates (issue 15)"
# ADGym (Jiang et al., NeurIPS 2023), its released result CSVs: mean test AUC-PR over 31
# ADBench tables at 5 / 10 / 20 labelled anomalies.
ADGYM = {
    "catboost": (0.565, 0.635, 0.693),
    "xgbod": (0.487, 0.572, 0.641),
    "prenet": (0.526, 0.579, 0.619),
    "devnet": (0.487, 0.536, 0.590),
}
ADGYM_COUNTS = (5, 10, 20)


def summary_rows(results: pd.DataFrame, counts: list[int]) -> list[list[str]]:
    """Per method: our mean AUC-PR per count, ADGym's, and the mean fit and score seconds."""
    means = results.groupby(["method", "labels"]).auc_pr.mean()
    seconds = results.groupby("method")[["fit_seconds", "score_seconds"]].mean()
    methods = [*results.method.unique(), *(m for m in ADGYM if m not in set(results.method))]
    rows = []
    for method in methods:
        ours = [f"{means[(method, c)]:.3f}" if (method, c) in means else "–" for c in counts]
        published = dict(zip(ADGYM_COUNTS, ADGYM.get(method, ()), strict=False))
        theirs = [f"{published[c]:.3f}" if c in published else "–" for c in counts]
        times = (
            [f"{seconds.fit_seconds[method]:.1f}", f"{seconds.score_seconds[method]:.2f}"]
            if method in seconds.index
            else ["–", "–"]
        )
        rows.append([method, *ours, *theirs, *times])
    return rows


def fit_time_rows(single: pd.DataFrame) -> list[list[str]]:
    """Per method: fits, mean fit and score seconds of one fit on its own."""
    per = single.groupby("method", sort=False)
    return [
        [m, f"{len(g)}", f"{g.fit_seconds.mean():.1f}", f"{g.score_seconds.mean():.2f}"]
        for m, g in per
    ]


def main(
    csvs: Annotated[
        list[Path] | None, typer.Argument(help="`wsad bench --labels` CSVs of one run")
    ] = None,
    command: Annotated[str, typer.Option(help="the command(s) that produced them")] = "",
    single_fits: Annotated[
        Path | None, typer.Option(help="a one-label-count run, for fit times")
    ] = None,
    note: Annotated[str, typer.Option(help="protocol note for RESULTS.md")] = "",
    results_md: Annotated[Path, typer.Option()] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option()] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Write the section of RESULTS.md and the merged CSV."""
    if smoke_:
        out_dir = smoke.smoke_dir()
        csvs = [smoke.bench_rows(out_dir, "labels.csv", [5, 10])]
        single_fits = smoke.bench_rows(out_dir, "single.csv", [5])
        command, results_md = "smoke", out_dir / "RESULTS.md"
    if not csvs or not command or single_fits is None:
        raise typer.BadParameter("give the run's CSVs, --command and --single-fits")
    results = pd.concat([pd.read_csv(p) for p in csvs], ignore_index=True)
    if results["labels"].isna().any():
        raise typer.BadParameter("every row must come from `wsad bench --labels`")
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "trees_labels.csv"
    results.to_csv(csv_path, index=False)
    counts = sorted(int(c) for c in results["labels"].unique())
    columns = (
        "method",
        *(f"ours {c}" for c in counts),
        *(f"ADGym {c}" for c in counts),
        "fit s (mean)",
        "score s (mean)",
    )
    table = show_table("Mean AUC-PR by labelled anomalies", columns, summary_rows(results, counts))
    n_tables, seeds = results.dataset.nunique(), sorted(results.seed.unique())
    parts = [
        HEADING,
        "",
        f"Machine: {machine()}. Command(s): `{command}`; table: "
        "`python -m benchmarks.trees_report <csvs> --command ...` (raw rows: "
        "benchmarks/results/trees_labels.csv).",
        "",
        *([note, ""] if note else []),
        f"Mean test AUC-PR over {n_tables} tables x seeds {', '.join(map(str, seeds))}, by "
        "number of labelled training anomalies; ADGym's means alongside ('–': not run here).",
        "",
        *table,
        "",
    ]
    single = pd.read_csv(single_fits)
    every_method = single.method.nunique()
    single = single.groupby("dataset").filter(lambda g: g.method.nunique() == every_method)
    single.to_csv(out_dir / "trees_fit_times.csv", index=False)
    times = show_table(
        "Time of one fit",
        ("method", "fits", "fit s (mean)", "score s (mean)"),
        fit_time_rows(single),
    )
    parts += [
        f"Time of one fit, each on its own ({len(single)} fits: seed 0, "
        f"{int(single['labels'].iloc[0])} labels, {single.dataset.nunique()} tables; raw rows: "
        "benchmarks/results/trees_fit_times.csv):",
        "",
        *times,
        "",
    ]
    for count in counts:
        parts += [
            f"### Mean AUC-PR, {count} labelled anomalies",
            "",
            markdown_table(pivot(results, count, setting="labels")),
            "",
        ]
    replace_section(results_md, HEADING, "\n".join(parts))


if __name__ == "__main__":
    typer.run(main)
