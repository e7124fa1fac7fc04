"""Why a row scored high: each feature's contribution to one detector's score of that row.

One method per model family, each the family's standard, from a maintained library:
- neural detectors: integrated gradients (Sundararajan et al., ICML'17; Captum) of the score
  from the training reference's median row to the row. Contributions add up to
  score(row) - score(median row), so they are in score units.
- tree detectors: tree SHAP (Lundberg et al., Nature MI 2020; the `shap` package's exact
  path-dependent algorithm, which also calls CatBoost's own ShapValues for CatBoost models).
  IsolationForest's SHAP values explain the mean path length, which falls as the anomaly
  score rises, so their sign is flipped; a classifier's explain its log-odds.
- devnet-topk: its own `explain` (gradient x input through the top-K subspaces).
- an ensemble (components/detectors/ensemble.py): each member's attribution by its own
  family, scaled to shares of its own total |contribution| per row (members sit on
  different scales, as the ensemble's rank normalisation acknowledges), averaged.
A detector outside these families raises AttributionError naming it.

Higher contribution = pushed the row towards anomalous.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from components.detectors.anoonly import AnoOnly
from components.detectors.api import Detector, check_X
from components.detectors.deep import DeepDetector
from components.detectors.devnet_topk import DevNetTopK
from components.detectors.ensemble import RankEnsemble

# Tree detectors by name: the sign that turns their model's explained output into "more
# anomalous" (each keeps its fitted tree model as `model_`).
TREE_SHAP_SIGN = {"catboost": 1.0, "iforest": -1.0, "supervised": 1.0}
IG_STEPS = 32  # integration steps; Gauss-Legendre converges well before this on small MLPs
_EPS = 1e-12


class AttributionError(ValueError):
    """No attribution method fits this detector."""


@dataclasses.dataclass(frozen=True)
class Attribution:
    """Per-row, per-feature contributions (n, d) and the method that produced them."""

    values: np.ndarray
    method: str


def attribute(detector: Detector, X: Any, baseline: np.ndarray) -> Attribution:
    """Contributions of each feature of each row of X (scaled, as the detector sees them);
    `baseline` (d,) is the reference row that gradient methods integrate from."""
    X_arr = check_X(X, detector.n_features_in_)
    if isinstance(detector, RankEnsemble):
        parts = [attribute(member, X_arr, baseline) for member in detector.members_]
        shares = [p.values / (np.abs(p.values).sum(1, keepdims=True) + _EPS) for p in parts]
        families = ", ".join(sorted({p.method for p in parts}))
        method = f"{families}, shares averaged over {len(parts)} fits"
        return Attribution(np.mean(shares, axis=0), method)
    if isinstance(detector, AnoOnly):
        return attribute(detector.inner_, X_arr, baseline)
    if isinstance(detector, DevNetTopK):
        return Attribution(detector.explain(X_arr)[1].astype(np.float64), "devnet-topk explain")
    if isinstance(detector, DeepDetector):
        return Attribution(_integrated_gradients(detector, X_arr, baseline), "integrated gradients")
    if detector.name in TREE_SHAP_SIGN:
        return Attribution(_tree_shap(detector, X_arr), "tree SHAP")
    raise AttributionError(
        f"no attribution method for {detector.name!r} detectors; explainable families: "
        "neural detectors, devnet-topk, ensembles, and trees "
        f"({', '.join(sorted(TREE_SHAP_SIGN))})"
    )


def _integrated_gradients(detector: DeepDetector, X: np.ndarray, baseline: np.ndarray) -> Any:
    from captum.attr import IntegratedGradients

    device = next(detector.net_.parameters()).device
    rows = torch.as_tensor(X, device=device)
    base = torch.as_tensor(np.asarray(baseline, dtype=np.float32), device=device)
    ig = IntegratedGradients(detector.score_tensor)
    with torch.enable_grad():
        values = ig.attribute(rows, baselines=base.expand_as(rows), n_steps=IG_STEPS)
    return values.detach().cpu().numpy().astype(np.float64)


def _tree_shap(detector: Detector, X: np.ndarray) -> np.ndarray:
    import shap

    model: Any = getattr(detector, "model_", None)
    if model is None:
        raise AttributionError(f"this {detector.name} detector is not fitted yet")
    values = np.asarray(shap.TreeExplainer(model).shap_values(X), dtype=np.float64)
    if values.shape != X.shape:
        raise AttributionError(
            f"tree SHAP gave shape {values.shape} for {X.shape} rows; {detector.name} must "
            "explain one output (a binary classifier's log-odds or a forest's path length)"
        )
    return TREE_SHAP_SIGN[detector.name] * values
