"""`wsad bench` (flows/cli/bench.py): one CSV row per fit, one error line for a bad option,
and the same command as `python3 -m flows.cli.bench` on a GPU box without Prefect, MLflow,
GX or DVC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.flows.conftest import assert_one_error_line, run_wsad

# A GPU box has torch/numpy/pandas/sklearn/typer/rich only: importing the rest fails there.
GPU_BOX_SITE = """
import sys

class NotOnTheGpuBox:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"prefect", "mlflow", "great_expectations", "dvc"}:
            raise ImportError(f"{name} is not installed on the GPU box")
        return None

sys.meta_path.insert(0, NotOnTheGpuBox())
"""


def test_bench_command_writes_one_row_per_fit(table_dir, tmp_path):
    import typer

    from flows.cli.bench import bench

    app = typer.Typer()
    app.command()(bench)
    out = tmp_path / "r.csv"
    args = ["--data-dir", str(table_dir), "--methods", "iforest,devnet", "--label-ratios", "0.1"]
    args += ["--seeds", "0,1", "--set", "epochs=2", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 4
    assert {
        "auc_roc",
        "auc_pr",
        "fit_seconds",
        "score_seconds",
        "epochs",
        "n_train",
        "n_labelled",
        "device",
    } <= set(frame.columns)
    assert "toy" in result.output


def test_wsad_bench_help_and_an_unknown_method_is_one_error_line(table_dir):
    shown = run_wsad(["bench", "--help"], table_dir, {"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stdout
    assert "ADBench semi-supervised protocol" in shown.stdout
    for option in ("--data-dir", "--label-ratios", "--labels", "--device", "--set"):
        assert option in shown.stdout
    refused = run_wsad(["bench", "--data-dir", str(table_dir), "--methods", "nope"], table_dir, {})
    assert_one_error_line(refused, "unknown method 'nope'")


def test_gpu_box_entry_runs_without_prefect_mlflow_gx_or_dvc(table_dir, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GPU_BOX_SITE)
    out = tmp_path / "gpu.csv"
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli.bench", "--data-dir", str(table_dir)]
        + ["--methods", "iforest", "--seeds", "0", "--label-ratios", "0.1", "--device", "cpu"]
        + ["--out", str(out)],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "COLUMNS": "200"},
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert frame[["dataset", "method", "seed"]].values.tolist() == [["toy", "iforest", 0]]
    assert 0 < frame["auc_pr"].iloc[0] <= 1
    assert "toy" in done.stdout


@pytest.mark.slow  # two `wsad` processes
def test_wsad_bench_labels_writes_counts_and_refuses_ratios_beside_them(table_dir, tmp_path):
    out = tmp_path / "r.csv"
    common = ["bench", "--data-dir", str(table_dir), "--methods", "iforest", "--seeds", "0"]
    done = run_wsad([*common, "--labels", "2,4", "--out", str(out)], tmp_path, {})
    assert done.returncode == 0, done.stdout
    frame = pd.read_csv(out)
    assert frame["labels"].tolist() == [2, 4]
    assert frame["n_labelled"].tolist() == [2, 4]
    assert frame["label_ratio"].isna().all()
    assert "labels" in done.stdout
    refused = run_wsad([*common, "--labels", "5", "--label-ratios", "0.1"], tmp_path, {})
    assert_one_error_line(
        refused, r"pass --labels \(counts\) or --label-ratios \(shares\), not both"
    )
