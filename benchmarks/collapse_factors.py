"""Why did anoonly and esad collapse where their peers learn? One factor at a time.

Each variant changes one setting of the method as it was before its fix (anoonly(devnet),
issue 28: one hidden layer of 20, four times the reference's 50 x 20 batches of 64 at RMSprop
2e-4; esad, issue 15: Deep SAD's shuffled batches) and is fitted on the same draws of
synthetic tasks (benchmarks/synthetic) as the unchanged method and IsolationForest; test
AUC-PR, mean over seeds. The fixed method (current defaults) comes after the factors, then
a peer. For anoonly, `--units` also reports what its last hidden layer separates.

Run: `OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.collapse_factors` (prints markdown).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn
from torch.nn import functional

from benchmarks import smoke, synthetic
from components.detectors import Detector, make
from components.detectors.anoonly import _AnoOnlyDevNet as AnoOnlyDevNet
from components.detectors.devnet import DevNet
from components.detectors.esad import ESAD
from components.detectors.training.samplers import Batch


@dataclasses.dataclass(eq=False)
class _OneLayerAnoOnly(AnoOnlyDevNet):
    """anoonly(devnet) as before issue 28: one hidden layer of 20, 4x the reference's steps."""

    hidden_dims: tuple[int, ...] = (20,)
    until_converged: bool = True


@dataclasses.dataclass(eq=False)
class _HingeAnoOnly(_OneLayerAnoOnly):
    """With DevNet's hinge max(0, margin - s) on anomalies: a loss with a floor."""

    def _loss(self, net: Any, batch: Batch) -> Tensor:
        x, y = batch
        return (y * torch.relu(self.margin - net(x).squeeze(1))).mean()


@dataclasses.dataclass(eq=False)
class _BatchStatsAnoOnly(_OneLayerAnoOnly):
    """Scored with BN's statistics of the scored rows instead of its running statistics."""

    def _forward_score(self, net: Any, X: Tensor) -> Tensor:
        bn, score = net[-1]
        hidden = functional.batch_norm(net[:-1](X), None, None, bn.weight, bn.bias, True, 0.0)
        return score(hidden).squeeze(1)


@dataclasses.dataclass(eq=False)
class _KerasBNAnoOnly(_OneLayerAnoOnly):
    """BN as Keras builds it in the reference: momentum 0.99 (torch: 0.01), epsilon 1e-3."""

    def _build(self, n_features: int) -> nn.Module:
        net: Any = super()._build(n_features)
        net[-1][0].momentum, net[-1][0].eps = 0.01, 1e-3
        return net


@dataclasses.dataclass(eq=False)
class _FewAnomaliesAnoOnly(_OneLayerAnoOnly):
    """Batches of 60 unlabelled rows and 4 labelled anomalies (the reference: 32 and 32), so
    that BN's batch statistics are mostly those of normal rows."""

    def _sampler(self, X: Tensor, y: Tensor, gen: torch.Generator) -> Any:
        unlabelled, labelled = torch.nonzero(y != 1).squeeze(1), torch.nonzero(y == 1).squeeze(1)
        n_a = self.batch_size // 16

        def sample() -> Batch:
            pick_u = torch.randint(len(unlabelled), (self.batch_size - n_a,), generator=gen)
            pick_a = torch.randint(len(labelled), (n_a,), generator=gen)
            idx = torch.cat([unlabelled[pick_u], labelled[pick_a]])
            return X[idx], y[idx]

        return sample


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
        "before (1 layer, 4x steps)": lambda s: _OneLayerAnoOnly(random_state=s),
        "reference steps": lambda s: _OneLayerAnoOnly(random_state=s, **FIXED),
        "BN batch stats at scoring": lambda s: _BatchStatsAnoOnly(random_state=s),
        "Keras BN": lambda s: _KerasBNAnoOnly(random_state=s),
        "hinge loss": lambda s: _HingeAnoOnly(random_state=s),
        "lr 1e-3": lambda s: _OneLayerAnoOnly(random_state=s, lr=1e-3),
        "batch 512": lambda s: _OneLayerAnoOnly(random_state=s, batch_size=512),
        "4 of 64 anomalies": lambda s: _FewAnomaliesAnoOnly(random_state=s),
        "no weight decay": lambda s: _OneLayerAnoOnly(random_state=s, weight_decay=0.0),
        "no clipping": lambda s: _OneLayerAnoOnly(random_state=s, clip_norm=None),
        "1 layer of 100": lambda s: _OneLayerAnoOnly(random_state=s, hidden_dims=(100,)),
        "2 layers (64, 20)": lambda s: _OneLayerAnoOnly(random_state=s, hidden_dims=(64, 20)),
        "after (1000-250-20)": lambda s: make("anoonly", random_state=s),
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
    "anoonly": ("swap", "subspace-k4-d50-s4-x2.5-a0.1-l20-n2000"),
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


def _unit_weights(det: DevNet) -> np.ndarray:
    """What one unit of the last hidden layer adds to the score per unit of its activation:
    the score layer's weight, times BN's scale at scoring where the net has BN (anoonly)."""
    net: Any = det.net_
    head = net[-1]
    if isinstance(head, nn.Linear):
        return head.weight[0].detach().numpy()
    bn, score = head
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return (score.weight[0] * scale).detach().numpy()


def unit_separation(det: DevNet, task: synthetic.Task) -> tuple[float, float, float, float]:
    """How a fitted one-score net (devnet or anoonly(devnet)) tells anomalies from the normal
    training rows through its last hidden layer: the mean over units that vary of |2 AUC - 1|
    for the labelled anomalies, then for the unlabelled ones (1: every unit separates them;
    0: none does); then for the unlabelled anomalies the AUC of the best unit's contribution to
    the score (activation x its weight) and the AUC of the score itself. A score no better
    than its best unit means the units were not combined, each works alone."""
    net: Any = det.net_
    with torch.no_grad():
        X = torch.as_tensor(task.X)
        hidden, score = net[:-1](X).numpy(), det._forward_score(net, X).numpy()
    normal = task.truth == 0
    live = hidden[normal].std(0) > 0
    contributions = hidden[:, live] * _unit_weights(det)[live]
    groups = (task.y == 1, (task.truth == 1) & (task.y != 1))
    result = []
    for group in groups:
        truth = np.r_[np.zeros(normal.sum()), np.ones(group.sum())]
        aucs = np.array([roc_auc_score(truth, np.r_[c[normal], c[group]]) for c in contributions.T])
        result.append(float(np.mean(np.abs(2 * aucs - 1))))
    best_unit = float(aucs.max())  # over the unlabelled anomalies, the last group
    return result[0], result[1], best_unit, roc_auc_score(truth, np.r_[score[normal], score[group]])


def units(seeds: list[int]) -> list[str]:
    """Markdown rows: per anoonly task and seed, `unit_separation` for anoonly(devnet) with
    one hidden layer (before), devnet's one hidden layer (its loss has a term on unlabelled
    rows) and anoonly(devnet) on 1000-250-20 (after)."""
    nets: dict[str, Variant] = {
        "anoonly, 1 layer (before)": lambda s: _OneLayerAnoOnly(random_state=s),
        "devnet, 1 layer": lambda s: DevNet(random_state=s),
        "anoonly, 1000-250-20 (after)": lambda s: AnoOnlyDevNet(random_state=s),
    }
    lines = [
        "| task | seed | network | units: labelled vs normal | units: unlabelled anomalies vs "
        "normal | best unit AUC (unlabelled) | score AUC (unlabelled) |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for spec in [s for s in synthetic.family() if any(t in s.name for t in TASKS["anoonly"])]:
        for seed in seeds:
            task = spec.build(seed)
            for name, net in nets.items():
                det: Any = net(seed).fit(task.X, task.y)
                cells = " | ".join(f"{v:.2f}" for v in unit_separation(det, task))
                lines.append(f"| {spec.name} | {seed} | {name} | {cells} |")
                print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="anoonly,esad")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--units", action="store_true", help="anoonly's hidden units only")
    parser.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = parser.parse_args()
    if args.smoke:
        args.methods, args.seeds = "anoonly", "0"
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.units:
        units(seeds)  # prints each row as it comes
        return
    for method in args.methods.split(","):
        lines = compare(method, seeds, args.smoke)
        print("\n".join([f"**{method}**", "", *lines, ""]), flush=True)


if __name__ == "__main__":
    main()
