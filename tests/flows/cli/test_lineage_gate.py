"""No champion without lineage, through the installed `wsad`: a table outside the project is
trained on but not promoted (one line says why; the store and the audit log show the
rejection), `--allow-unversioned --reason` releases it with who, why and the files' md5
audited (and `wsad reproduce` says it cannot be restored), `--allow-unversioned` alone is
one error line that trains nothing, and a scheduled run (the flow without the CLI's
`dvc add`) on edited tracked data is refused by the same gate."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from components.provenance.audit import AuditLog
from components.registry import store
from flows.pipelines.training import training_flow
from tests.flows.cli.test_bad_inputs import fingerprint
from tests.flows.conftest import assert_one_error_line, cli_env, make_project, run_wsad

FAST = {"WSAD_METHODS": '["iforest"]', "WSAD_PARAMS": "{}", "WSAD_ENSEMBLE_SEEDS": "1"}
REASON = "one-off export from the fraud team, ticket 4711"
WHY = "DVC does not version them"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, prefect_server: str):
    """A project (git, DVC, demo data) without a champion, and a copy of its table outside
    it, as a team exports one."""
    root = tmp_path_factory.mktemp("lineage") / "project"
    root.mkdir()
    settings = make_project(root)
    export = root.parent / "exports" / "records.csv"
    export.parent.mkdir()
    shutil.copy(settings.records, export)
    env = {**cli_env(settings), **FAST, "WSAD_CV_FOLDS": "2", "PREFECT_API_URL": prefect_server}
    return root, settings, env, export


@pytest.fixture(scope="module")
def rejected(project):
    root, _, env, export = project
    return run_wsad(["train", "--records", str(export)], root, env)


@pytest.fixture(scope="module")
def allowed(project, rejected):
    root, _, env, export = project
    args = ["train", "--records", str(export), "--allow-unversioned", "--reason", REASON]
    return run_wsad([*args, "--who", "ann"], root, env)


def decisions(settings) -> list[dict]:
    return [e for e in AuditLog(settings.audit_log).entries() if e["action"] != "register"]


@pytest.mark.slow  # one training run
def test_a_table_outside_the_project_is_not_promoted_and_one_line_says_why(project, rejected):
    root, settings, env, export = project
    assert rejected.returncode == 0, rejected.stdout
    assert "Traceback" not in rejected.stdout
    why = [line for line in rejected.stdout.splitlines() if WHY in line]
    assert len(why) == 1, rejected.stdout
    assert why[0].startswith(f"v1 not promoted: failed: lineage (trained on {export} and ")
    assert "--allow-unversioned --reason" in why[0]
    assert "no champion" in rejected.stdout

    store.configure(settings.tracking_uri)
    info = store.version_info(settings.model_name, "1")
    assert info["aliases"] == ["challenger"]
    assert info["tags"]["decision"] == "rejected"
    assert info["tags"]["data_version"] == "untracked"
    assert WHY in info["tags"]["rejected_reason"]
    assert store.get_alias_version(settings.model_name, "champion") is None
    (entry,) = [e for e in decisions(settings) if e["version"] == "1"]
    assert entry["action"] == "reject"
    assert WHY in entry["reason"]
    assert entry["gates"]["lineage"]["passed"] is False
    assert "unversioned_data" not in entry

    listed = run_wsad(["models"], root, env)
    assert listed.returncode == 0, listed.stdout
    assert "untracked" in listed.stdout
    assert "failed: lineage" in listed.stdout


@pytest.mark.slow  # one training run
def test_allow_unversioned_with_a_reason_promotes_and_audits_who_why_and_md5(
    project, rejected, allowed
):
    root, settings, env, export = project
    assert allowed.returncode == 0, allowed.stdout
    verdict = (
        f"v2 promoted to champion: all gates passed (unversioned data allowed by ann: {REASON})"
    )
    assert verdict in allowed.stdout
    assert "champion is now v2" in allowed.stdout
    (entry,) = [e for e in decisions(settings) if e["version"] == "2"]
    assert (entry["action"], entry["who"]) == ("promote", "ann")
    md5 = {
        str(export.resolve()): hashlib.md5(export.read_bytes()).hexdigest(),
        str(settings.labels.resolve()): hashlib.md5(settings.labels.read_bytes()).hexdigest(),
    }
    expected = {"who": "ann", "reason": REASON, "md5": md5}
    assert entry["unversioned_data"] == expected
    assert entry["gates"]["lineage"] == {
        "value": "untracked",
        "limit": "a DVC data version",
        "passed": True,
        "override": expected,
    }
    assert AuditLog(settings.audit_log).verify().ok

    listed = run_wsad(["models"], root, env)
    assert "untracked (allowed)" in listed.stdout
    refused = run_wsad(["reproduce", "2"], root, env)
    assert_one_error_line(
        refused, rf"cannot be restored; released with --allow-unversioned by ann \({REASON}\)"
    )


def test_allow_unversioned_without_a_reason_is_one_error_line_and_trains_nothing(project):
    root, _, env, export = project
    before = fingerprint(root)
    done = run_wsad(["train", "--records", str(export), "--allow-unversioned"], root, env)
    assert_one_error_line(done, "--allow-unversioned and --reason go together")
    assert fingerprint(root) == before


def test_a_reason_without_what_it_explains_is_one_error_line(project):
    root, _, env, export = project
    done = run_wsad(["train", "--records", str(export), "--reason", REASON], root, env)
    assert_one_error_line(done, "--reason goes with --accept-drift or --allow-unversioned")


@pytest.mark.slow  # one training run
def test_a_scheduled_run_on_edited_tracked_data_is_not_promoted(tmp_path, monkeypatch):
    """The flow alone (as a deployment runs it, without the CLI's `dvc add`): the data
    version is "<md5>+modified", which cannot be restored, so the gate fails."""
    monkeypatch.chdir(tmp_path)
    settings = make_project(tmp_path).model_copy(
        update={"methods": ["iforest"], "params": {}, "ensemble_seeds": 1, "cv_folds": 2}
    )
    with settings.records.open("a") as table:
        table.write(settings.records.read_text().splitlines()[1].replace("wbc-", "new-") + "\n")
    result = training_flow(settings)
    assert not result["promoted"]
    assert result["gates"]["lineage"]["value"].endswith("+modified")
    assert "the DVC-tracked data changed after its last `dvc add`" in result["reason"]
    assert result["champion"] is None
