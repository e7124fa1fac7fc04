"""Shared fixtures: small synthetic weakly supervised tasks, the shared datasets folder, and
`prefect_server`, one real Prefect server per test process (per pytest-xdist worker) for
every test whose processes must share one API (flows, the benchmarks' smoke runs).
The tests run offline, as the `wsad` CLI does (flows/runtime/offline.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks.local_servers import free_port, wait_for_health
from components.registry.candidate_facts import CandidateFacts
from flows.runtime.offline import go_offline

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

torch.set_num_threads(1)
# A loaded machine (two workers, subprocesses, other jobs) can take minutes to start Prefect's
# ephemeral server; the tests wait rather than fail (`wsad` itself waits 90 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")
go_offline()


@pytest.fixture(autouse=True)
def environment_as_found() -> Iterator[None]:
    """Each test leaves `os.environ` as it found it. A test that runs the CLI in-process
    (CliRunner) also runs its callback, which sets the console variables for Prefect
    (flows/cli/terminal.py: quiet_console); left behind, they would reach every later test's
    `wsad` subprocesses, which a user's shell never hands them (a served run's stage lines
    vanished from the serve console only after such a test)."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


def synthetic_task(
    seed: int = 0, n: int = 1500, d: int = 8, n_anomalies: int = 60, n_labelled: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian normals; anomalies shifted on the first three features. Returns X, weak y
    (first `n_labelled` anomalies labelled), true labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    truth = np.zeros(n, dtype=np.int64)
    truth[:n_anomalies] = 1
    X[:n_anomalies, :3] += 3.0
    y = np.zeros(n, dtype=np.int64)
    y[:n_labelled] = 1
    return X, y, truth


def decoy_task(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anomalies shifted on features 0-2; 8% of normal rows are wild on features 3-7, so an
    unsupervised detector chases the decoys and a label-guided one does not."""
    rng = np.random.default_rng(seed)
    n, d = 900, 8
    X = rng.normal(size=(n, d))
    truth = np.zeros(n, dtype=np.int64)
    truth[:45] = 1
    X[:45, :3] += 2.5
    X[45:117, 3:] *= 6.0
    y = np.zeros(n, dtype=np.int64)
    y[:15] = 1
    return X.astype(np.float32), y, truth


def require(what: str, present: bool, how: str) -> None:
    """Skip a test whose tool or data is missing on a developer's machine; under CI=true,
    where .ci/run installs everything, fail it instead, in one line saying what is missing."""
    if present:
        return
    message = f"{what} is missing: {how}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """../shared/datasets, the benchmark tables beside the clone (slow tests only)."""
    require(str(SHARED_DATASETS), SHARED_DATASETS.is_dir(), "the shared tables beside the clone")
    return SHARED_DATASETS


@pytest.fixture
def task() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return synthetic_task()


@pytest.fixture
def table_dir(tmp_path: Path) -> Path:
    """A folder holding one benchmark table, toy.parquet (features and `label`)."""
    X, _, truth = synthetic_task(n=600, n_anomalies=40)
    frame = pd.DataFrame(X * 10 + 3, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = truth
    frame.to_parquet(tmp_path / "toy.parquet")
    return tmp_path


def candidate_facts(
    method: str = "iforest",
    params: dict[str, Any] | None = None,
    auc_pr: float = 0.5,
    **facts: Any,
) -> CandidateFacts:
    """Facts as the training flow records them, with placeholder lineage, for versions a
    test registers (or a gate it decides) without running the flow; `facts` override."""
    recorded: dict[str, Any] = {
        "method": method,
        "params": params or {},
        "release": method,
        "data_version": "abc123.dir",
        "records": "data/records.csv",
        "labels": "data/labels.csv",
        "git_commit": "deadbeef",
        "validation_passed": True,
        "reference_check": "passed (no champion yet: internal checks only)",
        "random_state": 0,
        "torch_threads": 1,
        "threshold_method": "quantile",
        "target_fpr": 0.01,
        "contamination": 0.05,
        "contamination_low": 0.03,
        "contamination_high": 0.07,
        "contamination_trusted": True,
        "threshold_contamination": 0.05,
        "threshold_note": "the estimate",
        "metrics": {"auc_pr": auc_pr},
    }
    return CandidateFacts(**{**recorded, **facts})


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 with its own home and no UI or analytics; yields its
    API URL (set it as PREFECT_API_URL for subprocesses, or `temporary_settings` in-process)."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        + ["--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_health(f"{url}/health", server, home / "server.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU_START = pytest.StashKey[float]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[CPU_START] = _cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Each test's CPU seconds (setup, call and teardown; the processes it waited for
    included) as the report's property `cpu_s`, which --junitxml records: the marker rule's
    measure (tests/README.md), steadier under load than wall time."""
    outcome = yield
    if call.when == "teardown" and CPU_START in item.stash:
        report = outcome.get_result()
        cpu_s = round(_cpu_seconds() - item.stash[CPU_START], 2)
        report.user_properties.append(("cpu_s", cpu_s))
        log = os.environ.get("WSAD_TEST_CPU_LOG")  # a line per test as it ends, for long runs
        if log:
            with open(log, "a") as out:
                out.write(f"{cpu_s}\t{item.nodeid}\n")
