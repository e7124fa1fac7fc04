"""How much memory this process may use, for the default memory budget (WSAD_MEMORY_BUDGET,
components/data/table_size.py). Standard library only: the settings read it on every command,
before any table library loads."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")
BUDGET_SHARE = 0.5


def machine_memory() -> int:
    """Bytes this process may use: the machine's memory, or its cgroup's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = CGROUP_LIMIT.read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def default_memory_budget() -> int:
    """Half of `machine_memory`: a table read whole, with room for the copies of its
    features that training makes."""
    return int(machine_memory() * BUDGET_SHARE)
