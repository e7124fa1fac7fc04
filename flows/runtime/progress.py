"""The stages of a run as a person follows them: each task wraps its component call in
`stage(...)`, which logs one line when the stage ends and tells the display, when one is
shown, as it starts, moves and ends.

Why a process-wide display rather than an argument: the flow stays as it is (tasks report
themselves), the components stay free of Prefect and rich (they report folds or rows
through a plain callback that a task passes them), and whoever runs the flow decides how it
looks. `wsad train` and `wsad score` show a terminal display (flows/cli/progress_display.py);
a run without one (`wsad serve`'s scheduled runs, a work-pool worker, a Ray worker, a test)
only logs: one INFO line per stage on the `flows.runtime.progress` logger, which Prefect sends to
the run's log and the serve console prints.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)  # a stage line is worth keeping whatever the root's level


class Display(Protocol):
    """What shows the stages to a person while they run."""

    def started(self, stage: Stage) -> None: ...
    def advanced(self, stage: Stage) -> None: ...
    def finished(self, stage: Stage) -> None: ...
    def dropped(self, stage: Stage) -> None: ...  # the stage raised: its error says the rest
    def said(self, text: str) -> None: ...  # a line that cannot wait for the stage's end
    def accepted(self) -> None: ...  # the run's inputs passed every check


@dataclasses.dataclass(eq=False)
class Stage:
    """One stage of a run: its name, how far it is (`done` of `total` `unit`, when it can
    be counted) and, once known, what came out of it in a few words (`note`)."""

    name: str
    total: int | None = None
    unit: str = ""
    done: int = 0
    note: str = ""
    started: float = dataclasses.field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def seconds(self) -> float:
        """Time spent so far, or in all once it ended."""
        return (self.ended or time.monotonic()) - self.started

    def advance(self, done: int, total: int | None = None) -> None:
        """`done` units finished so far (of `total`, when it is known only now)."""
        self.done = done
        if total is not None:
            self.total = total
        if _display is not None:
            _display.advanced(self)

    def report(self, note: str) -> None:
        """What the stage came to, in a few words, for its line."""
        self.note = note

    def line(self) -> str:
        """e.g. "validation: 14 expectations passed (2.8s)"."""
        what = f"{self.name}: {self.note}" if self.note else self.name
        return f"{what} ({self.seconds:.1f}s)"


_display: Display | None = None
_lock = threading.Lock()


@contextmanager
def stage(name: str, total: int | None = None, unit: str = "") -> Iterator[Stage]:
    """Run the block as the stage `name`: logged when it ends, shown while it runs."""
    current = Stage(name, total, unit)
    if _display is not None:
        _display.started(current)
    try:
        yield current
    except BaseException:
        current.ended = time.monotonic()
        if _display is not None:
            _display.dropped(current)
        raise
    current.ended = time.monotonic()
    log.info("%s", current.line())
    if _display is not None:
        _display.finished(current)


def say(text: str) -> None:
    """A line a person must read now (e.g. how to approve a paused run): a warning, which
    the console shows (on the display when there is one) and the run's log keeps."""
    log.warning("%s", text)


def inputs_accepted() -> None:
    """The run's inputs passed every check: a display may show its finished stages for
    good from here on. Before this, a refused input ends in its one error line alone."""
    if _display is not None:
        _display.accepted()


def to_display(text: str) -> bool:
    """Show `text` as a line on the display; False when no display is shown."""
    display = _display
    if display is None:
        return False
    display.said(text)
    return True


@contextmanager
def showing(display: Display) -> Iterator[Display]:
    """Show every stage of this process on `display` within the block."""
    global _display
    with _lock:
        previous, _display = _display, display
    try:
        yield display
    finally:
        with _lock:
            _display = previous
