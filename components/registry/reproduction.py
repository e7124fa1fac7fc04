"""Reproduce a released model version from what its audit entry and registry tags record:
the data version, the code commit, the method and its parameters, the seed, the rows each
stage drew (components/selection/row_budget.py: drawn again and checked by their digest) and
the threshold rule. The data comes back from the DVC cache or remote
(components/provenance/lineage.py), the model is retrained on CPU, and its scores and
threshold are compared with the registered model's on the same rows. The code is the
checkout it runs from: when its commit is not the recorded one, the verdict says so (check
the recorded commit out to reproduce with the release's own code).

Why: an auditor must be able to show that the registered detector is what that data, those
labels and that code produce, and a label file changed after the release must be noticed,
not silently used: the labels come from the version's own data version, and a workspace
that has moved on since is reported.

Tolerance: equal means identical scores and threshold. Within tolerance means every score
and the threshold differ by at most `RTOL` of the registered scores' range and no flag
differs: retraining in another process may order floating-point sums differently (torch
threads), which moves scores in their last digits. Anything more is reported as differing,
with what differs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components.data import table_io, tables
from components.data.label_file import read_labels, weak_labels
from components.detectors.api import applicable_params
from components.registry.bundle import WsadModel, write_bundle
from components.registry.candidate_facts import DRAWS
from components.selection.candidate import calibrate_candidate, refit_detector
from components.selection.contamination import contamination_for_threshold, estimate_contamination
from components.selection.ensemble_plan import ENSEMBLE
from components.selection.evaluation import SelectionResult
from components.selection.row_budget import DrawRecord, RowDrawError, redraw

RTOL = 1e-5


class ReproductionError(ValueError):
    """A version cannot be reproduced from what it records; the message says what is missing."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a released version records about how it was made."""

    model_name: str
    version: str
    data_version: str
    git_commit: str
    method: str
    params: dict[str, Any]
    random_state: int
    threshold_method: str
    target_fpr: float
    records: str  # paths as the run saw them, inside the DVC-tracked data
    labels: str
    torch_threads: int | None  # CPU threads of the training process: the order of its sums
    row_draws: tuple[DrawRecord, ...]  # none: registered before budgets, every row read
    # The share the threshold was calibrated at: estimated on the release's out-of-fold
    # scores, which a refit without cross-validation cannot recompute (None: registered
    # before the tag; the threshold then came from the first estimate alone).
    threshold_contamination: float | None

    @classmethod
    def from_release(cls, info: dict[str, Any], entries: list[dict[str, Any]]) -> Recipe:
        """From `store.version_info` and the audit log's entries for that version (its
        promote or reject decision); they must agree on the data version and the commit."""
        name, version, tags = info["name"], info["version"], info["tags"]
        released = [
            e
            for e in entries
            if e.get("model_name") == name
            and str(e.get("version")) == version
            and e.get("action") in ("promote", "reject")
        ]
        if not released:
            raise ReproductionError(
                f"{name} v{version} has no promote or reject entry in the audit log; only "
                "released versions record what made them"
            )
        entry = released[0]
        for key in ("data_version", "git_commit"):
            if str(entry.get(key)) != tags.get(key):
                raise ReproductionError(
                    f"{name} v{version}: the audit entry's {key} {entry.get(key)!r} differs "
                    f"from the registry tag {tags.get(key)!r}; the release record was altered"
                )
        missing = [
            k
            for k in ("method", "params", "random_state", "threshold_method", "records", "labels")
            if k not in tags
        ]
        if missing:
            raise ReproductionError(
                f"{name} v{version} lacks the tag(s) {', '.join(missing)} (registered before "
                "releases recorded them); it cannot be reproduced"
            )
        return cls(
            model_name=name,
            version=version,
            data_version=str(entry["data_version"]),
            git_commit=str(entry["git_commit"]),
            method=tags["method"],
            params=json.loads(tags["params"]),
            random_state=int(tags["random_state"]),
            threshold_method=tags["threshold_method"],
            target_fpr=float(tags.get("target_fpr", 0.01)),
            records=tags["records"],
            labels=tags["labels"],
            torch_threads=int(tags["torch_threads"]) if "torch_threads" in tags else None,
            row_draws=DRAWS.read(tags["row_draws"]) if "row_draws" in tags else (),
            threshold_contamination=(
                float(tags["threshold_contamination"])
                if "threshold_contamination" in tags
                else None
            ),
        )


def on_cpu(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The released configuration with `device="cpu"` wherever a method has a device (an
    ensemble's members included)."""
    if method != ENSEMBLE:
        return {**params, **applicable_params(method, {"device": "cpu"})}
    members = {m: on_cpu(m, p) for m, p in params["method_params"].items()}
    return {**params, "method_params": members}


def retrain(recipe: Recipe, records: Path, labels: Path, id_column: str, work: Path) -> WsadModel:
    """The training flow's steps after selection, on CPU: schema, scaler, weak labels, the
    recorded row draws (checked), the recorded configuration refit on its rows, the threshold
    on every row at the recorded share, with as many torch threads as the training process
    had."""
    if recipe.torch_threads:
        torch.set_num_threads(recipe.torch_threads)
    table, confirmed = table_io.read_table(records), read_labels(labels)
    schema = tables.infer_schema(table, id_column)
    raw = tables.feature_matrix(table, schema)
    scaler = tables.Scaler.fit(raw)
    X, y = scaler.transform(raw), weak_labels(table, confirmed, schema)
    try:
        draws = redraw(recipe.row_draws, y)
    except RowDrawError as err:
        raise ReproductionError(f"{recipe.model_name} v{recipe.version}: {err}") from err
    selected = SelectionResult(
        recipe.method,
        on_cpu(recipe.method, recipe.params),
        math.nan,
        math.nan,
        math.nan,
        math.nan,
        np.empty(0),
        np.empty(0),
        np.empty(0, dtype=np.int64),
        [],
    )
    share = recipe.threshold_contamination
    if share is None:  # as the flow then: the first estimate on its rows, or its capped fallback
        X_c, y_c = draws.contamination.take(X, y)
        first = estimate_contamination(X_c, y_c, random_state=recipe.random_state)
        share = contamination_for_threshold(first).value
    detector = refit_detector(selected, *draws.refit.take(X, y))
    candidate = calibrate_candidate(
        detector, selected, X, y, share, recipe.threshold_method, recipe.target_fpr
    )
    bundle = write_bundle(work, candidate.detector, schema, scaler, candidate.threshold)
    return WsadModel.from_bundle(bundle)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Registered vs reproduced on the same rows."""

    rows: int
    max_score_diff: float
    tolerance: float
    threshold: tuple[float, float]  # registered, reproduced
    flags_differ: int
    notes: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return self.max_score_diff == 0.0 and self.threshold[0] == self.threshold[1]

    @property
    def within_tolerance(self) -> bool:
        return (
            self.flags_differ == 0
            and self.max_score_diff <= self.tolerance
            and abs(self.threshold[0] - self.threshold[1]) <= self.tolerance
        )

    def verdict(self) -> str:
        """One line: equal, within the stated tolerance, or what differs."""
        notes = "".join(f"; {n}" for n in self.notes)
        if self.equal:
            return (
                f"equal: identical scores on {self.rows} rows and threshold "
                f"{self.threshold[0]:.6g}{notes}"
            )
        if self.within_tolerance:
            return (
                f"equal within tolerance {self.tolerance:.3g}: max |score difference| "
                f"{self.max_score_diff:.3g} on {self.rows} rows, threshold "
                f"{self.threshold[0]:.6g} vs {self.threshold[1]:.6g}, no flag differs{notes}"
            )
        return (
            f"differs: threshold {self.threshold[0]:.6g} registered vs "
            f"{self.threshold[1]:.6g} reproduced, max |score difference| "
            f"{self.max_score_diff:.3g} (tolerance {self.tolerance:.3g}), "
            f"{self.flags_differ} of {self.rows} flags differ{notes}"
        )


def compare(registered: Any, reproduced: WsadModel, records: Path, notes: list[str]) -> Comparison:
    """Score the restored records with both models."""
    table = table_io.read_table(records)
    ours, theirs = registered.predict(None, table), reproduced.predict(None, table)
    scores = ours["score"].to_numpy()
    spread = float(scores.max() - scores.min()) or 1.0
    return Comparison(
        rows=len(table),
        max_score_diff=float(np.abs(scores - theirs["score"].to_numpy()).max()),
        tolerance=RTOL * spread,
        threshold=(registered.threshold.value, reproduced.threshold.value),
        flags_differ=int((ours["is_anomaly"] != theirs["is_anomaly"]).sum()),
        notes=tuple(notes),
    )
