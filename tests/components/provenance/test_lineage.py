"""Lineage facts from a real git repository and a real DVC project in a temp dir."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.provenance.lineage import (
    MODIFIED,
    UNTRACKED,
    LineageError,
    data_version,
    dvc_add,
    dvc_push,
    git_commit,
    input_version,
    is_versioned,
    restore_data,
    track_changes,
    unversioned_data,
)


@pytest.fixture
def no_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where git has no user configured (fresh CI box)."""
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


def _sh(repo: Path, *cmd: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
    }
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """git + `dvc init` + a data/ folder tracked by `dvc add`, committed (built once: DVC
    takes seconds per call)."""
    root = tmp_path_factory.mktemp("lineage") / "repo"
    (root / "data").mkdir(parents=True)
    (root / "data" / "records.csv").write_text("id,x\na,1.0\nb,2.0\n")
    _sh(root, "git", "init", "-q")
    _sh(root, sys.executable, "-m", "dvc", "init", "-q")
    _sh(root, sys.executable, "-m", "dvc", "add", "-q", "data")
    _sh(root, "git", "add", "-A")
    _sh(root, "git", "commit", "-qm", "init")
    return root


@pytest.fixture
def repo(template_repo: Path, tmp_path: Path, no_git_identity: None) -> Path:
    """A private copy of the template repository."""
    return Path(shutil.copytree(template_repo, tmp_path / "repo", symlinks=True))


def test_git_commit_is_unknown_outside_a_repository(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"


def test_git_commit_reports_head_and_dirty_tree(repo: Path) -> None:
    head = _sh(repo, "git", "rev-parse", "HEAD").strip()
    assert git_commit(repo) == head
    (repo / "notes.txt").write_text("uncommitted")
    assert git_commit(repo) == f"{head}+dirty"


def test_data_version_is_the_md5_dvc_recorded(repo: Path) -> None:
    version = data_version(repo / "data.dvc")
    assert version.endswith(".dir")
    assert version in (repo / "data.dvc").read_text()


def test_data_version_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(LineageError, match=r"missing\.dvc not found"):
        data_version(tmp_path / "missing.dvc")
    bad = tmp_path / "bad.dvc"
    bad.write_text("outs: []\n")
    with pytest.raises(LineageError, match=r"bad\.dvc needs exactly one `outs`"):
        data_version(bad)


def test_dvc_add_records_a_new_version(repo: Path) -> None:
    before = data_version(repo / "data.dvc")
    (repo / "data" / "labels.csv").write_text("id,who,when,note\na,alice,2026-01-01,\n")
    after = dvc_add(repo)
    assert after != before
    assert after == data_version(repo / "data.dvc")


def test_dvc_push_needs_a_remote_and_then_uploads(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(LineageError, match="`dvc push` failed in .*remote") as err:
        dvc_push(repo)
    assert "\n" not in str(err.value)
    store = tmp_path / "store"
    with (repo / ".dvc" / "config").open("a") as config:  # what `dvc remote add -d` writes
        config.write(f"[core]\n    remote = local\n['remote \"local\"']\n    url = {store}\n")
    dvc_push(repo)
    assert sum(1 for p in store.rglob("*") if p.is_file()) >= 2  # the .dir manifest + a file


def test_input_version_says_whether_the_inputs_are_the_recorded_data(repo: Path) -> None:
    records = repo / "data" / "records.csv"
    assert input_version(repo / "data.dvc", [records]) == data_version(repo / "data.dvc")
    assert input_version(repo / "data.dvc", [records, repo / "elsewhere.csv"]) == UNTRACKED
    records.write_text("id,x\na,1.0\nb,3.0\n")
    assert input_version(repo / "data.dvc", [records]).endswith(MODIFIED)


def test_only_a_dvc_md5_is_a_version_that_can_be_restored(repo: Path) -> None:
    version = data_version(repo / "data.dvc")
    assert is_versioned(version)
    assert not is_versioned(UNTRACKED)
    assert not is_versioned(f"{version}{MODIFIED}")


def test_allowing_unversioned_data_records_who_why_and_each_file_md5(repo: Path) -> None:
    outside = repo.parent / "export.csv"
    outside.write_bytes(b"id,x\na,1.0\n")
    records = repo / "data" / "records.csv"
    inputs = [outside, records]
    allowed = unversioned_data(UNTRACKED, inputs, "ann", "one-off export")
    assert allowed is not None
    assert (allowed.who, allowed.reason) == ("ann", "one-off export")
    assert allowed.md5 == {
        str(outside.resolve()): hashlib.md5(b"id,x\na,1.0\n").hexdigest(),
        str(records.resolve()): hashlib.md5(records.read_bytes()).hexdigest(),
    }
    assert unversioned_data(UNTRACKED, inputs, "ann", None) is None  # not allowed
    assert unversioned_data(data_version(repo / "data.dvc"), inputs, "ann", "x") is None


def test_track_changes_adds_only_changed_or_untracked_data(repo: Path) -> None:
    records, pointer = repo / "data" / "records.csv", repo / "data.dvc"
    first = data_version(pointer)
    assert track_changes(pointer, [records]) is None  # unchanged since `dvc add`
    assert track_changes(pointer, [repo / "elsewhere.csv"]) is None  # not the tracked data
    records.write_text("id,x\na,1.0\nb,3.0\n")
    second = track_changes(pointer, [records])
    assert second == data_version(pointer) != first
    assert input_version(pointer, [records]) == second
    pointer.unlink()  # a DVC repository whose data was never added
    assert track_changes(pointer, [records]) == second
    assert pointer.exists()
    shutil.rmtree(repo / ".dvc")  # no DVC repository: no version could be recorded
    pointer.unlink()
    with pytest.raises(LineageError, match="data.dvc not found and .* is no DVC repository"):
        track_changes(pointer, [records])


def test_restore_data_checks_out_an_earlier_version_from_the_cache(
    repo: Path, tmp_path: Path
) -> None:
    old = data_version(repo / "data.dvc")
    (repo / "data" / "records.csv").write_text("id,x\na,1.0\nb,2.0\nc,5.0\n")
    dvc_add(repo)
    restored = restore_data(repo / "data.dvc", old, tmp_path / "restored")
    assert (restored / "records.csv").read_text() == "id,x\na,1.0\nb,2.0\n"
    assert "c,5.0" in (repo / "data" / "records.csv").read_text()  # the workspace untouched
    shutil.rmtree(repo / ".dvc" / "cache")
    with pytest.raises(LineageError, match=r"data version .* missing from the DVC cache .*none"):
        restore_data(repo / "data.dvc", old, tmp_path / "again")
