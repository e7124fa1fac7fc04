"""What a person sees while `wsad train` and `wsad score` run: the installed `wsad` in its own
process, its whole output read. Off a terminal (CI, a log file): one plain line per stage,
nothing from the libraries, no control codes. On a pseudo-terminal: live bars. Either way a
bad input ends in exactly one `error:` line and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.flows.conftest import (
    assert_one_error_line,
    cli_env,
    make_project,
    run_wsad,
    run_wsad_in_terminal,
)

pytestmark = pytest.mark.slow

STAGE_LINE = re.compile(r"^\[\d+:\d\d:\d\d\] (?P<stage>[^:]+)(: .*)? \(\d+\.\ds\)$")
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TRAIN_STAGES = [
    "start the flow run",
    "read data",
    "validation",
    "check against the champion's reference",
    "contamination",
    "cross-validation iforest",
    "cross-validation supervised",
    "release plan",
    "refit",
    "calibration",
    "reference profile",
    "registration",
    "gates",
    "release",
]
LIBRARY_NOISE = ("CloudPickle", "Successfully registered", "Created version", "WARNING", "mlflow")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, prefect_server: str):
    """A project with two fast candidates; its first `wsad train` off a terminal."""
    root = tmp_path_factory.mktemp("progress")
    settings = make_project(root).model_copy(
        update={"methods": ["iforest", "supervised"], "params": {}}
    )
    env = {**cli_env(settings), "PREFECT_API_URL": prefect_server, "WSAD_ENSEMBLE_SEEDS": "1"}
    pd.read_csv(settings.records).to_parquet(root / "records.parquet")
    first = run_wsad(["train"], root, env)
    assert first.returncode == 0, first.stdout
    return root, env, first.stdout


def stages(output: str) -> list[str]:
    return [m["stage"] for line in output.splitlines() if (m := STAGE_LINE.match(line))]


def on_screen(drawn: str) -> str:
    """What a terminal shows at the end, roughly: the drawing without its control codes."""
    return CONTROL.sub("", drawn).replace("\r", "\n")


def test_train_off_a_terminal_prints_one_plain_line_per_stage(project) -> None:
    _, _, output = project
    lines = output.splitlines()
    assert stages(output) == TRAIN_STAGES, output
    assert all(STAGE_LINE.match(line) for line in lines[: len(TRAIN_STAGES)]), output
    assert "\x1b" not in output
    assert not [noise for noise in LIBRARY_NOISE if noise in output], output
    assert lines[-1].startswith("run log: prefect flow-run logs ")
    assert re.search(r"cross-validation iforest: 3 folds, AUC-ROC 0\.\d{3}", output)


def test_train_on_a_terminal_draws_live_bars(project) -> None:
    root, env, _ = project
    code, drawn = run_wsad_in_terminal(["train"], root, env)
    assert code == 0, drawn
    assert "\x1b[?25l" in drawn  # the live display hides the cursor while it draws
    shown = on_screen(drawn)
    assert re.search(r"cross-validation iforest .*[0-3]/3 folds", shown), shown
    finished = [m["stage"] for line in shown.splitlines() if (m := STAGE_LINE.match(line))]
    assert finished[:5] == TRAIN_STAGES[:5]
    assert "champion v1 on this run's folds" in finished  # the second run meets a champion
    assert not [noise for noise in LIBRARY_NOISE if noise in shown], shown


def test_score_off_a_terminal_prints_its_rows_done(project, tmp_path: Path) -> None:
    root, env, _ = project
    done = run_wsad(
        ["score", "--records", "records.parquet", "--out", str(tmp_path / "s.parquet")], root, env
    )
    assert done.returncode == 0, done.stdout
    assert stages(done.stdout) == ["start the flow run", "load model", "drift report", "scoring"]
    assert re.search(r"\] scoring: 377 rows, \d+ flagged \([\d,]+ rows/s\)", done.stdout)
    assert "\x1b" not in done.stdout
    assert not [noise for noise in LIBRARY_NOISE if noise in done.stdout], done.stdout


def test_score_on_a_terminal_counts_rows_against_the_table(project, tmp_path: Path) -> None:
    root, env, _ = project
    args = ["score", "--records", "records.parquet", "--out", str(tmp_path / "s.parquet")]
    args += ["--chunk-rows", "100"]
    code, drawn = run_wsad_in_terminal(args, root, env)
    assert code == 0, drawn
    shown = on_screen(drawn)
    assert re.search(r"scoring .*(100|200|300|377)/377 rows", shown), shown
    assert re.search(r"\] scoring: 377 rows", shown), shown


BAD_INPUTS = {
    "train": (["train", "--records", "bad.csv"], r"'mean_radius' are not numeric"),
    "score": (["score", "--records", "bad.csv", "--out", "s.csv"], r"'mean_radius' row 3"),
}


@pytest.mark.parametrize("terminal", [False, True], ids=["off-terminal", "terminal"])
@pytest.mark.parametrize("command", sorted(BAD_INPUTS))
def test_a_bad_input_is_one_error_line_and_nothing_else(project, command, terminal) -> None:
    root, env, _ = project
    table = pd.read_csv(root / "data" / "records.csv").astype({"mean_radius": object})
    table.loc[3, "mean_radius"] = "n/a (sensor off)"
    table.to_csv(root / "bad.csv", index=False)
    args, pattern = BAD_INPUTS[command]
    if not terminal:
        assert_one_error_line(run_wsad(args, root, env), pattern)
        return
    code, drawn = run_wsad_in_terminal(args, root, env)
    assert code == 2, drawn
    # Bars may have been drawn (scoring finds a bad value while it streams) but are erased;
    # no stage line was printed for good, and after the bars only the error line is left.
    assert not [line for line in on_screen(drawn).splitlines() if STAGE_LINE.match(line)]
    lines = on_screen(drawn.rpartition("\x1b[?25h")[2]).strip().splitlines()
    assert len(lines) == 1, drawn
    assert lines[0].startswith("error: "), drawn
    assert re.search(pattern, lines[0]), lines[0]
