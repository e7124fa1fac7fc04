"""What share of the demo training flow's wall time is orchestration (Prefect) and tracking
(MLflow runs, registration, aliases, audit, lineage) rather than the components' compute?

The flow runs on the demo data in a fresh temporary project (git + DVC + sqlite MLflow, as
`tests.flows.conftest.make_project` builds it); then the same component calls run directly
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
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks.report import machine, replace_section, show_table
from components.benchmark import _csv_list

HERE = Path(__file__).resolve().parent
HEADING = "## Pipeline overhead: demo training flow vs its components"
OFFLINE = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def direct(settings: Any, out_dir: Path) -> dict[str, float]:
    """The flow's component calls without Prefect or MLflow; seconds per step and in all."""
    import numpy as np

    from components import data, evaluation, registry, validation
    from components.candidate import candidate_plots, fit_candidate
    from components.contamination import estimate_contamination
    from components.detectors.base import applicable_params

    times: dict[str, float] = {}

    def timed(step: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        times[step] = time.perf_counter() - start
        return result

    start = time.perf_counter()
    table, confirmed = timed(
        "read", lambda: (data.read_table(settings.records), data.read_labels(settings.labels))
    )
    schema = data.infer_schema(table, settings.id_column)
    timed("validation", lambda: validation.validate_training_data(table, confirmed, schema))
    raw = data.feature_matrix(table, schema)
    scaler = data.Scaler.fit(raw)
    X, y = scaler.transform(raw), data.weak_labels(table, confirmed, schema)
    seed = settings.random_state
    estimate = timed("contamination", lambda: estimate_contamination(X, y, random_state=seed))

    def cv(method: str) -> evaluation.SelectionResult:
        shared = applicable_params(method, {"random_state": seed, "device": settings.device})
        params = {**shared, **settings.params.get(method, {})}
        return evaluation.cross_validate(
            method, params, X, y, estimate.estimate, settings.cv_folds, seed
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = timed("cross-validation", lambda: list(pool.map(cv, settings.methods)))
    best = evaluation.select_best(results)
    candidate = timed(
        "refit + calibration",
        lambda: fit_candidate(best, X, y, estimate, settings.threshold_method, settings.target_fpr),
    )
    timed("plots", lambda: candidate_plots(candidate, X, y, out_dir))
    timed(
        "bundle",
        lambda: registry.write_bundle(
            out_dir / "bundle", candidate.detector, schema, scaler, candidate.threshold
        ),
    )
    times["total"] = time.perf_counter() - start
    assert np.isfinite(best.auc_pr)
    return times


def main(
    runs: Annotated[int, typer.Option(help="flow runs and direct runs (alternated)")] = 3,
    methods: Annotated[str, typer.Option(help="comma-separated; default: the demo's")] = "",
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
) -> None:
    """Print the table and write its section of RESULTS.md."""
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    from tests.flows.conftest import make_project  # first: sets a temporary PREFECT_HOME

    # isort: split
    from flows.config import DEFAULT_METHODS
    from flows.training import training_flow

    method_list = _csv_list(methods, str) or list(DEFAULT_METHODS)
    flow_s: list[float] = []
    direct_runs: list[dict[str, float]] = []
    load_before = os.getloadavg()[0]
    home = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="wsad-overhead-") as tmp:
        for i in range(runs):
            root = Path(tmp) / f"run{i}"
            root.mkdir()
            settings = make_project(root).model_copy(update={"methods": method_list, "params": {}})
            os.chdir(root)  # the flow records the project's git commit from the CWD
            try:
                start = time.perf_counter()
                training_flow(settings)
                flow_s.append(time.perf_counter() - start)
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
(`dvc`/`git` calls). The first run also starts Prefect's ephemeral API server.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
