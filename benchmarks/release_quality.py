"""Release quality: what `wsad train` would release on each split, scored on held-out rows,
against every fixed candidate and the best one in hindsight.

Reads the cache that `benchmarks/release_grid.py` writes (the flow's cross-validation of
every candidate over the training labels, and each candidate's test and train scores for
seeds 0..k-1). The release is `components.selection.ensemble_plan.plan_release` on that
cross-validation, exactly as the flow calls it; its test score is the rank ensemble's (the
normalisation of `RankEnsemble`, computed from the cached member scores, so nothing is refitted);
its threshold is the flow's: the quantile at `contamination_for_threshold`'s share of the
training rows without a label.

    python -m benchmarks.release_quality --cache results-release-cache --write
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks import smoke
from benchmarks.release_grid import SMOKE_METHODS, fill_cache
from benchmarks.report import replace_section, show_table
from benchmarks.trees_report import ADGYM, ADGYM_COUNTS
from components.detectors.ensemble import rank_normalise, score_quantiles
from components.selection.calibration import calibrate_threshold
from components.selection.defaults import (
    DEFAULT_CANDIDATES,
    DEFAULT_SEEDS,
    DEFAULT_TOLERANCE,
    DEFAULT_TOP,
)
from components.selection.ensemble_plan import members, plan_release
from components.selection.evaluation import SelectionResult, pu_average_precision, pu_roc_auc

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Release quality: `wsad train`'s selection vs hindsight (issue 15)"
OVER = 2.0  # a threshold that flags more than OVER x the true anomaly share is reported


@dataclass
class Cached:
    """One candidate on one split, as the grid left it."""

    cv: SelectionResult
    test: np.ndarray  # (seeds, n_test)
    train: np.ndarray  # (seeds, n_train)


def _selection(method: str, z: np.lib.npyio.NpzFile, contamination: float) -> SelectionResult:
    """The cached cross-validation as the flow's `SelectionResult` (per-fold PU metrics)."""
    scores, y, folds = z["cv_scores"].astype(np.float64), z["cv_y"], z["cv_fold"]
    records = []
    for f in np.unique(folds):
        s, y_f = scores[folds == f], y[folds == f]
        records.append(
            {
                "fold": int(f),
                "n_test": len(s),
                "labelled_test": int(y_f.sum()),
                "n_train": 0,  # not cached; nothing here reads these three
                "labelled_train": 0,
                "recall_at_threshold": float("nan"),
                "auc_pr": pu_average_precision(s, y_f, contamination),
                "auc_roc": pu_roc_auc(s, y_f, contamination),
                "auc_pr_uncorrected": float(average_precision_score(y_f, s)),
                "auc_roc_uncorrected": float(roc_auc_score(y_f, s)),
            }
        )
    return SelectionResult(
        method=method,
        params={},
        auc_pr=float(np.mean([r["auc_pr"] for r in records])),
        auc_pr_std=float(np.std([r["auc_pr"] for r in records])),
        auc_roc=float(np.mean([r["auc_roc"] for r in records])),
        recall_at_threshold=float("nan"),
        held_out_scores=scores,
        held_out_y=y,
        held_out_rows=np.arange(len(y)),  # every method of a split shares the grid's folds
        folds=records,
    )


def _normalised(c: Cached, seeds: int, unlabelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A method's k-seed score on the test and the training rows, as RankEnsemble computes."""
    q = [score_quantiles(c.train[i][unlabelled]) for i in range(seeds)]
    test = np.mean([rank_normalise(c.test[i], q[i]) for i in range(seeds)], axis=0)
    train = np.mean([rank_normalise(c.train[i], q[i]) for i in range(seeds)], axis=0)
    return test, train


def release_name(top: int, tolerance: float) -> str:
    """A release rule in a table: its top, and its tolerance where one applies (< 1)."""
    return f"top{top}" if top == 1 or tolerance >= 1 else f"top{top} within {tolerance:g}"


def split_rows(
    folder: Path, methods: list[str], rules: list[tuple[int, float]], seeds: list[int]
) -> list[dict[str, object]]:
    """Every fixed method (each seed alone, and k-seed ensembles) and every (top, tolerance,
    k) release on one split."""
    facts = json.loads((folder / "contamination.json").read_text())
    labels = np.load(folder / "split.npz")
    y_test, unlabelled = labels["y_test"], labels["y_train"] == 0
    share = facts["share"]
    cached = {}
    for m in methods:
        z = np.load(folder / f"{m}.npz")
        cached[m] = Cached(_selection(m, z, share), z["test_scores"], z["train_scores"])
    table, n, seed = folder.name.rsplit("-", 2)
    base = {
        "split": folder.name,
        "table": table,
        "n_labels": int(n[1:]),
        "seed": int(seed[1:]),
        "test_share": facts["test_share"],
        "fallback": facts["fallback"],
    }
    rows: list[dict[str, object]] = []
    for m, c in cached.items():
        single = [average_precision_score(y_test, s) for s in c.test]
        rows.append({**base, "kind": "seed", "release": m, "auc_pr": float(np.mean(single)),
                     "seed_std": float(np.std(single))})  # fmt: skip
    for k in seeds:
        normed = {m: _normalised(c, k, unlabelled) for m, c in cached.items()}
        for m in methods:
            rows.append({**base, "kind": "fixed", "release": m, "n_seeds": k,
                         "auc_pr": average_precision_score(y_test, normed[m][0])})  # fmt: skip
        for top, tolerance in rules:
            cvs = [cached[m].cv for m in methods]
            plan = plan_release(cvs, share, top=top, n_seeds=k, tolerance=tolerance)
            chosen = [m for m, _ in members(plan.selection.method, plan.selection.params)]
            test = np.mean([normed[m][0] for m in chosen], axis=0)
            train = np.mean([normed[m][1] for m in chosen], axis=0)
            threshold = calibrate_threshold(train[unlabelled], "quantile", share)
            rows.append({**base, "kind": "release", "release": release_name(top, tolerance),
                         "n_seeds": k,
                         "members": "+".join(chosen),
                         "auc_pr": average_precision_score(y_test, test),
                         "flag_rate": float(threshold.flag(test).mean())})  # fmt: skip
    return rows


def _f(x: float) -> str:
    return f"{x:.3f}"


def quality_table(rows: pd.DataFrame, default: tuple[str, int]) -> list[list[str]]:
    """Mean test AUC-PR by labelled count: releases, fixed methods, hindsight best."""
    fixed = rows[rows.kind == "fixed"]
    labels = sorted(rows.n_labels.unique())
    out = []
    hindsight = fixed.groupby(["split", "n_seeds", "n_labels"]).auc_pr.max().reset_index()
    rel = rows[rows.kind == "release"]
    for (release, k), group in rel.groupby(["release", "n_seeds"]):
        name = f"release {release}, {k} seed(s)"
        if (release, k) == default:
            name = f"**{name} (default)**"
        means = group.groupby("n_labels").auc_pr.mean()
        best = hindsight[hindsight.n_seeds == k].auc_pr.mean()
        out.append([name, *[_f(means[n]) for n in labels], _f(group.auc_pr.mean()),
                    f"{group.auc_pr.mean() / best:.1%}"])  # fmt: skip
    for k, group in hindsight.groupby("n_seeds"):
        means = group.groupby("n_labels").auc_pr.mean()
        out.append([f"hindsight best, {k} seed(s)", *[_f(means[n]) for n in labels],
                    _f(group.auc_pr.mean()), "100.0%"])  # fmt: skip
    for (m, k), group in fixed.groupby(["release", "n_seeds"]):
        means = group.groupby("n_labels").auc_pr.mean()
        best = hindsight[hindsight.n_seeds == k].auc_pr.mean()
        out.append([f"fixed {m}, {k} seed(s)", *[_f(means[n]) for n in labels],
                    _f(group.auc_pr.mean()), f"{group.auc_pr.mean() / best:.1%}"])  # fmt: skip
    for m, means in ADGYM.items():
        cells = [_f(means[ADGYM_COUNTS.index(n)]) if n in ADGYM_COUNTS else "–" for n in labels]
        out.append([f"ADGym (published) {m}", *cells, "–", "–"])
    return out


def below_floor(rows: pd.DataFrame, default: tuple[str, int]) -> str:
    """How often the default release scores below IsolationForest, and far below hindsight."""
    name, k = default
    rel = rows[(rows.kind == "release") & (rows.release == name) & (rows.n_seeds == k)]
    fixed = rows[(rows.kind == "fixed") & (rows.n_seeds == k)]
    floor = fixed[fixed.release == "iforest"].set_index("split").auc_pr
    best = fixed.groupby("split").auc_pr.max()
    ours = rel.set_index("split").auc_pr
    below = int((ours < floor.reindex(ours.index)).sum())
    far = int((ours < 0.8 * best.reindex(ours.index)).sum())
    return (
        f"The default release scored below IsolationForest ({k} seeds) on {below} of "
        f"{len(ours)} splits, and below 80 % of the hindsight best on {far}."
    )


def flag_table(rows: pd.DataFrame) -> list[list[str]]:
    """How far each release's flag rate is from the true anomaly share of the test rows."""
    rel = rows[rows.kind == "release"]
    out = []
    for (release, k), g in rel.groupby(["release", "n_seeds"]):
        ratio = g.flag_rate / g.test_share
        out.append([f"{release}, {k} seed(s)", f"{(ratio > OVER).mean():.1%}",
                    f"{(ratio < 1 / OVER).mean():.1%}", f"{ratio.median():.2f}",
                    f"{g.flag_rate.max():.3f}"])  # fmt: skip
    return out


def seed_table(rows: pd.DataFrame, k: int) -> list[list[str]]:
    """Per method: the spread of test AUC-PR across single seeds, and what k seeds add."""
    single = rows[rows.kind == "seed"].set_index(["split", "release"])
    ens = rows[(rows.kind == "fixed") & (rows.n_seeds == k)].set_index(["split", "release"])
    out = []
    for m in sorted(single.index.get_level_values("release").unique()):
        s, e = single.xs(m, level="release"), ens.xs(m, level="release")
        gain = (e.auc_pr - s.auc_pr).dropna()
        out.append([m, _f(s.seed_std.mean()), _f(s.seed_std.max()), _f(s.auc_pr.mean()),
                    _f(e.auc_pr.mean()), f"{gain.mean():+.3f}",
                    f"{(gain > 0).mean():.0%}"])  # fmt: skip
    return out


def render(rows: pd.DataFrame, command: str, methods: list[str], default: tuple[str, int]) -> str:
    """The RESULTS.md section."""
    labels = [str(n) for n in sorted(rows.n_labels.unique())]
    splits = rows.split.nunique()
    seeds = sorted(rows.seed.unique().tolist())
    per_seed = ", ".join(f"{k}: {v}" for k, v in rows.groupby("seed").split.nunique().items())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    _, k = default
    lines = [
        HEADING,
        "",
        f"{splits} splits ({rows.table.nunique()} shared tables x {', '.join(labels)} labelled "
        f"anomalies x seeds {seeds}; splits per seed: {per_seed}). Candidates: "
        f"{', '.join(methods)}. ADBench split: stratified subsample to at most 5,000 rows, "
        "stratified 70/30, exactly N training anomalies labelled, min-max scaling fitted on "
        "train. Release = `plan_release` on the flow's own 3-fold cross-validation over the "
        "training labels only (rank by held-out labelled-vs-unlabelled AUC-ROC; rank-average "
        "the leader and those of the next top - 1 within the tolerance of its AUC-ROC, each a "
        "k-seed `RankEnsemble`; `topN` alone: no tolerance); hindsight best = the best fixed "
        "method on each split's test rows, at the same k. Test AUC-PR on the held-out 30 %. "
        "ADGym's published means (31 ADBench tables, its own splits and hyperparameters, "
        "not these 14 tables) are listed for scale only. **In sample**: the defaults were "
        'chosen on these same splits; the out-of-sample figures are in "Release out of '
        'sample" (benchmarks/release_lto.py). '
        f"Date: {when}.",
        "",
        f"Command: `{command}`",
        "",
        *show_table(
            "release quality",
            ["configuration", *[f"{n} labels" for n in labels], "all", "of hindsight"],
            quality_table(rows, default),
        ),
        "",
        below_floor(rows, default),
        "",
        f"Flag rate of the released threshold against the true anomaly share of the test rows "
        f"(the flow's quantile at `contamination_for_threshold`'s share; the fallback fired on "
        f"{rows.groupby('split').fallback.first().mean():.0%} of splits):",
        "",
        *show_table(
            "flag rate",
            [
                "release",
                f"flags > {OVER:g}x truth",
                f"flags < truth / {OVER:g}",
                "median flags / truth",
                "max flag rate",
            ],
            flag_table(rows),
        ),  # fmt: skip
        "",
        f"Seed variance: test AUC-PR of each seed alone (std over seeds 0..{k - 1} per split, "
        f"mean and max over splits), and of the {k}-seed rank ensemble:",
        "",
        *show_table(
            "seed variance",
            [
                "method",
                "seed std (mean)",
                "seed std (max)",
                "one seed",
                f"{k} seeds",
                "gain",
                "splits gained",
            ],
            seed_table(rows, k),
        ),  # fmt: skip
        "",
        f"Defaults: `release_top={DEFAULT_TOP}`, `release_tolerance={DEFAULT_TOLERANCE}`, "
        f"`ensemble_seeds={k}` (components/selection/defaults.py).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("results-release-cache"))
    parser.add_argument("--methods", default=",".join(DEFAULT_CANDIDATES))
    parser.add_argument("--tops", default="1,2,3")
    parser.add_argument(
        "--tolerances", default=f"{DEFAULT_TOLERANCE},1", help="1 = the top members, always"
    )
    parser.add_argument("--seeds", default="1,3")
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/results/release.csv"))
    parser.add_argument("--write", action="store_true", help="replace the RESULTS.md section")
    parser.add_argument("--command", default="", help="the commands that made the cache")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP + " (fills a cache first)")
    args = parser.parse_args()
    results_md = RESULTS
    if args.smoke:
        folder = smoke.smoke_dir()
        args.cache, args.csv, results_md = (
            folder / "cache",
            folder / "release.csv",
            folder / "RESULTS.md",
        )
        args.methods, args.seeds, args.write = SMOKE_METHODS, f"1,{DEFAULT_SEEDS}", True
        tables = [folder / f"{smoke.TABLES[0]}.parquet"]
        fill_cache(tables, SMOKE_METHODS.split(","), [5, 10], [0], DEFAULT_SEEDS, 400, args.cache)
    methods = args.methods.split(",")
    tops = [int(t) for t in args.tops.split(",")]
    tolerances = [float(t) for t in args.tolerances.split(",")]
    rules = list(dict.fromkeys((t, 1.0 if t == 1 else tol) for t in tops for tol in tolerances))
    seeds = [int(s) for s in args.seeds.split(",")]
    folders = [f for f in sorted(args.cache.iterdir()) if f.is_dir()]
    complete = [f for f in folders if all((f / f"{m}.npz").exists() for m in methods)]
    rows = pd.DataFrame([r for f in complete for r in split_rows(f, methods, rules, seeds)])
    rows["n_seeds"] = rows["n_seeds"].astype("Int64")  # NaN on the single-seed rows
    rows.to_csv(args.csv, index=False)
    default = (release_name(DEFAULT_TOP, DEFAULT_TOLERANCE), DEFAULT_SEEDS)
    own = f"python -m benchmarks.release_quality --cache {args.cache} --write"
    command = f"{args.command} && {own}" if args.command else own
    section = render(rows, command, methods, default)
    if args.write:
        replace_section(results_md, HEADING, section)


if __name__ == "__main__":
    main()
