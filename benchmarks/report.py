"""Shared by the benchmark scripts: which machine ran them, and writing one script's section
of RESULTS.md without touching the others'."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

# Where the shared tables lie, from the repository root (where every command in RESULTS.md runs).
SHARED_TABLES = Path("../shared/datasets")
# `--render-only`, shared by the benchmarks that write their CSV row by row.
RenderOnly = Annotated[
    bool, typer.Option(help="no training: rewrite the section from the existing CSV")
]


def machine() -> str:
    """CPU model and core count, as `lscpu` reports the model name."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread per fit"


def gpu_name(device: str | torch.device) -> str:
    """The CUDA device's name ("NVIDIA H200"), or "no GPU" for a CPU device."""
    where = torch.device(device)
    return torch.cuda.get_device_name(where) if where.type == "cuda" else "no GPU"


def synced_now(device: torch.device) -> float:
    """Wall-clock seconds once the device's queued work is done (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def replace_section(path: Path, heading: str, section: str) -> None:
    """Write `section` under `heading` in `path`, replacing only that section (up to the next
    `## ` heading); other sections, written by other benchmarks, stay as they are."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text.rstrip("\n") + "\n")


def show_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Print the rows as a rich table and return them as markdown lines, so the terminal and
    RESULTS.md show the same cells."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for cells in rows:
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    return lines
