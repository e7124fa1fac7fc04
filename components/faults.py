"""Test-only fault injection: stop the process at a named stage so a test can kill it there.

Why: crash-safety tests must SIGKILL a real training run at a defined point (during
training, between register and promote, in the middle of an audit write) without mocking
anything. With `WSAD_FAULT_PAUSE_AT=<stage>` set, the run writes the marker file
`WSAD_FAULT_MARKER` when it reaches that stage and then blocks until it is killed. Unset (as
in every real deployment) the hook does nothing. Stages: "training", "promote", "audit-write".

Import rule: standard library only.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

PAUSE_ENV = "WSAD_FAULT_PAUSE_AT"
MARKER_ENV = "WSAD_FAULT_MARKER"


def armed(stage: str) -> bool:
    """Whether the environment asks to stop at `stage`."""
    return os.environ.get(PAUSE_ENV) == stage


def pause_at(stage: str) -> None:
    """Block forever at `stage` when armed (after writing the marker); else return at once."""
    if not armed(stage):
        return
    log.warning("fault injection: paused at %r until killed", stage)
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(f"{stage} {os.getpid()}\n")
    while True:
        time.sleep(3600)
