"""The estimate-accuracy benchmark's RESULTS.md section (benchmarks/estimate_accuracy.py):
mean absolute error, interval coverage and width per labelled count, the baselines, and the
reading against issue 29's targets."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from benchmarks.report import machine, show_table

HEADING = "## Estimated performance without new labels: accuracy out of sample (issue 29)"
QUANTITIES = ("precision", "recall", "alerts_per_10k", "auc_pr")
SHIFT = 3.0  # the shifted batch: the test rows' anomaly share times this
SOURCES = {  # cell prefix: what the training estimate's contamination (and flag rate) was
    "est_": "release's out-of-fold scores (the flow's)",
    "features_": "first estimate (feature-space scores)",
    "both_": "both searched together",
    "oracle_": "true contamination (oracle)",
    "atq_": "release's scores, read at the test flag rate (oracle)",
}
BIASED = 1.25  # a test flag rate this many times the training one: the in-sample bias


def accuracy(rows: pd.DataFrame, prefix: str, truth: str, name: str) -> tuple[float, ...]:
    """Mean absolute error, 90 % interval coverage and mean interval width of one quantity,
    over the splits where the truth is defined."""
    est, true = rows[f"{prefix}{name}"], rows[f"{truth}{name}"]
    low, high = rows[f"{prefix}{name}_low"], rows[f"{prefix}{name}_high"]
    ok = true.notna()
    covered = (low <= true) & (true <= high)
    return (
        float((est - true)[ok].abs().mean()),
        float(covered[ok].mean()),
        float((high - low)[ok].mean()),
    )


def accuracy_table(rows: pd.DataFrame, prefix: str, truth: str) -> list[list[str]]:
    """Per labelled count (and all): MAE, coverage and interval width of each quantity."""
    out = []
    groups = [(str(n), g) for n, g in rows.groupby("n_labels")] + [("all", rows)]
    for label, group in groups:
        cells = [label, str(len(group))]
        for name in QUANTITIES:
            mae, cover, width = accuracy(group, prefix, truth, name)
            digits = 0 if name == "alerts_per_10k" else 3
            cells.append(f"{mae:.{digits}f} / {cover:.0%} / {width:.{digits}f}")
        out.append(cells)
    return out


def _mae(rows: pd.DataFrame, column: str, truth: str) -> float:
    ok = rows[truth].notna()
    return float((rows[column] - rows[truth])[ok].abs().mean())


def sources_table(rows: pd.DataFrame) -> list[list[str]]:
    """The training estimate from each contamination source: the contamination's MAE against
    the unlabelled rows' true share, then MAE / coverage / width of precision, recall and
    AUC-PR against the test rows."""
    out = []
    for prefix, name in SOURCES.items():
        column = "est_contamination" if prefix == "atq_" else f"{prefix}contamination"
        cells = [name, f"{_mae(rows, column, 'oracle_contamination'):.3f}"]
        for quantity in ("precision", "recall", "auc_pr"):
            mae, cover, width = accuracy(rows, prefix, "true_", quantity)
            cells.append(f"{mae:.3f} / {cover:.0%} / {width:.3f}")
        out.append(cells)
    return out


def diagnosis_table(rows: pd.DataFrame) -> list[list[str]]:
    """Where the error comes from: splits by whether the flow's contamination estimate is
    trusted and by the threshold's in-sample bias (test flag rate over training flag rate)."""
    ratio = rows.true_alerts_per_10k / 10_000 / rows.flag_rate
    groups = [
        ("contamination trusted", rows.trusted),
        ("contamination not trusted", ~rows.trusted),
        (f"test flag rate < {BIASED:g} x training's", ratio < BIASED),
        (f"test flag rate >= {BIASED:g} x training's", ratio >= BIASED),
        ("all", pd.Series(True, index=rows.index)),
    ]
    out = []
    for name, mask in groups:
        g = rows[mask]
        out.append(
            [name, str(len(g)),
             *[f"{_mae(g, f'{p}precision', 'true_precision'):.3f}" for p in ("est_", "oracle_")],
             *[f"{_mae(g, f'{p}recall', 'true_recall'):.3f}" for p in ("est_", "atq_")],
             f"{g.recall_floor.mean():.3f}"]
        )  # fmt: skip
    return out


def naive_table(rows: pd.DataFrame) -> list[list[str]]:
    """Precision's MAE: the estimate, the naive contamination / flag rate, and the estimate
    given the true contamination (an oracle: what a perfect contamination estimate gives);
    recall's MAE beside the binomial floor of its held-out labels."""
    out = []
    for label, g in [(str(n), g) for n, g in rows.groupby("n_labels")] + [("all", rows)]:
        ok = g.true_precision.notna()
        mae = [
            (g[c] - g.true_precision)[ok].abs().mean()
            for c in ("est_precision", "naive_precision", "oracle_precision")
        ]
        recall = (g.est_recall - g.true_recall).abs().mean()
        out.append(
            [label, *[f"{v:.3f}" for v in mae], f"{g.true_precision.mean():.3f}",
             f"{recall:.3f}", f"{g.recall_floor.mean():.3f}"]
        )  # fmt: skip
    return out


def _reading(rows: pd.DataFrame) -> str:
    """The targets of issue 29 against the figures above, and why they are missed."""
    p_mae, p_cover, _ = accuracy(rows, "est_", "true_", "precision")
    r_mae, r_cover, _ = accuracy(rows, "est_", "true_", "recall")
    ok = rows.true_precision.notna()
    naive = (rows.naive_precision - rows.true_precision)[ok].abs().mean()
    oracle = (rows.oracle_precision - rows.true_precision)[ok].abs().mean()
    features = _mae(rows, "features_precision", "true_precision")
    verdict = {True: "met", False: "not met"}
    return (
        "Reading, against the targets (mean absolute error at most 0.05 for precision and "
        "recall at the threshold; 90 % intervals covering at least 85 %): coverage "
        f"{verdict[min(p_cover, r_cover) >= 0.85]} (precision {p_cover:.0%}, recall "
        f"{r_cover:.0%}); error {verdict[max(p_mae, r_mae) <= 0.05]} (precision {p_mae:.3f}, "
        f"below the naive baseline's {naive:.3f}; recall {r_mae:.3f}). Precision is pi R / q, "
        "so it inherits the contamination estimate's error: with the true contamination it "
        f"would be {oracle:.3f}; from the first, feature-space contamination estimate instead "
        f"of the release's scores, {features:.3f}. Recall is "
        "read off the n held-out labelled anomalies, and its "
        f"error is above the binomial floor of n = 5 to 20 labels ({rows.recall_floor.mean():.3f} "
        "on these splits), which no estimator from those labels alone beats, so a 0.05 "
        "target for recall is out of reach at 5 to 20 labels: the intervals are the part to "
        "read."
        + (
            f" The issue asks for 3 seeds; the cache held {rows.seed.nunique()} when this ran "
            "(the release grid fills it): rerun the command once it is complete."
            if rows.seed.nunique() < 3
            else ""
        )
    )


def render(rows: pd.DataFrame, command: str, skipped: pd.DataFrame, cost: str) -> str:
    """The RESULTS.md section; `cost` says what the run took and the machine's load."""
    per_seed = ", ".join(f"{k}: {v}" for k, v in rows.groupby("seed").split.nunique().items())
    head = ["labels", "splits", *[f"{q}: MAE / coverage / width" for q in QUANTITIES]]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    trusted = rows.trusted.mean()
    return "\n".join(
        [
            HEADING,
            "",
            f"{rows.split.nunique()} splits of the release grid's cache ({rows.table.nunique()} "
            f"tables: {', '.join(sorted(rows.table.unique()))}; splits per seed: {per_seed}). "
            "On each, the release `wsad train` makes (`plan_release` on the flow's 3-fold "
            "cross-validation, default top, tolerance and seeds; the flow's threshold), its "
            "label-free estimate (components/monitoring/performance/) from the training rows "
            "and labels only, and the truth on the held-out 30 % test rows. Intervals are "
            "90 %; coverage is the share of splits whose realised value lies inside. The "
            f"contamination estimate was trusted on {trusted:.0%} of splits. "
            + (
                f"No estimate on {len(skipped)} split(s), as the flow logs it and goes on: "
                + "; ".join(f"{r.split}: {r.no_estimate}" for r in skipped.itertuples())
                + ". "
                if len(skipped)
                else ""
            )
            + f"Machine: {machine()}; {cost}. Date: {when}.",
            "",
            f"Command: `{command}`",
            "",
            "Training estimate against the test rows (mean absolute error / 90 % interval "
            "coverage / mean interval width; alerts in alerts per 10,000 rows):",
            "",
            *show_table("training estimate", head, accuracy_table(rows, "est_", "true_")),
            "",
            "The same training estimate from each contamination source (the contamination's "
            "mean absolute error against the unlabelled rows' true share, then mean absolute "
            "error / coverage / width against the test rows); the last row keeps the flow's "
            "contamination but reads the curves at the test rows' own flag rate instead of the "
            "training rows' (the threshold is calibrated on rows the model was fitted on, which "
            "it scores lower than new rows):",
            "",
            *show_table(
                "sources",
                [
                    "contamination",
                    "contamination MAE",
                    *[f"{q}: MAE / coverage / width" for q in ("precision", "recall", "auc_pr")],
                ],
                sources_table(rows),
            ),  # fmt: skip
            "",
            "Where the error comes from (mean absolute errors of the flow's estimate; beside "
            "precision's, the same with the true contamination; beside recall's, the same read "
            "at the test flag rate, and the binomial floor of the n held-out labels):",
            "",
            *show_table(
                "diagnosis",
                [
                    "splits",
                    "n",
                    "precision",
                    "precision, true contamination",
                    "recall",
                    "recall at the test flag rate",
                    "recall: binomial floor",
                ],
                diagnosis_table(rows),
            ),  # fmt: skip
            "",
            "Precision at the threshold, mean absolute error: the estimate, the naive "
            "baseline min(1, contamination / flag rate), and the estimate given the true "
            "contamination (an oracle no run has: what a perfect contamination estimate would "
            "give), with the mean realised precision; recall's mean absolute error beside its "
            "binomial floor, E|k/n - R| for n held-out labelled anomalies of true recall R (what "
            "reading recall off n labels costs even when everything else is exact):",
            "",
            *show_table(
                "baselines",
                [
                    "labels",
                    "precision: estimate",
                    "naive",
                    "true contamination (oracle)",
                    "realised mean",
                    "recall: estimate",
                    "binomial floor",
                ],
                naive_table(rows),
            ),  # fmt: skip
            "",
            "Batch estimate (`estimate_batch`) on the test rows scored as a batch (the naive "
            "baseline min(1, contamination / the batch's flag rate) has precision MAE "
            f"{_mae(rows, 'batch_naive_precision', 'true_precision'):.3f}):",
            "",
            *show_table("batch", head, accuracy_table(rows, "batch_", "true_")),
            "",
            f"Batch estimate on the test rows with their anomaly share times {SHIFT:g} (normal "
            "rows dropped at random: the shift the batch model assumes); "
            f"{rows.moved_flags_training.mean():.0%} of these batches were flagged as moved "
            "out of the training interval:",
            "",
            *show_table("shifted batch", head, accuracy_table(rows, "moved_", "moved_true_")),
            "",
            _reading(rows),
            "",
        ]
    )
