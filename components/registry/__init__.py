"""Release through the MLflow model registry: candidates, gated promotion, rollback.

Why: a model reaches production only by the `champion` alias of a registered version, and
that alias moves only when every gate passes (`gates.decide_promotion`, pure) and the move
is written to the hash-chained audit log (`audit_trail`). A version is a pyfunc bundling the
schema, the scaler, the detector and the threshold (`bundle`), so `models:/<name>@champion`
scores a raw table exactly as training saw it. Every version carries its facts (lineage,
validation, contamination interval, method, metrics) as tags (`candidate_facts`).

The modules, lowest first: `candidate_facts` (the typed tags), `gates` (pure decisions),
`bundle` (the pyfunc), `audit_trail` (each release step's audit entry, the champion
history), `store` (MLflow set-up, versions, aliases, loading), `registration` (a candidate
becomes a version), `promotion` (promote, reject, roll back), `reproduction` (retrain a
version from what it records); `legacy` keeps the addresses older versions pickled. With
components/serving/http_app.py (MLflow's scoring server), the only modules besides flows/
that import mlflow.
"""

from __future__ import annotations

from typing import Any


class RegistryError(ValueError):
    """A model, version or alias is not in the registry, or a release step is refused."""


def __getattr__(name: str) -> Any:
    """Addresses that versions registered before pickled (components/registry/legacy.py)."""
    from components.registry.legacy import old_address

    return old_address(name)
