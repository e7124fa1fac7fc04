"""All settings in one typed place: environment variables prefixed `WSAD_` (or a `.env`
file) override the embedded defaults, which need no server."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_METHODS = ["devnet", "prenet", "deepsad", "iforest", "supervised"]


class Settings(BaseSettings):
    """Where the data, the registry and the audit log live, and how models are chosen."""

    model_config = SettingsConfigDict(env_prefix="WSAD_", env_file=".env", extra="ignore")

    records: Path = Path("data/records.csv")
    labels: Path = Path("data/labels.csv")
    data_dvc: Path = Path("data.dvc")
    id_column: str = "id"
    model_name: str = "wsad-detector"
    methods: list[str] = Field(default_factory=lambda: list(DEFAULT_METHODS))
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-method overrides
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    audit_log: Path = Path("mlruns/audit.jsonl")
    audit_key: SecretStr | None = None
    threshold_method: str = "quantile"
    target_fpr: float = 0.01
    metric_floor: float = 0.1
    margin: float = 0.0
    allow_schema_change: bool = False  # train on columns that differ from the champion's
    cv_folds: int = 3
    random_state: int = 0
    device: str = "auto"
    who: str = Field(default_factory=getpass.getuser)

    def audit_key_bytes(self) -> bytes | None:
        """The HMAC key of the audit log, when one is configured."""
        return self.audit_key.get_secret_value().encode() if self.audit_key else None
