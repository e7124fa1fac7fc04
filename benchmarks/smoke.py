"""`--smoke`, which every benchmark script has: the script's whole path (data, fits, tables,
its RESULTS.md section, plots) in seconds, on two small generated tables, writing only into a
fresh temporary folder. tests/benchmarks/test_smoke.py runs each script so, so a script
cannot stop running unnoticed; the figures a smoke run prints mean nothing."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from components.selection import adbench
from flows.cli.options import select_tables

HELP = "seconds-long check on two generated tables; writes only to a temporary folder"
TABLES = ("smoke_a", "smoke_b")
ROWS, FEATURES, ANOMALIES = 400, 6, 40


def smoke_dir() -> Path:
    """A new temporary folder holding the tables `smoke_a` and `smoke_b` (the shared tables'
    schema: float columns f0.. and an int `label`; Gaussian normals, anomalies shifted on
    the first three features), where a smoke run writes its CSVs and RESULTS.md too."""
    folder = Path(tempfile.mkdtemp(prefix="wsad-smoke-"))
    for seed, name in enumerate(TABLES):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(ROWS, FEATURES))
        X[:ANOMALIES, :3] += 3.0 - seed
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(FEATURES)])
        frame["label"] = (np.arange(ROWS) < ANOMALIES).astype(np.int64)
        frame.to_parquet(folder / f"{name}.parquet")
    print(f"smoke run: tables and results in {folder}")
    return folder


# The `--smoke` option of the typer scripts.
Smoke = Annotated[bool, typer.Option("--smoke", help=HELP)]


def bench_rows(folder: Path, out: str, counts: list[int] | None = None) -> Path:
    """`wsad bench`'s raw rows (iforest and supervised, seed 0; label ratios 0.05 and 0.1, or
    `counts` labelled anomalies) on the tables in `folder`, written to `folder / out`: the
    input of the scripts that only render such rows."""
    tables = select_tables(folder, ",".join(TABLES))
    rows = adbench.run(tables, ["iforest", "supervised"], [0.05, 0.1], [0], "cpu", None, {}, counts)
    pd.DataFrame(list(rows)).to_csv(folder / out, index=False)
    return folder / out


def free_port() -> int:
    """A loopback port nobody listens on now (smoke runs may run side by side)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
