"""The train-time curve: `wsad train` as a new user runs it (a fresh `wsad init` project, a
parquet table, `wsad label import` of a few confirmed anomalies, the default candidates, CPU)
from ten thousand to ten million rows, with the wall time of each stage and the peak memory.

Per row count: a table of `--features` float64 columns with a known anomaly share
(benchmarks/large_table.py) is written to the project's data/records.parquet, `--labels` of
its anomalies are imported as confirmed, and `wsad train` runs in its own process. Wall and
CPU seconds and the peak resident memory are the child's (`os.wait4`); the stages are the
Prefect task runs of its flow run, read back from the project's Prefect database after the
run (`stages`, a subcommand run in the project). "outside tasks" is the rest of the wall:
interpreter and imports, the preflight reads, `dvc add` of the table, Prefect's start.
`--setting KEY=VALUE` passes WSAD_* settings (e.g. the row budgets at 0 for the curve before
budgets); `--ray-cpus N` starts a local Ray head with N worker CPUs and a Prefect server on
loopback and points WSAD_RAY_ADDRESS and PREFECT_API_URL at them (the comparison with
threads). Each point appends to the CSV.

    python -m benchmarks.train_time curve --rows 10000,100000,1000000 --write
    python -m benchmarks.train_time curve --rows 1000000 --ray-cpus 2 --tag "ray" --write
    python -m benchmarks.train_time curve --smoke
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from benchmarks.large_table import write_large_table
from benchmarks.local_servers import free_port, wait_for_health
from benchmarks.pipeline_overhead import covered
from benchmarks.report import RenderOnly, machine, replace_section, show_table
from flows.cli.options import csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Train-time curve: `wsad train` from 10k to 10M rows (issue 24)"
WSAD = Path(sys.executable).with_name("wsad")
# Flow task names -> the stage they belong to (tasks not named here count as "other tasks").
STAGES = {
    "load_inputs": "read",
    "validate": "validation",
    "check_against_champion": "validation",
    "estimate": "contamination",
    "cross_validate": "cross-validation",
    "refit": "refit",
    "calibrate": "calibration",
    "profile_reference": "profile",
    "describe_candidate": "registration",
    "register": "registration",
    "champion_on_same_folds": "gates",
    "gate": "gates",
    "release": "gates",
}
STAGE_ORDER = list(dict.fromkeys([*STAGES.values(), "other tasks", "outside tasks"]))
SAMPLE_S = 0.5  # how often the child's CPU seconds are read
# Issue 24's targets for the default setting on the 2-core machine: rows -> (wall s, peak GiB).
TARGETS = {1_000_000: (600, 4.0), 10_000_000: (1800, None)}
app = typer.Typer(add_completion=False)


def cpu_so_far(pid: int) -> float:
    """CPU seconds a running process and the children it has waited for have spent
    (/proc/PID/stat: utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wsad(
    args: list[str], project: Path, env: dict[str, str], log: Path
) -> tuple[dict[str, float], list[tuple[float, float]]]:
    """Run `wsad` in `project`; wall and CPU seconds and peak resident GiB of that process
    (and the children it waited for), and its CPU seconds so far sampled every
    `SAMPLE_S` as (epoch seconds, CPU seconds). A failure raises with the tail of its
    output."""
    samples: list[tuple[float, float]] = []
    with log.open("a") as out:
        out.write(f"$ wsad {' '.join(args)}\n")
        out.flush()
        start = time.perf_counter()
        child = subprocess.Popen(
            [str(WSAD), *args], cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            with suppress(OSError, ValueError):  # it exited between the two calls
                samples.append((time.time(), cpu_so_far(child.pid)))
            time.sleep(SAMPLE_S)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(
            f"wsad {args[0]} failed ({child.returncode}):\n{log.read_text()[-3000:]}"
        )
    totals = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_gib": usage.ru_maxrss / 2**20,  # KiB on Linux
    }
    return totals, samples


def tree_cpu(root: int) -> float:
    """CPU seconds spent so far by `root` and every process below it (each one's own and
    its waited-for children's); processes that exited unwaited are missed."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    below, total = [root], 0.0
    while below:
        pid = below.pop()
        below.extend(children.get(pid, []))
        with suppress(OSError, ValueError):
            total += cpu_so_far(pid)
    return total


def cpu_in(spans: list[tuple[float, float]], samples: list[tuple[float, float]]) -> float:
    """CPU seconds spent inside the union of `spans`: each sampling interval's CPU shared
    out by the part of it the spans cover."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    total = 0.0
    for (t0, c0), (t1, c1) in itertools.pairwise(samples):
        inside = sum(max(0.0, min(t1, end) - max(t0, start)) for start, end in merged)
        total += (c1 - c0) * inside / (t1 - t0) if t1 > t0 else 0.0
    return total


@contextmanager
def ray_cluster(cpus: int) -> Iterator[tuple[dict[str, str], int | None]]:
    """A Prefect server and a Ray head with `cpus` worker CPUs (processes on this machine),
        both on loopback, as tests/flows/test_ray_training.py starts them: the Ray workers report
        their task runs to that server. Yields the settings that point `wsad` at both, and the
    head's process id (its workers are its descendants)."""
    folder = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths: short
    api = f"http://127.0.0.1:{free_port()}/api"
    env = {**os.environ, "PREFECT_HOME": str(folder / "prefect"), "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    port = api.rsplit(":", 1)[1].split("/")[0]
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    server_log, head_log = folder / "server.log", folder / "head.log"
    with server_log.open("w") as out:
        server = subprocess.Popen([*command, "--port", port], env=env, stdout=out, stderr=out)
    address = f"127.0.0.1:{free_port()}"
    command = [str(WSAD.with_name("ray")), "start", "--head", "--block", "--disable-usage-stats"]
    command += ["--node-ip-address", "127.0.0.1", "--port", address.split(":")[1]]
    command += ["--num-cpus", str(cpus), "--num-gpus", "0", "--temp-dir", str(folder)]
    command += ["--include-dashboard=false", "--ray-client-server-port", str(free_port())]
    env = {**env, "PREFECT_API_URL": api, "RAY_USAGE_STATS_ENABLED": "0"}
    try:
        wait_for_health(f"{api}/health", server, server_log)
        with head_log.open("w") as out:
            head = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 120
            while "Ray runtime started" not in head_log.read_text():
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"ray head did not start: {head_log.read_text()}")
                time.sleep(0.5)
            yield {"WSAD_RAY_ADDRESS": address, "PREFECT_API_URL": api}, head.pid
        finally:
            head.terminate()
            head.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def stage_spans(project: Path, env: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """(start, end) epoch seconds of the task runs of each stage of the project's last
    training flow run (the `stages` command, run in the project so Prefect reads its
    database)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.train_time", "stages"],
        cwd=project,
        env={**env, "PYTHONPATH": str(HERE.parent)},
        capture_output=True,
        text=True,
        check=True,
    )
    spans = json.loads(done.stdout.strip().splitlines()[-1])
    return {stage: [(start, end) for start, end in v] for stage, v in spans.items()}


@app.command(hidden=True)
def stages() -> None:
    """Print, as JSON, the task runs' (start, end) of each stage of the last `wsad-training`
    flow run."""
    from flows.runtime.offline import go_offline

    go_offline()  # PREFECT_HOME = ./.prefect, as `wsad train` had it
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    from benchmarks.pipeline_overhead import task_spans
    from flows.runtime.config import TRAINING_FLOW

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[TRAINING_FLOW])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    spans = task_spans(runs[0].id)
    by_stage: dict[str, list[tuple[float, float]]] = {}
    for name, intervals in spans.items():
        by_stage.setdefault(STAGES.get(name, "other tasks"), []).extend(intervals)
    print(json.dumps(by_stage))


def one_point(
    n_rows: int,
    n_features: int,
    n_labels: int,
    work: Path,
    env: dict[str, str],
    cluster: int | None = None,
) -> dict[str, Any]:
    """A fresh project, its table and labels, one timed `wsad train`: the CSV row. With a
    Ray head's process id as `cluster`, the CPU its process tree spent during the run is
    recorded too (`cluster_cpu_s`: the workers' cross-validation)."""
    project = work / f"rows-{n_rows}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    log = project / "wsad.log"
    wsad(["init", "."], project, env, log)
    anomalies = write_large_table(project / "data" / "records.parquet", n_rows, n_features)
    confirmed = np.random.default_rng(0).choice(anomalies, n_labels, replace=False)
    pd.DataFrame({"id": confirmed}).to_csv(project / "confirmed.csv", index=False)
    wsad(
        ["label", "import", "confirmed.csv", "--id-column", "id", "--who", "bench"],
        project,
        env,
        log,
    )
    load_start = os.getloadavg()[0]
    cluster_before = tree_cpu(cluster) if cluster else 0.0
    train, samples = wsad(["train"], project, env, log)
    train["cluster_cpu_s"] = tree_cpu(cluster) - cluster_before if cluster else 0.0
    load_end = os.getloadavg()[0]
    spans = stage_spans(project, env)
    seconds = {stage: covered(v) for stage, v in spans.items()}
    cpu = {stage: cpu_in(v, samples) for stage, v in spans.items()}
    every_task = [x for v in spans.values() for x in v]
    seconds["outside tasks"] = train["wall_s"] - covered(every_task)
    cpu["outside tasks"] = train["cpu_s"] - cpu_in(every_task, samples)
    return {
        "rows": n_rows,
        "features": n_features,
        "labels": n_labels,
        **{k: round(v, 2) for k, v in train.items()},
        **{f"{s} s": round(seconds.get(s, 0.0), 2) for s in STAGE_ORDER},
        **{f"{s} CPU s": round(cpu.get(s, 0.0), 2) for s in STAGE_ORDER},
        "load_start": round(load_start, 1),
        "load_end": round(load_end, 1),
    }


def render(frame: pd.DataFrame, plot: Path, results_md: Path) -> None:
    """The RESULTS.md section (one row per run, wall and CPU seconds by stage) and the PNG
    curve."""
    columns = ["setting", "rows", "date", "wall s", "CPU s", "peak GiB", *STAGE_ORDER, "load"]

    frame = frame.sort_values("rows", kind="stable")

    def table(unit: str) -> list[str]:
        rows = [
            [
                str(r["tag"]),
                f"{r['rows']:,}",
                str(r["date"]),
                f"{r['wall_s']:.0f}",
                f"{r['cpu_s'] + np.nan_to_num(r.get('cluster_cpu_s', 0.0)):.0f}",
                f"{r['peak_gib']:.2f}",
                *(f"{r.get(f'{s} {unit}', np.nan):.1f}" for s in STAGE_ORDER),
                f"{r['load_start']:.1f}-{r['load_end']:.1f}",
            ]
            for r in frame.to_dict("records")
        ]
        return show_table(f"wsad train by stage ({unit})", columns, rows)

    draw_curve(frame, plot)
    commands = [
        f"- {tag}: " + ", ".join(f"`{c}`" for c in dict.fromkeys(part["command"]))
        for tag, part in frame.groupby("tag", sort=False)
    ]
    section = [
        HEADING,
        "",
        f"Machine: {machine()}. Load: the 1-minute load average at the start and end of each",
        "`wsad train` (column `load`). Commands, per setting:",
        "",
        *commands,
        "",
        "Stages are the Prefect task runs of the flow run. Wall seconds: parallel",
        "cross-validation tasks counted once; `outside tasks` is the rest of the wall:",
        "start-up, the preflight reads, `dvc add` of the table, Prefect's start. CPU seconds:",
        "the `wsad train` process's own (and its waited-for children's), read every",
        f"{SAMPLE_S} s and shared out to the stage running then; `nan`: not recorded. With",
        "Ray, the total `CPU s` adds the Ray processes' CPU during the run (the workers'",
        "cross-validation), which the stages do not see.",
        "",
        *table("s"),
        "",
        *table("CPU s"),
        "",
        "Against the targets (the default setting, its latest run at that size):",
        "",
        *against_targets(frame),
        *growth(frame),
        "",
        f"![train time]({plot.relative_to(results_md.parent)})",
    ]
    replace_section(results_md, HEADING, "\n".join(section))


def against_targets(frame: pd.DataFrame) -> list[str]:
    """One line per target size: wall and peak memory against the target, and the stage
    that took the largest share of the wall (what to speed up first)."""
    default = frame[frame["tag"] == "default"]
    lines = []
    for rows, (wall, peak) in TARGETS.items():
        runs = default[default["rows"] == rows]
        if runs.empty:
            lines.append(f"- {rows:,} rows: not measured.")
            continue
        run = runs.iloc[-1]
        stage = max(STAGE_ORDER, key=lambda s: np.nan_to_num(run.get(f"{s} s", 0.0)))
        line = f"- {rows:,} rows: {run['wall_s']:.0f} s wall against {wall} s"
        line += " (met)" if run["wall_s"] <= wall else " (missed)"
        line += f", {run['cpu_s']:.0f} CPU s, peak {run['peak_gib']:.2f} GiB"
        if peak is not None:
            met = run["peak_gib"] <= peak
            line += f" against {peak:.0f} GiB" + (" (met)" if met else " (missed)")
        share = run[f"{stage} s"] / run["wall_s"]
        lines.append(f"{line}; the largest stage: {stage}, {share:.0%} of the wall.")
    return lines


def growth(frame: pd.DataFrame) -> list[str]:
    """How CPU and wall seconds grew from the smallest to the largest table of the default
    setting (latest run of each): sublinear when the factor is below the rows' factor."""
    default = frame[frame["tag"] == "default"].drop_duplicates("rows", keep="last")
    if default["rows"].nunique() < 2:
        return []
    small, large = default.loc[default["rows"].idxmin()], default.loc[default["rows"].idxmax()]
    return [
        f"- From {small['rows']:,} to {large['rows']:,} rows ({large['rows'] / small['rows']:.0f}x"
        f" the rows): CPU seconds {large['cpu_s'] / small['cpu_s']:.2f}x, wall"
        f" {large['wall_s'] / small['wall_s']:.2f}x, peak memory"
        f" {large['peak_gib'] / small['peak_gib']:.2f}x."
    ]


def draw_curve(frame: pd.DataFrame, path: Path) -> None:
    """Wall seconds by stage against rows (log-log), one panel per setting, and peak memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4))
    shown = "default" if (frame["tag"] == "default").any() else frame["tag"].iloc[0]
    main = frame[frame["tag"] == shown].sort_values("rows")
    time_ax.plot(main["rows"], main["wall_s"], "k-o", label="wall (all)")
    for stage in STAGE_ORDER:
        values = main[f"{stage} s"]
        if (values > 1).any():
            time_ax.plot(main["rows"], values.clip(lower=0.1), "-", marker=".", label=stage)
    for ax in (time_ax, memory_ax):
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("training rows")
    time_ax.set_yscale("log")
    time_ax.set(ylabel="seconds", title=f"wsad train by stage ({main['tag'].iloc[0]})")
    time_ax.legend(fontsize=7)
    for tag, part in frame.groupby("tag", sort=False):
        part = part.sort_values("rows")
        memory_ax.plot(part["rows"], part["peak_gib"], "-o", label=str(tag))
    memory_ax.set(ylabel="peak resident GiB", title="peak memory of `wsad train`")
    memory_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@app.command()
def curve(
    rows: Annotated[str, typer.Option(help="comma-separated row counts")] = "10000,100000",
    features: Annotated[int, typer.Option(help="feature columns")] = 30,
    labels: Annotated[int, typer.Option(help="confirmed anomalies imported")] = 20,
    setting: Annotated[list[str] | None, typer.Option(help="WSAD_KEY=VALUE for wsad")] = None,
    ray_cpus: Annotated[int, typer.Option(help="local Ray head with N CPUs (0: threads)")] = 0,
    tag: Annotated[str, typer.Option(help="what this run's rows are called")] = "default",
    work: Annotated[Path, typer.Option(help="where the projects are made")] = Path(
        tempfile.gettempdir()
    )
    / "wsad-train-time",
    csv: Annotated[Path, typer.Option(help="rows appended here")] = HERE
    / "results"
    / "train_time.csv",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    write: Annotated[bool, typer.Option(help="rewrite the RESULTS.md section")] = False,
    smoke: Annotated[bool, typer.Option(help="3,000 rows, iforest only, into --work")] = False,
    render_only: RenderOnly = False,
) -> None:
    """Run the points, append them to the CSV, and (with --write) render the section."""
    if smoke:
        rows, setting = "3000", [*(setting or []), 'WSAD_METHODS=["iforest"]']
        csv, results_md, write = work / "train_time.csv", work / "RESULTS.md", True
    command = "python -m benchmarks.train_time curve " + " ".join(sys.argv[2:])
    env = {**os.environ, "COLUMNS": "200", "WSAD_RECORDS": "data/records.parquet"}
    env.update(dict(s.split("=", 1) for s in setting or []))
    work.mkdir(parents=True, exist_ok=True)
    with ray_cluster(ray_cpus) if ray_cpus else _threads() as (cluster, head):
        env.update(cluster)
        for n in [] if render_only else csv_list(rows, int):
            point = {
                "tag": tag,
                "date": str(datetime.date.today()),
                **one_point(n, features, labels, work, env, head),
                "command": command,
            }
            pd.DataFrame([point]).to_csv(csv, mode="a", header=not csv.exists(), index=False)
            print(json.dumps(point), flush=True)
    if write:
        render(pd.read_csv(csv), csv.with_suffix(".png"), results_md)


@app.callback(invoke_without_command=True)
def smoke_only(
    ctx: typer.Context,
    smoke: Annotated[bool, typer.Option(help="`curve --smoke`: 3,000 rows, iforest")] = False,
) -> None:
    """`--smoke` with no command runs the curve's smoke point (as every benchmark script)."""
    if ctx.invoked_subcommand is None and smoke:
        curve(smoke=True)


@contextmanager
def _threads() -> Iterator[tuple[dict[str, str], int | None]]:
    """No cluster: the cross-validation runs in threads."""
    yield {}, None


if __name__ == "__main__":
    app()
