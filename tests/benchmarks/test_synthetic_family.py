"""No method collapses where its peers learn: on synthetic tasks where DevNet, PReNet and Deep
SAD beat IsolationForest by more than seed noise, every registered method beats it too (mean
test AUC-PR over seeds 0 and 1, every method at its defaults, same draws for all). And no
release below IsolationForest: what `wsad train` would release scores at least its AUC-PR,
less seed noise, also on ADBench's local anomalies, where IsolationForest is strong and the
weakly supervised nets miss what the unlabelled rows show."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.synthetic import (
    PEERS,
    SEED_NOISE,
    VersusIForest,
    adbench_spec,
    method_scorer,
    release_scorer,
    small_family,
    versus_iforest,
)
from components.detectors import available

METHODS = [m for m in available() if m != "iforest"]


@pytest.fixture(scope="module")
def results() -> dict[str, list[VersusIForest]]:
    return versus_iforest(small_family(), {m: method_scorer(m) for m in METHODS}, seeds=(0, 1))


def _said(r: VersusIForest) -> str:
    ours = ", ".join(f"{v:.3f}" for v in r.candidate)
    floor = ", ".join(f"{v:.3f}" for v in r.iforest)
    return f"{r.task}: AUC-PR {ours} vs IsolationForest {floor} (gap {r.gap:+.3f})"


@pytest.mark.slow
def test_the_peers_learn_on_these_tasks(results):
    """Else the test below would check nothing."""
    for peer in PEERS:
        for r in results[peer]:
            assert r.gap > SEED_NOISE, f"{peer} {_said(r)}"


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_no_method_collapses_where_its_peers_learn(results, method):
    for r in results[method]:
        assert r.gap > 0, f"{method} {_said(r)}"


@pytest.fixture(scope="module")
def releases(shared_datasets: Path) -> list[VersusIForest]:
    local = adbench_spec(shared_datasets / "cardio.parquet", "local", n_rows=2000)
    specs = [*small_family(), local]
    return versus_iforest(specs, {"release": release_scorer()}, seeds=(0, 1))["release"]


@pytest.mark.slow
def test_the_release_scores_at_least_isolation_forest(releases):
    for r in releases:
        assert r.gap >= -SEED_NOISE, f"release {_said(r)}"
