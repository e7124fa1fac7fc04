"""Choosing a default leave-tables-out: on three of the four fixed table groups
(benchmarks/table_groups.py), score it on the fourth, in turn.

Works on any long table of per-split results (one row per split and configuration with a
`metric` column), so the release rule and the threshold rule are chosen the same way.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from benchmarks.table_groups import GROUPS, Groups, group_of


@dataclasses.dataclass(frozen=True)
class Choice:
    """What leave-tables-out chose: per held-out group the configuration chosen on the other
    groups, the out-of-sample rows (each split scored by the configuration chosen without its
    group), and the configuration every group together would choose (the shipped default)."""

    per_group: dict[str, str]
    out_of_sample: pd.DataFrame
    in_sample: str


def _best(rows: pd.DataFrame, metric: str, higher_is_better: bool) -> str:
    """The configuration with the best mean `metric` over `rows`' splits; ties go to the
    first in sorted order, so the choice does not depend on row order."""
    means = rows.groupby("config")[metric].mean().sort_index()
    return str(means.idxmax() if higher_is_better else means.idxmin())


def leave_tables_out(
    rows: pd.DataFrame, metric: str, higher_is_better: bool = True, groups: Groups = GROUPS
) -> Choice:
    """Choose a configuration on all groups but one, score it on that one, in turn; `rows`
    holds columns split, table, config and `metric`, one row per (split, config)."""
    rows = rows.assign(group=rows.table.map(lambda t: group_of(t, groups)))
    per_group: dict[str, str] = {}
    held_out = []
    for group in groups:
        inside = rows[rows.group == group]
        if inside.empty:
            continue
        chosen = _best(rows[rows.group != group], metric, higher_is_better)
        per_group[group] = chosen
        held_out.append(inside[inside.config == chosen])
    return Choice(per_group, pd.concat(held_out), _best(rows, metric, higher_is_better))
