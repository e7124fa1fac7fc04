"""The tables of benchmarks/release_lto.py: what leave-tables-out chose, what it scores out of
sample per labelled count against every fixed method and the hindsight best, and the flag
rate per bucket of true anomaly share; in-sample figures beside them, labelled as such."""

from __future__ import annotations

import pandas as pd

from benchmarks.leave_tables_out import Choice
from benchmarks.report import show_table
from benchmarks.table_groups import Groups

BUCKETS = ((0.0, 0.05, "under 5 %"), (0.05, 0.15, "5-15 %"), (0.15, 1.01, "over 15 %"))


def _f(x: float) -> str:
    return f"{x:.3f}"


def _by_labels(values: pd.Series, labels: pd.Series, counts: list[int]) -> list[str]:
    means = values.groupby(labels).mean()
    return [_f(means[n]) if n in means else "–" for n in counts] + [_f(values.mean())]


def hindsight(rows: pd.DataFrame, kind: str) -> pd.Series:
    """Per split, the best fixed method's test AUC-PR (`kind` "single": each fitted once,
    the mean over its single fits; "fixed": its k-seed ensembles, the best k)."""
    return rows[rows.kind == kind].groupby("split").auc_pr.max()


def quality_table(rows: pd.DataFrame, choice: Choice) -> list[list[str]]:
    """Mean test AUC-PR by labelled count: out of sample, in sample, fixed, hindsight."""
    counts = sorted(rows.n_labels.unique())
    splits = rows.drop_duplicates("split").set_index("split")
    labels = splits.n_labels
    best = hindsight(rows, "single")
    best_k = hindsight(rows, "fixed")
    oos = choice.out_of_sample.set_index("split").auc_pr
    out = [["**release, out of sample (leave-tables-out)**", *_by_labels(oos, labels, counts),
            f"{oos.mean() / best.reindex(oos.index).mean():.1%}"]]  # fmt: skip
    shares = [f"{oos[labels.reindex(oos.index) == n].mean() / best[labels == n].mean():.1%}"
              for n in counts]  # fmt: skip
    out.append(["share of hindsight, out of sample", *shares, out[0][-1], ""])
    release = rows[rows.kind == "release"]
    shipped = release[release.config == choice.in_sample].set_index("split").auc_pr
    out.append([f"release, in sample (the shipped default: {choice.in_sample})",
                *_by_labels(shipped, labels, counts),
                f"{shipped.mean() / best.mean():.1%}"])  # fmt: skip
    out.append(["hindsight best, each method fitted once", *_by_labels(best, labels, counts),
                "100.0%"])  # fmt: skip
    out.append(["hindsight best, k-seed ensembles", *_by_labels(best_k, labels, counts),
                f"{best_k.mean() / best.mean():.1%}"])  # fmt: skip
    for kind, what in (("single", "fitted once"), ("fixed", "")):
        fixed = rows[rows.kind == kind]
        for config, g in fixed.groupby("config"):
            s = g.set_index("split").auc_pr
            name = f"fixed {config}{', ' + what if what else ''}"
            out.append([name, *_by_labels(s, labels, counts), f"{s.mean() / best.mean():.1%}"])
    return out


def configs_table(rows: pd.DataFrame, choice: Choice, keep: int = 12) -> list[list[str]]:
    """In-sample mean test AUC-PR of the best `keep` configurations and of each one a group
    chose, over every split (labelled in sample: these are what the choice was made on)."""
    release = rows[rows.kind == "release"]
    means = release.groupby("config").auc_pr.mean().sort_values(ascending=False)
    named = set(choice.per_group.values()) | {choice.in_sample}
    shown = list(dict.fromkeys([*means.index[:keep], *[c for c in means.index if c in named]]))
    counts = sorted(rows.n_labels.unique())
    out = []
    for config in shown:
        g = release[release.config == config]
        s = g.set_index("split").auc_pr
        chosen_by = [grp for grp, c in choice.per_group.items() if c == config]
        mark = f" (chosen without {', '.join(chosen_by)})" if chosen_by else ""
        out.append([f"{config}{mark}", *_by_labels(s, g.set_index("split").n_labels, counts)])
    return out


def choices_table(choice: Choice, groups: Groups) -> list[list[str]]:
    """Per held-out group: its tables and the configuration chosen on the others."""
    return [[g, ", ".join(groups[g]), c] for g, c in choice.per_group.items()]


def flag_table(oos: pd.DataFrame, large: set[str]) -> list[list[str]]:
    """Share of splits whose flag rate is within [0.5x, 2x] of the true share, per bucket of
    true share and for the large tables, out of sample."""
    out = []
    ratio = oos.flag_rate / oos.test_share
    for low, high, name in BUCKETS:
        inside = (oos.test_share >= low) & (oos.test_share < high)
        if inside.any():
            r = ratio[inside]
            out.append([f"true share {name}", str(int(inside.sum())),
                        f"{((r >= 0.5) & (r <= 2)).mean():.0%}", f"{r.median():.2f}"])  # fmt: skip
    big = oos.table.isin(large)
    if big.any():
        r = ratio[big]
        out.append(["tables of 100,000 rows or more (at most 5,000 rows in the grid)",
                    str(int(big.sum())), f"{((r >= 0.5) & (r <= 2)).mean():.0%}",
                    f"{r.median():.2f}"])  # fmt: skip
    out.append(["all", str(len(oos)), f"{oos.in_band.mean():.0%}", f"{ratio.median():.2f}"])
    return out


def render_tables(
    rows: pd.DataFrame,
    choice: Choice,
    flags: pd.DataFrame,
    flag_choice: Choice,
    large: set[str],
    groups: Groups,
) -> list[str]:
    """The section's tables, in reading order."""
    counts = [f"{n} labels" for n in sorted(rows.n_labels.unique())]
    return [
        *show_table("release quality", ["", *counts, "all", "of hindsight"],
                    quality_table(rows, choice)),
        "",
        "Chosen on the other three groups (leave-tables-out), per held-out group:",
        "",
        *show_table("choices", ["held out", "tables", "configuration"],
                    choices_table(choice, groups)),
        "",
        "The configurations compared, **in sample** (mean over every split; what the choices "
        "were made on):",
        "",
        *show_table("configurations", ["configuration", *counts, "all"],
                    configs_table(rows, choice)),
        "",
        "Threshold: flag rate of the released threshold on the test rows against their true "
        "anomaly share, the rule chosen leave-tables-out (out of sample):",
        "",
        *show_table("flag rate", ["splits", "n", "flags within [0.5x, 2x]", "median flags / truth"],
                    flag_table(flag_choice.out_of_sample, large)),
        "",
        *show_table("threshold choices", ["held out", "tables", "rule"],
                    choices_table(flag_choice, groups)),
        "",
        "Threshold rules compared, **in sample** (share of splits within [0.5x, 2x]):",
        "",
        *show_table("rules", ["rule", "within [0.5x, 2x]", "median flags / truth"],
                    [[c, f"{g.in_band.mean():.0%}",
                      f"{(g.flag_rate / g.test_share).median():.2f}"]
                     for c, g in sorted(flags.groupby("config"),
                                        key=lambda kv: -kv[1].in_band.mean())][:12]),
    ]  # fmt: skip
