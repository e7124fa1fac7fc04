"""What `wsad train` releases by default: the candidates it cross-validates, and the rank
ensemble it builds from the best of them (components/selection/ensemble_plan.py).

Why a module of its own: the settings (flows/runtime/config.py), the benchmark CLI and the release
read these, and the settings must not load torch to know them. Chosen by
benchmarks/release_lto.py (benchmarks/RESULTS.md, "Release out of sample").

Import rule: nothing.
"""

# Every default below was chosen leave-tables-out: on three of four fixed groups of the
# shared tables, scored on the fourth (benchmarks/release_lto.py; benchmarks/RESULTS.md,
# "Release out of sample"). Every held-out group's choice dropped `supervised`, and three of
# four dropped `iforest`: as candidates they mostly gave the noisy cross-validation a worse
# option to pick (both stay registered for WSAD_METHODS). xgbod is registered but not a candidate
# either: catboost ranks above it at 5, 10 and 20 labels (as in ADGym), and its 41
# unsupervised detectors score about 70 rows per second (RESULTS.md, "Tree candidates").
DEFAULT_CANDIDATES = ("devnet", "prenet", "deepsad", "catboost")
DEFAULT_TOP = 2  # members in the released rank ensemble (at most)
# A runner-up joins the release when its ranking AUC is within this of the best one's. 1.0:
# always. With 5-20 labels the cross-validated ranking is noisy enough that averaging the
# best two beat every tolerance measured (0.02, 0.05, 0.1) over all four groups.
DEFAULT_TOLERANCE = 1.0
DEFAULT_SEEDS = 3  # seeds per member
# What candidates are ranked by (components/selection/ensemble_plan.py CRITERIA).
DEFAULT_CRITERION = "auc_roc"
