"""The options `wsad bench` and the benchmark scripts share: a table the command names but
the folder lacks is an error that names it, not a skip."""

from __future__ import annotations

import pytest

from flows.cli.options import select_tables


def test_select_tables_names_the_missing_table(table_dir):
    assert select_tables(table_dir, "") == [table_dir / "toy.parquet"]
    with pytest.raises(ValueError, match=r"no table nope\.parquet in "):
        select_tables(table_dir, "toy,nope")
    with pytest.raises(ValueError, match="is not a folder of parquet tables"):
        select_tables(table_dir / "toy.parquet", "")
