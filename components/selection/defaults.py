"""What `wsad train` releases by default: the candidates it cross-validates, and the rank
ensemble it builds from the best of them (components/selection/ensemble_plan.py).

Why a module of its own: the settings (flows/runtime/config.py), the benchmark CLI and the release
read these, and the settings must not load torch to know them. Chosen by
benchmarks/release_quality.py (benchmarks/RESULTS.md, "Release quality").

Import rule: nothing.
"""

# xgbod is registered but not a default candidate: catboost ranks above it at 5, 10 and 20
# labels (as in ADGym), and its 41 unsupervised detectors score about 70 rows per second, too
# slow for batch and online scoring (RESULTS.md, "Tree candidates"). `supervised` (balanced
# HistGradientBoosting) is registered but not a default either: it learns the same
# labelled-vs-unlabelled split as catboost and scores below it on almost every split, so as
# a candidate it only gave the noisy cross-validation a worse option to pick.
DEFAULT_CANDIDATES = ("devnet", "prenet", "deepsad", "iforest", "catboost")
DEFAULT_TOP = 2  # at most this many members in the released rank ensemble
# A runner-up joins the release only when its ranking AUC is within this of the best one's:
# closer than that, the few labels cannot tell them apart and averaging hedges; further
# behind, it would dilute a clear leader.
DEFAULT_TOLERANCE = 0.05
DEFAULT_SEEDS = 3  # seeds per member
