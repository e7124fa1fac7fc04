"""benchmarks/gpu_suite.sh, checked on CPU so that the accelerator's minutes go to measuring:
the whole suite end to end on a tiny slice without DeepOD (CI installs no DeepOD; the GPU run
installs it from the carried wheel), and the import rule of the GPU box for every module the
suite runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks" / "gpu_suite.sh"
# What the GPU box has (issue 20); everything these import is allowed too.
GPU_BOX = [
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.preprocessing",
    "sklearn.ensemble",
    "sklearn.cluster",
    "sklearn.neighbors",
    "sklearn.svm",
    "tqdm.auto",
    "rich.console",
    "rich.progress",
    "rich.table",
    "typer",
]


def _suite_modules() -> list[str]:
    return [f"benchmarks.{n}" for n in re.findall(r"^run_step (\w+)", SUITE.read_text(), re.M)]


def _run_suite(tmp_path: Path, tables: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    env["TABLES"] = str(tables)
    return subprocess.run(
        ["bash", str(SUITE), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_suite_modules_import_nothing_beyond_the_gpu_box():
    modules = _suite_modules()
    assert len(modules) == 4
    probe = textwrap.dedent(f"""
        import importlib, sys, sysconfig
        site = sysconfig.get_paths()["purelib"]
        def third_party():
            return {{name.split(".")[0] for name, m in list(sys.modules.items())
                    if (getattr(m, "__file__", None) or "").startswith(site)}}
        for name in {GPU_BOX!r}:
            importlib.import_module(name)
        before = third_party()
        for name in {modules!r}:
            importlib.import_module(name)
        print(sorted(third_party() - before))
    """)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize(
    ("env_out", "args", "message"),
    [
        (False, ["--tiny"], "error: set OUT to the folder for the results"),
        (True, ["--fast"], "error: unknown option --fast"),
    ],
)
def test_suite_refuses_bad_invocations_with_one_error_line(tmp_path, env_out, args, message):
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    if env_out:
        env["OUT"] = str(tmp_path)
    out = subprocess.run(
        ["bash", str(SUITE), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines()[0].startswith(message)
    assert len(out.stderr.splitlines()) == 1


@pytest.mark.slow
def test_tiny_suite_on_cpu_writes_every_csv_and_png(tmp_path, shared_datasets):
    out = _run_suite(tmp_path, shared_datasets, "--device", "cpu", "--tiny", "--skip-deepod")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    steps = pd.read_csv(tmp_path / "suite_steps.csv")
    assert steps.step.tolist() == [m.split(".")[1] for m in _suite_modules()]
    assert (steps.exit_code == 0).all()
    expected = {
        "fit_scaling": {"method", "rows", "ours_s", "auc_pr_ours", "speedup"},
        "ensemble_speedup": {"method", "sequential_s", "stacked_s", "speedup", "device"},
        "grid_walltime": {"dataset", "method", "auc_pr", "fit_seconds"},
        "step_modes": {"method", "mode", "seed", "fit_s", "auc_pr"},
    }
    for name, columns in expected.items():
        frame = pd.read_csv(tmp_path / f"{name}_cpu.csv")
        assert columns <= set(frame.columns), (name, frame.columns)
        assert len(frame) > 0
        png = (tmp_path / f"{name}_cpu.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    fit = pd.read_csv(tmp_path / "fit_scaling_cpu.csv")
    assert fit.ours_s.gt(0).all()
    assert fit.auc_pr_ours.between(0, 1).all()
    assert fit.deepod_s.isna().all()  # --skip-deepod
    text = (tmp_path / "RESULTS.md").read_text()
    assert text.count("\n## ") == 4
