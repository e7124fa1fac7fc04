"""How fast does the champion pyfunc score, what do the drift statistics cost, and how much
memory does streaming a large table take? A quick model per method on a 20-feature table,
with its reference profile, is registered in a temporary sqlite MLflow store
(components.registry, as training does) and loaded back by its `champion` alias.

1. Throughput: rows/s of `pyfunc.predict` (MLflow's signature check included) on one
   in-memory batch, and of the unwrapped `WsadModel.score` the scoring flow calls, over that
   batch in streaming-sized chunks, with the drift statistics off and on
   (components/monitoring/drift.py), interleaved in one process so the ratio holds under load.
2. Peak memory: a fresh process streams a 5,000,000-row parquet table through
   `components.serving.batch.score_table` with the drift statistics on (as `wsad score` does); its
   rows/s and peak RSS (ru_maxrss).

    python -m benchmarks.scoring_throughput --threads 2
"""

from __future__ import annotations

import datetime
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import typer

from benchmarks import smoke
from benchmarks.report import machine, replace_section, show_table
from components.data.tables import Scaler, feature_matrix, infer_schema
from components.detectors import make
from components.monitoring.drift import SAMPLE_ROWS, DriftMonitor
from components.monitoring.profile import build_profile
from components.registry import registration, store
from components.registry.bundle import write_bundle
from components.registry.candidate_facts import CandidateFacts
from components.selection.calibration import calibrate_threshold
from components.serving.batch import score_table
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Scoring throughput and streaming memory"
NAME = "wsad-bench"
N_FEATURES = 20
QUICK = {"epochs": 2, "pretrain_epochs": 1, "device": "cpu"}


def table(n_rows: int, seed: int) -> pd.DataFrame:
    """`id` plus 20 float features; 2 % anomalies shifted on the first five."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES)).astype(np.float32)
    X[: n_rows // 50, :5] += 3.0
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(N_FEATURES)])
    frame.insert(0, "id", np.arange(n_rows, dtype=np.int64))
    return frame


def register_champion(method: str, root: Path) -> None:
    """Train a quick `method` model on 5,000 rows and make it the champion of `NAME`."""
    train = table(5_000, seed=0)
    schema = infer_schema(train, id_column="id")
    X = feature_matrix(train, schema)
    scaler = Scaler.fit(X)
    y = np.zeros(len(train), dtype=np.int64)
    y[:20] = 1
    params = {k: v for k, v in QUICK.items() if k in make(method).get_params()}
    det = make(method, **params).fit(scaler.transform(X), y)
    threshold = calibrate_threshold(
        det.decision_function(scaler.transform(X[y == 0])), contamination=0.02
    )
    flags = threshold.flag(det.decision_function(scaler.transform(X)))
    contamination = {"estimate": 0.02, "low": 0.01, "high": 0.03}
    profile = build_profile(X, schema.features, 20, contamination, threshold.value, flags.mean())
    bundle = write_bundle(root / "bundle" / method, det, schema, scaler, threshold, profile)
    facts = CandidateFacts(
        method=method,
        params=params,
        release=method,
        data_version="benchmark",
        records="synthetic",
        labels="synthetic",
        git_commit="benchmark",
        validation_passed=True,
        reference_check="not checked (benchmark)",
        random_state=0,
        torch_threads=torch.get_num_threads(),
        threshold_method="quantile",
        target_fpr=0.01,
        contamination=contamination["estimate"],
        contamination_low=contamination["low"],
        contamination_high=contamination["high"],
        contamination_trusted=True,
        threshold_contamination=contamination["estimate"],
        threshold_note="the estimate",
        metrics={"auc_pr": 0.5},
    )
    ref = registration.log_candidate(NAME, bundle, facts, params, [], train.head(5))
    store.set_alias(NAME, "champion", ref.version)


def throughput(model: Any, batch: pd.DataFrame, repeats: int, chunk_rows: int) -> dict[str, float]:
    """Median rows/s (wall) of the pyfunc on `batch`, and its rows per CPU-second of this
    process (robust to other jobs on the machine); median rows/s (wall) of the unwrapped
    model over `batch` in `chunk_rows` chunks with the drift statistics off and on, the two
    interleaved in each repeat, and the median over repeats of their CPU-time ratio."""
    inner = model.unwrap_python_model()
    chunks = [batch.iloc[i : i + chunk_rows] for i in range(0, len(batch), chunk_rows)]
    wall: dict[str, list[float]] = {"pyfunc": [], "off": [], "on": []}
    cpu: dict[str, list[float]] = {"pyfunc": [], "off": [], "on": []}

    def timed(key: str, run: Any) -> None:
        start, process = time.perf_counter(), time.process_time()
        run()
        wall[key].append(time.perf_counter() - start)
        cpu[key].append(time.process_time() - process)

    def stream(drift: bool) -> None:
        monitor = DriftMonitor(inner.profile, inner.schema.features) if drift else None
        for chunk in chunks:
            inner.score(chunk, monitor.observe if monitor else None)
        if monitor is not None:
            monitor.report(NAME, len(batch), 0)

    for _ in range(repeats):
        timed("pyfunc", lambda: model.predict(batch))
        timed("off", lambda: stream(False))
        timed("on", lambda: stream(True))
    n, median = len(batch), statistics.median
    return {
        "pyfunc": n / median(wall["pyfunc"]),
        "pyfunc_cpu": n / median(cpu["pyfunc"]),
        "off": n / median(wall["off"]),
        "on": n / median(wall["on"]),
        "ratio": median(off / on for off, on in zip(cpu["off"], cpu["on"], strict=True)),
    }


def write_big_table(path: Path, n_rows: int, chunk: int = 500_000) -> None:
    """The large table, written chunk by chunk so this process stays small too."""
    writer = None
    for start in range(0, n_rows, chunk):
        part = table(min(chunk, n_rows - start), seed=start + 1)
        part["id"] += start
        arrow = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, arrow.schema)
        writer.write_table(arrow)
    if writer is not None:
        writer.close()


def peak_rss_of_scoring(
    tracking_uri: str, src: Path, chunk_rows: int, threads: int
) -> dict[str, float]:
    """Run `--score-file` in a fresh process; its rows/s and peak RSS in MiB."""
    command = [sys.executable, "-m", "benchmarks.scoring_throughput", "--store", tracking_uri]
    command += ["--score-file", str(src), "--chunk-rows", str(chunk_rows)]
    command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    rows, seconds, peak_kib = done.stdout.split()[-3:]
    return {"rows": int(rows), "seconds": float(seconds), "peak_mib": int(peak_kib) / 1024}


def score_file(tracking_uri: str, src: Path, chunk_rows: int) -> None:
    """The child: load the champion and stream `src` as the scoring flow does, drift on."""
    store.configure(tracking_uri)
    model = store.load_model(NAME, "champion").unwrap_python_model()
    monitor = DriftMonitor(model.profile, model.schema.features)
    dst = src.with_name("scores.parquet")
    summary = score_table(
        lambda c: model.score(c, monitor.observe),
        src,
        dst,
        "id",
        chunk_rows,
        before_publish=lambda rows, flagged: print(monitor.report(NAME, rows, flagged).summary()),
    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(summary.rows, f"{summary.seconds:.3f}", peak_kib)


def main(
    methods: Annotated[str, typer.Option(help="comma-separated")] = "devnet,prenet,deepsad",
    batch_rows: Annotated[int, typer.Option(help="rows per in-memory predict call")] = 1_000_000,
    big_rows: Annotated[int, typer.Option(help="rows of the streamed table")] = 5_000_000,
    chunk_rows: Annotated[int, typer.Option(help="rows per streamed chunk")] = 100_000,
    repeats: Annotated[int, typer.Option(help="timings; medians reported")] = 3,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    store_uri: Annotated[str | None, typer.Option("--store", hidden=True)] = None,
    score_file_: Annotated[Path | None, typer.Option("--score-file", hidden=True)] = None,
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table and write its section of RESULTS.md."""
    if smoke_:
        methods, batch_rows, big_rows, chunk_rows, repeats = "devnet", 2_000, 5_000, 1_000, 1
        threads, results_md = 1, smoke.smoke_dir() / "RESULTS.md"
    torch.set_num_threads(threads)
    if score_file_ is not None and store_uri is not None:
        score_file(store_uri, score_file_, chunk_rows)
        return
    batch = table(batch_rows, seed=7)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="wsad-scoring-") as tmp:
        root = Path(tmp)
        big = root / "big.parquet"
        write_big_table(big, big_rows)
        for method in csv_list(methods, str):
            uri = f"sqlite:///{root / method / 'mlflow.db'}"
            store.configure(uri)
            register_champion(method, root / method)
            model = store.load_model(NAME, "champion")
            speed = throughput(model, batch, repeats, chunk_rows)
            streamed = peak_rss_of_scoring(uri, big, chunk_rows, threads)
            rows.append((method, speed, streamed))
    load_after = os.getloadavg()[0]
    cols = (
        "method",
        "pyfunc.predict rows/s",
        "pyfunc rows per CPU-s",
        "WsadModel.score rows/s, drift off",
        "drift on",
        "drift on/off throughput (CPU)",
        f"score_table {big_rows:,} rows, drift on: rows/s",
        "peak RSS MiB",
    )
    cells = [
        [
            method,
            f"{speed['pyfunc']:,.0f}",
            f"{speed['pyfunc_cpu']:,.0f}",
            f"{speed['off']:,.0f}",
            f"{speed['on']:,.0f}",
            f"{speed['ratio']:.3f}",
            f"{streamed['rows'] / streamed['seconds']:,.0f}",
            f"{streamed['peak_mib']:,.0f}",
        ]
        for method, speed, streamed in rows
    ]
    title = f"Scoring, {N_FEATURES} features, {threads} torch thread(s)"
    lines = show_table(title, cols, cells)
    command = "python -m benchmarks.scoring_throughput " + shlex.join(sys.argv[1:])
    section = f"""{HEADING}

`{command}`. Machine: {machine().replace("1 thread per fit", f"{threads} torch thread(s)")};
load average {load_before:.1f} before, {load_after:.1f} after (shared machine). Date:
{datetime.date.today()}. Each method: a quick model (2 epochs) on 5,000 rows of a
{N_FEATURES}-feature table, registered through `components.registry` in a temporary sqlite
store and loaded by `models:/{NAME}@champion`. Throughput: one {batch_rows:,}-row DataFrame,
median of {repeats}; `pyfunc.predict` includes MLflow's signature enforcement;
`WsadModel.score` is what the scoring flow calls (schema check, scaling, detector, flags),
here over the batch in {chunk_rows:,}-row chunks as streaming does, with the drift
statistics off and on (`DriftMonitor.observe` per chunk: PSI bin counts and moments on at
most {SAMPLE_ROWS:,} evenly spaced rows of each chunk, then the report), the two interleaved
in each repeat; "drift on/off throughput (CPU)" is the median over repeats of CPU seconds
off / CPU seconds on (1.0 = free; CPU time, so other jobs on the machine move it less).
Streaming: a fresh process runs `score_table` with the drift statistics on over a
{big_rows:,}-row parquet file in chunks of {chunk_rows:,} rows, writing parquet; peak RSS is
that process's ru_maxrss (interpreter, torch and MLflow included). Rows/s are wall-clock, so
they fall when other jobs share the two cores (see the load); rows per CPU-second count this
process's own CPU time (both threads), so 2 idle cores give at most about twice that.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
