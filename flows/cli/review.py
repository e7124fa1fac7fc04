"""`wsad review`: the rows an analyst should look at next, each with why it scored high; with
`--report`, what the verdicts on such a queue say about precision and recall."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table


def review(
    records: Annotated[
        Path | None, typer.Option(help="table to review (CSV/parquet); not with --report")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="rows in the queue")] = 50,
    out_path: Annotated[
        Path, typer.Option("--out", help="review.html (page) or review.csv")
    ] = Path("review.html"),
    uncertain_share: Annotated[
        float | None,
        typer.Option(help="share of rows the model is least sure of (WSAD_REVIEW_UNCERTAIN_SHARE)"),
    ] = None,
    random_share: Annotated[
        float | None,
        typer.Option(help="share drawn at random to measure (WSAD_REVIEW_RANDOM_SHARE)"),
    ] = None,
    top_features: Annotated[int, typer.Option(help="features explained per row")] = 5,
    report: Annotated[
        bool,
        typer.Option(
            "--report", help="precision and recall from the verdicts on the queue at --out"
        ),
    ] = False,
    model_name: Annotated[
        str | None, typer.Option(help="registered model (WSAD_MODEL_NAME)")
    ] = None,
) -> None:
    """Queue unlabelled rows for review (most from the top of the champion's scores, a share
    where it is least sure, a share at random), explain each, and write a sortable page or a
    CSV with the queue's design next to it. With --report: the Horvitz-Thompson precision and
    recall at the threshold from the verdicts recorded on that queue."""
    from components.review.page import check_output
    from flows.cli.terminal import fail, one_line_errors, settings_with

    settings = settings_with(
        model_name=model_name,
        review_uncertain_share=uncertain_share,
        review_random_share=random_share,
    )
    if report:
        _report(out_path, settings.labels)
        return
    if records is None:
        fail("--records names the table to queue rows from (or use --report)")
    from flows.pipelines.review import review_flow

    with one_line_errors():
        check_output(out_path)  # before the flow starts: a wrong name costs nothing
        result = review_flow(records, out_path, n, None, top_features, settings)
    _show_queue(result, top_features)


def _show_queue(result: dict, top_features: int) -> None:
    from flows.cli.terminal import out

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
        f"{result['out']} (Prefect artifact wsad-review-queue), its design to "
        f"{result['design']}. Record verdicts with `wsad label add ID... --who NAME` or "
        "`wsad label dismiss ID... --who NAME`; `wsad review --report --out "
        f"{result['out']}` then measures precision and recall.",
        highlight=False,
        soft_wrap=True,
    )


def _report(queue_file: Path, labels: Path) -> None:
    """Print the estimates and the strata they rest on."""
    from components.review.estimate import measure_queue
    from flows.cli.terminal import one_line_errors, out

    with one_line_errors():
        design, estimate = measure_queue(queue_file, labels)
    shown = Table(title=f"{design.model} on {design.records}: the queue's strata")
    for column in ("stratum", "rows", "queued", "inclusion", "reviewed", "anomalies"):
        shown.add_column(column)
    for s, counts in zip(design.strata, estimate.strata, strict=True):
        shown.add_row(
            s.name,
            str(s.population),
            str(counts.queued),
            f"{s.inclusion:.3g}",
            str(counts.reviewed),
            str(counts.anomalies),
        )
    out.print(shown)
    out.print(estimate.summary(), highlight=False, soft_wrap=True)
    if estimate.missing:
        out.print(
            f"no verdict yet in: {', '.join(estimate.missing)}; review those rows of "
            f"{queue_file} to estimate what needs them",
            highlight=False,
            soft_wrap=True,
        )
