"""What `wsad train` releases by default: the candidates it cross-validates, and the rank
ensemble it builds from the best of them (components/release.py).

Why a module of its own: the settings (flows/config.py), the benchmark CLI and the release
read these, and the settings must not load torch to know them. Chosen by
benchmarks/release_quality.py (benchmarks/RESULTS.md, "Release quality").

Import rule: nothing.
"""

# xgbod is registered but not a default candidate: catboost ranks above it at 5, 10 and 20
# labels (as in ADGym), and its 41 unsupervised detectors score about 70 rows per second, too
# slow for batch and online scoring (RESULTS.md, "Tree candidates").
DEFAULT_CANDIDATES = ("devnet", "prenet", "deepsad", "iforest", "supervised", "catboost")
DEFAULT_TOP = 2  # members of the released rank ensemble
DEFAULT_SEEDS = 3  # seeds per member
