"""Copied by the crash tests into their temp dir as `sitecustomize.py` and put on the
PYTHONPATH of a `wsad` subprocess, which Python then loads at start-up: it stops the run at
the point `WSAD_TEST_STOP_AT` names, writes the file `WSAD_TEST_STOP_MARKER` and waits there
until the test kills it. The product knows nothing of this; each point is patched into the
real module right after it is imported, before anything else imports from it.

- `training`: on entering `components.selection.candidate.refit_detector` (the release's refit);
- `promote`: on entering `components.registry.promotion.promote` (registered, nothing released yet);
- `audit-write`: in `components.provenance.audit`, half of a release (promote or reject) entry's
  line written and fsynced, the other half never.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

POINT = os.environ.get("WSAD_TEST_STOP_AT", "")
MARKER = os.environ.get("WSAD_TEST_STOP_MARKER", "")
RELEASE_LINES = (b'"action": "promote"', b'"action": "reject"')


def wait_to_be_killed() -> None:
    """Tell the test where the run stands, then never return."""
    Path(MARKER).write_text(f"{POINT} {os.getpid()}\n")
    while True:
        time.sleep(3600)


def stopping_on_entry(function: Callable[..., Any]) -> Callable[..., Any]:
    def stopped(*args: Any, **kwargs: Any) -> Any:
        wait_to_be_killed()
        return function(*args, **kwargs)

    return stopped


class TornReleaseWrites:
    """The `os` module as components.provenance.audit sees it, except that a release entry's line is
    written only half way (and synced) before the run waits to be killed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        if any(marker in data for marker in RELEASE_LINES):
            os.write(fd, data[: len(data) // 2])
            os.fsync(fd)
            wait_to_be_killed()
        return os.write(fd, data)


PATCHES: dict[str, tuple[str, Callable[[ModuleType], None]]] = {
    "training": (
        "components.selection.candidate",
        lambda m: setattr(m, "refit_detector", stopping_on_entry(m.refit_detector)),
    ),
    "promote": (
        "components.registry.promotion",
        lambda m: setattr(m, "promote", stopping_on_entry(m.promote)),
    ),
    "audit-write": ("components.provenance.audit", lambda m: setattr(m, "os", TornReleaseWrites())),
}


class PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the module of the chosen point as usual and patches it once it has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if POINT not in PATCHES or fullname != PATCHES[POINT][0]:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        run_module, patch = spec.loader.exec_module, PATCHES[POINT][1]

        def run_and_patch(module: ModuleType) -> None:
            run_module(module)
            patch(module)

        spec.loader.exec_module = run_and_patch  # type: ignore[method-assign]
        return spec


if POINT:
    sys.meta_path.insert(0, PatchAfterImport())
