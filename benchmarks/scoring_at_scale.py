"""`wsad score` of a 10,000,000-row table with the default release: how many rows per second,
in how much memory, and where the time goes.

1. A project as a user makes one: `wsad init`, a 5,000-row x 30-feature parquet table,
   20 confirmed ids through `wsad label import`, and `wsad train` with the candidates the
   release grid most often pairs (catboost and Deep SAD, `WSAD_METHODS`) and a tolerance
   that keeps both: the champion is their rank ensemble, 3 seeds each, with its reference
   profile (so the drift statistics are on).
2. The large table, written to parquet chunk by chunk (row groups of 500,000 rows).
3. `wsad score --records big.parquet --out scores.parquet` in its own process: wall time,
   its CPU seconds and its peak RSS (os.wait4), rows per second.
4. Where the time goes: this process loads the same champion and scores the first chunks
   stage by stage, as `score_table` and `WsadModel.score` do (parquet read by column, to
   pandas, schema check, drift statistics, scaling, each member's scores, rank
   normalisation, threshold, parquet write), in CPU seconds of this process.

    python -m benchmarks.scoring_at_scale               # 10M rows, writes RESULTS.md
    python -m benchmarks.scoring_at_scale --params '{"deepsad": {"epochs": 2}}'  # trains faster
    python -m benchmarks.scoring_at_scale --smoke       # 20,000 rows, quick models
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from benchmarks.report import machine, replace_section, show_table

HERE = Path(__file__).resolve().parent
HEADING = "## Scoring at 10M rows"
N_FEATURES = 30
N_LABELS = 20
WSAD = Path(sys.executable).with_name("wsad")
QUICK = {"catboost": {"n_estimators": 50}, "deepsad": {"epochs": 2, "pretrain_epochs": 1}}


def table(n_rows: int, seed: int, first_id: int = 0) -> pd.DataFrame:
    """`id` plus 30 float features; 2 % anomalies shifted on the first five."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES))
    X[: max(n_rows // 50, 1), :5] += 3.0
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(N_FEATURES)])
    frame.insert(0, "id", np.arange(first_id, first_id + n_rows, dtype=np.int64))
    return frame


def wsad(args: list[str], root: Path, env: dict[str, str]) -> str:
    """Run the installed `wsad` in `root`; its output, or the failure with it."""
    done = subprocess.run(
        [str(WSAD), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wsad {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def trained_project(root: Path, train_rows: int, params: dict[str, Any]) -> dict[str, str]:
    """A project whose champion is the catboost + Deep SAD ensemble; its environment."""
    env = {
        **os.environ,
        "WSAD_RECORDS": "data/records.parquet",
        "WSAD_METHODS": json.dumps(["catboost", "deepsad"]),
        "WSAD_RELEASE_TOLERANCE": "1.0",  # keep both members whatever their CV says
        "WSAD_PARAMS": json.dumps(params),
        "WSAD_WHO": "benchmark",
        "GIT_AUTHOR_NAME": "benchmark",
        "GIT_AUTHOR_EMAIL": "benchmark@wsad.local",
        "GIT_COMMITTER_NAME": "benchmark",
        "GIT_COMMITTER_EMAIL": "benchmark@wsad.local",
    }
    wsad(["init"], root, env)
    records = table(train_rows, seed=0)
    records.to_parquet(root / "data" / "records.parquet")
    records[["id"]].head(N_LABELS).to_csv(root / "confirmed.csv", index=False)
    wsad(["label", "import", "confirmed.csv", "--who", "benchmark"], root, env)
    wsad(["train"], root, env)
    return env


def write_big_table(path: Path, n_rows: int, chunk: int = 500_000) -> None:
    """The large table, written chunk by chunk so this process stays small."""
    writer = None
    for start in range(0, n_rows, chunk):
        part = pa.Table.from_pandas(table(min(chunk, n_rows - start), start + 1, start))
        writer = writer or pq.ParquetWriter(path, part.schema)
        writer.write_table(part)
    if writer is not None:
        writer.close()


def score_in_child(root: Path, env: dict[str, str], src: Path, chunk_rows: int) -> dict[str, Any]:
    """`wsad score` in its own process: wall seconds, CPU seconds, peak RSS (MiB), output."""
    command = [str(WSAD), "score", "--records", str(src), "--out", str(root / "scores.parquet")]
    command += ["--chunk-rows", str(chunk_rows)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"wsad score failed:\n{output}")
    return {
        "wall": time.perf_counter() - start,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
        "output": output,
    }


def stage_seconds(root: Path, src: Path, chunk_rows: int, chunks: int) -> dict[str, float]:
    """CPU seconds per scoring stage over the first `chunks` chunks, in this process."""
    import torch

    from components.data.tables import feature_matrix
    from components.detectors.ensemble import rank_normalise
    from components.monitoring.drift import DriftMonitor
    from components.provenance.audit import AuditLog
    from components.registry import store

    torch.set_num_threads(1)  # as the scoring flow does (flows/pipelines/scoring.py)
    store.configure(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    model = store.load_model("wsad-detector", "champion", AuditLog(root / "mlruns" / "audit.jsonl"))
    wsad_model = model.unwrap_python_model()
    schema, ensemble = wsad_model.schema, wsad_model.detector
    monitor = DriftMonitor(wsad_model.profile, schema.features)
    spent: dict[str, float] = defaultdict(float)
    clock = time.process_time()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.process_time()
        spent[stage] += now - clock
        clock = now

    batches = pq.ParquetFile(src, pre_buffer=False).iter_batches(
        chunk_rows, columns=["id", *schema.features]
    )
    with tempfile.TemporaryDirectory() as tmp:
        writer = None
        for _ in range(chunks):
            clock = time.process_time()
            batch = next(batches, None)
            if batch is None:
                break
            lap("read parquet (model's columns)")
            frame = batch.to_pandas()
            lap("to pandas")
            X = feature_matrix(frame, schema)
            lap("schema check (feature_matrix)")
            monitor.observe(X)
            lap("drift statistics")
            scaled = wsad_model.scaler.transform(X)
            lap("scaling")
            member_scores = []
            for member, quantiles in zip(ensemble.members_, ensemble.quantiles_, strict=True):
                raw = member._score(scaled)
                lap(f"{member.name} ({ensemble.n_seeds} seeds)")
                member_scores.append(rank_normalise(raw, quantiles))
                lap("rank normalisation")
            scores = np.mean(member_scores, axis=0)
            flags = wsad_model.threshold.flag(scores)
            out = pd.DataFrame({"id": frame["id"].to_numpy(), "score": scores, "is_anomaly": flags})
            lap("threshold, output frame")
            arrow = pa.Table.from_pandas(out, preserve_index=False)
            writer = writer or pq.ParquetWriter(Path(tmp) / "s.parquet", arrow.schema)
            writer.write_table(arrow)
            lap("write parquet")
        if writer is not None:
            writer.close()
    return dict(spent)


def torch_threads_cost(root: Path, src: Path, rows: int) -> dict[int, float]:
    """CPU seconds of one deep member's scores of `rows` rows with 1 and with 2 torch
    threads (the second and third of three calls; the first warms up)."""
    import torch

    from components.provenance.audit import AuditLog
    from components.registry import store

    model = store.load_model("wsad-detector", "champion", AuditLog(root / "mlruns" / "audit.jsonl"))
    wsad_model = model.unwrap_python_model()
    deep = next(m for m in wsad_model.detector.members_ if hasattr(m, "net_"))
    frame = next(pq.ParquetFile(src).iter_batches(rows)).to_pandas()
    from components.data.tables import feature_matrix

    scaled = wsad_model.scaler.transform(feature_matrix(frame, wsad_model.schema))
    cost = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        deep._score(scaled)
        start = time.process_time()
        deep._score(scaled)
        deep._score(scaled)
        cost[threads] = (time.process_time() - start) / 2
    return cost


def main(
    rows: Annotated[int, typer.Option(help="rows of the scored table")] = 10_000_000,
    train_rows: Annotated[int, typer.Option(help="rows `wsad train` learns from")] = 5_000,
    chunk_rows: Annotated[int, typer.Option(help="`wsad score --chunk-rows`")] = 100_000,
    profile_chunks: Annotated[int, typer.Option(help="chunks timed stage by stage")] = 10,
    params: Annotated[
        str, typer.Option(help="WSAD_PARAMS of the training, JSON (scoring cost: see above)")
    ] = "{}",
    smoke: Annotated[bool, typer.Option(help="20,000 rows, quick models; no RESULTS.md")] = False,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
) -> None:
    """Print the tables and write their section of RESULTS.md."""
    if smoke:
        rows, train_rows, chunk_rows, profile_chunks = 20_000, 1_000, 5_000, 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wsad-scale-") as tmp:
        root = Path(tmp)
        env = trained_project(root, train_rows, QUICK if smoke else json.loads(params))
        big = root / "big.parquet"
        write_big_table(big, rows)
        child = score_in_child(root, env, big, chunk_rows)
        stages = stage_seconds(root, big, chunk_rows, profile_chunks)
        threads = torch_threads_cost(root, big, chunk_rows)
    load_after = os.getloadavg()[0]
    profiled = min(profile_chunks * chunk_rows, rows)
    total = sum(stages.values())
    lines = show_table(
        f"`wsad score`, {rows:,} rows x {N_FEATURES} features, chunks of {chunk_rows:,}",
        ("wall s", "rows/s (wall)", "CPU s", "rows per CPU-s", "peak RSS MiB"),
        [
            [
                f"{child['wall']:.1f}",
                f"{rows / child['wall']:,.0f}",
                f"{child['cpu']:.1f}",
                f"{rows / child['cpu']:,.0f}",
                f"{child['peak_mib']:,.0f}",
            ]
        ],
    )
    lines += [""] + show_table(
        f"Where the time goes: {profiled:,} rows scored stage by stage (CPU seconds)",
        ("stage", "CPU s", "share", "rows per CPU-s"),
        [
            [name, f"{sec:.2f}", f"{sec / total:.1%}", f"{profiled / max(sec, 1e-9):,.0f}"]
            for name, sec in sorted(stages.items(), key=lambda kv: -kv[1])
        ],
    )
    lines += [
        "",
        f"Deep SAD, one seed, {chunk_rows:,} rows: {threads[1]:.3f} CPU s with 1 torch thread, "
        f"{threads[2]:.3f} with 2.",
    ]
    print(lines[-1])
    if smoke:
        return
    command = "python -m benchmarks.scoring_at_scale " + shlex.join(sys.argv[1:])
    section = f"""{HEADING}

`{command}`. Machine: {machine()}, shared: load average {load_before:.1f} before,
{load_after:.1f} after. Date: {datetime.date.today()}. The champion: `wsad train` on a
{train_rows:,}-row x {N_FEATURES}-feature parquet table with 20 confirmed ids,
`WSAD_METHODS='["catboost","deepsad"]'` at their defaults and `WSAD_RELEASE_TOLERANCE=1.0`,
so the release is their rank ensemble, 3 seeds each, with its reference profile (drift
statistics on); `WSAD_PARAMS` as in the command (fewer Deep SAD epochs train faster and
leave its scoring cost as it is: the network is the same). `wsad score` streams a
{rows:,}-row parquet table (row groups of 500,000) into `scores.parquet` in its own
process; wall time includes starting Python, Prefect and loading the model; CPU seconds
and peak RSS are that process's (os.wait4). "Where the time goes" scores the first
{profiled:,} rows again in the benchmark's process, stage by stage as `score_table` and
`WsadModel.score` do, with one torch thread as the scoring flow sets it; a member's line
is its 3 seeds together. Rows per CPU-second do not depend on the other jobs on the
machine as wall time does: on two idle cores the wall-clock rate is at most about twice it.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
