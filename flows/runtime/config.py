"""All settings in one typed place: environment variables prefixed `WSAD_` (or a `.env`
file) override the embedded defaults, which need no server."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any, Literal

from pydantic import ByteSize, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from components.data.machine import default_memory_budget  # standard library only
from components.monitoring.drift import SERVING_WINDOW_ROWS  # numpy only
from components.review.queue import DEFAULT_RANDOM_SHARE, DEFAULT_UNCERTAIN_SHARE  # numpy only
from components.selection.defaults import (
    DEFAULT_CANDIDATES,
    DEFAULT_SEEDS,
    DEFAULT_TOLERANCE,
    DEFAULT_TOP,
)
from components.selection.row_budget import (  # numpy only
    DEFAULT_CONTAMINATION_ROWS,
    DEFAULT_CV_ROWS,
    DEFAULT_REFIT_ROWS,
)

# The Prefect flow's name: deployments and the approval queue find its runs by it.
TRAINING_FLOW = "wsad-training"


class Settings(BaseSettings):
    """Where the data, the registry and the audit log live, and how models are chosen."""

    # Defaults are ours and valid: validating them would load torch (to check the methods'
    # names) on every command, even one that refuses a missing file.
    model_config = SettingsConfigDict(
        env_prefix="WSAD_", env_file=".env", extra="ignore", validate_default=False
    )

    records: Path = Path("data/records.csv")
    labels: Path = Path("data/labels.csv")
    data_dvc: Path = Path("data.dvc")
    id_column: str = "id"
    model_name: str = "wsad-detector"
    methods: list[str] = Field(default_factory=lambda: list(DEFAULT_CANDIDATES))
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-method overrides
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    audit_log: Path = Path("mlruns/audit.jsonl")
    audit_key: SecretStr | None = None
    threshold_method: Literal["quantile", "fpr", "zscore"] = "quantile"
    target_fpr: float = Field(default=0.01, gt=0.0, lt=1.0)
    # `wsad review`: share of the queue spent on rows the model is least sure of
    review_uncertain_share: float = Field(default=DEFAULT_UNCERTAIN_SHARE, ge=0.0, le=1.0)
    # `wsad review`: share of the queue drawn at random, so its verdicts measure precision
    # and recall (`wsad review --report`)
    review_random_share: float = Field(default=DEFAULT_RANDOM_SHARE, ge=0.0, le=1.0)
    metric_floor: float = 0.1
    margin: float = 0.0
    allow_schema_change: bool = False  # train on columns that differ from the champion's
    # Train although the data moved away from the champion's reference (audited with this
    # reason); per run (`wsad train --accept-drift --reason`), never a standing setting.
    accept_drift_reason: str | None = None
    # Release a version trained on data DVC does not version (audited with this reason, who
    # and the files' md5); per run (`wsad train --allow-unversioned --reason`), likewise.
    allow_unversioned_reason: str | None = None
    cv_folds: int = Field(default=3, ge=2)
    # The most memory a table read whole may take (bytes, or e.g. "8GiB"): training and
    # review refuse a larger one before reading it; scoring streams it in chunks.
    memory_budget: ByteSize = Field(default_factory=lambda: ByteSize(default_memory_budget()), gt=0)
    # The release: rank ensemble of the best cross-validated candidate and those of the next
    # `release_top - 1` within `release_tolerance` of its ranking AUC, `ensemble_seeds` seeds
    # each (components/selection/ensemble_plan.py; chosen by benchmarks/RESULTS.md).
    release_top: int = Field(default=DEFAULT_TOP, ge=1)
    release_tolerance: float = Field(default=DEFAULT_TOLERANCE, ge=0.0)
    ensemble_seeds: int = Field(default=DEFAULT_SEEDS, ge=1)
    # Unlabelled rows each training stage reads at most, besides every labelled anomaly and
    # confirmed normal (a seeded draw, recorded with the version; 0 = every row). The
    # threshold is calibrated on every row whatever these say (components/selection/row_budget.py;
    # chosen in benchmarks/RESULTS.md, "Training row budget").
    contamination_rows: int = Field(default=DEFAULT_CONTAMINATION_ROWS, ge=0)
    cv_rows: int = Field(default=DEFAULT_CV_ROWS, ge=0)
    refit_rows: int = Field(default=DEFAULT_REFIT_ROWS, ge=0)
    # Torch's CPU threads per fit while training (0: torch's default, one per core); 1
    # because the cross-validation runs two fits at once (components/detectors/api.py).
    torch_threads: int = Field(default=1, ge=0)
    random_state: int = 0
    device: str = "auto"
    # Distributed training (extra `[distributed]`): the cross-validation tasks run on this
    # Ray cluster ("ray://head:10001" or "head:6379"); None = threads on this machine.
    ray_address: str | None = None
    gpus_per_task: float | None = None  # None = 1 where the cluster reports GPUs, else 0
    who: str = Field(default_factory=getpass.getuser)
    # Scheduled retraining (`wsad serve` / `wsad deploy`) and the human approval gate.
    deployment_name: str = "scheduled-retrain"
    schedule_cron: str = "0 3 * * 1"  # Mondays 03:00 (the serving machine's time zone: UTC)
    require_approval: bool = False  # pause before `champion` moves until someone approves
    approval_timeout_s: int = 86_400  # no answer within a day = rejected
    approval_poll_s: int = 10  # how often a paused run checks for the answer
    serve_poll_s: float = Field(default=5.0, gt=0)  # `wsad serve-model` checks the audit log
    # `wsad serve-model`: drift is measured over the last this many scored rows (a row count,
    # not a time span: components/monitoring/serving_drift.py says why)
    serve_drift_window_rows: int = Field(default=SERVING_WINDOW_ROWS, ge=1)

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, methods: list[str]) -> list[str]:
        from components.detectors import available  # torch: only when methods are set

        unknown = sorted(set(methods) - set(available()))
        if unknown:
            raise ValueError(
                f"unknown method(s) {', '.join(unknown)}; use {', '.join(available())}"
            )
        return methods

    def audit_key_bytes(self) -> bytes | None:
        """The HMAC key of the audit log, when one is configured."""
        return self.audit_key.get_secret_value().encode() if self.audit_key else None
