"""Why did anoonly and esad collapse where their peers learn? One factor at a time.

Each variant changes one setting of the method as it was before the fix (anoonly(devnet):
the reference's fixed 50 x 20 batches of 64 at RMSprop 2e-4; esad: Deep SAD's shuffled
batches) and is fitted on the same draws of synthetic tasks (benchmarks/synthetic) as the
unchanged method and IsolationForest; test AUC-PR, mean over seeds. The fixed method (current
defaults) is the last variant.

Run: `OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.collapse_factors` (prints markdown).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmarks import smoke, synthetic
from components.detectors import Detector, make
from components.detectors.anoonly import _AnoOnlyDevNet as AnoOnlyDevNet
from components.detectors.esad import ESAD
from components.detectors.training.samplers import Batch


@dataclasses.dataclass(eq=False)
class _HingeAnoOnly(AnoOnlyDevNet):
    """anoonly(devnet) with DevNet's hinge max(0, margin - s) on anomalies: a bounded loss."""

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        x, y = batch
        return (y * torch.relu(self.margin - net(x).squeeze(1))).mean()


@dataclasses.dataclass(eq=False)
class _FirstEncoderESAD(ESAD):
    """ESAD scored by the first encoder's distance ||z1||^2."""

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        return (net(X)[0] ** 2).sum(1)


@dataclasses.dataclass(eq=False)
class _ReconstructionESAD(ESAD):
    """ESAD scored by ||z2||^2 plus the reconstruction error (the Julia reading's score)."""

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        _, x_hat, z2 = net(X)
        return (z2**2).sum(1) + ((x_hat - X) ** 2).sum(1)


Variant = Callable[[int], Detector]
FIXED: dict[str, Any] = {"until_converged": False}
SHUFFLED: dict[str, Any] = {"balanced_batches": False}
VARIANTS: dict[str, dict[str, Variant]] = {
    "anoonly": {
        "before (reference)": lambda s: AnoOnlyDevNet(random_state=s, **FIXED),
        "lr 1e-3 (devnet's)": lambda s: AnoOnlyDevNet(random_state=s, lr=1e-3, **FIXED),
        "batch 512 (devnet's)": lambda s: AnoOnlyDevNet(random_state=s, batch_size=512, **FIXED),
        "no weight decay": lambda s: AnoOnlyDevNet(random_state=s, weight_decay=0.0, **FIXED),
        "hinge loss": lambda s: _HingeAnoOnly(random_state=s, **FIXED),
        "after (4x epochs)": lambda s: make("anoonly", random_state=s),
        "devnet": lambda s: make("devnet", random_state=s),
    },
    "esad": {
        "before (shuffled)": lambda s: ESAD(random_state=s, **SHUFFLED),
        "score ||z1||^2": lambda s: _FirstEncoderESAD(random_state=s, **SHUFFLED),
        "score + reconstruction": lambda s: _ReconstructionESAD(random_state=s, **SHUFFLED),
        "no consistency": lambda s: ESAD(random_state=s, lambda_consistency=0.0, **SHUFFLED),
        "lambda_entropy 10": lambda s: ESAD(random_state=s, lambda_entropy=10.0, **SHUFFLED),
        "3x epochs": lambda s: ESAD(random_state=s, epochs=150, **SHUFFLED),
        "after (balanced)": lambda s: make("esad", random_state=s),
        "deepsad": lambda s: make("deepsad", random_state=s),
    },
}
TASKS = {
    "anoonly": ("subspace-k2-d10-s1-x4-a0.01", "subspace-k4-d30-s3-x3-a0.03-l12-n20000"),
    "esad": ("subspace-k4-d30-s3-x3-a0.03-l12-n3000", "subspace-k4-d50", "h0.5"),
}


def _scorer(variant: Variant) -> Callable[[synthetic.Task, int], np.ndarray]:
    def score(task: synthetic.Task, seed: int) -> np.ndarray:
        split = task.split
        return variant(seed).fit(split.X_train, split.y_train).decision_function(split.X_test)

    return score


def compare(method: str, seeds: list[int], quick: bool = False) -> list[str]:
    """Markdown rows: one per task, mean test AUC-PR per variant and IsolationForest's
    (`quick`: one small task instead of the method's TASKS)."""
    variants = VARIANTS[method]
    specs = [s for s in synthetic.family() if any(t in s.name for t in TASKS[method])]
    if quick:
        specs = [synthetic.subspace_spec(n_rows=1000, n_labelled=5)]
    lines = [
        "| task | " + " | ".join([*variants, "iforest"]) + " |",
        "|---|" + "---|" * (len(variants) + 1),
    ]
    candidates = {name: _scorer(variant) for name, variant in variants.items()}
    results = synthetic.versus_iforest(specs, candidates, seeds)
    for i, spec in enumerate(specs):
        cells = [np.mean(results[name][i].candidate) for name in variants]
        cells.append(np.mean(results[next(iter(variants))][i].iforest))
        lines.append(f"| {spec.name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="anoonly,esad")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        args.methods, args.seeds = "anoonly", "0"
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    for method in args.methods.split(","):
        lines = compare(method, seeds, args.smoke)
        print("\n".join([f"**{method}**", "", *lines, ""]), flush=True)


if __name__ == "__main__":
    main()
