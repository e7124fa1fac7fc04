"""Are torch's private kernels worth their guard? The shared loop's clip + optimiser step, and a
short `fit_many`, on the private kernels and on the public path (`torch_kernels`), alternated
in one process so both sides see the same machine load.

    OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.optim_paths --data-dir ../shared/datasets
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import torch
import typer

from benchmarks import smoke
from benchmarks.report import SHARED_TABLES, machine, replace_section, show_table
from components.detectors import make
from components.detectors.api import fit_many
from components.detectors.training import torch_kernels
from components.detectors.training.optim import Optimizer, clip_per_tensor
from components.selection.adbench import load_table, make_split

HERE = Path(__file__).resolve().parent
HEADING = "## Private torch kernels vs public path"


@contextlib.contextmanager
def path(private: bool) -> Iterator[None]:
    """Every kernel group on the private (True) or the public (False) path."""
    guard = torch_kernels.private_kernels_work
    torch_kernels.private_kernels_work = lambda group: private  # type: ignore[assignment]
    try:
        yield
    finally:
        torch_kernels.private_kernels_work = guard


def alternated(run: Callable[[], None], repeats: int) -> tuple[float, float]:
    """Median seconds of `run` on the private and on the public path, alternated."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for private in (True, False):
            with path(private):
                start = time.perf_counter()
                run()
                times[private].append(time.perf_counter() - start)
    return statistics.median(times[True]), statistics.median(times[False])


def step_loop(kind: str, members: int, steps: int) -> Callable[[], None]:
    """`steps` clip + optimiser steps over an MLP's parameters (21-64-32-1, DevNet-sized),
    `members` stacked copies of each tensor when members > 1."""
    lead = (members,) if members > 1 else ()
    shapes = [(64, 21), (64,), (32, 64), (32,), (1, 32), (1,)]
    params = [torch.nn.Parameter(torch.randn(*lead, *s)) for s in shapes]
    opt = Optimizer(params, kind, 1e-3, 0.01, stacked=len(lead))

    def run() -> None:
        for _ in range(steps):
            for p in params:
                p.grad = torch.randn_like(p)
            clip_per_tensor(params, 1.0)  # per tensor: stacked members are clipped as one here
            opt.step()

    return run


def main(
    data_dir: Annotated[Path, typer.Option(help="folder of parquet tables")] = SHARED_TABLES,
    dataset: Annotated[str, typer.Option(help="table for the fit_many rows")] = "cardio",
    members: Annotated[int, typer.Option(help="stacked members")] = 4,
    repeats: Annotated[int, typer.Option(help="alternated timings per side")] = 5,
    results_md: Annotated[Path, typer.Option(help="markdown to update")] = HERE / "RESULTS.md",
    out_dir: Annotated[Path, typer.Option(help="raw CSV folder")] = HERE / "results",
    smoke_: smoke.Smoke = False,
) -> None:
    """Print the table and write its section of RESULTS.md."""
    if smoke_:
        data_dir = out_dir = smoke.smoke_dir()
        results_md, dataset, members, repeats = data_dir / "RESULTS.md", smoke.TABLES[0], 2, 1
    torch.set_num_threads(1)
    split = make_split(*load_table(data_dir / f"{dataset}.parquet"), 0.1, 0, 10_000)

    def fits(method: str) -> Callable[[], None]:
        def run() -> None:
            fit_many(make(method, epochs=3), split.X_train, labels, seeds)

        return run

    labels, seeds = [split.y_train] * members, list(range(members))
    cases: list[tuple[str, Callable[[], None], int]] = [
        ("adam step (1 net)", step_loop("adam", 1, 200), 200),
        ("rmsprop step (1 net)", step_loop("rmsprop", 1, 200), 200),
        (f"adam step ({members} stacked)", step_loop("adam", members, 200), 200),
        (f"rmsprop step ({members} stacked)", step_loop("rmsprop", members, 200), 200),
    ]
    for method in ("devnet", "rosas"):
        cases.append((f"{method} fit_many, {members} members, 3 epochs", fits(method), 1))
    load_before = os.getloadavg()[0]
    cells = []
    for name, run, per in cases:
        private, public = alternated(run, repeats)
        unit, scale, digits = ("µs per step", 1e6 / per, 1) if per > 1 else ("s per fit", 1.0, 2)
        cells.append(
            [
                name,
                unit,
                f"{private * scale:.{digits}f}",
                f"{public * scale:.{digits}f}",
                f"{public / private:.2f}x",
            ]
        )
    load_after = os.getloadavg()[0]
    cols = ("what", "unit", "private kernels", "public path", "public / private")
    lines = show_table("Private torch kernels vs public path (cpu)", cols, cells)
    with (out_dir / "optim_paths.csv").open("w", newline="") as raw:
        csv.writer(raw).writerows([cols, *cells])
    command = "python -m benchmarks.optim_paths " + shlex.join(sys.argv[1:])
    host = machine().replace("1 thread per fit", "1 torch thread")
    section = f"""{HEADING}

`OMP_NUM_THREADS=1 nice -n 10 {command}`. Machine: {host}; load average {load_before:.1f}
before, {load_after:.1f} after (shared machine). Date: {datetime.date.today()}. Private =
`torch._foreach_*` (clip, decay, RMSprop), `torch._fused_adam_` (Adam) and
`torch._sample_dirichlet` (RoSAS' Beta draws); public = per-tensor tensor methods,
torch.optim's functional `adam` / `rmsprop` (single-tensor) and Gamma draws under a forked
RNG (`components/detectors/training/torch_kernels.py`). Step rows: median of {repeats} alternated
blocks of 200 clip + decay + update steps, DevNet-sized MLP (21-64-32-1); each step also
draws fresh random gradients, the same on both sides. fit_many rows: dataset {dataset},
ADBench split (seed 0, label ratio 0.1), 3 epochs, median of {repeats} alternated fits. The
guard keeps the private path where torch has it and it passes the probe; the public path
runs only when it does not.

{chr(10).join(lines)}
"""
    replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    typer.run(main)
