"""Load test of streaming scoring: 5M rows x 20 features through `score_table` and the
champion pyfunc's own `predict` (what the scoring flow runs), in a subprocess whose peak
RSS is measured; the streamed scores equal one-shot scoring of sampled rows."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.data.tables import Scaler, infer_schema
from components.detectors import make
from components.registry.bundle import WsadModel, write_bundle
from components.selection.calibration import calibrate_threshold
from components.serving.batch import score_table

pytestmark = pytest.mark.slow  # a fresh process scoring a large table (tests/README.md)

ROWS, FEATURES, GROUP = 5_000_000, 20, 500_000
COLUMNS = [f"f{j:02d}" for j in range(FEATURES)]
MAX_RSS_BYTES = 2 * 1024**3


def build_bundle(root: Path) -> Path:
    """A small DevNet on 20 features, bundled as the registry would."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(2_000, FEATURES)), columns=COLUMNS)
    table.iloc[:20] += 4.0  # the 20 labelled anomalies
    raw = table.to_numpy(np.float32)
    scaler = Scaler.fit(raw)
    y = (np.arange(len(raw)) < 20).astype(np.int64)
    X = scaler.transform(raw)
    detector = make("devnet", epochs=2, random_state=0).fit(X, y)
    threshold = calibrate_threshold(detector.decision_function(X), contamination=0.01)
    return write_bundle(root / "bundle", detector, infer_schema(table, None), scaler, threshold)


def write_table(path: Path) -> None:
    """5M rows written row group by row group, so the test never holds the table."""
    rng = np.random.default_rng(1)
    schema = pa.schema([(c, pa.float32()) for c in COLUMNS])
    with pq.ParquetWriter(path, schema) as writer:
        for _ in range(ROWS // GROUP):
            block = rng.normal(size=(GROUP, FEATURES)).astype(np.float32)
            writer.write_table(pa.Table.from_arrays(list(block.T), schema=schema))


def stream(root: str) -> None:
    """Child process: score the 5M-row table chunk by chunk; print rows and peak RSS."""
    model = WsadModel.from_bundle(Path(root) / "bundle")
    summary = score_table(
        lambda chunk: model.predict(None, chunk),
        Path(root) / "big.parquet",
        Path(root) / "scores.parquet",
        None,
        chunk_rows=200_000,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"rows": summary.rows, "peak_rss": peak, "seconds": summary.seconds}))


def test_five_million_rows_stream_in_bounded_memory_with_one_shot_scores(tmp_path):
    build_bundle(tmp_path)
    write_table(tmp_path / "big.parquet")
    done = subprocess.run(
        [sys.executable, "-c", f"from {__name__} import stream; stream({str(tmp_path)!r})"],
        capture_output=True,
        text=True,
        timeout=600,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == ROWS
    assert report["peak_rss"] < MAX_RSS_BYTES, report
    scores = pq.read_table(tmp_path / "scores.parquet").to_pandas()
    assert len(scores) == ROWS
    groups = [0, ROWS // GROUP - 1]  # first and last row group, 2,500 rows from each
    rng = np.random.default_rng(2)
    local = np.concatenate([np.sort(rng.choice(GROUP, 2_500, replace=False)) for _ in groups])
    sample = np.concatenate(
        [g * GROUP + local[k * 2_500 : (k + 1) * 2_500] for k, g in enumerate(groups)]
    )
    table = pq.ParquetFile(tmp_path / "big.parquet")
    rows = pd.concat(
        [
            table.read_row_group(g).to_pandas().iloc[local[k * 2_500 : (k + 1) * 2_500]]
            for k, g in enumerate(groups)
        ]
    )
    one_shot = WsadModel.from_bundle(tmp_path / "bundle").predict(None, rows)
    np.testing.assert_allclose(scores["score"].to_numpy()[sample], one_shot["score"], rtol=1e-6)
    assert (scores["is_anomaly"].to_numpy()[sample] == one_shot["is_anomaly"]).all()
