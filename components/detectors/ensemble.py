"""Rank ensembles: the released detector averages k seeds of each of one or more methods.

Why seeds: with a few labels a deep detector's ranking moves with its seed (init, reference
draws, batches); averaging seeds removes most of that variance at k times the fit cost, and
`fit_many` trains a batchable method's seeds in one stacked pass.
Why several methods: which method ranks a new table best is hard to tell from a handful of
held-out labels, and methods that fail do so on different tables; the mean of a few good
ones is rarely far below the best of them (benchmarks/RESULTS.md, release quality).

Why rank-normalised: members put their scores on different scales (DevNet's deviation,
Deep SAD's distance, a classifier's probability), so a plain mean lets the widest member
decide. Each member's score is mapped through the empirical CDF of its own scores on the
training rows it called unlabelled (stored as quantiles, so scoring a row never depends on
the rest of its batch). Above the top quantile the map keeps growing linearly, in units of
the member's upper spread (top minus median), so rows beyond everything seen in training
stay ordered instead of tying at 1; below the bottom quantile likewise. A method's score is
the mean over its seeds, the ensemble's the mean over its methods (each method weighs the
same, whatever its seed count).
Rows an analyst dismissed (y = -1) go to the members as they are; each method uses them or
trains on them as unlabelled, as its own docstring says. The normalising reference is the
unlabelled rows (y = 0).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from components.detectors.api import Detector, check_X, fit_many, make, register

N_QUANTILES = 1001  # resolution of each member's stored score distribution
_EPS = 1e-12


def score_quantiles(scores: np.ndarray) -> np.ndarray:
    """The reference a member's scores are normalised against."""
    return np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0.0, 1.0, N_QUANTILES))


def rank_normalise(scores: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Empirical CDF of `quantiles` at `scores` in [0, 1], extended linearly beyond both
    ends (see the module docstring); monotone in `scores`."""
    s = np.asarray(scores, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(quantiles))
    # np.interp needs increasing x: equal quantiles (ties) map to their highest level.
    q, last = np.unique(quantiles[::-1], return_index=True)
    u = np.interp(s, q, levels[::-1][last])
    low, mid, top = quantiles[0], quantiles[len(quantiles) // 2], quantiles[-1]
    u = u + np.maximum(s - top, 0.0) / max(top - mid, _EPS)
    return u + np.minimum(s - low, 0.0) / max(mid - low, _EPS)


@register("ensemble")
@dataclasses.dataclass(eq=False)
class RankEnsemble(Detector):
    """`n_seeds` fits (seeds random_state, random_state + 1, ...) of each of `methods`, each on
    all rows, scores rank-normalised per fit and averaged (seeds, then methods)."""

    candidate: ClassVar[bool] = False  # wraps candidates; not one itself
    min_labelled: ClassVar[int] = 0  # each wrapped method checks its own
    uses_confirmed_normals: ClassVar[bool] = True  # passed on: each member decides

    methods: tuple[str, ...] = ("devnet",)
    method_params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    n_seeds: int = 3

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.n_seeds < 1 or not self.methods:
            raise ValueError(
                f"an ensemble needs methods and n_seeds >= 1, got {self.methods}, {self.n_seeds}"
            )
        unlabelled = X[y == 0]
        self.members_: list[Detector] = []
        for method in self.methods:
            self.members_ += fit_many(self._template(method), X, [y] * self.n_seeds, self._seeds())
        self.quantiles_ = np.stack([score_quantiles(m._score(unlabelled)) for m in self.members_])

    def _template(self, method: str, seed: int | None = None) -> Detector:
        seed = self.random_state if seed is None else seed
        return make(method, **{**self.method_params.get(method, {}), "random_state": seed})

    def _seeds(self) -> list[int]:
        return [self.random_state + i for i in range(self.n_seeds)]

    def member_scores(self, X: Any) -> np.ndarray:
        """Every fit's normalised scores, shape (len(methods) * n_seeds, n), method-major:
        their spread on a row is the members' disagreement about it."""
        return self._member_scores(check_X(X, self.n_features_in_))

    def _member_scores(self, X: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                rank_normalise(m._score(X), q)
                for m, q in zip(self.members_, self.quantiles_, strict=True)
            ]
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        per_method = self._member_scores(X).reshape(len(self.methods), self.n_seeds, len(X))
        return per_method.mean(axis=1).mean(axis=0)

    def _get_state(self) -> dict[str, Any]:
        return {
            "members": [m._get_state() for m in self.members_],
            "quantiles": self.quantiles_.tolist(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.members_ = []
        fits = [(method, seed) for method in self.methods for seed in self._seeds()]
        for (method, seed), member_state in zip(fits, state["members"], strict=True):
            member = self._template(method, seed)
            member.n_features_in_ = self.n_features_in_
            member._set_state(member_state)
            self.members_.append(member)
        self.quantiles_ = np.asarray(state["quantiles"], dtype=np.float64)
