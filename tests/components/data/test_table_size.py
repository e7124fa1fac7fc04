"""A table too large for memory is refused in one line before it is read, naming its size and
the budget; the estimate is close to what pandas then holds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.data.files import DataError
from components.data.machine import default_memory_budget, machine_memory
from components.data.table_size import ensure_chunk_fits, ensure_fits, estimate


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60_000, 8)), columns=[f"f{i}" for i in range(8)])
    frame.insert(0, "id", [f"row-{i}" for i in range(len(frame))])
    return frame


@pytest.fixture(params=[".csv", ".parquet"])
def path(request: pytest.FixtureRequest, tmp_path: Path, table: pd.DataFrame) -> Path:
    """The table written as CSV, then as parquet."""
    written = tmp_path / f"t{request.param}"
    table.to_csv(written, index=False) if request.param == ".csv" else table.to_parquet(written)
    return written


def test_estimate_is_close_to_the_loaded_size(path: Path, table: pd.DataFrame) -> None:
    size = estimate(path)
    loaded = table.memory_usage(deep=True, index=False).sum()
    assert size.columns == 9
    assert size.rows == pytest.approx(len(table), rel=0.05)
    assert size.bytes == pytest.approx(loaded, rel=0.15)
    assert estimate(path, ["f0"]).bytes == pytest.approx(8 * len(table), rel=0.05)


def test_a_table_over_the_budget_is_refused_naming_size_and_budget(path: Path) -> None:
    with pytest.raises(DataError) as err:
        ensure_fits(path, budget=1 << 20, what="training")
    message = str(err.value)
    assert "\n" not in message
    assert f"{path.name}: about " in message
    assert "MiB in memory" in message
    assert re.search(r"\((about )?6\d,\d{3} rows x 9 columns\)", message), message
    assert "over the memory budget of 1 MiB that training may read whole" in message
    assert "WSAD_MEMORY_BUDGET" in message
    assert ensure_fits(path, budget=1 << 30).rows == pytest.approx(60_000, rel=0.05)


def test_a_chunk_over_the_budget_is_refused(tmp_path: Path, table: pd.DataFrame) -> None:
    table.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"a chunk of 50,000 rows is .* over the memory budget"):
        ensure_chunk_fits(tmp_path / "t.parquet", 1 << 19, 50_000, ["f0", "f1"])
    ensure_chunk_fits(tmp_path / "t.parquet", 1 << 19, 1_000, ["f0", "f1"])


def test_the_default_budget_is_half_the_memory_this_process_may_use() -> None:
    assert 0 < default_memory_budget() <= machine_memory() // 2 + 1


def test_a_ragged_csv_is_named_by_line_before_its_size_is_judged(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("id,a\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"r\.csv: line 3 has 3 fields where the header has 2"):
        ensure_fits(tmp_path / "r.csv", budget=1 << 30)
