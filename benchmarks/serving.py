"""Online scoring: latency and rows/s of `wsad serve-model` on loopback, against in-process
`pyfunc.predict` on the same rows; and the request handling alone, ours against MLflow's.

A quick DevNet on a 20-feature table (as benchmarks.scoring_throughput registers it) is
promoted with an audit entry in a temporary sqlite store; the real server starts as a
subprocess (one uvicorn worker, OMP_NUM_THREADS=1) and one client on a keep-alive
connection sends requests of 1 and 1,000 rows (dataframe_split JSON, and CSV for 1,000
rows). Each HTTP request is followed by the in-process `pyfunc.predict` of the same rows
(the served version, loaded here by its version URI, one torch thread), so the two sides
share whatever load the machine carries and their ratio is comparable across runs; latency
is from sending the encoded request to reading the whole answer. Raw timings go to
benchmarks/results/serving.csv. Before the server starts, the request handling alone runs
in this process: MLflow's `scoring_server.invocations` (what `mlflow models serve` runs per
request) against `components.serving.invocations.respond`, CPU time per request, interleaved.

    python -m benchmarks.serving
"""

from __future__ import annotations

import datetime
import http.client
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import torch
import typer
from mlflow.pyfunc import scoring_server

from benchmarks import smoke
from benchmarks.report import machine, replace_section, show_table
from benchmarks.scoring_throughput import NAME, register_champion, table
from components.provenance.audit import AuditLog
from components.registry import gates, promotion, store
from components.serving.http_app import ServedModel
from components.serving.invocations import respond

HERE = Path(__file__).resolve().parent
HEADING = "## Online scoring: `wsad serve-model` vs in-process pyfunc"
PAYLOADS = (("JSON", 1), ("JSON", 1_000), ("CSV", 1_000))


def encode(frame: pd.DataFrame, kind: str) -> tuple[bytes, str]:
    """The request body as MLflow's protocol carries it."""
    if kind == "CSV":
        return frame.to_csv(index=False).encode(), "text/csv"
    split = {"columns": list(frame.columns), "data": frame.astype(object).to_numpy().tolist()}
    return json.dumps({"dataframe_split": split}).encode(), "application/json"


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    """`wsad serve-model` on 127.0.0.1:`port`, once /ping answers."""
    env = {
        **os.environ,
        "WSAD_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "WSAD_AUDIT_LOG": str(root / "audit.jsonl"),
        "WSAD_MODEL_NAME": NAME,
        "OMP_NUM_THREADS": "1",
    }
    wsad = Path(sys.executable).with_name("wsad")
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [str(wsad), "serve-model", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"server did not start: {(root / 'server.log').read_text()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(connection: http.client.HTTPConnection, body: bytes, content_type: str) -> float:
    """Seconds from sending the request to reading the whole answer."""
    start = time.perf_counter()
    connection.request("POST", "/invocations", body, {"Content-Type": content_type})
    response = connection.getresponse()
    answer = response.read()
    seconds = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
    return seconds


def interleaved(
    connection: http.client.HTTPConnection,
    server_pid: int,
    model: Any,
    frame: pd.DataFrame,
    kind: str,
    n: int,
) -> tuple[list[float], list[float], float, float]:
    """`n` HTTP requests, each followed by the in-process predict of the same rows: their
    latencies, then the CPU seconds the server and the in-process predicts spent."""
    body, content_type = encode(frame, kind)
    http_s, local_s, local_cpu = [], [], 0.0
    server_cpu = cpu_seconds(server_pid)
    for _ in range(n):
        http_s.append(post(connection, body, content_type))
        start, cpu = time.perf_counter(), time.process_time()
        model.predict(frame)
        local_s.append(time.perf_counter() - start)
        local_cpu += time.process_time() - cpu
    return http_s, local_s, cpu_seconds(server_pid) - server_cpu, local_cpu


def row(
    label: str, side: str, rows: int, seconds: list[float], cpu: float, ratio: str
) -> list[str]:
    """One line of the table: latency percentiles, wall rows/s, CPU per request."""
    s = np.asarray(seconds)
    return [
        label,
        side,
        f"{np.percentile(s, 50) * 1e3:.2f}",
        f"{np.percentile(s, 99) * 1e3:.2f}",
        f"{rows * len(s) / s.sum():,.0f}",
        f"{cpu / len(s) * 1e3:.2f}",
        f"{rows * len(s) / cpu:,.0f}",
        ratio,
    ]


def handling_cpu(
    model: Any, served: ServedModel, frame: pd.DataFrame, kind: str, n: int
) -> list[str]:
    """CPU ms per request of the request handling alone, in this process and interleaved:
    MLflow's `scoring_server.invocations` with the pyfunc (what `mlflow models serve` runs
    per request) and ours (`components.serving.invocations.respond`, what `wsad serve-model`
    runs)."""
    body, content_type = encode(frame, kind)
    schema = model.metadata.get_input_schema()
    theirs = ours = 0.0
    for _ in range(n):
        start = time.process_time()
        scoring_server.invocations(body, content_type, model, schema)
        theirs += time.process_time() - start
        start = time.process_time()
        respond(served.score, body, content_type)
        ours += time.process_time() - start
    rows = len(frame)
    return [
        f"{rows:,} ({kind})",
        f"{theirs / n * 1e3:.2f}",
        f"{ours / n * 1e3:.2f}",
        f"{rows * n / ours:,.0f}",
        f"{theirs / ours:.1f}x",
    ]


def main(
    requests_1: Annotated[int, typer.Option(help="timed 1-row requests")] = 2_000,
    requests_1000: Annotated[int, typer.Option(help="timed 1,000-row requests per format")] = 300,
    warmup: Annotated[int, typer.Option(help="untimed requests per payload first")] = 50,
    handling_n: Annotated[int, typer.Option(help="in-process request handlings timed")] = 200,
    port: Annotated[int, typer.Option(help="loopback port for the server")] = 5077,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_csv: Annotated[Path, typer.Option(help="raw timings")] = HERE / "results" / "serving.csv",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table, write its section of RESULTS.md and the raw timings."""
    if smoke_:
        requests_1, requests_1000, warmup, handling_n, port = 5, 2, 1, 2, smoke.free_port()
        results_md = smoke.smoke_dir() / "RESULTS.md"
        out_csv = results_md.with_name("serving.csv")
    torch.set_num_threads(1)
    data = table(1_000, seed=7).round(4)  # four decimals, as measured values usually carry
    load_before = os.getloadavg()
    raw, cells, handling = [], [], []
    with tempfile.TemporaryDirectory(prefix="wsad-serving-") as tmp:
        root = Path(tmp)
        store.configure(f"sqlite:///{root / 'mlflow.db'}")
        register_champion("devnet", root)
        decision = gates.Decision(True, {}, "benchmark")
        promotion.promote(NAME, "1", decision, AuditLog(root / "audit.jsonl"), "benchmark")
        model = store.load_version(NAME, "1")
        served = ServedModel.load(NAME, "1")
        logging.getLogger("mlflow").setLevel(logging.ERROR)  # its per-request schema hints
        for kind, rows in PAYLOADS:
            handling_cpu(model, served, data.head(rows), kind, warmup)
            handling.append(handling_cpu(model, served, data.head(rows), kind, handling_n))
        server = start_server(root, port)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for kind, rows in PAYLOADS:
                frame = data.head(rows)
                interleaved(connection, server.pid, model, frame, kind, warmup)
                n = requests_1 if rows == 1 else requests_1000
                timed = interleaved(connection, server.pid, model, frame, kind, n)
                http_s, local_s, server_cpu, local_cpu = timed
                raw += [(kind, rows, "http", s) for s in http_s]
                raw += [(kind, rows, "in-process", s) for s in local_s]
                ratio = np.percentile(http_s, 50) / np.percentile(local_s, 50)
                label = f"{rows:,} ({kind})"
                cells.append(row(label, "HTTP", rows, http_s, server_cpu, f"{ratio:.1f}x"))
                cells.append(row(label, "in-process", rows, local_s, local_cpu, ""))
            connection.close()
        finally:
            server.terminate()
            server.wait(timeout=60)
    load_after = os.getloadavg()
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    timings = pd.DataFrame(raw, columns=["format", "rows", "side", "seconds"])
    timings.to_csv(out_csv, index=False, float_format="%.6g")
    cols = (
        "rows per request",
        "side",
        "p50 ms",
        "p99 ms",
        "rows/s",
        "CPU ms per request",
        "rows per CPU-s",
        "p50 HTTP / in-process",
    )
    lines = show_table("wsad serve-model vs in-process pyfunc.predict", cols, cells)
    handling_cols = (
        "rows per request",
        "MLflow scoring_server.invocations CPU ms",
        "wsad invocations.respond CPU ms",
        "wsad rows per CPU-s",
        "MLflow / wsad",
    )
    handling_lines = show_table("request handling alone (in-process)", handling_cols, handling)
    command = " ".join(["python -m benchmarks.serving", shlex.join(sys.argv[1:])]).strip()
    loads = "{:.1f} / {:.1f} / {:.1f}"
    section = f"""{HEADING}

`{command}`. Machine: {machine().replace("1 thread per fit", "1 torch thread per side")};
load average (1 / 5 / 15 min) {loads.format(*load_before)} before and
{loads.format(*load_after)} after: a shared machine, so
absolute figures move with the load while the ratio, measured interleaved in the same run,
moves less. Date: {datetime.date.today()}. Model: a quick DevNet (2 epochs) on 5,000 rows of
a 20-feature table, promoted with an audit entry in a temporary sqlite store. Server: `wsad
serve-model` (one uvicorn worker, OMP_NUM_THREADS=1) on 127.0.0.1; client: one keep-alive
connection in the benchmark process, one request at a time ({requests_1:,} 1-row requests,
{requests_1000:,} 1,000-row requests per format, after {warmup} untimed ones each), values
with four decimals. Each request is followed by the in-process `pyfunc.predict` (MLflow's
signature check included) of the same rows. Latency runs from sending the encoded request
to reading the whole answer; rows/s = rows / mean latency (wall clock, so it falls with the
load). CPU per request: the server process's user + system time over the timed requests
(/proc; the client's own work not included) and this process's CPU time of the in-process
predicts. Rows per CPU-s estimate what one core sustains when nothing else runs (CPU time
also grows under contention, so on an idle machine they are higher). Raw timings:
`benchmarks/results/serving.csv`. Targets (issue 18): p99 under 50 ms for a 1-row request;
at least 100k rows/s for 1,000-row requests.

{chr(10).join(lines)}

Request handling alone, in this process without HTTP, {handling_n} interleaved requests per
payload: MLflow's `scoring_server.invocations` with the pyfunc and its input schema (what
`mlflow models serve` runs for each request: parse with the schema, MLflow's signature
check, predict, the answer encoded) against `components.serving.invocations.respond` with the
served version's `score` (what `wsad serve-model` runs: parse once, our schema check,
predict, the answer encoded), CPU time per request:

{chr(10).join(handling_lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
