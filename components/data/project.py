"""A wsad project folder, as `wsad init` lays it out: a DVC repository in git, the data
folder with an empty label file, the local stores kept out of git and DVC, and an example
of the settings.

Why here and idempotent: a team starts from a folder holding its own table; running this
again (or in a folder that already has some of it) adds only what is missing, never
rewrites a file a person may have edited, and never commits or configures git.
"""

from __future__ import annotations

from pathlib import Path

from components.provenance import lineage
from components.data.label_file import LABEL_COLUMNS

# What the commands write beside the data and must stay out of git and DVC: the embedded
# MLflow store (and audit log) and Prefect's home (flows/runtime/offline.py puts it in .prefect/).
LOCAL_STORES = ("mlruns/", ".prefect/")


def init_project(root: Path, labels: Path, env_example: str) -> list[str]:
    """Lay out the project in `root` (created if missing); `labels` is the label file's path
    relative to it and `env_example` the text of `.env.example`. Returns what changed, one
    line each; empty when `root` already was a project."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} is a file; pass a folder to start a project in")
    root.mkdir(parents=True, exist_ok=True)
    done = lineage.init_repositories(root)
    label_file = root / labels
    if not label_file.parent.is_dir():
        label_file.parent.mkdir(parents=True)
        done.append(f"{labels.parent}/ for the records table and the label file")
    if not label_file.exists():
        label_file.write_text(",".join(LABEL_COLUMNS) + "\n", encoding="utf-8")
        done.append(f"{labels}: the label file's header, no labels yet")
    for name in (".gitignore", ".dvcignore"):
        added = append_missing_lines(root / name, LOCAL_STORES)
        if added:
            done.append(f"{name}: {', '.join(added)}")
    example = root / ".env.example"
    if not example.exists():
        example.write_text(env_example, encoding="utf-8")
        done.append(".env.example: the WSAD_* settings with their defaults, commented out")
    return done


def append_missing_lines(path: Path, lines: tuple[str, ...]) -> list[str]:
    """Append the `lines` that `path` lacks (creating it); returns those appended."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if missing:
        separator = "\n" if text and not text.endswith("\n") else ""
        path.write_text(text + separator + "\n".join(missing) + "\n", encoding="utf-8")
    return missing
