"""A family of synthetic weakly supervised tasks, shared by tests and benchmarks.

The contract test's task (Gaussian normals, anomalies shifted on three features) fixes what
decides whether a method learns from a dozen labels: one normal cluster, a low dimension,
one anomaly type, labelled anomalies that look like every other anomaly. The family varies
each of those:

- `subspace_task`: normal rows from several correlated Gaussian clusters in a few to a few
  dozen dimensions; anomalies deviate on a small feature subspace, of the labelled type or
  of a hidden type nobody labelled (subspace.py);
- `adbench_task`: ADBench's four generated anomaly types (local, global, dependency,
  cluster) built on the normal rows of a real table (adbench.py).

A task is drawn afresh for each seed: rows split 70/30 stratified into train and test,
`n_labelled` train anomalies labelled, min-max scaling fitted on train, as in the benchmark
protocol (components/selection/adbench.py); a `Task` holds a `components.selection.adbench.Split`,
so anything that runs on a benchmark split runs on it. `family` lists the benchmark's tasks
(benchmarks/synthetic_family.py), `small_family` the tests', and `versus_iforest` compares any
candidate, a method or the flow's release, with IsolationForest on the same draws.

Import rule: numpy, scikit-learn, torch (through components.detectors), components.selection.adbench
and the release's pure parts (contamination, evaluation, release) only, so it runs on a bare
GPU box.
"""

from benchmarks.synthetic.adbench import ADBENCH_KINDS, adbench_spec, adbench_task
from benchmarks.synthetic.family import (
    PEERS,
    SEED_NOISE,
    VersusIForest,
    family,
    method_scorer,
    release_scorer,
    small_family,
    versus_iforest,
)
from benchmarks.synthetic.subspace import subspace_spec, subspace_task
from benchmarks.synthetic.task import Task, TaskSpec

__all__ = [
    "ADBENCH_KINDS",
    "PEERS",
    "SEED_NOISE",
    "Task",
    "TaskSpec",
    "VersusIForest",
    "adbench_spec",
    "adbench_task",
    "family",
    "method_scorer",
    "release_scorer",
    "small_family",
    "subspace_spec",
    "subspace_task",
    "versus_iforest",
]
