"""What share of the demo training flow's wall time is orchestration (Prefect) and tracking
(MLflow runs, registration, aliases, audit, lineage) rather than the components' compute?

The flow runs on the demo data in a fresh temporary project (git + DVC + sqlite MLflow, as
`wsad init` and `wsad demo` leave it: `demo_project`); then the same component calls run directly
on the same data with the same parallelism (cross-validation of the methods on a pool of two
threads, as the flow's task runner): reading, Great Expectations validation, scaling,
contamination, cross-validation, selection, refit + calibration, report plots, bundle files.
Overhead = flow wall time - direct wall time. Unlike the other benchmarks this one needs the
full install (Prefect, MLflow, GX, DVC): they are what it measures.

    python -m benchmarks.pipeline_overhead
"""

from __future__ import annotations

import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks import smoke
from benchmarks.report import machine, replace_section, show_table
from flows.cli.options import csv_list
from flows.runtime.offline import go_offline

HERE = Path(__file__).resolve().parent
HEADING = "## Pipeline overhead: demo training flow vs its components"


def direct(settings: Any, out_dir: Path) -> dict[str, float]:
    """The flow's component calls without Prefect or MLflow; seconds per step and in all."""
    import numpy as np

    from components.data import table_io, tables
    from components.data.label_file import read_labels, weak_labels
    from components.detectors.api import applicable_params
    from components.monitoring import validation
    from components.registry import bundle
    from components.selection import evaluation
    from components.selection.candidate import (
        calibrate_candidate,
        candidate_plots,
        refit_detector,
    )
    from components.selection.contamination import (
        contamination_for_threshold,
        estimate_contamination,
    )
    from components.selection.ensemble_plan import plan_release

    times: dict[str, float] = {}

    def timed(step: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        times[step] = time.perf_counter() - start
        return result

    start = time.perf_counter()
    table, confirmed = timed(
        "read", lambda: (table_io.read_table(settings.records), read_labels(settings.labels))
    )
    schema = tables.infer_schema(table, settings.id_column)
    timed("validation", lambda: validation.validate_training_data(table, confirmed, schema))
    raw = tables.feature_matrix(table, schema)
    scaler = tables.Scaler.fit(raw)
    X, y = scaler.transform(raw), weak_labels(table, confirmed, schema)
    seed = settings.random_state
    estimate = timed("contamination", lambda: estimate_contamination(X, y, random_state=seed))
    share = contamination_for_threshold(estimate).value

    def cv(method: str) -> evaluation.SelectionResult:
        shared = applicable_params(method, {"random_state": seed, "device": settings.device})
        params = {**shared, **settings.params.get(method, {})}
        return evaluation.cross_validate(method, params, X, y, share, settings.cv_folds, seed)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = timed("cross-validation", lambda: list(pool.map(cv, settings.methods)))
    best = plan_release(
        results, share, settings.release_top, settings.ensemble_seeds, settings.release_tolerance
    ).selection
    candidate = timed(
        "refit + calibration",
        lambda: calibrate_candidate(
            refit_detector(best, X, y),
            best,
            X,
            y,
            share,
            settings.threshold_method,
            settings.target_fpr,
        ),
    )
    timed("plots", lambda: candidate_plots(candidate, y, out_dir))
    timed(
        "bundle",
        lambda: bundle.write_bundle(
            out_dir / "bundle", candidate.detector, schema, scaler, candidate.threshold
        ),
    )
    times["total"] = time.perf_counter() - start
    assert np.isfinite(best.auc_pr)
    return times


def task_spans(flow_run_id: Any) -> dict[str, list[tuple[float, float]]]:
    """(start, end) epoch seconds of every task run of one flow run, by task name, as the
    Prefect API recorded them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    spans: dict[str, list[tuple[float, float]]] = {}
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    for run in runs:
        if run.start_time and run.end_time:
            name = run.name.rsplit("-", 1)[0]  # "cross_validate-3f2" -> "cross_validate"
            spans.setdefault(name, []).append(
                (run.start_time.timestamp(), run.end_time.timestamp())
            )
    return spans


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the intervals (parallel tasks counted once)."""
    total, reach = 0.0, -float("inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def demo_project(root: Path, methods: list[str]) -> Any:
    """A fresh project as `wsad init` and `wsad demo` leave it (git and DVC, the demo data
    versioned), its data committed; the default settings, which name its files relative to
    it (run inside it), training `methods`."""
    from components.data.demo import build_demo_data
    from components.provenance import lineage
    from flows.runtime.config import Settings

    lineage.init_repositories(root)
    build_demo_data(root / "data")
    lineage.dvc_add(root, "data")
    who = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@wsad.local"]
    for git in (["add", "-A"], [*who, "commit", "-qm", "data"]):
        subprocess.run(["git", *git], cwd=root, check=True, capture_output=True)
    return Settings(methods=methods, params={}, who="benchmark")


def main(
    runs: Annotated[int, typer.Option(help="flow runs and direct runs (alternated)")] = 3,
    methods: Annotated[str, typer.Option(help="comma-separated; default: the demo's")] = "",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table and write its section of RESULTS.md."""
    if smoke_:
        runs, methods, results_md = 1, "iforest", smoke.smoke_dir() / "RESULTS.md"
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="wsad-prefect-")  # not the clone's
    go_offline()
    from components.selection.defaults import DEFAULT_CANDIDATES
    from flows.pipelines.training import training_flow

    method_list = csv_list(methods, str) or list(DEFAULT_CANDIDATES)
    flow_s: list[float] = []
    direct_runs: list[dict[str, float]] = []
    spans: list[dict[str, list[tuple[float, float]]]] = []
    load_before = os.getloadavg()[0]
    home = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="wsad-overhead-") as tmp:
        for i in range(runs):
            root = Path(tmp) / f"run{i}"
            root.mkdir()
            os.chdir(root)  # the settings' paths and the flow's git commit are the project's
            try:
                settings = demo_project(root, method_list)
                start = time.perf_counter()
                state = training_flow(settings, return_state=True)
                flow_s.append(time.perf_counter() - start)
                spans.append(task_spans(state.state_details.flow_run_id))
                direct_runs.append(direct(settings, root / "direct"))
            finally:
                os.chdir(home)
    load_after = os.getloadavg()[0]
    steps = [k for k in direct_runs[0] if k != "total"]
    med = {k: statistics.median(r[k] for r in direct_runs) for k in [*steps, "total"]}
    warm_flow = statistics.median(flow_s[1:]) if runs > 1 else flow_s[0]
    warm_direct = (
        statistics.median(r["total"] for r in direct_runs[1:]) if runs > 1 else med["total"]
    )
    share = (warm_flow - warm_direct) / warm_flow
    cold_share = (flow_s[0] - direct_runs[0]["total"]) / flow_s[0]
    rows = [(f"component: {k}", f"{med[k]:.2f}") for k in steps]
    later = spans[1:] or spans
    rows += [
        (f"flow task: {name}", f"{value:.2f}")
        for name, value in sorted(
            {
                name: statistics.median(covered(s.get(name, [])) for s in later)
                for name in later[0]
            }.items(),
            key=lambda kv: -kv[1],
        )
    ]
    in_tasks = statistics.median(covered([x for v in s.values() for x in v]) for s in later)
    rows += [
        ("flow: inside task runs (median of later runs)", f"{in_tasks:.2f}"),
        ("flow: outside any task (start, hand-offs, end)", f"{warm_flow - in_tasks:.2f}"),
    ]
    rows += [
        ("components, direct, in all (median)", f"{med['total']:.2f}"),
        ("flow, first run (starts Prefect's ephemeral server)", f"{flow_s[0]:.2f}"),
        ("flow, later runs (median)", f"{warm_flow:.2f}"),
        ("overhead share, later runs", f"{share:.1%}"),
        ("overhead share, first run", f"{cold_share:.1%}"),
    ]
    title = "Demo training flow: wall time vs its components (seconds)"
    lines = show_table(title, ("what", "seconds"), rows)
    command = "python -m benchmarks.pipeline_overhead " + shlex.join(sys.argv[1:])
    section = f"""{HEADING}

`{command}`. Machine: {machine().replace("1 thread per fit", "default torch threads")}; load
average {load_before:.1f} before, {load_after:.1f} after (shared machine). Date:
{datetime.date.today()}. Methods: {", ".join(method_list)} at their defaults (the demo's
training flow), {runs} runs, each in a fresh temporary project (demo data, git + DVC, sqlite
MLflow store). Each flow run is followed by the same component calls made directly on the
same data ("direct"; cross-validation on a pool of two threads, like the flow's task runner).
Overhead = flow wall - direct wall: Prefect (task runs, state, the API), MLflow (run, params,
metrics, artifacts, pyfunc logging and registration, aliases), the audit log and lineage
(`dvc`/`git` calls). The first run also starts Prefect's ephemeral API server. "flow task"
rows are each task's wall time as Prefect recorded it (start to end state; later runs;
parallel runs of one task counted once); the time outside every task is the flow's own
start, hand-offs and finish.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
