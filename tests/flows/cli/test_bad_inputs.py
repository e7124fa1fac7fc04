"""The bad-input corpus: every case runs the installed `wsad` in its own process on a
project whose registry already holds a champion, and must end in a non-zero exit whose whole
output (stdout and stderr) is one `error:` line naming the file, column, row or setting and
what to do, without a traceback, and the registry (mlruns/: sqlite database, artifacts,
audit log) and data/ byte-for-byte unchanged. The flows run against a shared Prefect server
(the Prefect API keeps each failed run's traceback: see test_scoring_drift.py)."""

from __future__ import annotations

import hashlib
import json
import resource
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.conftest import FAST, assert_one_error_line, cli_env, copy_project, run_wsad

pytestmark = pytest.mark.slow  # 18 cases, each a `wsad` process (tests/README.md)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, champion_template: Path, prefect_server: str):
    """A project with a champion, shared by every case (none of them may change it)."""
    root = tmp_path_factory.mktemp("trained")
    settings = copy_project(champion_template, root).model_copy(update=FAST)
    # Refusals never train: WSAD_METHODS stays unset (checking its names loads torch).
    env = {k: v for k, v in cli_env(settings).items() if k not in ("WSAD_METHODS", "WSAD_PARAMS")}
    return root, settings, {**env, "PREFECT_API_URL": prefect_server}


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-256 of every file of the registry, the audit log and data/."""
    files = [*sorted((root / "mlruns").rglob("*")), *sorted((root / "data").rglob("*"))]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def assert_rejected(
    trained, args: list[str], pattern: str, env: dict[str, str] | None = None
) -> None:
    """Non-zero exit, the whole output one `error:` line matching `pattern`, no traceback,
    nothing changed on disk."""
    root, _, base_env = trained
    before = fingerprint(root)
    assert_one_error_line(run_wsad(args, root, {**base_env, **(env or {})}), pattern)
    after = fingerprint(root)
    assert after == before, sorted(k for k in {*before, *after} if before.get(k) != after.get(k))


def records(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "records.csv")


def labels(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "labels.csv")


def with_value(column: str, value: object) -> Callable[[Path], pd.DataFrame]:
    def build(root: Path) -> pd.DataFrame:
        frame = records(root).astype({column: object if isinstance(value, str) else float})
        frame.loc[7, column] = value
        return frame

    return build


def duplicate_id(root: Path) -> pd.DataFrame:
    frame = records(root)
    frame.loc[5, "id"] = frame.loc[4, "id"]
    return frame


# Tables that `score` and `train` must both refuse (the champion's schema applies to both).
TableCase = Callable[[Path], pd.DataFrame]
TABLE_CASES: dict[str, tuple[TableCase, str]] = {
    "missing_column": (lambda r: records(r).drop(columns="mean_area"), "mean_area"),
    "extra_column": (lambda r: records(r).assign(surprise=1.0), "surprise"),
    "renamed_column": (lambda r: records(r).rename(columns={"mean_area": "area"}), "area"),
    "strings_in_numeric": (with_value("mean_area", "large"), "mean_area"),
    "nan": (with_value("mean_area", np.nan), "mean_area.*row 7"),
    "inf": (with_value("mean_area", np.inf), "mean_area.*row 7"),
    "huge_value": (with_value("mean_area", 1e308), "mean_area.*row 7"),
    "empty_table": (lambda r: records(r).iloc[0:0], "no rows"),
}


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_score_rejects_bad_table(case, trained, tmp_path):
    build, pattern = TABLE_CASES[case]
    bad = tmp_path / "bad.csv"
    build(trained[0]).to_csv(bad, index=False)
    out = tmp_path / "s.csv"
    assert_rejected(trained, ["score", "--records", str(bad), "--out", str(out)], pattern)
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_train_rejects_bad_table(case, trained, tmp_path):
    """Columns are checked against the champion's: a silent schema change would break every
    client that scores with them."""
    build, pattern = TABLE_CASES[case]
    bad = tmp_path / "bad.csv"
    build(trained[0]).to_csv(bad, index=False)
    assert_rejected(trained, ["train", "--records", str(bad)], pattern)


def test_train_rejects_duplicate_ids(trained, tmp_path):
    bad = tmp_path / "dup.csv"
    duplicate_id(trained[0]).to_csv(bad, index=False)
    assert_rejected(trained, ["train", "--records", str(bad)], "duplicate id")


# Files that cannot be read as a table at all, for both commands.
FileCase = Callable[[Path, Path], Path]


def corrupted_parquet(root: Path, tmp: Path) -> Path:
    path = tmp / "bad.parquet"
    records(root).to_parquet(path)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2] + b"\x00" * 64 + blob[-8:])
    return path


def utf16_csv(root: Path, tmp: Path) -> Path:
    path = tmp / "utf16.csv"
    path.write_bytes(records(root).to_csv(index=False).encode("utf-16"))
    return path


def empty_file(root: Path, tmp: Path) -> Path:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def unknown_suffix(root: Path, tmp: Path) -> Path:
    path = tmp / "records.txt"
    records(root).to_csv(path, index=False)
    return path


def ragged_csv(root: Path, tmp: Path) -> Path:
    path = tmp / "ragged.csv"
    text = records(root).head(20).to_csv(index=False).splitlines()
    text[5] += ",1,2,3"
    path.write_text("\n".join(text) + "\n")
    return path


FILE_CASES: dict[str, tuple[FileCase, str]] = {
    "corrupted_parquet": (corrupted_parquet, r"bad\.parquet.*re-export"),
    "utf16_encoding": (utf16_csv, r"utf16\.csv.*(UTF-8|re-export)"),
    "empty_file": (empty_file, r"empty\.csv.*empty"),
    "unknown_suffix": (unknown_suffix, r"records\.txt.*(csv|parquet)"),
    "ragged_csv": (ragged_csv, r"ragged\.csv"),
    "missing_file": (lambda r, t: t / "nowhere.csv", r"nowhere\.csv"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_score_rejects_unreadable_file(case, trained, tmp_path):
    build, pattern = FILE_CASES[case]
    bad, out = build(trained[0], tmp_path), tmp_path / "s.csv"
    assert_rejected(trained, ["score", "--records", str(bad), "--out", str(out)], pattern)
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_train_rejects_unreadable_file(case, trained, tmp_path):
    build, pattern = FILE_CASES[case]
    bad = build(trained[0], tmp_path)
    assert_rejected(trained, ["train", "--records", str(bad)], pattern)


LABEL_CASES: dict[str, tuple[Callable[[Path], pd.DataFrame], str]] = {
    "unknown_label_ids": (
        lambda r: pd.concat([labels(r), labels(r).head(1).assign(id="nope-1")]),
        "nope-1",
    ),
    "zero_labelled_anomalies": (lambda r: labels(r).iloc[0:0], "at least|labelled"),
    "duplicate_label_ids": (
        lambda r: pd.concat([labels(r), labels(r).head(1)]),
        "labels.csv.*duplicate label id",
    ),
    "label_column_missing": (lambda r: labels(r).drop(columns="who"), "labels.csv.*'who'"),
    "bad_label_time": (
        lambda r: labels(r).assign(when="yesterday"),
        "labels.csv.*'when' row 0.*ISO-8601",
    ),
}


@pytest.mark.parametrize("case", sorted(LABEL_CASES))
def test_train_rejects_bad_labels(case, trained, tmp_path):
    build, pattern = LABEL_CASES[case]
    bad = tmp_path / "labels.csv"
    build(trained[0]).to_csv(bad, index=False)
    assert_rejected(trained, ["train", "--labels", str(bad)], pattern)


def test_score_rejects_unknown_model_name(trained, tmp_path):
    args = ["score", "--records", str(trained[1].records), "--out", str(tmp_path / "s.csv")]
    assert_rejected(trained, [*args, "--model-name", "nope"], "nope")


def test_score_rejects_alias_not_in_registry(trained, tmp_path):
    args = ["score", "--records", str(trained[1].records), "--out", str(tmp_path / "s.csv")]
    assert_rejected(trained, [*args, "--alias", "staging"], "alias 'staging'")


def test_score_rejects_bad_output_suffix(trained, tmp_path):
    args = ["score", "--records", str(trained[1].records), "--out", str(tmp_path / "s.json")]
    assert_rejected(trained, args, r"s\.json.*\.csv or \.parquet")


def test_score_rejects_non_positive_chunk_rows(trained, tmp_path):
    args = ["score", "--records", str(trained[1].records), "--out", str(tmp_path / "s.csv")]
    assert_rejected(trained, [*args, "--chunk-rows", "0"], "chunk.rows")


def test_label_add_rejects_unknown_id(trained):
    args = ["label", "add", "no-such-record", "--who", "alice"]
    assert_rejected(trained, args, "no-such-record.*not in the records")


def test_label_add_rejects_blank_who(trained):
    known = str(records(trained[0])["id"].iloc[3])
    assert_rejected(trained, ["label", "add", known, "--who", " "], "who is empty")


def test_label_add_rejects_records_without_ids(trained, tmp_path):
    table = tmp_path / "noid.csv"
    records(trained[0]).drop(columns="id").to_csv(table, index=False)
    args = ["label", "add", "x-1", "--who", "alice"]
    env = {"WSAD_RECORDS": str(table)}
    assert_rejected(trained, args, r"noid\.csv.*id column", env)


PROMOTE_CASES: dict[str, tuple[list[str], str]] = {
    "version_not_registered": (["promote", "99"], "v99 is not in the registry"),
    "version_not_a_number": (["promote", "abc"], "vabc is not in the registry"),
    "already_champion": (["promote", "1"], "v1 is already champion"),
    "unknown_model": (["promote", "1", "--model-name", "nope"], "nope v1 is not in"),
    "rollback_without_earlier_champion": (["rollback"], "first recorded champion"),
    "rollback_unknown_model": (["rollback", "--model-name", "nope"], "nope has no champion"),
}


@pytest.mark.parametrize("case", sorted(PROMOTE_CASES))
def test_release_commands_reject_bad_requests(case, trained):
    args, pattern = PROMOTE_CASES[case]
    assert_rejected(trained, args, pattern)


CONFIG_CASES: dict[str, tuple[dict[str, str], str]] = {
    "cv_folds_not_a_number": ({"WSAD_CV_FOLDS": "abc"}, "WSAD_CV_FOLDS"),
    "cv_folds_too_small": ({"WSAD_CV_FOLDS": "1"}, "WSAD_CV_FOLDS"),
    "unknown_method": ({"WSAD_METHODS": '["nope"]'}, "WSAD_METHODS.*nope"),
    "methods_not_json": ({"WSAD_METHODS": "devnet prenet"}, "WSAD_METHODS"),
    "unknown_threshold_method": ({"WSAD_THRESHOLD_METHOD": "median"}, "WSAD_THRESHOLD_METHOD"),
    "target_fpr_out_of_range": ({"WSAD_TARGET_FPR": "2"}, "WSAD_TARGET_FPR"),
    "params_not_a_mapping": ({"WSAD_PARAMS": '["epochs"]'}, "WSAD_PARAMS"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_train_rejects_bad_setting(case, trained):
    env, pattern = CONFIG_CASES[case]
    assert_rejected(trained, ["train"], pattern, env)


def test_score_rejects_bad_setting(trained, tmp_path):
    args = ["score", "--records", str(trained[1].records), "--out", str(tmp_path / "s.csv")]
    assert_rejected(trained, args, "WSAD_CV_FOLDS", {"WSAD_CV_FOLDS": "abc"})


AuditCase = Callable[[list[str]], list[str]]


def edit_reason(lines: list[str]) -> list[str]:
    entry = json.loads(lines[0])
    entry["reason"] = "edited"
    return [json.dumps(entry, sort_keys=True), *lines[1:]]


AUDIT_CASES: dict[str, tuple[AuditCase, dict[str, str], str]] = {
    "edited_entry": (edit_reason, {}, "entry 0 is bad.*edited"),
    "garbage_line": (
        lambda lines: [lines[0], "not json", *lines[1:]],
        {},
        "entry 1 is bad.*not valid JSON",
    ),
    "signed_log_expected": (
        lambda lines: lines,
        {"WSAD_AUDIT_KEY": "k3y"},
        "entry 0 is bad.*no HMAC",
    ),
}


@pytest.mark.parametrize("case", sorted(AUDIT_CASES))
def test_audit_verify_reports_first_bad_entry(case, trained, tmp_path):
    """Tampering is checked on a copy: `audit verify` must name the entry and exit 1."""
    change, env, pattern = AUDIT_CASES[case]
    copy = tmp_path / "audit.jsonl"
    lines = trained[1].audit_log.read_text().splitlines()
    copy.write_text("\n".join(change(lines)) + "\n")
    assert_rejected(trained, ["audit", "verify"], pattern, {**env, "WSAD_AUDIT_LOG": str(copy)})


HEAVY = {"torch", "prefect", "mlflow", "pandas", "sklearn", "great_expectations"}


@pytest.mark.parametrize("command", ["train", "score"])
def test_missing_file_is_refused_at_once(command, tmp_path):
    """Before the Prefect engine and before any heavy import, so in well under 2 s: the
    child's CPU time is bounded here (its wall time depends on the machine's load; about
    0.5 s on an idle 2-core machine, docs/RELIABILITY.md)."""
    missing = tmp_path / "nowhere.csv"
    args = ["train", "--records", str(missing)]
    if command == "score":
        args = ["score", "--records", str(missing), "--out", str(tmp_path / "s.csv")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = run_wsad(args, tmp_path, {})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert_one_error_line(done, r"nowhere\.csv: file not found")
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 1.0
    profiled = run_wsad(args, tmp_path, {"PYTHONPROFILEIMPORTTIME": "1"})
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in profiled.stdout.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & HEAVY, sorted(imported & HEAVY)
