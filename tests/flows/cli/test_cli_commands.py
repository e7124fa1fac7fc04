"""The release commands a person runs: label add (re-versions data with DVC, and an old
data version comes back with `dvc checkout`), models, promote (gated) and rollback."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from typer.testing import CliRunner

from components.provenance.lineage import data_version
from flows.cli.main import app
from flows.pipelines.training import training_flow
from tests.flows.conftest import DVC, GIT_ENV, cli_env, commit_data


def test_label_add_versions_the_labels_and_checkout_restores_them(project, tmp_path):
    root = tmp_path
    before_labels = project.labels.read_text()
    before_version = data_version(project.data_dvc)
    runner, env = CliRunner(), cli_env(project)

    result = runner.invoke(
        app,
        ["label", "add", "wbc-0107", "--who", "alice", "--note", "biopsy"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    labels = pd.read_csv(project.labels)
    assert labels.iloc[-1][["id", "who", "note"]].tolist() == ["wbc-0107", "alice", "biopsy"]
    new_version = data_version(project.data_dvc)
    assert new_version != before_version

    refused = runner.invoke(app, ["label", "add", "nope-1", "--who", "alice"], env=env)
    assert refused.exit_code != 0
    assert "nope-1" in refused.stderr
    assert data_version(project.data_dvc) == new_version

    commit_data(root, "label wbc-0107")
    subprocess.run(
        ["git", "checkout", "HEAD~1", "--", "data.dvc"], cwd=root, env=GIT_ENV, check=True
    )
    subprocess.run([*DVC, "checkout", "-q", "--force"], cwd=root, env=GIT_ENV, check=True)
    assert project.labels.read_text() == before_labels
    assert data_version(project.data_dvc) == before_version


@pytest.mark.slow  # two training runs
def test_models_promote_and_rollback_commands(project):
    weak = project.model_copy(update={"params": {"devnet": {"epochs": 1, "lr": 1e-7}}})
    assert training_flow(weak)["champion"] == "1"
    assert training_flow(project)["champion"] == "2"
    runner, env = CliRunner(), cli_env(project)

    listing = runner.invoke(app, ["models"], env=env)
    assert listing.exit_code == 0, listing.output
    assert "champion" in listing.output
    assert "challenger" in listing.output

    refused = runner.invoke(app, ["promote", "1", "--who", "bob"], env=env)
    assert refused.exit_code == 1
    assert "rejected" in refused.output
    assert "beats_champion" in refused.output

    back = runner.invoke(app, ["rollback", "--who", "bob"], env=env)
    assert back.exit_code == 0, back.output
    assert "rolled back to v1" in back.output

    verify = runner.invoke(app, ["audit", "verify"], env=env)
    assert verify.exit_code == 0
    assert "chain intact" in verify.output
