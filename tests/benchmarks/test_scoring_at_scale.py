"""benchmarks/scoring_at_scale.py --smoke: a real project trained through `wsad train`, a
table scored through `wsad score` in its own process, and the stage-by-stage breakdown."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_smoke_scores_the_table_and_times_every_stage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scoring_at_scale", "--smoke"],
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "20,000 rows x 30 features" in out
    for stage in ("read parquet", "schema check", "drift statistics", "scaling", "write parquet"):
        assert stage in out, out
    assert "catboost (3 seeds)" in out
    assert "deepsad (3 seeds)" in out
    assert re.search(r"Deep SAD, one seed, 5,000 rows: [\d.]+ CPU s with 1 torch thread", out)
