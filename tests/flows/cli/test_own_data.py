"""A team's own data through the installed `wsad`, as the README's "Your own data" runs it:
a folder holding data/records.csv, then `wsad init`, `wsad label import` and `wsad train`,
ending in a champion whose data version is the md5 in data.dvc; `wsad init` again changes
nothing; inside an existing git repository nothing of the repository's own is touched; and
each bad input of `label import` is one error line with nothing changed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from components.data.demo import build_demo_data
from components.data.project import init_project
from components.provenance.lineage import data_version
from components.registry import store
from flows.cli.init import env_example
from tests.flows.conftest import GIT_ENV, assert_one_error_line, run, run_wsad

# The cheapest training the CLI allows: one fast candidate, one seed, two folds.
FAST = {
    "WSAD_METHODS": '["iforest"]',
    "WSAD_PARAMS": "{}",
    "WSAD_ENSEMBLE_SEEDS": "1",
    "WSAD_CV_FOLDS": "2",
}
IMPORT = ["--id-column", "case_id", "--date-column", "confirmed_on", "--note-column", "comment"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """What a team brings: a CSV of records and a CSV of confirmed ids in its own columns."""
    folder = tmp_path_factory.mktemp("exports")
    records, labels = build_demo_data(folder / "demo")
    confirmed = pd.read_csv(labels)
    pd.DataFrame(
        {"case_id": confirmed["id"], "confirmed_on": "2026-01-15", "comment": confirmed["note"]}
    ).to_csv(folder / "confirmed.csv", index=False)
    return records, folder / "confirmed.csv"


def env_for(prefect_server: str) -> dict[str, str]:
    return {**FAST, "PREFECT_API_URL": prefect_server, "COLUMNS": "200"}


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout
    assert "Traceback" not in done.stdout, done.stdout
    return done.stdout


def git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    ).stdout


def snapshot(root: Path, repo: Path) -> dict[str, object]:
    """Every file's hash outside .git, and git's own view: status, history, config."""
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return {
        "files": files,
        "status": git(["status", "--porcelain", "--untracked-files=all"], repo),
        "log": git(["log", "--all", "--format=%H %s"], repo),
        "config": (repo / ".git" / "config").read_bytes(),
    }


def champion_data_version(root: Path) -> str:
    store.configure(f"sqlite:///{root}/mlruns/mlflow.db")
    version = store.get_alias_version("wsad-detector", "champion")
    assert version is not None
    return str(store.version_info("wsad-detector", version)["tags"]["data_version"])


def start_project(root: Path, records: Path) -> None:
    (root / "data").mkdir(parents=True)
    shutil.copy(records, root / "data" / "records.csv")


@pytest.mark.slow  # one training run
def test_init_import_train_from_an_empty_folder(tmp_path, exports, prefect_server):
    records, confirmed = exports
    root, env = tmp_path / "project", env_for(prefect_server)
    start_project(root, records)

    init = ok(run_wsad(["init"], root, env))
    assert "git init" in init
    assert "dvc init" in init
    assert "--subdir" not in init
    for command in ("wsad label import", "wsad train", "wsad score"):
        assert command in init
    labelled = ok(
        run_wsad(["label", "import", str(confirmed), "--who", "alice", *IMPORT], root, env)
    )
    assert "recorded 10 confirmed anomaly verdict(s)" in labelled
    labels = pd.read_csv(root / "data" / "labels.csv")
    assert labels["who"].eq("alice").all()
    assert labels["when"].eq("2026-01-15").all()
    trained = ok(run_wsad(["train"], root, env))
    assert "champion is now v1" in trained
    assert "tracked it with DVC" not in trained  # unchanged since `label import` added it
    assert champion_data_version(root) == data_version(root / "data.dvc")

    before = snapshot(root, root)
    again = ok(run_wsad(["init"], root, env))
    assert "already a wsad project; nothing changed" in again
    assert snapshot(root, root) == before
    assert before["log"] == ""  # nothing was committed


@pytest.mark.slow  # one training run
def test_inside_an_existing_repository_its_files_history_and_config_stay(
    tmp_path, exports, prefect_server
):
    records, confirmed = exports
    repo, env = tmp_path / "repo", env_for(prefect_server)
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("print('hello')\n")
    (repo / "README.md").write_text("# an existing project\n")
    run(["git", "init", "-q"], repo)
    run(["git", "config", "core.autocrlf", "false"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "existing work"], repo)
    config, log = (repo / ".git" / "config").read_bytes(), git(["log", "--all"], repo)
    root = repo / "anomalies"
    start_project(root, records)

    init = ok(run_wsad(["init"], root, env))
    assert "git init" not in init
    assert f"--subdir: inside the git repository {repo.resolve()}" in init
    ok(run_wsad(["label", "import", str(confirmed), "--who", "alice", *IMPORT], root, env))
    imported = data_version(root / "data.dvc")
    labelled = set(pd.read_csv(root / "data" / "labels.csv")["id"])
    extra = next(i for i in pd.read_csv(records)["id"] if i not in labelled)
    with (root / "data" / "labels.csv").open("a") as labels:  # a label added by hand
        labels.write(f"{extra},bob,2026-02-01T00:00:00+00:00,,anomaly\n")
    trained = ok(run_wsad(["train"], root, env))
    assert "data changed since its last `dvc add`: tracked it with DVC" in trained
    assert "champion is now v1" in trained
    assert data_version(root / "data.dvc") != imported
    assert champion_data_version(root) == data_version(root / "data.dvc")

    before = snapshot(root, repo)
    assert "already a wsad project; nothing changed" in ok(run_wsad(["init"], root, env))
    assert snapshot(root, repo) == before
    assert (repo / ".git" / "config").read_bytes() == config
    assert git(["log", "--all"], repo) == log
    assert git(["status", "--porcelain", "--", "src", "README.md"], repo) == ""
    assert (repo / "src" / "app.py").read_text() == "print('hello')\n"


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory, exports) -> Path:
    """A project after `wsad init`, its records in place and no labels yet."""
    root = tmp_path_factory.mktemp("initialised")
    start_project(root, exports[0])
    init_project(root, Path("data/labels.csv"), env_example())
    return root


def project_state(root: Path) -> dict[str, str]:
    files = [*sorted((root / "data").rglob("*")), root / "data.dvc", root / ".gitignore"]
    state = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}
    return {**state, "mlruns": json.dumps((root / "mlruns").exists())}


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("unknown ids", r"'nope-1', 'nope-2' are not in the records table"),
        ("no id column", r"confirmed\.csv: no column 'case_id' \(its columns: 'id', 'when'\)"),
        ("missing file", r"absent\.csv: file not found"),
    ],
)
def test_label_import_refuses_bad_input_with_one_line(initialised, tmp_path, case, pattern):
    listing = tmp_path / "confirmed.csv"
    if case == "unknown ids":
        listing.write_text("case_id\nwbc-0000\nnope-1\nnope-2\n")
    elif case == "no id column":
        listing.write_text("id,when\nwbc-0000,2026-01-15\n")
    else:
        listing = tmp_path / "absent.csv"
    before = project_state(initialised)
    done = run_wsad(
        ["label", "import", str(listing), "--who", "alice", "--id-column", "case_id"],
        initialised,
        {"COLUMNS": "200"},
    )
    assert_one_error_line(done, pattern)
    assert project_state(initialised) == before


def test_train_outside_a_project_says_to_run_init(tmp_path, exports):
    """The issue's first try: data/ in a folder that is no DVC repository (nor git)."""
    records, _ = exports
    build_demo_data(tmp_path / "data")
    done = run_wsad(["train"], tmp_path, {"COLUMNS": "200"})
    assert_one_error_line(done, r"data\.dvc not found and .* is no DVC repository; run `wsad init`")
    assert not (tmp_path / "data.dvc").exists()
