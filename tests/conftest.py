"""Shared fixtures: small synthetic weakly supervised tasks and the shared datasets folder.
The tests run offline, as the `wsad` CLI does (flows/runtime/offline.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from components.registry.candidate_facts import CandidateFacts
from flows.runtime.offline import go_offline

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

torch.set_num_threads(1)
go_offline()


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
