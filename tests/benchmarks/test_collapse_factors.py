"""benchmarks/collapse_factors.py's look inside a fitted devnet or anoonly(devnet): what it
says each last-layer unit adds to the score must add up to the score the detector gives, and
its score AUC is the detector's own (issue 28's mechanism rests on both)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from benchmarks.collapse_factors import _unit_weights, unit_separation
from benchmarks.synthetic import subspace_spec
from components.detectors.anoonly import _AnoOnlyDevNet
from components.detectors.devnet import DevNet

NETS = {
    "devnet": lambda: DevNet(epochs=2, random_state=0),
    "anoonly 1 layer": lambda: _AnoOnlyDevNet(hidden_dims=(20,), epochs=2, random_state=0),
    "anoonly deep": lambda: _AnoOnlyDevNet(hidden_dims=(40, 20), epochs=2, random_state=0),
}


@pytest.fixture(scope="module")
def task():
    return subspace_spec(n_rows=600, n_labelled=10, deviation="swap").build(0)


@pytest.mark.parametrize("net", sorted(NETS))
def test_the_units_contributions_add_up_to_the_score(net, task):
    det = NETS[net]().fit(task.X, task.y)
    with torch.no_grad():
        hidden = det.net_[:-1](torch.as_tensor(task.X)).numpy()
    rest = det.decision_function(task.X) - hidden @ _unit_weights(det)
    assert np.ptp(rest) < 1e-3 * np.ptp(det.decision_function(task.X))  # a constant: the bias


@pytest.mark.parametrize("net", sorted(NETS))
def test_the_score_auc_is_the_detectors_own(net, task):
    det = NETS[net]().fit(task.X, task.y)
    labelled, unlabelled, best_unit, score_auc = unit_separation(det, task)
    rows = (task.truth == 0) | ((task.truth == 1) & (task.y != 1))
    assert score_auc == pytest.approx(
        roc_auc_score(task.truth[rows], det.decision_function(task.X[rows]))
    )
    assert all(0 <= v <= 1 for v in (labelled, unlabelled, best_unit))
