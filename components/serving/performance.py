"""The estimated performance of the rows a scoring server answers, for `/metrics`: the drift
window's flag rate (components/serving_drift.py: the last N scored rows of the version being
served) read through the version's training estimate (components/monitoring/performance), as `wsad
score` reads a batch's. Computed at each scrape; a version registered before the estimate
reports `wsad_serving_estimate_measured 0`. Import rule: numpy and prometheus_client only.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from components.monitoring.performance import PerformanceEstimate, estimate_batch
from components.monitoring.performance.records import QUANTITIES
from components.monitoring.serving_drift import DriftWindow

HELP = {
    "precision": "Estimated share of flagged rows that are anomalies",
    "recall": "Estimated share of anomalies the threshold flags",
    "alerts_per_10k": "Estimated alerts per 10,000 rows",
    "auc_pr": "Estimated AUC-PR",
    "anomaly_share": "Estimated share of anomalies among the rows",
}


class PerformanceCollector(Collector):
    """The served version's estimate over its drift window, beside its training estimate, as
    gauges labelled by `source` (window, training) and `bound` (value, low, high)."""

    def __init__(self) -> None:
        self._window: DriftWindow | None = None

    def serving(self, window: DriftWindow | None) -> None:
        """The window of the version now answering (None: it has no reference profile)."""
        self._window = window

    def collect(self) -> Iterator[Metric]:
        window = self._window
        basis = None if window is None or window.profile is None else window.profile.performance
        training = None if basis is None else basis.training
        yield _gauge(
            "measured",
            "1 when the served version carries a training estimate (registered with it)",
            float(training is not None),
        )
        if basis is None or training is None or window is None:
            return
        _, flags = window.rows()
        estimates = {"training": training}
        if len(flags):
            estimates["window"] = estimate_batch(basis, len(flags), int(flags.sum()))
            yield _gauge(
                "moved",
                "1 when the window's estimated precision, AUC-PR or anomaly share is outside "
                "the training interval",
                float(bool(estimates["window"].moved)),
            )
        for name in QUANTITIES:
            yield _family(name, estimates)


def _family(name: str, estimates: dict[str, PerformanceEstimate]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"wsad_serving_estimated_{name}",
        f"{HELP[name]} (90 % interval bounds; source: the drift window or training)",
        labels=["source", "bound"],
    )
    for source, estimate in estimates.items():
        value = getattr(estimate, name)
        for bound in ("value", "low", "high"):
            family.add_metric([source, bound], float(getattr(value, bound)))
    return family


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"wsad_serving_estimate_{name}", help_text, value=value)
