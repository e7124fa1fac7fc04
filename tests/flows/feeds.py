"""Feeds derived from the demo table: broken ones (each a realistic upstream fault, with the
column or check the refusal must name) and benign refreshes that must train normally.

Each builder takes the champion's records and labels and a seeded generator and returns the
new records and labels; docs/RELIABILITY.md lists them with their tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Feed = Callable[
    [pd.DataFrame, pd.DataFrame, np.random.Generator], tuple[pd.DataFrame, pd.DataFrame]
]


def _column(name: str, change: Callable[[pd.Series, np.random.Generator], pd.Series]) -> Feed:
    def build(records, labels, rng):
        return records.assign(**{name: change(records[name], rng)}), labels

    return build


def _unlabelled(records: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    return ~records["id"].isin(labels["id"])


def rows_halved(records, labels, rng):
    """An export that stopped half way: half of the unlabelled rows are gone."""
    unlabelled = records.index[_unlabelled(records, labels)]
    drop = rng.choice(unlabelled, size=len(records) // 2, replace=False)
    return records.drop(index=drop), labels


def rows_duplicated(records, labels, rng):
    """A load that ran twice: every row appears two times."""
    return pd.concat([records, records], ignore_index=True), labels


def columns_swapped(records, labels, rng):
    """Two columns' headers mixed up upstream."""
    return records.rename(columns={"mean_area": "mean_perimeter", "mean_perimeter": "mean_area"})[
        records.columns
    ], labels


def large_tumours_missing(records, labels, rng):
    """A category of rows stopped arriving: no tumour above the 70th radius percentile."""
    keep = (records["mean_radius"] <= records["mean_radius"].quantile(0.7)) | ~_unlabelled(
        records, labels
    )
    return records[keep], labels


def uniform_noise(series: pd.Series, rng: np.random.Generator) -> pd.Series:
    return pd.Series(rng.uniform(series.min(), series.max(), len(series)), index=series.index)


def zero_filled(series: pd.Series, rng: np.random.Generator) -> pd.Series:
    """A third of the values missing upstream and filled with 0."""
    return series.where(rng.random(len(series)) > 0.33, 0.0)


BROKEN: dict[str, tuple[Feed, str]] = {
    "units_x1000": (_column("mean_area", lambda s, r: s * 1000), "mean_area"),
    "units_mm_to_inches": (_column("worst_radius", lambda s, r: s / 25.4), "worst_radius"),
    "constant_column": (
        _column("mean_texture", lambda s, r: s * 0 + s.median()),
        "mean_texture",
    ),
    "shifted_3_std": (
        _column("mean_smoothness", lambda s, r: s + 3 * s.std()),
        "mean_smoothness",
    ),
    "sign_flipped": (_column("mean_symmetry", lambda s, r: -s), "mean_symmetry"),
    "log_transformed": (_column("area_error", lambda s, r: np.log(s)), "area_error"),
    "noise_same_range": (_column("worst_area", uniform_noise), "worst_area"),
    "zero_filled_third": (_column("mean_concavity", zero_filled), "mean_concavity"),
    "rounded_to_one_decimal": (
        _column("mean_smoothness", lambda s, r: s.round(1)),
        "mean_smoothness",
    ),
    "clipped_at_median": (
        _column("worst_area", lambda s, r: s.clip(upper=s.median())),
        "worst_area",
    ),
    "columns_swapped": (columns_swapped, "mean_area|mean_perimeter"),
    "rows_halved": (rows_halved, "row count"),
    "rows_duplicated": (rows_duplicated, "'id'.*duplicate|row count"),
    "category_missing": (large_tumours_missing, "mean_radius"),
    "labels_emptied": (lambda r, labels, rng: (r, labels.iloc[0:0]), "label"),
    "labels_truncated": (
        lambda r, labels, rng: (r, labels.iloc[: len(labels) // 2]),
        "label",
    ),
}


def resample(records, labels, rng):
    """Another draw from the same source: a random 90 % of the unlabelled rows, every
    labelled one."""
    unlabelled = records.index[_unlabelled(records, labels)]
    keep = rng.choice(unlabelled, size=int(0.9 * len(unlabelled)), replace=False)
    return records.loc[sorted([*keep, *records.index[~_unlabelled(records, labels)]])], labels


def five_percent_new_rows(records, labels, rng):
    """5 % new rows from the same distribution: each between two random unlabelled rows."""
    pool = records[_unlabelled(records, labels)].drop(columns="id").to_numpy()
    n = len(records) // 20
    a, b = pool[rng.integers(len(pool), size=n)], pool[rng.integers(len(pool), size=n)]
    mix = rng.random((n, 1))
    new = pd.DataFrame(a * mix + b * (1 - mix), columns=records.columns.drop("id"))
    new.insert(0, "id", [f"new-{i:04d}" for i in range(n)])
    return pd.concat([records, new], ignore_index=True), labels


def one_more_label(records, labels, rng):
    """An analyst confirmed one more anomaly."""
    fresh = records.loc[_unlabelled(records, labels), "id"].iloc[-1]
    row = pd.DataFrame([{"id": fresh, "who": "bob", "when": "2026-02-01T00:00:00+00:00"}])
    return records, pd.concat([labels, row.assign(note="confirmed")], ignore_index=True)


BENIGN: dict[str, Feed] = {
    "another_sample": resample,
    "another_sample_seed_2": lambda r, labels, rng: resample(
        r, labels, np.random.default_rng(rng.integers(1 << 30))
    ),
    "five_percent_new_rows": five_percent_new_rows,
    "rows_reordered": lambda r, labels, rng: (r.sample(frac=1.0, random_state=1), labels),
    "columns_reordered": lambda r, labels, rng: (r[[r.columns[0], *r.columns[1:][::-1]]], labels),
    "one_more_label": one_more_label,
}
