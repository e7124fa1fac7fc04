"""Every method on the shared datasets: render `wsad bench` CSVs into RESULTS.md and a plot.

Run the grid (one or several `wsad bench` processes, their CSVs concatenated), then
`python -m benchmarks.grid_report results/*.csv --command "..."`: per label ratio, a table of
mean AUC-PR (over seeds) per dataset and method, the mean over datasets, the published
numbers we can set beside ours, and `benchmarks/results/grid_auc_pr.png` (a heatmap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from benchmarks import smoke
from benchmarks.report import machine, replace_section

HERE = Path(__file__).resolve().parent
HEADING = "## Every method on the shared datasets (`wsad bench`)"
METHOD_ORDER = [
    "devnet", "devnet-topk", "prenet", "deepsad", "anoonly", "feawad", "rosas", "esad",
    "mnpwad", "supervised", "catboost", "xgbod", "iforest",
]  # fmt: skip
# Published numbers on datasets we have (METHODS.md), AUC-ROC, with their protocol.
PUBLISHED = [
    ("esad", "cardio", 0.988, "ESAD, third-party listing; protocol unknown (Deep SAD's ODDS?)"),
    ("esad", "satellite", 0.925, "ESAD (same listing)"),
    ("esad", "shuttle", 0.991, "ESAD (same listing)"),
    ("devnet", "annthyroid", 0.783, "DevNet KDD'19 'thyroid' (which UCI thyroid set: unsure)"),
]  # fmt: skip


def pivot(
    results: pd.DataFrame, value: float, metric: str = "auc_pr", setting: str = "label_ratio"
) -> pd.DataFrame:
    """Mean over seeds at one label setting (`label_ratio` or `labels` equal to `value`):
    datasets as rows, methods as columns, a mean row last."""
    part = results[results[setting] == value]
    table = part.pivot_table(index="dataset", columns="method", values=metric, aggfunc="mean")
    table = table[[m for m in METHOD_ORDER if m in table.columns]]
    table.loc["**mean**"] = table.mean(skipna=True)
    return table


def markdown_table(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        best = row.max()
        cells = ["–" if pd.isna(v) else (f"**{v:.3f}**" if v == best else f"{v:.3f}") for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def published_table(results: pd.DataFrame) -> str:
    roc = results[results.label_ratio == results.label_ratio.max()]
    lines = ["| method | dataset | published AUC-ROC | ours AUC-ROC | source and protocol |",
             "|---|---|---|---|---|"]  # fmt: skip
    for method, dataset, value, source in PUBLISHED:
        ours = roc[(roc.method == method) & (roc.dataset == dataset)].auc_roc.mean()
        lines.append(f"| {method} | {dataset} | {value:.3f} | {ours:.3f} | {source} |")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: Path, title: str) -> Path:
    """AUC-PR heatmap, datasets x methods, values written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(table.columns), 0.9 + 0.42 * len(table)))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(table)), [str(i).strip("*") for i in table.index])
    for (i, j), value in pd.DataFrame(table.to_numpy()).stack().dropna().items():
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="white" if value < 0.5 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, label="AUC-PR (test)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(
    csvs: Annotated[list[Path] | None, typer.Argument(help="`wsad bench` CSVs of one grid")] = None,
    command: Annotated[str, typer.Option(help="the command(s) that produced them")] = "",
    note: Annotated[str, typer.Option(help="protocol note for RESULTS.md")] = "",
    results_md: Annotated[Path, typer.Option()] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option()] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Write the grid's section of RESULTS.md, its merged CSV and its heatmap."""
    if smoke_:
        out_dir = smoke.smoke_dir()
        csvs, command, results_md = (
            [smoke.bench_rows(out_dir, "bench.csv")],
            "smoke",
            out_dir / "RESULTS.md",
        )
    if not csvs or not command:
        raise typer.BadParameter("give the grid's CSVs and --command")
    results = pd.concat([pd.read_csv(p) for p in csvs], ignore_index=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    results.to_csv(out_dir / "grid.csv", index=False)
    ratios = sorted(results.label_ratio.unique())
    seeds = results.groupby("method").seed.nunique()
    image = plot(
        pivot(results, max(ratios)),
        out_dir / "grid_auc_pr.png",
        f"AUC-PR, label ratio {max(ratios):g}, mean over seeds",
    )
    parts = [
        HEADING,
        "",
        f"Machine: {machine()}. Command(s): `{command}`; table: "
        f"`python -m benchmarks.grid_report <csvs> --command ...` (raw rows: "
        "benchmarks/results/grid.csv).",
        "",
        *([note, ""] if note else []),
        "Seeds per method: " + ", ".join(f"{m} {n}" for m, n in seeds.items()) + ".",
        "",
    ]
    for ratio in ratios:
        parts += [
            f"### Mean AUC-PR, label ratio {ratio:g}",
            "",
            markdown_table(pivot(results, ratio)),
            "",
        ]
    skipped = results[results.auc_pr.isna()]
    if len(skipped):
        parts += [
            f"– = not run: {len(skipped)} fit(s) had too few labelled anomalies "
            f"({'; '.join(sorted(set(skipped.note.dropna())))}); method means skip them.",
            "",
        ]
    parts += [
        f"![AUC-PR heatmap]({image.relative_to(results_md.parent)})",
        "",
        "### Published numbers beside ours",
        "",
        published_table(results),
        "",
    ]
    replace_section(results_md, HEADING, "\n".join(parts))


if __name__ == "__main__":
    typer.run(main)
