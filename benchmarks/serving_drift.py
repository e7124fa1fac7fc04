"""Online scoring: what the drift window adds to a request of `wsad serve-model`, and what a
scrape of `/metrics` costs once the window is full.

The champion of benchmarks.serving (a quick DevNet on a 20-feature table, with its
reference profile) is registered in a temporary sqlite store and loaded as the server loads
it (`ServedModel.load`). The same loaded model answers with its drift window and without
one (`dataclasses.replace(served, drift=None)`), through the server's request handling
(`components.serving.invocations.respond`: parse, schema check, score, the answer encoded), the two
interleaved in one process (in alternating order), so that both sides share whatever load
the machine carries; the window is filled to its size first, so every timed request also
evicts rows. CPU time per request (time.process_time), one torch thread.

    python -m benchmarks.serving_drift
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import torch
import typer

from benchmarks import smoke
from benchmarks.report import machine, replace_section, show_table
from benchmarks.scoring_throughput import NAME, register_champion, table
from benchmarks.serving import encode
from components.monitoring.drift import SERVING_WINDOW_ROWS
from components.monitoring.serving_drift import DriftWindow
from components.registry import bundle, store
from components.serving.http_app import ServedModel
from components.serving.invocations import respond
from components.serving.metrics import ServingMetrics

HERE = Path(__file__).resolve().parent
HEADING = "## Online scoring: the drift window's cost per request"
PAYLOADS = (("JSON", 1), ("JSON", 1_000))


def paired_cpu(
    on: ServedModel, off: ServedModel, body: bytes, content_type: str, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds per request with the window and without, `n` pairs in alternating order."""
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for i in range(n):
        for with_window in (i % 2 == 0, i % 2 == 1):
            served = on if with_window else off
            start = time.process_time()
            status, _ = respond(served.score, body, content_type)
            cpu[with_window].append(time.process_time() - start)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
    return np.asarray(cpu[True]), np.asarray(cpu[False])


def parts_us(
    window: DriftWindow, model: bundle.WsadModel, row: pd.DataFrame, n: int
) -> tuple[float, float]:
    """CPU µs per call of what the window adds to a 1-row request: `DriftWindow.add` of the
    row, and reading the flag column out of a new predictions frame."""
    X = np.ascontiguousarray(row.drop(columns="id").to_numpy(dtype=np.float32))
    predictions = model.score(row)
    flags = predictions["is_anomaly"].to_numpy()
    start = time.process_time()
    for _ in range(n):
        window.add(X, flags)
    add = time.process_time() - start
    column = 0.0
    for _ in range(n):
        fresh = predictions.copy()  # as each request's: no column read from it yet
        start = time.process_time()
        fresh["is_anomaly"].to_numpy()
        column += time.process_time() - start
    return add / n * 1e6, column / n * 1e6


def main(
    requests_1: Annotated[int, typer.Option(help="timed 1-row request pairs")] = 2_000,
    requests_1000: Annotated[int, typer.Option(help="timed 1,000-row request pairs")] = 200,
    warmup: Annotated[int, typer.Option(help="untimed request pairs per payload first")] = 50,
    scrapes: Annotated[int, typer.Option(help="timed /metrics renders")] = 50,
    window_rows: Annotated[int, typer.Option(help="drift window size")] = SERVING_WINDOW_ROWS,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table and write its section of RESULTS.md."""
    if smoke_:
        requests_1, requests_1000, warmup, scrapes, window_rows = 5, 2, 1, 2, 1_000
        results_md = smoke.smoke_dir() / "RESULTS.md"
    torch.set_num_threads(1)
    data = table(max(window_rows, 1_000), seed=7).round(4)
    load_before = os.getloadavg()
    cells = []
    with tempfile.TemporaryDirectory(prefix="wsad-serving-drift-") as tmp:
        root = Path(tmp)
        store.configure(f"sqlite:///{root / 'mlflow.db'}")
        register_champion("devnet", root)
        on = ServedModel.load(NAME, "1", window_rows)
        off = dataclasses.replace(on, drift=None)
        window = on.drift
        if window is None:
            raise RuntimeError("the benchmark's champion has no reference profile")
        on.score(data.head(window_rows))  # a full window: every timed request evicts rows
        for kind, rows in PAYLOADS:
            body, content_type = encode(data.head(rows), kind)
            paired_cpu(on, off, body, content_type, warmup)
            n = requests_1 if rows == 1 else requests_1000
            with_window, without = paired_cpu(on, off, body, content_type, n)
            cells.append(
                [
                    f"{rows:,} ({kind})",
                    f"{without.mean() * 1e3:.3f}",
                    f"{with_window.mean() * 1e3:.3f}",
                    f"{(with_window.mean() - without.mean()) * 1e6:+.1f} ± "
                    f"{(with_window - without).std() / np.sqrt(n) * 1e6:.1f}",
                    f"{with_window.mean() / without.mean():.3f}x",
                    f"{np.median(with_window) / np.median(without):.3f}x",
                ]
            )
        add_us, column_us = parts_us(window, on.model, data.head(1), requests_1)
        metrics = ServingMetrics(NAME)
        metrics.serving(on.version, window)
        metrics.render()
        start = time.process_time()
        for _ in range(scrapes):
            metrics.render()
        scrape_ms = (time.process_time() - start) / scrapes * 1e3
    load_after = os.getloadavg()
    cols = (
        "rows per request",
        "CPU ms without window",
        "CPU ms with window",
        "difference µs ± SE",
        "ratio of means",
        "ratio of medians",
    )
    lines = show_table("request handling with and without the drift window", cols, cells)
    command = " ".join(["python -m benchmarks.serving_drift", shlex.join(sys.argv[1:])]).strip()
    loads = "{:.1f} / {:.1f} / {:.1f}"
    host = machine().replace("1 thread per fit", "1 torch thread")
    section = f"""{HEADING}

`{command}`. Machine: {host}; load average (1 / 5 / 15 min)
{loads.format(*load_before)} before and {loads.format(*load_after)} after. Date:
{datetime.date.today()}. The champion of the section above (a quick DevNet, 20 features,
with its reference profile) answers through the server's request handling
(`components.serving.invocations.respond`: parse, schema check, score, answer encoded), in one
process, with its drift window of {window_rows:,} rows (filled first, so each request
evicts rows) and without one, the two interleaved in alternating order: {requests_1:,}
1-row pairs and {requests_1000:,} 1,000-row pairs (dataframe_split JSON) after {warmup}
untimed pairs each. CPU time per request (time.process_time); the ratio is what the
window adds, read off one run in which both sides share the machine's load; the
difference is the mean over pairs, with its standard error.

{chr(10).join(lines)}

Of the difference for one row, `DriftWindow.add` of the row took {add_us:.1f} CPU µs and
reading the flag column out of the request's new predictions frame (pandas)
{column_us:.1f} µs ({requests_1:,} calls each); the rest is not broken down here (the hook that
hands the feature matrix over, the noise of the pairs).

A scrape of `/metrics` with the window full (every row binned against the reference by
`DriftMonitor`, PSI and limits per feature, the flag-rate interval) took
{scrape_ms:.1f} CPU ms ({scrapes} renders); it runs per scrape, not per request.
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
