"""`wsad reproduce` on the demo data's champion (DevNet, trained on row budgets smaller than
the table, so contamination and the refit read a seeded draw), which passed the lineage
gate: equal scores and threshold; still equal after a label is added and committed (it uses
the version's own labels and says the label file changed); a draw that does not match its
recorded digest, or the DVC cache gone with no remote, is one line naming what."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.provenance.lineage import data_version
from components.registry import store
from components.registry.candidate_facts import DRAWS
from flows.pipelines.training import training_flow
from tests.flows.conftest import assert_one_error_line, cli_env, commit_data, copy_project, run_wsad

pytestmark = pytest.mark.slow  # a DevNet champion, reproduced by `wsad` processes (tests/README.md)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, project_template: Path, prefect_server: str):
    """A project whose v1 (DevNet, few epochs) is champion, trained from its root."""
    root = tmp_path_factory.mktemp("reproduce")
    budgets = {"contamination_rows": 200, "cv_rows": 250, "refit_rows": 150}  # of 367 unlabelled
    settings = copy_project(project_template, root).model_copy(update=budgets)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert training_flow(settings)["champion"] == "1"
    return root, settings, {**cli_env(settings), "PREFECT_API_URL": prefect_server}


def test_the_champion_reproduces_equal(released):
    root, settings, env = released
    (promoted,) = [e for e in AuditLog(settings.audit_log).entries() if e["action"] == "promote"]
    assert promoted["gates"]["lineage"]["passed"] is True  # its data: the md5 DVC recorded
    assert "override" not in promoted["gates"]["lineage"]
    store.configure(settings.tracking_uri)
    tags = store.version_info(settings.model_name, "1")["tags"]
    draws = {d.stage: d for d in DRAWS.read(tags["row_draws"])}
    assert (draws["contamination"].budget, draws["refit"].budget) == (200, 150)
    assert draws["refit"].rows == 160  # 150 unlabelled + the 10 labelled anomalies
    assert tags["torch_threads"] == "1"  # training's default: one torch thread per fit
    done = run_wsad(["reproduce", "1"], root, env)
    assert done.returncode == 0, done.stdout
    assert "v1: equal: identical scores on 377 rows" in done.stdout
    assert "changed since the release" not in done.stdout


def test_it_still_reproduces_from_its_own_data_after_a_label_is_added(released):
    root, settings, env = released
    before = data_version(settings.data_dvc)
    added = run_wsad(["label", "add", "wbc-0107", "--who", "alice"], root, env)
    assert added.returncode == 0, added.stdout
    commit_data(root, "label wbc-0107")
    assert data_version(settings.data_dvc) != before
    done = run_wsad(["reproduce", "1"], root, env)
    assert done.returncode == 0, done.stdout
    assert "v1: equal: identical scores" in done.stdout
    assert "labels.csv changed since the release (10 -> 11 labels)" in done.stdout


def test_a_draw_that_differs_from_its_record_is_one_line_naming_the_stage(released):
    root, settings, env = released
    store.configure(settings.tracking_uri)
    recorded = store.version_info(settings.model_name, "1")["tags"]["row_draws"]
    forged = recorded.replace('"budget": 150', '"budget": 149')
    client = MlflowClient()
    client.set_model_version_tag(settings.model_name, "1", "row_draws", forged)
    try:
        done = run_wsad(["reproduce", "1"], root, env)
    finally:
        client.set_model_version_tag(settings.model_name, "1", "row_draws", recorded)
    assert_one_error_line(
        done, r"v1: stage 'refit' drew 159 rows .* where the version records 160 \(sha256"
    )


def test_missing_cache_without_remote_is_one_line_naming_the_data(released, tmp_path):
    root, settings, env = released
    cache = root / ".dvc" / "cache"
    shutil.move(cache, tmp_path / "cache")
    try:
        done = run_wsad(["reproduce", "1"], root, env)
    finally:
        shutil.move(tmp_path / "cache", cache)
    assert_one_error_line(
        done, r"data version \w+\.dir of data/ is missing from the DVC cache .*none is configured"
    )
