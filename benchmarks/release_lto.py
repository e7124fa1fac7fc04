"""The release out of sample: every release configuration (benchmarks/release_configs.py)
and threshold rule (benchmarks/threshold_configs.py) scored on the release grid's cache, each
default chosen leave-tables-out (benchmarks/leave_tables_out.py, groups in
benchmarks/table_groups.py), and what each choice scores on the group it was not chosen on.

    python -m benchmarks.release_lto --cache results-release-cache \
        --data-dir ../shared/datasets --write

The threshold rules are scored on the release chosen out of sample for each split, so the
whole chain is out of sample. Per-split rows are kept in CSVs next to `--csv` and computed
once per split; `--smoke` fills a tiny cache on the two generated tables (one group each)
and runs the chain on it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks import smoke
from benchmarks.leave_tables_out import Choice, leave_tables_out
from benchmarks.release_configs import (
    POOL,
    SplitCache,
    chosen_members,
    complete_splits,
    config_named,
    configurations,
    split_rows,
)
from benchmarks.release_grid import fill_cache, split_with_count
from benchmarks.release_lto_report import render_tables
from benchmarks.report import replace_section
from benchmarks.table_groups import GROUPS, Groups, group_of
from benchmarks.threshold_configs import feature_bins, threshold_rows
from components.selection.adbench import load_table

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Release out of sample: leave-tables-out (issue 28)"
LARGE_ROWS = 100_000
MAX_ROWS = 5000  # the grid's subsample (benchmarks/release_grid.py)


def _cached_rows(
    csv: Path, folders: list[Path], compute: Callable[[Path], list[dict[str, object]]]
) -> pd.DataFrame:
    """Rows of every folder, reusing those already in `csv` (keyed by split)."""
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["split"])
    new = [r for f in folders if f.name not in set(done.split) for r in compute(f)]
    rows = pd.concat([done, pd.DataFrame(new)], ignore_index=True) if new else done
    rows = rows.astype({"n_labels": int, "seed": int})  # a CSV read back may hold floats
    csv.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(csv, index=False)
    return rows


def release_rows(folders: list[Path], csv: Path) -> pd.DataFrame:
    """Every configuration's test AUC-PR on every split."""
    configs = configurations()
    return _cached_rows(csv, folders, lambda f: split_rows(SplitCache.load(f), configs))


def flag_rows(
    folders: list[Path], choice: Choice, data_dir: Path, csv: Path, groups: Groups
) -> pd.DataFrame:
    """Every threshold rule's test flag rate on every split's out-of-sample release."""
    tables: dict[str, tuple] = {}

    def compute(folder: Path) -> list[dict[str, object]]:
        split = SplitCache.load(folder)
        config = config_named(choice.per_group[group_of(split.table, groups)])
        if split.table not in tables:
            tables[split.table] = load_table(data_dir / f"{split.table}.parquet")
        X, y = tables[split.table]
        train = split_with_count(X, y, split.n_labels, split.seed, MAX_ROWS)
        bins = feature_bins(train.X_train, train.y_train)
        rows = threshold_rows(split, chosen_members(split, config), config.seeds, bins)
        return [{**r, "release": config.name} for r in rows]

    rows = _cached_rows(csv, folders, compute)
    current = {g: c for g, c in choice.per_group.items()}
    stale = rows[rows.table.map(lambda t: group_of(t, groups)).map(current) != rows.release]
    if not stale.empty:  # the release choice moved since these rows were computed
        csv.unlink()
        return flag_rows(folders, choice, data_dir, csv, groups)
    return rows


def large_tables(data_dir: Path, names: set[str]) -> set[str]:
    """The tables of at least LARGE_ROWS rows."""
    import pyarrow.parquet as pq

    return {n for n in names if pq.read_metadata(data_dir / f"{n}.parquet").num_rows >= LARGE_ROWS}


def render(rows: pd.DataFrame, choice: Choice, flags: pd.DataFrame, flag_choice: Choice,
           large: set[str], groups: Groups, command: str) -> str:  # fmt: skip
    """The RESULTS.md section."""
    splits = rows.drop_duplicates("split")
    seeds = sorted(splits.seed.unique().tolist())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        HEADING,
        "",
        f"{len(splits)} splits ({splits.table.nunique()} shared tables x "
        f"{', '.join(str(n) for n in sorted(splits.n_labels.unique()))} labelled anomalies x "
        f"seeds {seeds}), the release grid's cache (benchmarks/release_grid.py: ADBench split "
        f"at most {MAX_ROWS:,} rows, stratified 70/30, exactly N training anomalies labelled, "
        "the flow's own 3-fold cross-validation over the training labels only, every candidate "
        "refitted with 3 seeds). Every default of the release chain (candidates, ranking "
        "criterion, ensemble size and tolerance, seeds; then the contamination estimate, its "
        "width bound and the fallback of the threshold) is chosen on three of the four fixed "
        "table groups (benchmarks/table_groups.py) and scored on the fourth, in turn: the "
        "out-of-sample rows below never saw their own tables. The shipped default is the "
        f"choice on all four groups. Date: {when}.",
        "",
        "Commands: the cache (resumable: the grid skips what is cached), then the tables:",
        "",
        "    python -m benchmarks.release_grid --labels 5,10,20 "
        f"--seeds {','.join(map(str, seeds))} --methods {','.join(POOL)} "
        "--ensemble-seeds 3 --cache CACHE",
        f"    {command}",
        "",
        *render_tables(rows, choice, flags, flag_choice, large, groups),
    ]) + "\n"  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("results-release-cache"))
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--csv", type=Path, default=Path("results-release-lto.csv"))
    parser.add_argument("--write", action="store_true", help="replace the RESULTS.md section")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    groups, results = GROUPS, RESULTS
    if args.smoke:
        args.data_dir = smoke.smoke_dir()
        args.cache, args.csv = args.data_dir / "cache", args.data_dir / "lto.csv"
        results, args.write = args.data_dir / "RESULTS.md", True
        groups = {"A": (smoke.TABLES[0],), "B": (smoke.TABLES[1],)}
        tables = [args.data_dir / f"{t}.parquet" for t in smoke.TABLES]
        fill_cache(tables, list(POOL), [5], [0], 3, 400, args.cache)  # configs use 3 seeds
    folders = complete_splits(args.cache)
    rows = release_rows(folders, args.csv)
    choice = leave_tables_out(rows[rows.kind == "release"], "auc_pr", groups=groups)
    flags = flag_rows(folders, choice, args.data_dir, args.csv.with_suffix(".flags.csv"), groups)
    flag_choice = leave_tables_out(flags, "in_band", groups=groups)
    large = large_tables(args.data_dir, set(rows.table))
    command = (
        f"python -m benchmarks.release_lto --cache {args.cache} --data-dir {args.data_dir} --write"
    )
    section = render(rows, choice, flags, flag_choice, large, groups, command)
    print(section)
    if args.write:
        replace_section(results, HEADING, section)


if __name__ == "__main__":
    main()
