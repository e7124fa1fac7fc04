"""The addresses that registered versions pickled, kept so that every stored version loads.

A version's pyfunc is a pickled `WsadModel`: pickle stores the class by its module path, and
loading a version in a process that has already imported wsad resolves that path against
the installed package (MLflow only prepends the version's own shipped code to `sys.path`).
So a class a version pickled may never move without an entry here:

- `components.registry.bundle.WsadModel`: every version registered since the registry became
  a package, including those registered before components/ was grouped by domain (the move
  kept the registry in place). tests/components/registry/test_legacy_model.py loads a
  version stored before that move and checks its scores.
- `components.registry.WsadModel`: versions registered while the registry was one module.
  Resolved by the package's `__getattr__`, which asks `old_address`.

Everything else a version holds is data (JSON and a `torch.save` state dict, read by name),
not an address.
"""

from __future__ import annotations

from typing import Any


def old_address(name: str) -> Any:
    """What `components.registry.<name>` meant when the registry was one module."""
    if name == "WsadModel":
        from components.registry.bundle import WsadModel

        return WsadModel
    raise AttributeError(f"module 'components.registry' has no attribute {name!r}")
