"""`wsad review`: the rows an analyst should look at next, each with why it scored high."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table


def review(
    records: Annotated[Path, typer.Option(help="table to review (CSV/parquet)")],
    n: Annotated[int, typer.Option("--n", help="rows in the queue")] = 50,
    out_path: Annotated[
        Path, typer.Option("--out", help="review.html (page) or review.csv")
    ] = Path("review.html"),
    uncertain_share: Annotated[
        float | None,
        typer.Option(help="share of rows the model is least sure of (WSAD_REVIEW_UNCERTAIN_SHARE)"),
    ] = None,
    top_features: Annotated[int, typer.Option(help="features explained per row")] = 5,
    model_name: Annotated[
        str | None, typer.Option(help="registered model (WSAD_MODEL_NAME)")
    ] = None,
) -> None:
    """Queue unlabelled rows for review (most from the top of the champion's scores, a share
    where it is least sure), explain each, and write a sortable page or a CSV."""
    from components.review.page import check_output
    from flows.cli.terminal import one_line_errors, out, settings_with
    from flows.pipelines.review import review_flow

    settings = settings_with(model_name=model_name, review_uncertain_share=uncertain_share)
    with one_line_errors():
        check_output(out_path)  # before the flow starts: a wrong name costs nothing
        result = review_flow(records, out_path, n, None, top_features, settings)
    shown = Table(title=f"{result['model']}: first rows of {result['queued']} to review")
    for column in ("#", "id", "score", "why", "top features"):
        shown.add_column(column)
    for row in result["rows"].head(10).to_dict("records"):
        tops = ", ".join(
            f"{row[f'feature_{k}']} (p{row[f'percentile_{k}']:.0f})"
            for k in range(1, min(3, top_features) + 1)
            if f"feature_{k}" in row
        )
        shown.add_row(str(row["rank"]), str(row["id"]), f"{row['score']:.4g}", row["reason"], tops)
    out.print(shown)
    out.print(
        f"{result['queued']} of {result['reviewable']} rows without a verdict written to "
        f"{result['out']} (Prefect artifact wsad-review-queue). Record verdicts with "
        "`wsad label add ID... --who NAME` or `wsad label dismiss ID... --who NAME`."
    )
