"""How `wsad train` and `wsad score` show their stages (flows/runtime/progress.py): on a terminal,
a live bar per running stage (elapsed time, and the time left where the stage counts its
folds or rows) with each finished stage printed above the bars; anywhere else (CI, a log
file, a pipe), one plain line per finished stage, no bars and no control codes.

Both prefix a line with the time since the display started, so a log reads as a timeline:

    [0:00:41] cross-validation devnet: 3 folds, AUC-ROC 0.968 (24.1s)

The time before the first stage (Prefect starting its engine, on a fresh machine its local
API server) is shown as a stage of its own.

A refused input is one `error:` line and nothing else: finished stages are held back (on a
terminal, kept inside the bars, which are erased) until the run says its inputs passed every
check (`progress.inputs_accepted`: training after its validation, scoring once its last row
is scored), and dropped when the run fails before that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from rich.console import Console
from rich.markup import escape
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

from flows.runtime import progress
from flows.runtime.progress import Display, Stage


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
        self._held: list[str] | None = []  # None once the inputs are accepted

    def open(self) -> None:
        """The display begins: the opening stage runs until the first stage starts."""

    def _first_stage_starts(self) -> None:
        with self._lock:
            opening, self._opening = self._opening, None
        if opening is not None:
            opening.ended = time.monotonic()
            self.finished(opening)

    def _line(self, text: str) -> None:
        """Print `text` now, or hold it until the inputs are accepted."""
        stamped = f"[{_clock(time.monotonic() - self.start)}] {text}"
        with self._lock:
            if self._held is not None:
                self._held.append(stamped)
                return
        self._print(stamped)

    def _print(self, stamped: str) -> None:
        with self._lock:
            self.console.print(
                stamped,
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def started(self, stage: Stage) -> None:
        self._first_stage_starts()

    def advanced(self, stage: Stage) -> None:
        pass

    def finished(self, stage: Stage) -> None:
        self._line(stage.line())

    def dropped(self, stage: Stage) -> None:
        pass

    def said(self, text: str) -> None:
        self._print(f"[{_clock(time.monotonic() - self.start)}] {text}")

    def accepted(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
        for stamped in held:
            self._print(stamped)

    def close(self, failed: bool) -> None:
        """The run ended: held lines are printed, unless it failed."""
        if not failed:
            self.accepted()


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
        self._done: list[Stage] = []  # finished while lines are held
        self._live = False

    def open(self) -> None:
        with self._lock:
            self.bars.start()
            self._live = True
        if self._opening is not None:
            self._add(self._opening)

    def _add(self, stage: Stage) -> None:
        with self._lock:
            self._tasks[stage] = self.bars.add_task(
                escape(stage.name), total=stage.total, unit=stage.unit
            )

    def started(self, stage: Stage) -> None:
        super().started(stage)
        self._add(stage)

    def advanced(self, stage: Stage) -> None:
        task = self._tasks.get(stage)
        if task is not None:
            self.bars.update(task, completed=stage.done, total=stage.total)

    def finished(self, stage: Stage) -> None:
        task = self._tasks.get(stage)
        if self._held is not None and task is not None:  # kept among the bars for now
            self.bars.update(task, description=f"[green]✓[/] {escape(stage.line())}", refresh=True)
            self.bars.stop_task(task)
            self._done.append(stage)
        else:
            self._remove(stage)
        super().finished(stage)

    def accepted(self) -> None:
        for stage in self._done:
            self._remove(stage)
        self._done.clear()
        super().accepted()

    def dropped(self, stage: Stage) -> None:
        self._remove(stage)

    def _remove(self, stage: Stage) -> None:
        task = self._tasks.pop(stage, None)
        if task is not None:
            self.bars.remove_task(task)

    def close(self, failed: bool) -> None:
        with self._lock:
            if self._live:
                self.bars.stop()  # transient: the bars and the rows held in them are erased
                self._live = False
        super().close(failed)


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
    failed = True
    try:
        with progress.showing(display):
            display.open()
            yield display
        failed = False
    finally:
        display.close(failed)
