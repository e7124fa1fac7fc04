"""Every figure in the README has a source: `make lint` fails when the README's prose or
tables hold a measured number that benchmarks/RESULTS.md does not.

A figure is a number with a decimal point (0.764, 2.47x), a percentage (95 %, 11.9 %) or a
duration (59 s, 28 min), outside code blocks and inline code (commands, settings and
versions live there, and a transcript is the output of the command above it). Each must
appear in RESULTS.md with the same digits (and unit, for percentages and durations), where a
section names the command that regenerates it. A range "3.0-4.1x" is two figures. Settings
quoted in prose (a default tolerance, a port) are in ALLOWED with the reason.

    python -m benchmarks.readme_figures            # README.md against benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from benchmarks import smoke

ROOT = Path(__file__).resolve().parents[1]
# Numbers in README prose that are settings or facts of a data set, not measurements.
ALLOWED = {
    "0.05": "WSAD_RELEASE_TOLERANCE's default",
    "0.10": "the contamination cap of the threshold (components/contamination)",
    "3.11": "the Python version the project needs",
    "90 s": "the ephemeral Prefect server's start-up timeout that `wsad` sets",
}
# A decimal number (not a version such as 2.60.0), or an integer followed by a unit.
FIGURE = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*\.\d+(?!\.\d)|\d+(?:,\d{3})*(?=\s?(?:%|s\b|min\b|minutes\b)))"
    r"(\s?(?:x|%|s|min|minutes)\b|\s?%)?"
)


def prose(markdown: str) -> str:
    """The markdown without fenced code blocks, inline code, link targets and images."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def figures(markdown: str) -> list[str]:
    """The figures of `markdown`'s prose and tables, as written (number and unit)."""
    found = []
    for match in FIGURE.finditer(prose(markdown)):
        number, unit = match.group(1), (match.group(2) or "").strip()
        found.append(number + (f" {unit}" if unit in ("%", "s", "min", "minutes") else unit))
    return found


def sourced(figure: str, results: str) -> bool:
    """Whether RESULTS.md holds `figure`: its digits as a whole number, and for a
    percentage or a duration the unit after them (with or without a space)."""
    number, _, unit = figure.partition(" ")
    number = number.removesuffix("x")
    digits = rf"(?<![\d.]){re.escape(number)}(?![\d])"
    if unit:
        digits += rf"\s?{re.escape(unit)}"
    return re.search(digits, results) is not None


def unsourced(readme: str, results: str) -> list[str]:
    """The README's figures that RESULTS.md does not hold, in order, each once."""
    missing = [
        f
        for f in figures(readme)
        if f not in ALLOWED and f.removesuffix("x") not in ALLOWED and not sourced(f, results)
    ]
    return list(dict.fromkeys(missing))


def check(readme: Path, results: Path) -> int:
    """Print one line per unsourced figure; 1 if there is any."""
    missing = unsourced(readme.read_text(), results.read_text())
    for figure in missing:
        print(f"error: {readme.name}: {figure!r} is in no section of {results.name}")
    if missing:
        print(
            f"{len(missing)} figure(s) without a source: measure them with a benchmark that "
            f"writes its {results.name} section, or remove them (benchmarks/readme_figures.py)"
        )
    return 1 if missing else 0


def smoke_check() -> int:
    """The check on a generated pair: one sourced and one unsourced figure must give exactly
    the unsourced one."""
    folder = smoke.smoke_dir()
    (folder / "README.md").write_text("Mean AUC-PR 0.764, 2.47x faster; `--margin 0.5`.\n")
    (folder / "RESULTS.md").write_text("## Section\n\n`command`: 0.764\n")
    missing = unsourced((folder / "README.md").read_text(), (folder / "RESULTS.md").read_text())
    if missing != ["2.47x"]:
        print(f"error: the check found {missing}, expected ['2.47x']")
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    sys.exit(smoke_check() if args.smoke else check(args.readme, args.results))


if __name__ == "__main__":
    main()
