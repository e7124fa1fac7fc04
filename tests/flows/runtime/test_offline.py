"""Importing the packages leaves the environment alone; the `wsad` entry point sets the
offline defaults (flows/runtime/offline.py), and a variable already set wins."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from flows.cli.main import app
from flows.runtime.offline import go_offline, offline_defaults

IMPORTS = "import flows, components, flows.cli.main, flows.runtime.config"
COMPARE = f"import os; before = dict(os.environ); {IMPORTS}; print(dict(os.environ) == before)"


def test_importing_the_packages_leaves_os_environ_unchanged(tmp_path):
    bare = {k: v for k, v in os.environ.items() if k not in offline_defaults()}
    done = subprocess.run(
        [sys.executable, "-c", COMPARE],
        env=bare,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "True", done.stderr


def test_wsad_goes_offline_before_any_command(tmp_path, monkeypatch):
    for key in offline_defaults():
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "DEBUG")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert os.environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
    assert os.environ["DO_NOT_TRACK"] == "true"
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "DEBUG"  # set by the user: kept


def test_go_offline_sets_only_what_is_missing():
    environ = {"MLFLOW_DISABLE_TELEMETRY": "false"}
    go_offline(environ)
    assert environ["MLFLOW_DISABLE_TELEMETRY"] == "false"
    assert environ["GX_ANALYTICS_ENABLED"] == "false"
    assert set(environ) == set(offline_defaults())
