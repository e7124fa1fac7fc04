"""The model bundle: what a registered version's pyfunc holds (schema, scaler, threshold,
detector, reference profile) and `WsadModel`, the pyfunc that scores a raw table with it.

Why its own module: it ships inside every model (MLflow `code_paths`) with only the
modules scoring imports (`SCORING_CODE`), so a model carries no training, benchmark or
release code, and the scoring server loads it without the rest of the registry.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

import components
from components.data.tables import Scaler, Schema, feature_matrix
from components.monitoring.profile import ReferenceProfile
from components.registry import RegistryError
from components.selection.calibration import Threshold

if TYPE_CHECKING:  # torch loads with the first model, not with the registry's commands
    from components.detectors.api import Detector

BUNDLE_FILES = ("schema.json", "scaler.json", "threshold.json", "detector.pt")
PROFILE_FILE = "profile.json"  # optional: versions registered before profiles have none
# What `WsadModel` imports to load and score, relative to components/: all of wsad that ships
# inside a model (tests/components/registry/test_scoring_code.py checks it is closed under imports).
SCORING_CODE = (
    "__init__.py",
    "registry/__init__.py",
    "registry/bundle.py",
    "registry/legacy.py",
    "selection/__init__.py",
    "selection/calibration.py",
    "data/__init__.py",
    "data/tables.py",
    "data/files.py",
    "monitoring/__init__.py",
    "monitoring/profile.py",
    "detectors",  # every method: a bundle's detector may be any of them
)


def write_bundle(
    bundle_dir: Path,
    detector: Detector,
    schema: Schema,
    scaler: Scaler,
    threshold: Threshold,
    profile: ReferenceProfile | None = None,
) -> Path:
    """Write what the pyfunc needs to score a raw table: schema, scaler, threshold, detector,
    and the reference profile that scoring compares each batch with."""
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Schema | Scaler | Threshold | ReferenceProfile | None] = {
        "schema": schema,
        "scaler": scaler,
        "threshold": threshold,
        "profile": profile,
    }
    for name, obj in parts.items():
        if obj is not None:
            (bundle_dir / f"{name}.json").write_text(json.dumps(obj.to_dict(), indent=2))
    detector.save(bundle_dir / "detector.pt")
    return bundle_dir


def scoring_code(into: Path) -> Path:
    """Copy the `SCORING_CODE` modules into `into`/components, the package MLflow ships as
    the model's code (`code_paths`); returns that folder."""
    source, package = Path(components.__file__).parent, Path(into) / "components"
    for part in SCORING_CODE:
        target = package / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if (source / part).is_dir():
            shutil.copytree(source / part, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source / part, target)
    return package


def bundle_reference(model_name: str, version: str) -> tuple[Schema, ReferenceProfile | None]:
    """A version's schema and reference profile, read from its bundle without loading the
    detector (None for a version registered before profiles)."""
    model = f"models:/{model_name}/{version}"
    bundle = mlflow.models.get_model_info(model).flavors["python_function"]["artifacts"]
    uri = f"{model}/{bundle['bundle']['path']}"  # the folder keeps its name when logged
    with tempfile.TemporaryDirectory(prefix="wsad-reference-") as tmp:
        schema = json.loads(
            Path(
                mlflow.artifacts.download_artifacts(f"{uri}/schema.json", dst_path=tmp)
            ).read_text()
        )
        try:
            profile_path = mlflow.artifacts.download_artifacts(
                f"{uri}/{PROFILE_FILE}", dst_path=tmp
            )
        except (MlflowException, OSError):
            return Schema.from_dict(schema), None
        profile = json.loads(Path(profile_path).read_text())
    return Schema.from_dict(schema), ReferenceProfile.from_dict(profile)


class WsadModel(PythonModel):
    """Raw table in, `score` and `is_anomaly` out: the schema is enforced (`feature_matrix`),
    features scaled as in training, rows scored in chunks to bound memory. `profile` is the
    training data's reference (None for versions registered before profiles)."""

    def load_context(self, context: Any) -> None:
        self._load(Path(context.artifacts["bundle"]))

    def _load(self, bundle: Path) -> None:
        missing = [f for f in BUNDLE_FILES if not (bundle / f).is_file()]
        if missing:
            raise RegistryError(
                f"model bundle {bundle} lacks {', '.join(missing)}; use write_bundle"
            )
        self.schema = Schema.from_dict(json.loads((bundle / "schema.json").read_text()))
        self.scaler = Scaler.from_dict(json.loads((bundle / "scaler.json").read_text()))
        self.threshold = Threshold.from_dict(json.loads((bundle / "threshold.json").read_text()))
        from components.detectors.api import Detector

        self.detector = Detector.load(bundle / "detector.pt")
        profile = bundle / PROFILE_FILE
        self.profile = (
            ReferenceProfile.from_dict(json.loads(profile.read_text()))
            if profile.is_file()
            else None
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return self.score(model_input)

    def score(
        self, model_input: pd.DataFrame, observe: Callable[[np.ndarray], None] | None = None
    ) -> pd.DataFrame:
        """`predict` without MLflow's arguments; `observe` sees the raw feature matrix in
        schema order (the drift statistics read it there instead of converting again)."""
        from components.detectors.deep import SCORE_CHUNK_ROWS

        X = feature_matrix(model_input, self.schema)
        if observe is not None:
            observe(X)
        scores = np.concatenate(
            [
                self.detector.decision_function(self.scaler.transform(X[i : i + SCORE_CHUNK_ROWS]))
                for i in range(0, len(X), SCORE_CHUNK_ROWS)
            ]
        )
        return pd.DataFrame(
            {"score": scores.astype(np.float64), "is_anomaly": self.threshold.flag(scores)},
            index=model_input.index,
        )

    @classmethod
    def from_bundle(cls, bundle: Path) -> WsadModel:
        """A loaded model straight from a bundle folder (for the signature's output example)."""
        model = cls()
        model._load(Path(bundle))
        return model
