"""Lineage facts for every model: which code (git commit) and which data (DVC md5) made it.

Why: the registry tags each candidate with these so an auditor can check out the exact code
and `dvc checkout` the exact records and labels behind a flagged row. git and DVC are run as
subprocesses (DVC from this interpreter, `python -m dvc`), with DVC analytics off and a
fallback git identity where a commit is needed, so it works on a fresh machine offline.
"""

from __future__ import annotations

import logging
import os
import subprocess  # nosec B404
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "wsad",
    "GIT_AUTHOR_EMAIL": "wsad@localhost",
    "GIT_COMMITTER_NAME": "wsad",
    "GIT_COMMITTER_EMAIL": "wsad@localhost",
}


class LineageError(ValueError):
    """git or DVC could not give a lineage fact; the message names the repo/file and the fix."""


def _run(cmd: Sequence[str], repo: Path, env: dict[str, str] | None = None) -> str:
    """Run a command in `repo`; a failure becomes a one-line LineageError."""
    full_env = {**os.environ, "DVC_NO_ANALYTICS": "1", **(env or {})}
    shown = " ".join(["dvc", *cmd[3:]] if cmd[0] == sys.executable else cmd)
    try:
        # A fixed git/dvc argv list, never a shell.
        done = subprocess.run(  # nosec B603
            list(cmd), cwd=repo, env=full_env, capture_output=True, text=True, check=False
        )
    except (FileNotFoundError, NotADirectoryError) as err:
        raise LineageError(f"cannot run `{shown}` in {repo} ({err})") from err
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise LineageError(f"`{shown}` failed in {repo}: {last.removeprefix('ERROR: ')}")
    return done.stdout


def _dvc(repo: Path, *args: str) -> str:
    return _run([sys.executable, "-m", "dvc", *args], repo)


def git_commit(repo: Path) -> str:
    """HEAD's commit, with "+dirty" when tracked or untracked (not ignored) files changed;
    "unknown" outside a git repository or before the first commit."""
    try:
        head = _run(["git", "rev-parse", "HEAD"], repo).strip()
        dirty = _run(["git", "status", "--porcelain"], repo).strip()
    except LineageError as err:
        log.info("no git commit for %s: %s", repo, err)
        return UNKNOWN
    return f"{head}+dirty" if dirty else head


def data_version(dvc_file: Path) -> str:
    """The md5 DVC recorded for the tracked data (the `outs` entry of e.g. data.dvc)."""
    try:
        meta = yaml.safe_load(Path(dvc_file).read_text())
    except FileNotFoundError as err:
        raise LineageError(f"{dvc_file} not found; track the data with `dvc add data`") from err
    except (OSError, yaml.YAMLError) as err:
        raise LineageError(
            f"{dvc_file} is not a readable DVC file ({err}); re-run `dvc add`"
        ) from err
    outs = meta.get("outs") if isinstance(meta, dict) else None
    if not isinstance(outs, list) or len(outs) != 1 or not outs[0].get("md5"):
        raise LineageError(
            f"{dvc_file} needs exactly one `outs` entry with an md5; re-run `dvc add`"
        )
    return str(outs[0]["md5"])


def dvc_add(repo: Path, target: str = "data") -> str:
    """Snapshot `target` into the DVC cache; returns its new data version."""
    _dvc(repo, "add", target)
    return data_version(Path(repo) / f"{target}.dvc")


def dvc_push(repo: Path) -> None:
    """Upload the cached data to the default DVC remote."""
    _dvc(repo, "push")


def commit_data(repo: Path, message: str, target: str = "data") -> str:
    """Commit the DVC pointer (and the .gitignore `dvc add` writes) so the data version is
    recoverable from git history; returns the new commit. Uses a fallback identity only when
    git has none configured."""
    repo = Path(repo)
    env: dict[str, str] = {}
    try:
        _run(["git", "config", "user.email"], repo)
    except LineageError:
        env = {k: os.environ.get(k, v) for k, v in FALLBACK_IDENTITY.items()}
    paths = [p for p in (f"{target}.dvc", ".gitignore") if (repo / p).exists()]
    _run(["git", "add", "--", *paths], repo)
    if not _run(["git", "status", "--porcelain", "--", *paths], repo).strip():
        log.info("%s: data pointer unchanged, nothing to commit", repo)
        return git_commit(repo)
    _run(["git", "commit", "-m", message, "--", *paths], repo, env)
    return git_commit(repo)
