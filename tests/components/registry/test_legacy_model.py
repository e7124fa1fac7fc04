"""A version registered before components/ was grouped by domain still loads in a process
that runs the current code and scores the rows it scored then, bit for bit
(model_before_domains/README.md says how it was made). Its pickle names
`components.registry.bundle.WsadModel`; components/registry/legacy.py lists the addresses
that must keep resolving."""

from __future__ import annotations

import inspect
import json
import tarfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from components.registry import bundle

STORED = Path(__file__).parent / "model_before_domains"


def test_a_version_stored_before_the_domain_move_loads_and_scores_as_before(
    tmp_path: Path,
) -> None:
    with tarfile.open(STORED / "model.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    loaded = model.unwrap_python_model()
    assert inspect.getfile(type(loaded)) == bundle.__file__  # today's class, not its copy
    rows = pd.read_csv(STORED / "rows.csv")
    expected = json.loads((STORED / "scores.json").read_text())

    scored = model.predict(rows)

    np.testing.assert_array_equal(scored["score"].to_numpy(), np.array(expected["score"]))
    assert scored["is_anomaly"].tolist() == expected["is_anomaly"]
