"""The `wsad` command line: thin wrappers that call components and flows."""

from __future__ import annotations

from pathlib import Path

import typer

from components.benchmark import bench

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("bench")(bench)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@app.command()
def demo() -> None:
    """Run the demo job: a quick benchmark of every method on one shared dataset."""
    bench(
        data_dir=SHARED_DATA,
        datasets="cardio",
        label_ratios="0.1",
        seeds="0",
        set_=["epochs=10"],
        out=Path("results-demo.csv"),
    )


if __name__ == "__main__":
    app()
