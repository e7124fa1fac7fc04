"""What ships inside a model: only the modules scoring imports (`bundle.SCORING_CODE`), and
they suffice: a logged model scores in a fresh Python that cannot import wsad otherwise."""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

import components
from components.data.tables import Scaler, feature_matrix, infer_schema
from components.detectors import make
from components.provenance.audit import AuditLog
from components.registry import bundle, registration, store
from components.selection.calibration import calibrate_threshold
from tests.conftest import candidate_facts, synthetic_task

ROOT = Path(components.__file__).parent
# Loads and scores the model at argv[1] on the CSV at argv[2], writes the scores to argv[3]
# and prints where `components` came from and which of its modules were imported.
SCORE_ALONE = """
import importlib.util, json, sys
assert importlib.util.find_spec("components") is None, "wsad is importable outside the model"
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
model.predict(pd.read_csv(sys.argv[2])).to_csv(sys.argv[3], index=False)
import components
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "components")
print(json.dumps({"file": components.__file__, "modules": loaded}))
"""


def shipped_files() -> set[str]:
    """`SCORING_CODE` as file paths relative to components/."""
    files = set()
    for part in bundle.SCORING_CODE:
        if (ROOT / part).is_dir():
            files |= {str(p.relative_to(ROOT)) for p in (ROOT / part).rglob("*.py")}
        else:
            files.add(part)
    return files


def module_file(module: str) -> str | None:
    """The file of a `components` module relative to components/, or None if there is none."""
    path = ROOT.joinpath(*module.split(".")[1:])
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return None


def imported_modules(path: Path) -> Iterator[str]:
    """Every `components` module a file imports, at any depth (functions, TYPE_CHECKING)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "components")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "components":
            assert node.level == 0, f"{path}: a relative import"
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)  # if submodules


def test_scoring_code_is_closed_under_imports() -> None:
    shipped = shipped_files()
    for name in shipped:
        for module in imported_modules(ROOT / name):
            parts = module.split(".")
            for depth in range(2, len(parts) + 1):  # the module and every package above it
                file = module_file(".".join(parts[:depth]))
                assert file is None or file in shipped, f"{name} imports {module}, not shipped"
    assert "registry/store.py" not in shipped
    assert "benchmark.py" not in shipped


def test_the_first_address_of_the_pyfunc_still_unpickles() -> None:
    """Versions registered before the registry was a package pickled this address."""
    assert pickle.loads(b"ccomponents.registry\nWsadModel\n.") is bundle.WsadModel  # noqa: S301


@pytest.fixture
def logged_model(tmp_path: Path) -> Iterator[tuple[Path, pd.DataFrame, pd.DataFrame]]:
    """A quick model logged to a fresh store and downloaded as a scoring server would: its
    folder, a raw table, and the table's scores in this process."""
    X, y, _ = synthetic_task(seed=3, n=300, d=4, n_anomalies=15, n_labelled=5)
    table = pd.DataFrame(X.astype(np.float64), columns=[f"f{i}" for i in range(4)])
    table.insert(0, "id", [f"r{i}" for i in range(len(table))])
    schema = infer_schema(table)
    scaler = Scaler.fit(feature_matrix(table, schema))
    detector = make("iforest", n_estimators=10, random_state=0)
    detector.fit(scaler.transform(feature_matrix(table, schema)), y)
    threshold = calibrate_threshold(
        detector.decision_function(scaler.transform(feature_matrix(table, schema))),
        contamination=0.05,
    )
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    store.configure(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    try:
        folder = bundle.write_bundle(tmp_path / "bundle", detector, schema, scaler, threshold)
        ref = registration.log_candidate(
            "shipped",
            folder,
            candidate_facts(),
            {},
            [],
            table[list(schema.features)].head(5),
            AuditLog(tmp_path / "audit.jsonl"),
        )
        model_dir = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/shipped/{ref.version}", dst_path=str(tmp_path / "model")
            )
        )
        expected = store.load_version("shipped", ref.version).predict(table)
        yield model_dir, table, expected
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


@pytest.mark.slow  # a model logged, and a fresh Python that loads it
def test_a_logged_model_ships_only_the_scoring_code_and_scores_with_it_alone(
    logged_model: tuple[Path, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    model_dir, table, expected = logged_model
    code = model_dir / "code" / "components"
    assert {str(p.relative_to(code)) for p in code.rglob("*.py")} == shipped_files()
    table.to_csv(tmp_path / "table.csv", index=False)
    done = subprocess.run(
        # -S: no site-packages .pth files (wsad's editable install); -P: not the cwd either
        [sys.executable, "-S", "-P", "-c", SCORE_ALONE, str(model_dir), "table.csv", "out.csv"],
        cwd=tmp_path,
        env={"PYTHONPATH": sysconfig.get_paths()["purelib"], "MLFLOW_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(seen["file"]).is_relative_to(code)
    assert {module_file(m) for m in seen["modules"]} <= shipped_files()
    scored = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(scored["score"], expected["score"], rtol=1e-6)
    assert scored["is_anomaly"].tolist() == expected["is_anomaly"].tolist()
