"""Lineage facts for every model: which code (git commit) and which data (DVC md5) made it.

Why: the registry tags each candidate with these so an auditor can check out the exact code
and `dvc checkout` the exact records and labels behind a flagged row. git and DVC are run as
subprocesses (DVC from this interpreter, `python -m dvc`), with DVC analytics off, so it works
on a fresh machine offline. Committing the data pointer is the person's step (git).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess  # nosec B404
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from components.provenance.digest import md5_of

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
UNTRACKED = "untracked"  # a run's input outside the DVC-tracked data
MODIFIED = "+modified"  # the tracked data changed since its last `dvc add`


class LineageError(ValueError):
    """git or DVC could not give a lineage fact; the message names the repo/file and the fix."""


def _run(cmd: Sequence[str], repo: Path) -> str:
    """Run a command in `repo`; a failure becomes a one-line LineageError."""
    full_env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
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
    return str(_tracked(dvc_file)["md5"])


def _tracked(dvc_file: Path) -> dict[str, Any]:
    """The one `outs` entry of a .dvc file (md5, path relative to the file)."""
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
    return dict(outs[0])


def tracked_dir(dvc_file: Path) -> Path:
    """The folder (or file) a .dvc file tracks, resolved."""
    dvc_file = Path(dvc_file).resolve()
    return (dvc_file.parent / str(_tracked(dvc_file)["path"])).resolve()


def _workspace_matches(dvc_file: Path) -> bool:
    """Whether the tracked files are exactly what the .dvc file records (`dvc status`, run
    in the .dvc file's folder: its DVC repository)."""
    dvc_file = Path(dvc_file).resolve()
    return not json.loads(_dvc(dvc_file.parent, "status", "--json", dvc_file.name) or "{}")


def is_versioned(version: str) -> bool:
    """Whether a recorded data version is one DVC can restore (neither "untracked" nor
    "+modified"): what the lineage gate requires and `wsad reproduce` needs."""
    return version != UNTRACKED and not version.endswith(MODIFIED)


@dataclasses.dataclass(frozen=True)
class UnversionedData:
    """Why a version trained on data that DVC does not version may be released all the same
    (`wsad train --allow-unversioned --reason`): who allowed it, why, and the md5 of each
    input file as the run read it, the only fingerprint such data has."""

    who: str
    reason: str
    md5: dict[str, str]  # input file (absolute path) -> md5 of its bytes


def unversioned_data(
    version: str, inputs: Sequence[Path], who: str, reason: str | None
) -> UnversionedData | None:
    """The override a run records when its data is not versioned and it was allowed to be
    released anyway (`reason` given): who, why and each input file's md5. None otherwise."""
    if is_versioned(version) or not reason:
        return None
    return UnversionedData(who, reason, {str(Path(p).resolve()): md5_of(p) for p in inputs})


def input_version(dvc_file: Path, inputs: Sequence[Path]) -> str:
    """The data version a run's `inputs` belong to: the .dvc file's md5 when they lie in
    the data it tracks and the workspace matches it, "<md5>+modified" when they were edited
    since the last `dvc add`, "untracked" when one lies outside it. Only the first can be
    restored and reproduced later."""
    tracked = tracked_dir(dvc_file)
    if not all(Path(p).resolve().is_relative_to(tracked) for p in inputs):
        return UNTRACKED
    version = data_version(dvc_file)
    return version if _workspace_matches(dvc_file) else f"{version}{MODIFIED}"


def labels_removed_on_purpose(dvc_file: Path, labels: Path, since: str | None) -> bool:
    """Whether a shorter label file is a versioned decision rather than a truncated feed: it
    lies in the data `dvc_file` tracks, the workspace matches that pointer, the pointer is
    committed to git, and its data version differs from `since` (the champion's)."""
    dvc_file = Path(dvc_file).resolve()
    try:
        version = input_version(dvc_file, [labels])
        changed = _run(["git", "status", "--porcelain", "--", dvc_file.name], dvc_file.parent)
    except LineageError as err:
        log.info("label removal not confirmed by DVC history: %s", err)
        return False
    if changed.strip() or version == UNTRACKED or version.endswith(MODIFIED):
        return False
    return version != since


def _default_remote(repo: Path) -> str | None:
    """The default DVC remote's URL (a local path made absolute), or None."""
    listing = dict(
        line.split("\t", 1) for line in _dvc(repo, "remote", "list").splitlines() if "\t" in line
    )
    name = _dvc(repo, "config", "core.remote").strip() if listing else ""
    url = listing.get(name, "").strip()
    if not url:
        return None
    if "://" not in url and not Path(url).is_absolute():
        url = str((repo / ".dvc" / url).resolve())  # relative to the config file
    return url


def _missing_from_cache(cache: Path, version: str) -> str:
    """Which files of `version` the cache lacks, for the message (DVC 3 cache layout:
    files/md5/<2 hex>/<rest>; a directory version is a JSON list of its files)."""
    manifest = cache / "files" / "md5" / version[:2] / version[2:]
    if not manifest.is_file():
        return "its file listing and every file"
    missing = [
        entry["relpath"]
        for entry in json.loads(manifest.read_text())
        if not (cache / "files" / "md5" / entry["md5"][:2] / entry["md5"][2:]).is_file()
    ]
    return ", ".join(missing) or "nothing (but checkout failed)"


def restore_data(dvc_file: Path, version: str, dest: Path) -> Path:
    """Check data version `version` of what `dvc_file` tracks out into `dest` (a new DVC
    workspace sharing the cache of `dvc_file`'s repository, and its default remote when
    there is one), never touching that repository's files; returns the restored folder."""
    dvc_file, dest = Path(dvc_file).resolve(), Path(dest)
    repo = dvc_file.parent
    name = Path(str(_tracked(dvc_file)["path"])).name
    cache = Path(_dvc(repo, "cache", "dir").strip())
    remote = _default_remote(repo)
    dest.mkdir(parents=True, exist_ok=True)
    _dvc(dest, "init", "--no-scm", "-q")
    _dvc(dest, "cache", "dir", str(cache))
    if remote:
        _dvc(dest, "remote", "add", "-d", "origin", remote)
    pointer = dest / f"{name}.dvc"
    pointer.write_text(yaml.safe_dump({"outs": [{"md5": version, "path": name, "hash": "md5"}]}))
    try:
        _dvc(dest, "pull" if remote else "checkout", str(pointer))
    except LineageError as err:
        where = f"the DVC remote {remote}" if remote else "any DVC remote (none is configured)"
        raise LineageError(
            f"data version {version} of {name}/ is missing from the DVC cache {cache} and "
            f"from {where}: {_missing_from_cache(cache, version)}; restore it from a remote "
            "that holds it (`dvc remote add -d ...`, `dvc pull`) to reproduce"
        ) from err
    return dest / name


def dvc_add(repo: Path, target: str = "data") -> str:
    """Snapshot `target` into the DVC cache; returns its new data version."""
    _dvc(repo, "add", target)
    return data_version(Path(repo) / f"{target}.dvc")


def dvc_push(repo: Path) -> None:
    """Upload the cached data to the default DVC remote."""
    _dvc(repo, "push")


def ensure_versionable(dvc_file: Path) -> None:
    """A run can record the version of its data: `dvc_file` exists, or its folder is a DVC
    repository where `track_changes` can create it. A file check, so `wsad train` refuses
    a folder that is no project before it loads anything."""
    dvc_file = Path(dvc_file).resolve()
    if not dvc_file.exists() and not (dvc_file.parent / ".dvc").is_dir():
        raise LineageError(
            f"{dvc_file} not found and {dvc_file.parent} is no DVC repository; run `wsad init` "
            "there to start a project (git, DVC, data/), then train again"
        )


def track_changes(dvc_file: Path, inputs: Sequence[Path]) -> str | None:
    """`dvc add` the data a run is about to train on, so the version it records is the md5
    of what it trained on: when `inputs` lie in the folder `dvc_file` tracks and changed
    since its last `dvc add`, or when there is no `dvc_file` yet but its folder is a DVC
    repository and `inputs` lie in the folder it names (data.dvc: data/). Returns the new
    data version, or None when nothing needed tracking. Commits nothing to git."""
    ensure_versionable(dvc_file)
    dvc_file = Path(dvc_file).resolve()
    repo = dvc_file.parent
    if dvc_file.exists():
        if not input_version(dvc_file, inputs).endswith(MODIFIED):
            return None
        target = tracked_dir(dvc_file)
    else:
        target = repo / dvc_file.stem
        if not all(Path(p).resolve().is_relative_to(target) for p in inputs):
            return None
    return dvc_add(repo, str(target.relative_to(repo)))


def git_toplevel(path: Path) -> Path | None:
    """The top folder of the git repository `path` lies in, or None outside one."""
    try:
        return Path(_run(["git", "rev-parse", "--show-toplevel"], path).strip()).resolve()
    except LineageError:
        return None


def init_repositories(root: Path) -> list[str]:
    """Make `root` a DVC repository in git, with DVC's analytics off; returns what it did
    (nothing when it already is one). `git init` only when `root` lies in no git repository:
    an existing one is used as it is (no commit, no config write; `dvc init` stages its own
    files there, as DVC always does). Below the repository's top, DVC needs `--subdir`."""
    root = Path(root).resolve()
    done = []
    top = git_toplevel(root)
    if top is None:
        _run(["git", "init", "-q"], root)
        done.append("git init: a new git repository")
        top = root
    if not (root / ".dvc").is_dir():
        subdir = [] if top == root else ["--subdir"]
        _dvc(root, "init", "-q", *subdir)
        where = "" if top == root else f" (--subdir: inside the git repository {top})"
        done.append(f"dvc init{where}")
    if _dvc(root, "config", "core.analytics").strip() != "false":
        _dvc(root, "config", "core.analytics", "false")
        done.append("DVC analytics off (.dvc/config)")
    return done
