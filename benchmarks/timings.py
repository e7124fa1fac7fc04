"""How long the README's commands take: `make demo` (after the install), `wsad init`,
`wsad label import`, `wsad train` with the default candidates and `wsad score` on the demo
table exported as a team would hand it over (the README's "Your own data"), and the two
test commands, `make test` and `make test-all`, each in a fresh clone of this repository's
HEAD (install excluded: the clone uses this checkout's .venv; `make test` with nothing beside
the clone, `make test-all` with ../shared/datasets linked beside it).

Wall-clock seconds as a user waits for them, on a machine that others share, so the load
average (1 minute) before and after each command is written beside it. The commands run
one after the other in this process's order; the section is rewritten at the end.

    python -m benchmarks.timings                        # every command (the test suites: long)
    python -m benchmarks.timings --commands demo,own-data
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmarks import smoke
from benchmarks.report import SHARED_TABLES, machine, replace_section, show_table
from components.data.demo import build_demo_data

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Timings of the README's commands (`benchmarks/timings.py`)"
COMMANDS = ("demo", "own-data", "test", "test-all")
Row = tuple[str, float, float, float, float]  # command, wall s, CPU s, load before, after
MAKE = ["make", "-o", ".venv/.installed"]  # the clone's .venv is this checkout's: no install


def timed(label: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Row:
    """Run `command` in `cwd` (output to a log beside it), fail loudly if it fails; its wall
    seconds and the CPU seconds of it and all its child processes."""
    before = os.getloadavg()[0]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    log = cwd.parent / f"{label.replace(' ', '_').replace('/', '_')}.log"
    with log.open("w") as out:
        done = subprocess.run(
            command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out
        )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    if done.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-60:])
        sys.exit(
            f"{tail}error: {label} failed (exit {done.returncode}); the end of its output above"
        )
    print(f"{label}: {seconds:.1f} s wall, {cpu_s:.1f} CPU s", flush=True)
    return label, seconds, cpu_s, before, os.getloadavg()[0]


def fresh_clone(folder: Path, shared: Path | None) -> Path:
    """A clone of HEAD at `folder/wsad` using this checkout's .venv, with `shared` linked as
    ../shared/datasets when given."""
    clone = folder / "wsad"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    if shared is not None:
        (folder / "shared").mkdir()
        (folder / "shared" / "datasets").symlink_to(shared.resolve())
    return clone


def wsad(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("wsad")), *args]


def demo(folder: Path) -> list[Row]:
    clone = fresh_clone(folder, None)
    return [timed("make demo", [*MAKE, "demo"], clone)]


def own_data(folder: Path) -> list[Row]:
    """The README's "Your own data": the demo table and its confirmed ids as exports."""
    records, labels = build_demo_data(folder / "exports")
    confirmed = pd.read_csv(labels)
    exported = folder / "confirmed.csv"
    pd.DataFrame({"case_id": confirmed["id"], "confirmed_on": "2026-01-15"}).to_csv(
        exported, index=False
    )
    root = folder / "fraud-watch"
    (root / "data").mkdir(parents=True)
    shutil.copy(records, root / "data" / "records.csv")
    imports = ["--id-column", "case_id", "--date-column", "confirmed_on", "--who", "alice"]
    return [
        timed("wsad init", wsad("init"), root),
        timed("wsad label import", wsad("label", "import", str(exported), *imports), root),
        timed("wsad train", wsad("train"), root),
        timed("wsad score", wsad("score", "--records", "data/records.csv", "--out", "s.csv"), root),
    ]


def suite(target: str) -> Callable[[Path], list[Row]]:
    def run(folder: Path) -> list[Row]:
        shared = SHARED_TABLES.resolve() if target == "test-all" else None
        clone = fresh_clone(folder, shared)
        return [timed(f"make {target}", [*MAKE, target], clone)]

    return run


RUNS: dict[str, Callable[[Path], list[Row]]] = {
    "demo": demo,
    "own-data": own_data,
    "test": suite("test"),
    "test-all": suite("test-all"),
}


def section(rows: list[Row], commands: list[str]) -> str:
    cells = [[c, f"{s:.1f} s", f"{p:.1f} s", f"{a:.1f}", f"{b:.1f}"] for c, s, p, a, b in rows]
    columns = ("command", "wall", "CPU (all processes)", "load before", "load after")
    lines = show_table("README commands", columns, cells)
    command = "python -m benchmarks.timings --commands " + ",".join(commands)
    return f"""{HEADING}

`{command}`. Machine: {machine().replace(", 1 thread per fit", "")}; load average (1 minute)
before and after each command beside it: the machine is shared, so a wall time measured under
load is longer than on an idle machine; the CPU seconds of the command and every process it
started (user + system) move less with the load, and on two idle cores the wall time of a
command that keeps both busy is about half of them. Date: {datetime.date.today()}. Each command
in a fresh folder: `make demo` and the test commands in a fresh clone of HEAD that uses this
checkout's .venv (install excluded); `make test` with nothing beside the clone, `make test-all`
with ../shared/datasets beside it. `wsad train` and `wsad score` run the README's "Your own
data" on the demo table exported as a team would hand it over (377 records, 10 confirmed ids):
`wsad train` with the default candidates.

{chr(10).join(lines)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default=",".join(COMMANDS), help=", ".join(COMMANDS))
    parser.add_argument("--results-md", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP + " (times wsad init)")
    args = parser.parse_args()
    commands = args.commands.split(",")
    unknown = sorted(set(commands) - set(COMMANDS))
    if unknown:
        sys.exit(f"error: unknown command(s) {', '.join(unknown)}; choose from {COMMANDS}")
    if args.smoke:
        folder = smoke.smoke_dir()
        (folder / "project").mkdir()
        init = timed("wsad init", wsad("init"), folder / "project")
        replace_section(folder / "RESULTS.md", HEADING, section([init], ["smoke"]))
        return
    rows: list[Row] = []
    for name in commands:
        with tempfile.TemporaryDirectory(prefix=f"wsad-timings-{name}-") as tmp:
            rows += RUNS[name](Path(tmp))
    replace_section(args.results_md, HEADING, section(rows, commands))


if __name__ == "__main__":
    main()
