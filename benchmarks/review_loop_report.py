"""The simulated analyst's section of RESULTS.md and its plot, from benchmarks/review_loop.py's
rows: AUC-PR per round and strategy, the queue's margins over the baselines with their seed
spread, and the anomalies each strategy put in front of the analyst (what Deep SAD, DevNet
and the classifiers learn from: none of the released members' fits moves with a dismissal).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.report import machine
from components.review.queue import DEFAULT_UNCERTAIN_SHARE

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


def _found(results: pd.DataFrame, strategy: str, rounds: int) -> float:
    """Mean labelled anomalies after `rounds` rounds (the 5 starting ones included)."""
    last = results[(results["round"] == rounds) & (results["strategy"] == strategy)]
    return float(last["anomalies_labelled"].mean())


# How each method learns from a labelled anomaly, for the reading.
_LEARNS = {
    "deepsad": "Deep SAD pushes it away from its centre",
    "catboost": "catboost learns it as the positive class",
    "devnet": "DevNet pushes its deviation score up",
}


def _reading(results: pd.DataFrame, default: str, rounds: int, methods: list[str]) -> str:
    """Why the margins are what they are: the released members learn from the anomalies a
    round finds, not from its dismissals."""
    found = {s: _found(results, s, rounds) for s in ("random", "top", default)}
    diff = margins(results, default, rounds)
    n = len(diff)
    how = "; ".join(_LEARNS[m] for m in methods if m in _LEARNS)
    unmeasured = (
        "; catboost, released with Deep SAD most often, also learns only from the anomalies "
        "found, but its margin is not measured here"
        if "catboost" not in methods
        else ""
    )
    return (
        "Reading: what a round of verdicts gives the released members is the anomalies it "
        "finds. None of the candidates fits differently with a dismissed row: Deep SAD's term "
        "for a labelled normal equals an unlabelled row's at its default eta = 1; catboost "
        "already counts every unlabelled row as the negative class; DevNet and PReNet train "
        "dismissals as unlabelled; iforest reads no labels. Dismissals move the "
        "contamination estimate and the threshold, which AUC-PR does not read, and keep the "
        f"row out of later queues. After {rounds} rounds random review has labelled "
        f"{found['random']:.1f} anomalies on average (5 at the start), the top of the scores "
        f"{found['top']:.1f} and {default} {found[default]:.1f}. Each one reshapes the "
        f"ranking ({how}), and the queue is ahead of random review on "
        f"{int((diff['random'] > 0).sum())} of {n} seeds; DevNet gained far less from more "
        "anomalies of the kinds it already ranks first (its section), hence its narrow, "
        "seed-dependent margin there. Against the top of the scores, which finds as many "
        f"anomalies, the uncertain share leads on {int((diff['top'] > 0).sum())} of {n} seeds. "
        "At 1,000 rows thyroid and mammography hold about 17 and 16 training anomalies, so "
        "every queue has labelled nearly all of them within two rounds and differs there only "
        "in its order. Not measured: the flow's own choice of members in every round "
        "(cross-validating the candidates, then the best one or two at three seeds), about "
        "twenty fits per round where this runs one ensemble, beyond this shared machine in "
        f"the time given{unmeasured}."
    )


def _spread_note(results: pd.DataFrame, default: str, rounds: int) -> list[str]:
    """The rule that was tried and dropped, when its rows are in the results."""
    tried = sorted(s for s in set(results["strategy"]) if s.startswith("spread@"))
    if not tried:
        return []
    spread = tried[0]
    diff = margins(results, spread, rounds)["top"]
    return [
        f"`{spread}`, tried and dropped (commit 18a4538, `--rules queue spread`): each part of "
        "the queue drawn from 3x as many of its best rows by greedy farthest-point selection, "
        "away from the rows already picked and those with a verdict (batch active learning's "
        "diversity), on the guess from DevNet's rows that the queue's anomalies were "
        f"near-duplicates. It labelled fewer anomalies ({_found(results, spread, rounds):.1f} "
        f"vs {_found(results, default, rounds):.1f}) and ended {diff.mean():+.3f} ± "
        f"{diff.std():.3f} against top-only ({int((diff < 0).sum())} of {len(diff)} seeds "
        "behind): for these members an anomaly like the known ones still pays, and a row "
        "picked for being far from them is less often an anomaly. The queue keeps its plain "
        "order.",
        "",
    ]


def report(
    results: pd.DataFrame,
    strategies: list[str],
    rounds: int,
    detector: str,
    command: str,
    plot_name: str,
    note: str = "",
    methods: tuple[str, ...] = (),
) -> str:
    """The markdown section for one detector: per round, margins, per table. The default share
    is the best queue with less than half uncertain rows: most of the queue comes from the top
    of the scores (issue 17)."""
    queues = [s for s in strategies if s not in BASELINES]
    last = results[results["round"] == rounds].groupby("strategy")["auc_pr"].mean()
    shares = [s for s in queues if s.startswith("queue@")]
    eligible = [s for s in shares if float(s.removeprefix("queue@")) < 0.5] or shares
    best = max(eligible, key=lambda s: last[s])
    chosen = margins(results, best, rounds)
    n_seeds = len(chosen)
    return "\n".join(
        [
            f"## Review queue: a simulated analyst, {detector} (`benchmarks/review_loop.py`)",
            "",
            f"Machine: {machine()}. Command: `{command}`. Raw rows: "
            f"benchmarks/results/{plot_name}.csv. {note}".rstrip(),
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
            f"Best share below one half (most of the queue comes from the top of the scores), "
            f"`components.review.queue.DEFAULT_UNCERTAIN_SHARE` = {DEFAULT_UNCERTAIN_SHARE:g}: "
            f"**{best}**. After {rounds} rounds it beats top-scored-only by "
            f"{chosen['top'].mean():+.3f} ± {chosen['top'].std():.3f} "
            f"({int((chosen['top'] > 0).sum())} of {n_seeds} seeds) and random review by "
            f"{chosen['random'].mean():+.3f} ± {chosen['random'].std():.3f} "
            f"({int((chosen['random'] > 0).sum())} of {n_seeds} seeds); random labelled "
            f"anomalies (a reference no analyst can run) are {-chosen['anomalies'].mean():+.3f} "
            "ahead of it.",
            "",
            _reading(results, best, rounds, list(methods)),
            "",
            *_spread_note(results, best, rounds),
            f"Per table at round {rounds}: AUC-PR, mean over seeds (labelled anomalies by then, "
            "5 at the start):",
            "",
            *_per_table(results, strategies, rounds),
            "",
            f"![AUC-PR per review round, {detector}](results/{plot_name}.png)",
            "",
        ]
    )
