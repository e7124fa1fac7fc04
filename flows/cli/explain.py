"""`wsad explain`: which features made the most anomalous rows of a table anomalous.

Uses `devnet-topk`'s explanation (components/detectors/devnet_topk.py). Without `--model` it
fits one on the table itself, reading the `label` column as weak labels (1 = confirmed
anomaly, 0 = unlabelled) and min-max scaling the features; with `--model` it loads a saved
devnet-topk file, which must have been fitted on this table's feature columns in the same
units and order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from components.data.table_io import read_table
from components.data.tables import Scaler
from components.detectors import Detector, make
from components.detectors.api import check_X
from components.detectors.devnet_topk import DevNetTopK

LABEL = "label"


class ExplainError(ValueError):
    """The table or model cannot be explained; the message says what to pass instead."""


def fitted_or_loaded(
    X: np.ndarray, labels: np.ndarray | None, model: Path | None, epochs: int, seed: int
) -> tuple[DevNetTopK, np.ndarray]:
    """The detector to explain with and the features in the units it expects."""
    if model is not None:
        det = Detector.load(model)
        if not isinstance(det, DevNetTopK):
            raise ExplainError(
                f"{model} holds a {det.name} detector; explain needs a devnet-topk model"
            )
        return det, X
    if labels is None:
        raise ExplainError(
            f"the table has no {LABEL!r} column to fit on; add one (1 = confirmed anomaly, "
            "0 = unlabelled) or pass --model FILE.pt"
        )
    scaled = Scaler.fit(X).transform(X)
    det = make("devnet-topk", epochs=epochs, random_state=seed)
    assert isinstance(det, DevNetTopK)
    return det.fit(scaled, labels), scaled


def explain(
    data: Annotated[Path, typer.Option(help="table (CSV/parquet); a 'label' column = weak labels")],
    model: Annotated[Path | None, typer.Option(help="saved devnet-topk model (.pt)")] = None,
    top_rows: Annotated[int, typer.Option(help="most anomalous rows to show")] = 10,
    top_features: Annotated[int, typer.Option(help="features shown per row")] = 5,
    epochs: Annotated[int, typer.Option(help="training epochs when fitting here")] = 50,
    seed: Annotated[int, typer.Option(help="random_state when fitting here")] = 0,
) -> None:
    """Print the top features of the most anomalous rows, by devnet-topk's explanation."""
    from flows.cli.terminal import one_line_errors

    with one_line_errors():
        table = read_table(data)
        names = [str(c) for c in table.columns if c != LABEL]
        X = check_X(table[names])
        labels = table[LABEL].to_numpy() if LABEL in table.columns else None
        det, X_model = fitted_or_loaded(X, labels, model, epochs, seed)
        scores = det.decision_function(X_model)
        _, contributions = det.explain(X_model)
    shown = Table(
        title=f"{data.name}: top {top_features} features of the {top_rows} highest scores"
    )
    for col in ("row", "score", *([LABEL] if labels is not None else []), "top features"):
        shown.add_column(col)
    for row in np.argsort(-scores, kind="stable")[:top_rows]:
        order = np.argsort(-contributions[row], kind="stable")[:top_features]
        tops = ", ".join(
            f"{names[j]}={table[names[j]].iloc[row]:.4g} ({contributions[row, j]:+.2f})"
            for j in order
        )
        label = [str(labels[row])] if labels is not None else []
        shown.add_row(str(table.index[row]), f"{scores[row]:.3f}", *label, tops)
    Console().print(shown)
