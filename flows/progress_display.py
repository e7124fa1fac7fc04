"""How `wsad train` and `wsad score` show their stages (flows/progress.py): on a terminal,
a live bar per running stage (elapsed time, and the time left where the stage counts its
folds or rows) with each finished stage printed above the bars; anywhere else (CI, a log
file, a pipe), one plain line per finished stage, no bars and no control codes.

Both prefix a line with the time since the display started, so a log reads as a timeline:

    [0:00:41] cross-validation devnet: 3 folds, AUC-ROC 0.968 (24.1s)

The time before the first stage (Prefect starting its engine, on a fresh machine its local
API server) is shown as a stage of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from flows import progress
from flows.progress import Display, Stage


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


OPENING = "start the flow run"


class _Count(ProgressColumn):
    """ "2/3 folds", "120,000/1,000,000 rows", "120,000 rows" (no total), or nothing."""

    def render(self, task: Task) -> Text:
        unit, done = task.fields.get("unit", ""), f"{int(task.completed):,}"
        if task.total is not None:
            return Text(f"{done}/{int(task.total):,} {unit}", style="progress.download")
        return Text(f"{done} {unit}" if task.completed else "", style="progress.download")


class _Left(TimeRemainingColumn):
    """The estimate of the time left, where the stage knows how much it has to do."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else Text.assemble("left ", super().render(task))


class PlainLines:
    """One line per finished stage, for a console that is not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._opening: Stage | None = Stage(OPENING)

    def open(self) -> None:
        """The display begins: the opening stage runs until the first stage starts."""

    def _first_stage_starts(self) -> None:
        with self._lock:
            opening, self._opening = self._opening, None
        if opening is not None:
            opening.ended = time.monotonic()
            self.finished(opening)

    def _print(self, text: str) -> None:
        with self._lock:
            self.console.print(
                f"[{_clock(time.monotonic() - self.start)}] {text}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def started(self, stage: Stage) -> None:
        self._first_stage_starts()

    def advanced(self, stage: Stage) -> None:
        pass

    def finished(self, stage: Stage) -> None:
        self._print(stage.line())

    def dropped(self, stage: Stage) -> None:
        pass

    def said(self, text: str) -> None:
        self._print(text)

    def close(self) -> None:
        pass


class LiveBars(PlainLines):
    """A live bar per running stage on a terminal; finished stages print above the bars.
    The bars are drawn while the flow runs and erased at the end; a command refused before
    its flow starts draws nothing."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            _Count(),
            TimeElapsedColumn(),
            _Left(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._tasks: dict[Stage, TaskID] = {}
        self._live = False

    def open(self) -> None:
        with self._lock:
            self.bars.start()
            self._live = True
        if self._opening is not None:
            self._add(self._opening)

    def _add(self, stage: Stage) -> None:
        with self._lock:
            self._tasks[stage] = self.bars.add_task(stage.name, total=stage.total, unit=stage.unit)

    def started(self, stage: Stage) -> None:
        super().started(stage)
        self._add(stage)

    def advanced(self, stage: Stage) -> None:
        task = self._tasks.get(stage)
        if task is not None:
            self.bars.update(task, completed=stage.done, total=stage.total)

    def finished(self, stage: Stage) -> None:
        self._remove(stage)
        super().finished(stage)

    def dropped(self, stage: Stage) -> None:
        self._remove(stage)

    def _remove(self, stage: Stage) -> None:
        task = self._tasks.pop(stage, None)
        if task is not None:
            self.bars.remove_task(task)

    def close(self) -> None:
        with self._lock:
            if self._live:
                self.bars.stop()
                self._live = False


def for_console(console: Console) -> PlainLines:
    """Bars on a terminal that can draw them, plain lines anywhere else."""
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveBars(console)
    return PlainLines(console)


@contextmanager
def stages_on(console: Console) -> Iterator[Display]:
    """Show this process's stages on `console` within the block; the bars (if any) are
    erased when it ends, before the command prints its result or its error."""
    display = for_console(console)
    try:
        with progress.showing(display):
            display.open()
            yield display
    finally:
        display.close()
