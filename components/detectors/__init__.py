"""Detectors by name: `make("devnet", epochs=10)`, `available()`.

Importing this package registers every method module below.
"""

from components.detectors import baselines, deepsad, devnet, prenet  # noqa: F401 (registers)
from components.detectors.base import Detector, available, make

__all__ = ["Detector", "available", "make"]
