"""Streaming scoring: chunked output equals one-shot scoring; failures leave no file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.data.table_io import iter_chunks
from components.data.tables import DataError
from components.detectors import make
from components.serving.batch import score_table


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 4)), columns=list("abcd"))
    frame.insert(0, "id", [f"r{i}" for i in range(1000)])
    return frame


@pytest.fixture
def predict(table):
    det = make("iforest").fit(table[list("abcd")].to_numpy(), np.zeros(len(table), dtype=int))

    def run(chunk: pd.DataFrame) -> pd.DataFrame:
        score = det.decision_function(chunk[list("abcd")].to_numpy())
        return pd.DataFrame({"score": score, "is_anomaly": score > 0.55})

    return run


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunked_scores_equal_one_shot(suffix, table, predict, tmp_path):
    src = tmp_path / f"t{suffix}"
    table.to_csv(src, index=False) if suffix == ".csv" else table.to_parquet(src)
    summary = score_table(predict, src, tmp_path / f"out{suffix}", "id", chunk_rows=97)
    out = pd.read_csv(summary.out) if suffix == ".csv" else pd.read_parquet(summary.out)
    expected = predict(table)
    assert summary.rows == len(out) == 1000
    assert list(out["id"]) == list(table["id"])
    np.testing.assert_allclose(out["score"], expected["score"], rtol=1e-6)
    assert summary.flagged == int(expected["is_anomaly"].sum())


def test_failure_midway_leaves_no_output(table, predict, tmp_path):
    table = table.astype({"a": object})
    table.loc[600, "a"] = "oops"
    src = tmp_path / "t.csv"
    table.to_csv(src, index=False)

    def strict(chunk: pd.DataFrame) -> pd.DataFrame:
        if not pd.api.types.is_numeric_dtype(chunk["a"]):
            raise DataError("column a holds text")
        return predict(chunk)

    with pytest.raises(DataError, match="column a"):
        score_table(strict, src, tmp_path / "out.csv", "id", chunk_rows=100)
    assert list(tmp_path.iterdir()) == [src]


def test_unreadable_inputs_fail_clearly(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        list(iter_chunks(tmp_path / "missing.csv", 10))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match="not a readable parquet file"):
        list(iter_chunks(bad, 10))
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        list(iter_chunks(tmp_path / "t.txt", 10))
