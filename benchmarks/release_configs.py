"""Every release configuration scored on one split of the release grid's cache, without
refitting: which candidates, how they are ranked, how many join the ensemble, how many seeds.

A configuration is a function of the cross-validation over the training labels only (what
`wsad train` sees); its test AUC-PR and the rank-ensemble scores behind it come from the cached
member scores (benchmarks/release_grid.py writes them, benchmarks/release_quality.py reads
them the same way). benchmarks/release_lto.py chooses among these leave-tables-out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from benchmarks.release_quality import Cached, _normalised, _selection
from components.selection.ensemble_plan import members, plan_release

# The pool every configuration draws its candidates from (the grid's methods).
POOL = ("devnet", "prenet", "deepsad", "iforest", "supervised", "catboost")
CANDIDATE_SETS = {
    "5 (no supervised)": ("devnet", "prenet", "deepsad", "iforest", "catboost"),
    "all 6": POOL,
    "4 (no iforest, no supervised)": ("devnet", "prenet", "deepsad", "catboost"),
    "3 (prenet, deepsad, catboost)": ("prenet", "deepsad", "catboost"),
}
CRITERIA = ("auc_roc", "auc_pr", "plain_auc_pr")
TOPS = (1, 2, 3)
TOLERANCES = (0.02, 0.05, 0.1, 1.0)  # 1.0: the top members always
SEEDS = (1, 3)


@dataclasses.dataclass(frozen=True)
class Config:
    """One way to turn the cross-validation into a release."""

    candidates: str  # a key of CANDIDATE_SETS
    criterion: str  # how candidates are ranked (components/selection/ensemble_plan.py `rank`)
    top: int
    tolerance: float
    seeds: int

    @property
    def name(self) -> str:
        rule = (
            f"top{self.top}"
            if self.top == 1 or self.tolerance >= 1
            else (f"top{self.top} within {self.tolerance:g}")
        )
        return f"{rule}, by {self.criterion}, {self.seeds} seed(s), candidates {self.candidates}"


def configurations() -> list[Config]:
    """The grid of configurations compared (top 1 has no tolerance)."""
    out = []
    for cands in CANDIDATE_SETS:
        for criterion in CRITERIA:
            for top in TOPS:
                for tol in (1.0,) if top == 1 else TOLERANCES:
                    out += [Config(cands, criterion, top, tol, k) for k in SEEDS]
    return out


def config_named(name: str) -> Config:
    """The configuration whose `name` this is."""
    for config in configurations():
        if config.name == name:
            return config
    raise KeyError(f"no release configuration named {name!r}")


@dataclasses.dataclass
class SplitCache:
    """One split of the grid: labels, the contamination the flow used, every method."""

    name: str
    table: str
    n_labels: int
    seed: int
    y_train: np.ndarray
    y_test: np.ndarray
    share: float
    facts: dict[str, float]
    methods: dict[str, Cached]

    @classmethod
    def load(cls, folder: Path, methods: Iterable[str] = POOL) -> SplitCache:
        facts = json.loads((folder / "contamination.json").read_text())
        labels = np.load(folder / "split.npz")
        share = float(facts["share"])
        cached = {}
        for m in methods:
            z = np.load(folder / f"{m}.npz")
            cached[m] = Cached(_selection(m, z, share), z["test_scores"], z["train_scores"])
        table, n, seed = folder.name.rsplit("-", 2)
        return cls(folder.name, table, int(n[1:]), int(seed[1:]), labels["y_train"],
                   labels["y_test"], share, facts, cached)  # fmt: skip

    @property
    def unlabelled(self) -> np.ndarray:
        return self.y_train == 0


def complete_splits(cache: Path, methods: Iterable[str] = POOL) -> list[Path]:
    """The split folders of `cache` that hold every method (or its recorded skip)."""
    names = tuple(methods)
    return [
        f
        for f in sorted(cache.iterdir())
        if f.is_dir() and (f / "contamination.json").exists()
        and all((f / f"{m}.npz").exists() for m in names)
    ]  # fmt: skip


def chosen_members(split: SplitCache, config: Config) -> list[str]:
    """The methods `config` releases on `split`, from its cross-validation alone."""
    results = [split.methods[m].cv for m in CANDIDATE_SETS[config.candidates]]
    plan = plan_release(
        results,
        split.share,
        top=config.top,
        n_seeds=config.seeds,
        tolerance=config.tolerance,
        criterion=config.criterion,
    )
    return [m for m, _ in members(plan.selection.method, plan.selection.params)]


class SplitScores:
    """Rank-normalised k-seed scores per method on one split, computed once and shared by
    every configuration that releases the method."""

    def __init__(self, split: SplitCache) -> None:
        self.split = split
        self._memo: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def method(self, name: str, seeds: int) -> tuple[np.ndarray, np.ndarray]:
        """(test, train) scores of `name` averaged over its first `seeds` seeds."""
        key = (name, seeds)
        if key not in self._memo:
            self._memo[key] = _normalised(self.split.methods[name], seeds, self.split.unlabelled)
        return self._memo[key]

    def release(self, names: list[str], seeds: int) -> tuple[np.ndarray, np.ndarray]:
        """(test, train) scores of the rank ensemble of `names`."""
        parts = [self.method(m, seeds) for m in names]
        return np.mean([p[0] for p in parts], axis=0), np.mean([p[1] for p in parts], axis=0)


def split_rows(split: SplitCache, configs: list[Config]) -> list[dict[str, object]]:
    """Test AUC-PR of every fixed method (one seed: the mean over single fits; k seeds) and
    of every configuration's release on one split."""
    base = {"split": split.name, "table": split.table, "n_labels": split.n_labels,
            "seed": split.seed}  # fmt: skip
    scores = SplitScores(split)
    y_test = split.y_test
    rows: list[dict[str, object]] = []
    for m, c in split.methods.items():
        single = [average_precision_score(y_test, s) for s in c.test]
        rows.append({**base, "kind": "single", "config": m, "auc_pr": float(np.mean(single))})
        for k in SEEDS:
            test, _ = scores.method(m, k)
            rows.append({**base, "kind": "fixed", "config": f"{m}, {k} seed(s)",
                         "auc_pr": float(average_precision_score(y_test, test))})  # fmt: skip
    for config in configs:
        chosen = chosen_members(split, config)
        test, _ = scores.release(chosen, config.seeds)
        rows.append({**base, "kind": "release", "config": config.name,
                     "members": "+".join(chosen),
                     "auc_pr": float(average_precision_score(y_test, test))})  # fmt: skip
    return rows
