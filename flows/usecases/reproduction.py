"""Reproducing a released version (`wsad reproduce VERSION`): restore the data version it
records from the DVC cache or remote, retrain it on CPU from what it records
(components/registry/reproduction.py) and compare it with the registered model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from components.registry.reproduction import ReproductionError
from flows.runtime.config import Settings


class NotReproduced(ReproductionError):
    """The retrained model differs from the registered one beyond the stated tolerance; the
    message is the verdict line (what differs)."""


def reproduce_version(settings: Settings, version: str) -> str:
    """Restore the version's data, retrain it on CPU, compare; returns the verdict line and
    raises `ReproductionError` when it cannot be reproduced, `NotReproduced` when it
    differs."""
    from components.data.label_file import read_labels
    from components.provenance import lineage
    from components.provenance.audit import AuditLog
    from components.registry import store
    from components.registry.reproduction import Recipe, compare, retrain

    store.configure(settings.tracking_uri)
    audit = AuditLog(settings.audit_log, settings.audit_key_bytes())
    check = audit.verify()
    if not check.ok:
        raise ReproductionError(f"audit log {audit.path} fails verification ({check.reason})")
    info = store.version_info(settings.model_name, version)
    recipe = Recipe.from_release(info, audit.entries())
    if not lineage.is_versioned(recipe.data_version):
        allowed = store.version_facts(info).unversioned
        released = (
            f"; released with --allow-unversioned by {allowed.who} ({allowed.reason}), the "
            f"inputs' md5 are in its audit entries"
            if allowed
            else ""
        )
        raise ReproductionError(
            f"{recipe.model_name} v{version} was trained on data DVC did not version "
            f"({recipe.data_version}: {recipe.records}, {recipe.labels}); it cannot be "
            f"restored{released}"
        )
    tracked = lineage.tracked_dir(settings.data_dvc)
    notes = []
    head = lineage.git_commit(Path.cwd())
    if head != recipe.git_commit:
        notes.append(f"code at {head}, trained at {recipe.git_commit}")
    with tempfile.TemporaryDirectory(prefix="wsad-reproduce-") as tmp:
        restored = lineage.restore_data(settings.data_dvc, recipe.data_version, Path(tmp) / "ws")
        records, labels = (
            restored / Path(p).resolve().relative_to(tracked)
            for p in (recipe.records, recipe.labels)
        )
        now = Path(recipe.labels)
        if not now.is_file() or now.read_bytes() != labels.read_bytes():
            before = len(read_labels(labels))
            after = len(read_labels(now)) if now.is_file() else 0
            notes.append(
                f"{recipe.labels} changed since the release ({before} -> {after} labels); "
                "the release's own labels were used"
            )
        model = retrain(recipe, records, labels, settings.id_column, Path(tmp) / "bundle")
        registered = store.load_version(settings.model_name, version).unwrap_python_model()
        comparison = compare(registered, model, records, notes)
    if not (comparison.equal or comparison.within_tolerance):
        raise NotReproduced(f"{settings.model_name} v{version}: {comparison.verdict()}")
    return comparison.verdict()
