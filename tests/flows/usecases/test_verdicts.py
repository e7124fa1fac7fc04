"""Recording verdicts versions the data that the configured DVC pointer tracks
(flows/usecases/verdicts.py), not a pointer guessed from the label file's folder."""

from __future__ import annotations

from pathlib import Path

from components.data.demo import build_demo_data
from components.provenance.audit import AuditLog
from components.provenance.lineage import data_version
from flows.runtime.config import Settings
from tests.flows.conftest import DVC, cli_env, run, run_wsad


def test_label_add_versions_the_data_of_a_custom_wsad_data_dvc(tmp_path: Path) -> None:
    """inputs.dvc tracks inputs/, whose labels lie in inputs/verdicts/: the verdict
    re-versions inputs.dvc (WSAD_DATA_DVC) and creates no inputs/verdicts.dvc."""
    run(["git", "init", "-q"], tmp_path)
    run([*DVC, "init", "-q"], tmp_path)
    build_demo_data(tmp_path / "inputs")
    (tmp_path / "inputs" / "verdicts").mkdir()
    labels = (tmp_path / "inputs" / "labels.csv").rename(tmp_path / "inputs/verdicts/labels.csv")
    run([*DVC, "add", "-q", "inputs"], tmp_path)
    run(["git", "add", "-A"], tmp_path)
    run(["git", "commit", "-qm", "data"], tmp_path)
    settings = Settings(
        records=tmp_path / "inputs" / "records.csv",
        labels=labels,
        data_dvc=tmp_path / "inputs.dvc",
        tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        audit_log=tmp_path / "mlruns" / "audit.jsonl",
    )
    before = data_version(settings.data_dvc)

    done = run_wsad(
        ["label", "add", "wbc-0107", "--who", "alice", "--note", "biopsy"],
        tmp_path,
        cli_env(settings),
    )

    assert done.returncode == 0, done.stdout
    after = data_version(settings.data_dvc)
    assert after != before
    assert f"data version {after}" in done.stdout
    assert f"Commit {settings.data_dvc}" in done.stdout
    assert not (tmp_path / "inputs" / "verdicts.dvc").exists()
    entry = AuditLog(settings.audit_log).entries()[-1]
    assert (entry["previous_data_version"], entry["data_version"]) == (before, after)
    assert entry["ids"] == ["wbc-0107"]
