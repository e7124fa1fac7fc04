"""`wsad explain`: fits devnet-topk on a labelled table (or loads one) and names the planted
features of the most anomalous rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from components.data.tables import Scaler
from components.detectors import make
from flows.cli.main import app
from tests.conftest import synthetic_task


@pytest.fixture
def table(tmp_path):
    X, y, _ = synthetic_task()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = y
    path = tmp_path / "table.parquet"
    df.to_parquet(path)
    return path, X, y


def top_features(output: str) -> list[set[str]]:
    """Per printed row, the feature names of its first three contributions."""
    return [set(re.findall(r"(f\d)=", line)[:3]) for line in output.splitlines() if "f" in line]


def test_explain_fits_on_the_label_column_and_names_planted_features(table):
    path, _, _ = table
    result = CliRunner().invoke(
        app, ["explain", "--data", str(path), "--epochs", "15", "--top-rows", "5"]
    )
    assert result.exit_code == 0, result.output
    rows = [r for r in top_features(result.output) if len(r) == 3]
    assert len(rows) == 5
    assert all(r == {"f0", "f1", "f2"} for r in rows)


def test_explain_uses_a_saved_model(table, tmp_path):
    path, X, y = table
    det = make("devnet-topk", epochs=15).fit(Scaler.fit(X).transform(X), y)
    det.save(tmp_path / "topk.pt")
    scaled = tmp_path / "scaled.csv"
    pd.DataFrame(Scaler.fit(X).transform(X), columns=[f"f{i}" for i in range(8)]).to_csv(
        scaled, index=False
    )
    result = CliRunner().invoke(
        app, ["explain", "--data", str(scaled), "--model", str(tmp_path / "topk.pt")]
    )
    assert result.exit_code == 0, result.output
    assert "label" not in result.output.split("\n", 2)[1]  # no label column to show
    assert sum(r == {"f0", "f1", "f2"} for r in top_features(result.output)) >= 8


def test_explain_without_labels_or_model_fails_in_one_line(tmp_path):
    path = tmp_path / "nolabel.csv"
    pd.DataFrame(np.zeros((5, 2)), columns=["a", "b"]).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["explain", "--data", str(path)])
    assert result.exit_code == 2
    assert "no 'label' column to fit on" in result.output


def test_explain_refuses_a_model_of_another_method(table, tmp_path):
    path, X, y = table
    make("iforest").fit(X, y).save(tmp_path / "iforest.pt")
    result = CliRunner().invoke(
        app, ["explain", "--data", str(path), "--model", str(tmp_path / "iforest.pt")]
    )
    assert result.exit_code == 2
    assert "holds a iforest detector; explain needs a devnet-topk model" in result.output
