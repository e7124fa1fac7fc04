"""The demo data is byte-identical on every machine, so data.dvc's hash matches."""

from __future__ import annotations

from pathlib import Path

from components.provenance.lineage import data_version
from tests.flows.conftest import make_project

REPO = Path(__file__).resolve().parents[3]


def test_demo_data_matches_committed_data_dvc(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_project(tmp_path)
    assert data_version(settings.data_dvc) == data_version(REPO / "data.dvc")
