"""A retrain checked against the champion's reference profile with Great Expectations.

Why: every expectation's limits come from that reference (`profile.Limits`), never from the
new table, so a feed that changed units, went constant, shifted, lost rows or labels fails
even though it is internally consistent. The shift statistic (PSI, components/monitoring/profile.py)
is computed once per column and checked by GX. A failure reads as how far each column
moved, most shifted first.
"""

from __future__ import annotations

import logging
from typing import Any

import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationValidationResult

from components.data.tables import Schema
from components.monitoring.profile import Limits, ReferenceProfile, bin_counts, psi
from components.monitoring.validation import ValidationReport, run_suites

log = logging.getLogger(__name__)


def _reference_expectations(
    records: pd.DataFrame, schema: Schema, profile: ReferenceProfile, limits: Limits
) -> tuple[list[Any], list[Any], pd.DataFrame]:
    """Expectations on the table, on its one-row frame of PSI per column, and that frame."""
    n = len(records)
    low, high = profile.row_band(limits)
    table: list[Any] = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=low, max_value=high, meta={"check": "rows", "reference": profile.n_rows}
        )
    ]
    columns = [*([schema.id_column] if schema.id_column else []), *profile.features]
    table.append(gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True))
    features = [
        c
        for c in profile.features
        if c in records.columns and pd.api.types.is_numeric_dtype(records[c])
    ]
    shift: list[Any] = []
    for column in features:
        feature = profile.features[column]
        bands = feature.bands(n, profile.n_rows, limits)
        table += [
            gxe.ExpectColumnQuantileValuesToBeBetween(
                column=column,
                quantile_ranges={
                    "quantiles": [level for level, _, _ in bands.quantiles],
                    "value_ranges": [[lo, hi] for _, lo, hi in bands.quantiles],
                },
                meta={
                    "check": "quantiles",
                    "reference": [feature.quantile(q) for q, _, _ in bands.quantiles],
                },
            ),
            gxe.ExpectColumnMeanToBeBetween(
                column=column,
                min_value=bands.mean[0],
                max_value=bands.mean[1],
                meta={"check": "mean", "reference": feature.mean, "scale": feature.std},
            ),
            gxe.ExpectColumnStdevToBeBetween(
                column=column,
                min_value=bands.std[0],
                max_value=bands.std[1],
                meta={"check": "std", "reference": feature.std},
            ),
            gxe.ExpectColumnUniqueValueCountToBeBetween(
                column=column,
                min_value=bands.distinct_min,
                meta={"check": "distinct", "reference": feature.distinct},
            ),
        ]
        shift.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column, max_value=bands.psi, meta={"check": "shift"}
            )
        )
    X = records[features].to_numpy(dtype=np.float32)  # as the profile was binned
    values = psi(profile.shares(features), bin_counts(X, profile.edges(features)))
    return table, shift, pd.DataFrame([values], columns=features)


def _moved(result: ExpectationValidationResult) -> tuple[str, str, float]:
    """(where, how far it moved, severity for ordering) of a failed reference expectation."""
    config = result.expectation_config
    assert config is not None  # GX fills it for every result of a suite run
    meta, kwargs = config.meta or {}, config.kwargs
    detail = result.result or {}
    observed = detail.get("observed_value")
    where = f"column {kwargs['column']!r}" if "column" in kwargs else "table"
    check = meta.get("check", config.type)
    if check == "shift" and detail.get("partial_unexpected_list"):
        value = float(detail["partial_unexpected_list"][0])
        return where, f"shift (PSI) {value:.3g} > {kwargs['max_value']:.3g}", value
    if observed is None:
        return where, f"{config.type} failed", 0.0
    if check == "mean":
        scale = meta["scale"] or 1.0
        moved = (float(observed) - meta["reference"]) / scale
        return (
            where,
            f"mean {meta['reference']:.4g} -> {float(observed):.4g} ({moved:+.3g} std)",
            abs(moved),
        )
    if check == "std":
        ratio = float(observed) / meta["reference"] if meta["reference"] else float("inf")
        return where, f"std {meta['reference']:.4g} -> {float(observed):.4g} (x{ratio:.3g})", 0.0
    if check == "distinct":
        return where, f"distinct values {meta['reference']} -> {observed}", 0.0
    if check == "quantiles":
        ok = (result.result or {}).get("details", {}).get("success_details", [])
        levels, values = observed["quantiles"], observed["values"]
        bad = [i for i, passed in enumerate(ok) if not passed]
        shown = ", ".join(
            f"q{levels[i] * 100:g} {meta['reference'][i]:.4g} -> {values[i]:.4g}" for i in bad[:2]
        )
        return where, f"{len(bad)} of {len(levels)} quantiles out of band ({shown})", 0.0
    if check == "rows":
        return (
            where,
            f"row count {meta['reference']} -> {observed} "
            f"(allowed {kwargs['min_value']}..{kwargs['max_value']})",
            0.0,
        )
    if check == "labels":
        return (
            where,
            f"labelled anomalies {meta['reference']} -> {observed} (fewer than the champion's)",
            0.0,
        )
    return where, f"{config.type} observed {observed!r}", 0.0


def validate_against_reference(
    records: pd.DataFrame,
    labels: pd.DataFrame,
    schema: Schema,
    profile: ReferenceProfile,
    limits: Limits | None = None,
    labels_may_shrink: bool = False,
) -> ValidationReport:
    """Check a new training table and its labels against the champion's reference: the
    same columns, per-column quantile, mean, std, distinct-count and shift bands, the row
    count, and no fewer labelled anomalies unless `labels_may_shrink` (removed on purpose).
    Each failing column is one entry saying how far it moved, most shifted first."""
    limits = limits or Limits()
    table, shift, values = _reference_expectations(records, schema, profile, limits)
    label_checks = []
    if not labels_may_shrink:
        label_checks.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=profile.n_labelled,
                meta={"check": "labels", "reference": profile.n_labelled},
            )
        )
    frames = {
        "records": (records, table),
        "shift": (values, shift),
        "labels": (labels, label_checks),
    }
    evaluated, failed = run_suites(frames)
    moves: dict[str, list[str]] = {}
    severity: dict[str, float] = {}
    for asset, result in failed:
        where, text, weight = _moved(result)
        where = "labels" if asset == "labels" else where
        moves.setdefault(where, []).append(text)
        severity[where] = max(severity.get(where, 0.0), weight)
    order = sorted(moves, key=lambda w: (w.startswith("column"), -severity[w]))
    report = ValidationReport(
        success=not failed,
        evaluated=evaluated,
        failed=[f"{where}: {', '.join(moves[where])}" for where in order],
        scope="validation against the champion's reference",
        n_failed=len(failed),
    )
    log.info(report.summary())
    return report
