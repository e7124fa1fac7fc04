"""Every registered detector honours the contract: learns, is deterministic, round-trips,
and rejects bad input with a clear message. A new method is tested by being registered."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from components.detectors import Detector, available, make
from tests.conftest import decoy_task

ALL = available()
DEEP = [m for m in ALL if "epochs" in make(m).get_params()]
# Short fixed-length fits keep the contract cheap; `until_converged` has its own tests
# (test_training_length.py, test_ensemble.py); catboost: 1,000 trees at defaults.
FAST = {"epochs": 15, "pretrain_epochs": 10, "n_estimators": 100, "until_converged": False}


def fast(name: str, **extra: object) -> Detector:
    params = {k: v for k, v in {**FAST, **extra}.items() if k in make(name).get_params()}
    return make(name, **params)


@pytest.mark.parametrize("name", ALL)
def test_learns_synthetic_task(name, task):
    X, y, truth = task
    scores = fast(name).fit(X, y).decision_function(X)
    assert scores.shape == (len(X),)
    assert roc_auc_score(truth, scores) >= 0.9


BEATS_IFOREST = [m for m in ALL if m != "iforest"]


@pytest.mark.parametrize("name", BEATS_IFOREST)
def test_labels_beat_isolation_forest_on_decoys(name):
    """15 labelled anomalies must lift AUC-PR well above the unsupervised floor when normal
    decoys are the loudest outliers."""
    X, y, truth = decoy_task()
    floor = average_precision_score(truth, make("iforest").fit(X, y).decision_function(X))
    ours = average_precision_score(truth, fast(name).fit(X, y).decision_function(X))
    assert ours >= floor + 0.25


@pytest.mark.parametrize("name", DEEP)
def test_scores_deterministic_for_a_seed(name, task):
    X, y, _ = task
    a = fast(name, random_state=3).fit(X, y).decision_function(X)
    b = fast(name, random_state=3).fit(X, y).decision_function(X)
    c = fast(name, random_state=4).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ALL)
def test_save_load_round_trips_scores_exactly(name, task, tmp_path):
    X, y, _ = task
    det = fast(name).fit(X, y)
    det.save(tmp_path / "model.pt")
    loaded = Detector.load(tmp_path / "model.pt")
    assert loaded.get_params() == det.get_params()
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))


def test_load_refuses_other_method(task, tmp_path):
    X, y, _ = task
    make("iforest").fit(X, y).save(tmp_path / "m.pt")
    det_cls = type(make("devnet"))
    with pytest.raises(ValueError, match="holds a iforest detector, not devnet"):
        det_cls.load(tmp_path / "m.pt")


@pytest.mark.parametrize("name", ALL)
def test_rejects_nan_and_inf(name, task):
    X, y, _ = task
    X = X.copy()
    X[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN/inf value.*row 5, column 2"):
        make(name).fit(X, y)
    X[5, 2] = np.inf
    with pytest.raises(ValueError, match="NaN/inf"):
        make(name).fit(X, y)


@pytest.mark.parametrize("name", ALL)
def test_rejects_non_numeric_columns(name, task):
    X, y, _ = task
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["city"] = "Paris"
    with pytest.raises(ValueError, match="column\\(s\\) city are not numeric"):
        make(name).fit(df, y)


@pytest.mark.parametrize("name", ALL)
def test_rejects_one_dimensional_input(name, task):
    X, y, _ = task
    with pytest.raises(ValueError, match="1-D"):
        make(name).fit(X[:, 0], y)


@pytest.mark.parametrize("name", ALL)
def test_rejects_all_rows_labelled(name, task):
    X, _, _ = task
    with pytest.raises(ValueError, match="every row is labelled anomalous"):
        make(name).fit(X[:20], np.ones(20, dtype=int))


@pytest.mark.parametrize("name", ALL)
def test_no_labelled_anomaly_says_which_methods_can_run(name, task):
    X, _, _ = task
    det = make(name)
    if det.min_labelled == 0:
        assert det.fit(X[:300], np.zeros(300, dtype=int)) is det
        return
    with pytest.raises(
        ValueError, match="needs at least .* methods that can run with 0: .*iforest"
    ):
        det.fit(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize("name", ALL)
def test_feature_count_mismatch_at_scoring(name, task):
    X, y, _ = task
    det = fast(name, epochs=1, pretrain_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="has 7 features but the detector was fitted on 8"):
        det.decision_function(X[:, :7])


def test_scoring_before_fit_fails_clearly():
    with pytest.raises(ValueError, match="not fitted yet"):
        make("devnet").decision_function(np.zeros((2, 2)))


def test_unknown_method_and_parameter_fail_clearly():
    with pytest.raises(ValueError, match="unknown method 'nope'; available: .*devnet"):
        make("nope")
    with pytest.raises(ValueError, match="devnet has no parameter n_trees"):
        make("devnet", n_trees=3)


def test_labels_must_be_binary_and_aligned(task):
    X, y, _ = task
    with pytest.raises(ValueError, match="y has 3 labels but X has"):
        make("devnet").fit(X, y[:3])
    with pytest.raises(ValueError, match="1 \\(labelled anomaly\\), 0 \\(unlabelled\\)"):
        make("devnet").fit(X, y * 2)


KEEP_AS_UNLABELLED = [m for m in ALL if not make(m).uses_confirmed_normals]


@pytest.mark.parametrize("name", KEEP_AS_UNLABELLED)
def test_confirmed_normals_train_as_unlabelled_rows(name, task):
    """A method without a term for labelled normals fits exactly as if the dismissed rows
    (y = -1) were unlabelled."""
    X, y, _ = task
    dismissed = y.copy()
    dismissed[100:140] = -1
    fit = {"epochs": 2, "pretrain_epochs": 1, "max_iter": 20, "n_estimators": 20}
    np.testing.assert_array_equal(
        fast(name, **fit).fit(X, dismissed).decision_function(X),
        fast(name, **fit).fit(X, y).decision_function(X),
    )


@pytest.mark.parametrize("name", ALL)
def test_docstring_says_what_happens_to_confirmed_normals(name):
    module = sys.modules[type(make(name)).__module__]
    assert "y = -1" in (module.__doc__ or ""), f"{module.__name__} must say how it treats them"
