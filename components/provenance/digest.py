"""The md5 of a file's bytes: the fingerprint that lineage records for data DVC does not
version and that a scoring receipt records for its input and output, so each can be checked
against the file later. Import rule: standard library only."""

from __future__ import annotations

import hashlib
from pathlib import Path


def md5_of(path: Path) -> str:
    """The md5 of a file's bytes, read in blocks (DVC's digest of a single file)."""
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
