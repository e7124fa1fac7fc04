"""The subspace task generator's dependency anomalies ("swap"): every value normal for some
cluster, the combination normal for none, which is what makes them a different task from the
shifted anomalies (issue 28: anoonly collapsed on them, not on shifts)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture

from benchmarks.synthetic import subspace_spec, subspace_task


@pytest.mark.parametrize("seed", [0, 1])
def test_swap_anomalies_hide_in_every_feature_but_not_in_the_joint(seed):
    spec = subspace_spec(
        n_features=40, subspace=8, anomaly_share=0.03, n_labelled=12, deviation="swap"
    )
    split = spec.build(seed).split
    normal = split.X_train[split.y_train_true == 0]
    low, median, high = np.percentile(normal, [25, 50, 75], axis=0)
    per_feature = (np.abs(split.X_test - median) / (high - low)).max(axis=1)
    joint = -GaussianMixture(4, random_state=0).fit(normal).score_samples(split.X_test)
    assert roc_auc_score(split.y_test, per_feature) < 0.6
    assert roc_auc_score(split.y_test, joint) > 0.95


def test_the_name_says_swap_instead_of_the_unused_shift():
    assert subspace_spec(deviation="swap").name == "subspace-k4-d30-s3-swap-a0.03-l12-n3000"
    assert subspace_spec(shift=2.0).name == "subspace-k4-d30-s3-x2-a0.03-l12-n3000"


def test_bad_deviations_fail_clearly():
    with pytest.raises(ValueError, match="deviation must be one of shift, swap, got 'tilt'"):
        subspace_task(0, deviation="tilt")
    with pytest.raises(ValueError, match="n_clusters >= 2"):
        subspace_task(0, n_clusters=1, deviation="swap")
