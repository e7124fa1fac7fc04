"""Bad input to `wsad train` and `wsad score`: one error line, non-zero exit, and the
registry, the audit log and data/ byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from components import registry
from flows.cli import app
from flows.training import training_flow
from tests.flows.conftest import cli_env, make_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A project with a champion, shared by every case (none of them may change it)."""
    root = tmp_path_factory.mktemp("trained")
    settings = make_project(root)
    training_flow(settings)
    registry.load_model(settings.model_name)  # MLflow caches registry metadata on first load
    env = cli_env(settings)
    return root, settings, env


def fingerprint(root: Path) -> dict[str, str]:
    """Hash of every file of the registry, the audit log and data/."""
    files = [*sorted((root / "mlruns").rglob("*")), *sorted((root / "data").rglob("*"))]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def records(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "records.csv")


def labels(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "labels.csv")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def with_nan(root: Path) -> pd.DataFrame:
    frame = records(root)
    frame.loc[7, "mean_area"] = np.nan
    return frame


def with_text(root: Path) -> pd.DataFrame:
    frame = records(root).astype({"mean_area": object})
    frame.loc[7, "mean_area"] = "large"
    return frame


TableCase = Callable[[Path], pd.DataFrame]
TABLE_CASES: dict[str, tuple[TableCase, str]] = {
    "missing_column": (lambda r: records(r).drop(columns="mean_area"), "mean_area"),
    "extra_column": (lambda r: records(r).assign(surprise=1.0), "surprise"),
    "renamed_column": (lambda r: records(r).rename(columns={"mean_area": "area"}), "area"),
    "strings_in_numeric": (with_text, "mean_area"),
    "nan": (with_nan, "mean_area"),
    "empty_table": (lambda r: records(r).iloc[0:0], "empty|no rows"),
}


def assert_rejected(trained, args: list[str], pattern: str, monkeypatch) -> None:
    """Non-zero exit, exactly one `error:` line matching `pattern`, nothing changed on disk."""
    root, _, env = trained
    before = fingerprint(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, args, env=env)
    ours = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code != 0
    assert len(ours) == 1, result.stderr
    assert re.search(pattern, ours[0]), ours[0]
    assert fingerprint(root) == before


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_score_rejects_bad_table(case, trained, tmp_path, monkeypatch):
    build, pattern = TABLE_CASES[case]
    bad = write_csv(build(trained[0]), tmp_path / "bad.csv")
    out = tmp_path / "s.csv"
    assert_rejected(
        trained, ["score", "--records", str(bad), "--out", str(out)], pattern, monkeypatch
    )
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_train_rejects_bad_table(case, trained, tmp_path, monkeypatch):
    """Columns are checked against the champion's: a silent schema change would break every
    client that scores with them."""
    build, pattern = TABLE_CASES[case]
    bad = write_csv(build(trained[0]), tmp_path / "bad.csv")
    assert_rejected(trained, ["train", "--records", str(bad)], pattern, monkeypatch)


LABEL_CASES: dict[str, tuple[Callable[[Path], pd.DataFrame], str]] = {
    "unknown_label_ids": (
        lambda r: pd.concat([labels(r), labels(r).head(1).assign(id="nope-1")]),
        "nope-1",
    ),
    "zero_labelled_anomalies": (lambda r: labels(r).iloc[0:0], "at least|labelled"),
}


@pytest.mark.parametrize("case", sorted(LABEL_CASES))
def test_train_rejects_bad_labels(case, trained, tmp_path, monkeypatch):
    build, pattern = LABEL_CASES[case]
    bad = write_csv(build(trained[0]), tmp_path / "labels.csv")
    assert_rejected(trained, ["train", "--labels", str(bad)], pattern, monkeypatch)


def test_missing_file(trained, tmp_path, monkeypatch):
    missing = str(tmp_path / "nowhere.csv")
    assert_rejected(trained, ["train", "--records", missing], "nowhere.csv", monkeypatch)
    out = str(tmp_path / "s.csv")
    score = ["score", "--records", missing, "--out", out]
    assert_rejected(trained, score, "nowhere.csv", monkeypatch)


def test_score_with_unknown_model_name(trained, tmp_path, monkeypatch):
    records, out = str(trained[1].records), str(tmp_path / "s.csv")
    args = ["score", "--records", records, "--out", out, "--model-name", "nope"]
    assert_rejected(trained, args, "nope", monkeypatch)
