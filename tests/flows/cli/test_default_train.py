"""A user's first `wsad train`: the default candidates (no WSAD_METHODS or WSAD_PARAMS, so
catboost and the three neural methods at their defaults) on the demo table in a fresh
project, as the installed CLI runs it. Every other flow test picks its methods; this one
checks what the defaults release."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.registry import store
from components.selection.defaults import DEFAULT_CANDIDATES, DEFAULT_TOP
from tests.flows.conftest import cli_env, copy_project, run_wsad


@pytest.mark.slow  # five candidates cross-validated, the release refitted 3 seeds each
def test_default_train_releases_the_best_default_candidates_as_champion(
    project_template: Path, tmp_path: Path, prefect_server: str
):
    settings = copy_project(project_template, tmp_path)
    env = {k: v for k, v in cli_env(settings).items() if k not in ("WSAD_METHODS", "WSAD_PARAMS")}
    done = run_wsad(["train"], tmp_path, {**env, "PREFECT_API_URL": prefect_server}, 1800)
    assert done.returncode == 0, done.stdout[-3000:]

    ranking = re.search(r"labels vs unlabelled rows: (.+)", done.stdout)
    released = re.search(r"^released: (.+)$", done.stdout, re.MULTILINE)
    assert ranking, done.stdout[-3000:]
    assert released, done.stdout[-3000:]
    ranked = [part.rsplit(" ", 1)[0] for part in ranking.group(1).split(", ")]
    assert sorted(ranked) == sorted(DEFAULT_CANDIDATES)  # catboost included
    members = released.group(1).split(",")[0].split("+")
    assert 1 <= len(members) <= DEFAULT_TOP
    assert members[0] == ranked[0]  # the best candidate always leads the release
    assert set(members) <= set(ranked[: DEFAULT_TOP + 1])
    assert "champion is now v1" in done.stdout

    store.configure(settings.tracking_uri)
    assert store.get_alias_version(settings.model_name, "champion") == "1"
    tags = store.version_info(settings.model_name, "1")["tags"]
    assert tags["release"] == released.group(1)
