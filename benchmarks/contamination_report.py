"""What the contamination benchmark's raw rows say (benchmarks/contamination.py makes them):
the trust verdicts under the current rules, the per-method summary, the sweep over the
width bound, and the RESULTS.md section."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from benchmarks.report import machine, show_table
from components.selection.contamination import (
    DEFAULT_METHOD,
    ContaminationEstimate,
    contamination_for_threshold,
)
from components.selection.contamination.best_bin import SEARCH_MULTIPLICITY
from components.selection.contamination.common import MAX_SHARE
from components.selection.contamination.trust import MAX_WIDTH, SATURATED, fallback_share, judge

HEADING = "## Contamination estimators"
CONFIDENCE = 0.9
WIDTH_BOUNDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0)  # candidates for trust.MAX_WIDTH


def with_verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """The raw rows plus what the current trust rules make of each estimate: `fallback` (it
    was not trusted) and the `threshold_value` handed to the calibration. Derived here, not stored
    in the raw rows, so a change of the rules needs no new grid."""
    used = [
        contamination_for_threshold(ContaminationEstimate(r.estimate, r.low, r.high, r.method))
        for r in results.itertuples()
    ]
    return results.assign(
        fallback=[u.fallback for u in used], threshold_value=[u.value for u in used]
    )


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per method: the figures named in the module docstring."""
    results = with_verdicts(results)
    df = results.assign(
        abs_error=(results.estimate - results.truth).abs(),
        ratio=results.estimate / results.truth,
        covered=(results.low <= results.truth) & (results.truth <= results.high),
        saturated=((results.estimate >= SATURATED) | (results.high >= SATURATED))
        & (results.truth < MAX_SHARE),
        value_error=(results.threshold_value - results.truth).abs(),
        over_twice=results.threshold_value > 2 * results.truth,
    )
    return df.groupby("method", sort=False).agg(
        splits=("truth", "size"),
        median_abs_error=("abs_error", "median"),
        median_ratio=("ratio", "median"),
        coverage=("covered", "mean"),
        saturated=("saturated", "mean"),
        fallback=("fallback", "mean"),
        value_error=("value_error", "median"),
        over_twice=("over_twice", "mean"),
        median_fit_s=("fit_seconds", "median"),
        max_fit_s=("fit_seconds", "max"),
    )


def width_sweep(results: pd.DataFrame) -> pd.DataFrame:
    """For the default method: what each candidate bound on the interval's width would do to
    the fallback rate and to the share handed to the threshold calibration."""
    rows = results[results.method == DEFAULT_METHOD]
    out = []
    for bound in WIDTH_BOUNDS:
        trusted = np.array(
            [judge(r.estimate, r.low, r.high, bound)[0] for r in rows.itertuples()], dtype=bool
        )
        value = np.where(trusted, rows.estimate, [fallback_share(e) for e in rows.estimate])
        covered = (rows.low <= rows.truth) & (rows.truth <= rows.high)
        out.append(
            {
                "max_width": bound,
                "fallback": 1 - trusted.mean(),
                "coverage_trusted": covered[trusted].mean() if trusted.any() else np.nan,
                "value_error": np.median(np.abs(value - rows.truth)),
                "over_twice": np.mean(value > 2 * rows.truth),
                "under_half": np.mean(value < rows.truth / 2),
            }
        )
    return pd.DataFrame(out)


def markdown(
    results: pd.DataFrame,
    simulated: pd.DataFrame,
    timed: pd.DataFrame,
    timing_label: str,
    command: str,
    max_rows: int,
    note: str,
) -> str:
    """The RESULTS.md section: protocol, command, the per-method table and coverage by label
    count."""
    stats = summary(results)
    columns = [
        "method",
        "splits",
        "median abs error",
        "median est/truth",
        f"{CONFIDENCE:.0%} coverage",
        "saturated",
        "fallback fired",
        "threshold value abs error",
        "threshold value > 2x truth",
        "fit s median / max",
    ]
    rows = [
        [
            f"**{m}**" if m == DEFAULT_METHOD else m,
            str(int(s.splits)),
            f"{s.median_abs_error:.4f}",
            f"{s.median_ratio:.2f}",
            f"{s.coverage:.1%}",
            f"{s.saturated:.1%}",
            f"{s.fallback:.1%}",
            f"{s.value_error:.4f}",
            f"{s.over_twice:.1%}",
            f"{s.median_fit_s:.2f} / {s.max_fit_s:.2f}",
        ]
        for m, s in stats.iterrows()
    ]
    by_labels = (
        results.assign(covered=(results.low <= results.truth) & (results.truth <= results.high))
        .pivot_table(index="method", columns="n_labelled", values="covered", aggfunc="mean")
        .reindex(stats.index)
    )
    label_rows = [[str(m), *[f"{v:.1%}" for v in by_labels.loc[m]]] for m in by_labels.index]
    tables = sorted(results.dataset.unique())
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        f"Machine: {machine()}. Date: {when}. {len(tables)} tables x labelled anomalies "
        f"{sorted(results.n_labelled.unique().tolist())} x seeds "
        f"{sorted(results.seed.unique().tolist())}; ADBench split (stratified subsample to at "
        f"most {max_rows} rows, the estimator sees the 70 % training part), exactly N training "
        "anomalies labelled; truth = share of anomalies among the unlabelled training rows. "
        "Saturated: estimate or upper end >= 0.99 where the truth is below 0.5. Fallback fired: "
        "the estimate was not trusted and `contamination_for_threshold` used its fallback; "
        "threshold value = what that function hands the calibration. Fit seconds on a shared "
        "machine (one process, every estimator interleaved per split). Bold: the default. "
        "Raw rows: benchmarks/results/contamination.csv.",
        "",
        f"Command: {command}",
        "",
        *([f"**Note:** {note}", ""] if note else []),
        *show_table("contamination estimators", columns, rows),
        "",
        "Interval coverage by labelled anomalies:",
        "",
        *show_table(
            "coverage by labels",
            ["method", *[str(c) for c in by_labels.columns]],
            label_rows,
        ),
        "",
        f"Fit time of one estimate at {timing_label}, median of the runs, measured when this "
        "section was written:",
        "",
        *show_table(
            "fit time",
            ["method", "wall s", "CPU s"],
            [[str(m), f"{t.wall_s:.2f}", f"{t.cpu_s:.2f}"] for m, t in timed.iterrows()],
        ),
        "",
        f"The bound on the interval's width that `trust.judge` applies ({DEFAULT_METHOD}; bold: "
        "`MAX_WIDTH`); threshold value = the estimate when trusted, else min(estimate, "
        "`PRIOR_SHARE`):",
        "",
        *show_table(
            "width bound",
            [
                "max width",
                "fallback fired",
                "coverage when trusted",
                "threshold value abs error",
                "value > 2x truth",
                "value < truth / 2",
            ],
            [
                [
                    f"**{r.max_width:g}**" if r.max_width == MAX_WIDTH else f"{r.max_width:g}",
                    f"{r.fallback:.1%}",
                    f"{r.coverage_trusted:.1%}",
                    f"{r.value_error:.4f}",
                    f"{r.over_twice:.1%}",
                    f"{r.under_half:.1%}",
                ]
                for r in width_sweep(results).itertuples()
            ],
        ),
        "",
        f"bbe-exact's bin search on simulated pure bins (two independent scores, {CONFIDENCE:.0%} "
        f"interval; multiplicity {SEARCH_MULTIPLICITY} is the default, 1 = no adjustment):",
        "",
        *show_table(
            "pure-bin simulation",
            [
                "labelled",
                "hidden",
                "unlabelled",
                "multiplicity",
                "upper end below truth",
                "coverage",
                "median est/truth",
            ],
            [
                [
                    str(int(r.n_labelled)),
                    str(int(r.hidden)),
                    str(int(r.unlabelled)),
                    f"{r.multiplicity:g}",
                    f"{r.high_below_truth:.1%}",
                    f"{r.coverage:.1%}",
                    f"{r.median_ratio:.2f}",
                ]
                for r in simulated.itertuples()
            ],
        ),
    ]
    return "\n".join(lines) + "\n"
