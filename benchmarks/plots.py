"""PNG bar charts of benchmark results, beside their CSVs (matplotlib is imported on use,
with the Agg backend: the GPU box has it but no display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def bar_chart(
    frame: pd.DataFrame,
    label: str,
    values: Sequence[str],
    path: Path,
    title: str,
    ylabel: str,
    log_scale: bool = False,
) -> None:
    """One group of bars per row of `frame` (named by its `label` column), one bar per column
    in `values`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.5, 0.9 * len(frame) * len(values)), 3.8))
    width = 0.8 / len(values)
    for i, column in enumerate(values):
        xs = [k + (i - (len(values) - 1) / 2) * width for k in range(len(frame))]
        ax.bar(xs, frame[column], width, label=column)
    ax.set_xticks(range(len(frame)), frame[label].astype(str), rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
