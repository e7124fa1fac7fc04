"""Distributed training: the training flow run through a real Ray head started on loopback,
its cross-validation tasks executed by Ray workers and reported to a real Prefect server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from components.registry import store
from flows.pipelines.training import training_flow
from flows.runtime.config import Settings
from flows.runtime.runners import DistributedError, gpus_per_task, training_runner
from tests.flows.conftest import copy_project, free_port

pytestmark = pytest.mark.slow  # a Ray head and a training flow on it (tests/README.md)

RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage reports
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # single-node mode: every service on 127.0.0.1
}


@pytest.fixture
def ray_head(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """`ray start --head --block` on 127.0.0.1 with its own temp dir and ports; yields the
    cluster address and the dashboard URL (Ray's state API). Stopping the blocking process
    stops every Ray process it started."""
    pytest.importorskip("prefect_ray", reason="the [distributed] extra is not installed")
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)
    # Ray's socket paths must stay short (AF_UNIX limit), so not under pytest's tmp_path.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port, dashboard_port = free_port(), free_port()
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block"]
    command += ["--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2"]
    command += ["--num-gpus", "0", "--disable-usage-stats", "--temp-dir", temp_dir]
    command += ["--include-dashboard=true", "--dashboard-host", "127.0.0.1"]
    command += ["--dashboard-port", str(dashboard_port)]
    command += ["--ray-client-server-port", str(free_port())]
    command += ["--dashboard-agent-listen-port", str(free_port())]
    command += ["--object-store-memory", str(100 * 2**20)]
    log = Path(temp_dir) / "head.log"
    with log.open("w") as out:
        head = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text():
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray head did not start: {log.read_text()}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", f"http://127.0.0.1:{dashboard_port}"
    finally:
        head.terminate()
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_training_flow_runs_its_cross_validation_on_a_ray_cluster(
    ray_head, prefect_server, project_template, tmp_path, monkeypatch
):
    from ray.util.state import list_tasks

    address, dashboard = ray_head
    monkeypatch.chdir(tmp_path)
    settings = copy_project(project_template, tmp_path).model_copy(
        update={
            "methods": ["iforest", "devnet"],
            "params": {"devnet": {"epochs": 3}},
            "ray_address": address,
        }
    )
    store.configure(settings.tracking_uri)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        result = training_flow(settings)

    assert set(result["cv"]) == {"iforest", "devnet"}
    assert result["champion"] == result["version"] == "1"
    assert store.get_alias_version(settings.model_name, "champion") == "1"
    tasks = list_tasks(address=dashboard, filters=[("name", "=", "cross_validate")], detail=True)
    assert len(tasks) == 2
    assert {t.state for t in tasks} == {"FINISHED"}
    assert os.getpid() not in {t.worker_pid for t in tasks}  # Ray workers, not this process
    assert all("GPU" not in t.required_resources for t in tasks)  # a CPU cluster: no GPU asked


def test_gpus_per_task_is_one_where_the_cluster_has_gpus_unless_configured():
    assert gpus_per_task(None, {"CPU": 16.0, "GPU": 4.0}) == 1.0
    assert gpus_per_task(None, {"CPU": 16.0}) == 0.0
    assert gpus_per_task(0.5, {"CPU": 16.0, "GPU": 4.0}) == 0.5
    assert gpus_per_task(0.0, {"GPU": 4.0}) == 0.0


def test_ray_address_without_the_extra_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "prefect_ray", None)  # as if the extra were absent
    settings = Settings(ray_address="127.0.0.1:6379")
    with (
        pytest.raises(DistributedError, match=r"pip install 'wsad\[distributed\]'"),
        training_runner(settings),
    ):
        pass
