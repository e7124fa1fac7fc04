"""The project layout `wsad init` writes: ignore entries appended only where missing."""

from __future__ import annotations

from pathlib import Path

from components.data.project import LOCAL_STORES, append_missing_lines


def test_append_missing_lines_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("*.pyc\n.prefect/")  # no newline at the end
    assert append_missing_lines(path, LOCAL_STORES) == ["mlruns/"]
    assert path.read_text() == "*.pyc\n.prefect/\nmlruns/\n"
    assert append_missing_lines(path, LOCAL_STORES) == []
    assert path.read_text() == "*.pyc\n.prefect/\nmlruns/\n"
    fresh = tmp_path / ".dvcignore"
    assert append_missing_lines(fresh, LOCAL_STORES) == list(LOCAL_STORES)
    assert fresh.read_text() == "mlruns/\n.prefect/\n"
