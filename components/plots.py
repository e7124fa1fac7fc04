"""The plots a person looks at: before approving a model (score distribution and PR curve,
saved as run artifacts) and after scoring a table (its drift per column, its estimated
performance against training's)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)
import numpy as np  # noqa: E402


def plot_score_distribution(
    unlabelled: np.ndarray, anomalies: np.ndarray, threshold: float, path: Path
) -> Path:
    """Scores of unlabelled rows vs labelled anomalies, with the threshold marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.histogram_bin_edges(np.concatenate([unlabelled, anomalies]), bins=40).tolist()
    ax.hist(unlabelled, bins=bins, alpha=0.6, density=True, label=f"unlabelled ({len(unlabelled)})")
    ax.hist(
        anomalies,
        bins=bins,
        alpha=0.6,
        density=True,
        label=f"labelled anomalies ({len(anomalies)})",
    )
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set(xlabel="anomaly score", ylabel="density", title="Score distribution")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pr_curve(scores: np.ndarray, y: np.ndarray, path: Path) -> Path:
    """Cross-validated precision-recall of held-out labelled anomalies vs unlabelled rows."""
    # Imported here: scoring draws its drift plot from this module without scikit-learn.
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, scores)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.step(recall, precision, where="post")
    ax.set(
        xlabel="recall (held-out labelled anomalies)",
        ylabel="precision vs unlabelled",
        title=f"Cross-validated PR, AP={average_precision_score(y, scores):.3f}",
        ylim=(0, 1.02),
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_drift(psi: dict[str, float], limits: dict[str, float], title: str, path: Path) -> Path:
    """PSI per column against its limit, most shifted on top; drifted columns in red."""
    names = sorted(psi, key=lambda name: psi[name])
    values = [max(psi[n], 1e-4) for n in names]
    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.22 * len(names)))
    colours = ["tab:red" if psi[n] > limits[n] else "tab:blue" for n in names]
    ax.barh(names, values, color=colours)
    ax.scatter([limits[n] for n in names], names, marker="|", s=120, color="black", label="limit")
    ax.set_xscale("log")
    ax.set(xlabel="population stability index (log scale)")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_performance(
    batch: dict[str, tuple[float, float, float]],
    training: dict[str, tuple[float, float, float]],
    title: str,
    path: Path,
) -> Path:
    """Per estimate (value, low, high, all in [0, 1]): the training interval as a grey band,
    the batch's value and interval on it; red when the value left the band."""
    names = list(batch)
    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.45 * len(names)))
    for i, name in enumerate(names):
        value, low, high = batch[name]
        t_value, t_low, t_high = training[name]
        ax.barh(i, t_high - t_low, left=t_low, height=0.5, color="lightgrey")
        ax.plot([t_value], [i], marker="|", markersize=14, color="grey")
        colour = "tab:blue" if t_low <= value <= t_high else "tab:red"
        ax.errorbar(value, i, xerr=[[value - low], [high - value]], fmt="o", color=colour)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlim=(0, 1.02), xlabel="estimate (grey: training's 90 % interval)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
