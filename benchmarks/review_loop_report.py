"""The simulated analyst's section of RESULTS.md and its plot, from benchmarks/review_loop.py's
rows: AUC-PR per round and strategy, the queue's margins over the baselines with their seed
spread, and the anomalies each strategy put in front of the analyst (what Deep SAD, DevNet
and the classifiers learn from: none of the released members' fits moves with a dismissal).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.report import machine

BASELINES = ("top", "random", "anomalies")


def margins(results: pd.DataFrame, queue: str, rounds: int) -> pd.DataFrame:
    """Per seed: the mean over tables of (queue - each baseline) at the last round."""
    last = results[results["round"] == rounds]
    per_seed = last.pivot_table(index="seed", columns="strategy", values="auc_pr", aggfunc="mean")
    return pd.DataFrame({other: per_seed[queue] - per_seed[other] for other in BASELINES})


def plot(results: pd.DataFrame, strategies: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = results.groupby(["strategy", "round"])["auc_pr"].mean().unstack("strategy")
    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy in strategies:
        style = "--" if strategy in BASELINES else "-"
        ax.plot(mean.index, mean[strategy], style, marker="o", label=strategy)
    ax.set(xlabel="review round (20 verdicts each)", ylabel="test AUC-PR (mean over tables, seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _per_round(results: pd.DataFrame, strategies: list[str]) -> list[str]:
    mean = results.groupby(["strategy", "round"])["auc_pr"].mean().unstack("round")
    per_seed = results.groupby(["strategy", "round", "seed"])["auc_pr"].mean()
    spread = per_seed.groupby(["strategy", "round"]).std().unstack("round")
    lines = [
        "| strategy | " + " | ".join(f"round {r}" for r in mean.columns) + " |",
        "|---" * (len(mean.columns) + 1) + "|",
    ]
    for strategy in strategies:
        cells = [
            f"{mean.loc[strategy, r]:.3f} ± {spread.loc[strategy, r]:.3f}" for r in mean.columns
        ]
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return lines


def _margins(results: pd.DataFrame, queues: list[str], rounds: int) -> list[str]:
    lines = [
        "| queue | "
        + " | ".join(f"vs {other}" for other in BASELINES)
        + " | seeds ahead of random |",
        "|---" * (len(BASELINES) + 2) + "|",
    ]
    for queue in queues:
        diff = margins(results, queue, rounds)
        cells = []
        for other in BASELINES:
            per_seed = ", ".join(f"{v:+.3f}" for v in diff[other])
            cells.append(f"{diff[other].mean():+.3f} ± {diff[other].std():.3f} ({per_seed})")
        ahead = f"{int((diff['random'] > 0).sum())} of {len(diff)}"
        lines.append(f"| {queue} | " + " | ".join(cells) + f" | {ahead} |")
    return lines


def _per_table(results: pd.DataFrame, strategies: list[str], rounds: int) -> list[str]:
    last = results[results["round"] == rounds]
    auc = last.pivot_table(index="dataset", columns="strategy", values="auc_pr")
    found = last.pivot_table(index="dataset", columns="strategy", values="anomalies_labelled")
    lines = [
        "| dataset | " + " | ".join(strategies) + " |",
        "|---" * (len(strategies) + 1) + "|",
    ]
    for name in auc.index:
        cells = [f"{auc.loc[name, s]:.3f} ({found.loc[name, s]:.0f})" for s in strategies]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def report(
    results: pd.DataFrame,
    strategies: list[str],
    rounds: int,
    detector: str,
    command: str,
    plot_name: str,
) -> str:
    """The markdown section for one detector: per round, margins, per table."""
    queues = [s for s in strategies if s not in BASELINES]
    last = results[results["round"] == rounds].groupby("strategy")["auc_pr"].mean()
    best = max(queues, key=lambda s: last[s])
    chosen = margins(results, best, rounds)
    n_seeds = len(chosen)
    return "\n".join(
        [
            f"## Review queue: a simulated analyst, {detector} (`benchmarks/review_loop.py`)",
            "",
            f"Machine: {machine()}. Command: `{command}`. Raw rows: "
            f"benchmarks/results/{plot_name}.csv.",
            "",
            f"Tables: {', '.join(sorted(results['dataset'].unique()))}; seeds "
            f"{', '.join(str(s) for s in sorted(results['seed'].unique()))}. Detector: 3-seed "
            f"rank ensemble of {detector}, refitted on every round's verdicts. Test AUC-PR, "
            "mean over tables and seeds (± std over seeds of the per-seed mean over tables):",
            "",
            *_per_round(results, strategies),
            "",
            f"Margins at round {rounds}, mean ± std over seeds (each seed's margin is the mean "
            "over tables), then the per-seed values:",
            "",
            *_margins(results, queues, rounds),
            "",
            f"Best queue after {rounds} rounds: **{best}**. It beats top-scored-only by "
            f"{chosen['top'].mean():+.3f} ± {chosen['top'].std():.3f} "
            f"({int((chosen['top'] > 0).sum())} of {n_seeds} seeds) and random review by "
            f"{chosen['random'].mean():+.3f} ± {chosen['random'].std():.3f} "
            f"({int((chosen['random'] > 0).sum())} of {n_seeds} seeds); random labelled "
            f"anomalies (a reference no analyst can run) are {-chosen['anomalies'].mean():+.3f} "
            "ahead of it.",
            "",
            f"Per table at round {rounds}: AUC-PR, mean over seeds (labelled anomalies by then, "
            "5 at the start):",
            "",
            *_per_table(results, strategies, rounds),
            "",
            f"![AUC-PR per review round, {detector}](results/{plot_name}.png)",
            "",
        ]
    )
