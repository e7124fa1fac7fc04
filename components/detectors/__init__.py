"""Detectors by name: `make("devnet", epochs=10)`, `available()`.

Importing this package registers every method module below.
"""

from components.detectors import (  # noqa: F401 (registers)
    anoonly,
    baselines,
    boosted,
    deepsad,
    devnet,
    devnet_topk,
    ensemble,
    esad,
    feawad,
    mnpwad,
    prenet,
    rosas,
)
from components.detectors.api import Detector, available, make

__all__ = ["Detector", "available", "make"]
