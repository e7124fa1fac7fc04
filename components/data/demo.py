"""The embedded demo data: Wisconsin breast-cancer records as a weakly labelled table.

Built deterministically from the copy scikit-learn ships (no download), so `data.dvc`'s hash
matches on every machine: 357 benign records are the normal class, 20 malignant ones (every
tenth) are the anomalies, and 10 of those are "confirmed" in the label file. This mirrors
ODDS' WBC benchmark, a classic anomaly-detection table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer

N_ANOMALIES = 20
N_CONFIRMED = 10
RECORDS = "records.csv"
LABELS = "labels.csv"


def build_demo_data(data_dir: Path) -> tuple[Path, Path]:
    """Write records.csv and labels.csv into `data_dir` (byte-identical on every run)."""
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    malignant = frame.index[frame["target"] == 0][::10][:N_ANOMALIES]
    keep = frame.index[frame["target"] == 1].union(malignant)
    records = frame.loc[keep].drop(columns="target")
    records.insert(0, "id", [f"wbc-{i:04d}" for i in records.index])
    labels = pd.DataFrame(
        {
            "id": [f"wbc-{i:04d}" for i in malignant[:N_CONFIRMED]],
            "who": "demo-analyst",
            "when": "2026-01-15T09:00:00+00:00",
            "note": "confirmed malignant (demo)",
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    records.to_csv(data_dir / RECORDS, index=False, float_format="%.6g", lineterminator="\n")
    labels.to_csv(data_dir / LABELS, index=False, lineterminator="\n")
    return data_dir / RECORDS, data_dir / LABELS
