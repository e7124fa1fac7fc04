"""Estimated performance without new labels: precision and recall at the threshold, alerts
per 10,000 rows and AUC-PR, each with an interval, at training and for every scored batch.

What the training run has: the release's out-of-fold scores of the held-out labelled
anomalies and unlabelled rows (per fold, `selection.ensemble_plan.combine`); the
contamination pi (share of anomalies among the unlabelled rows) with its 90 % interval,
estimated by best-bin estimation on those same scores
(`selection.contamination.release_estimate`, from which the threshold's share is read
when it is trusted; its precision errs less than with the first, feature-space estimate:
benchmarks/RESULTS.md, "Estimated performance", the table of contamination sources); and
the threshold, expressed as q, the share of training rows without a verdict that it flags
(the flag-rate curve read at the threshold); flows/usecases/performance_estimate.py gathers
them. Each held-out labelled anomaly gets its rank u_i: the share of its fold's held-out
unlabelled rows scoring above it, so it is flagged at flag rate q when u_i < q.

Under SCAR (the labelled anomalies are a random sample of all anomalies) the held-out ones
give the recall at every flag rate, R(q) = #{u_i < q} / n, and the unlabelled flag rate is
q = pi R + (1 - pi) F, F the false-positive rate, so (Jain, White & Radivojac, "Recovering
true classifier performance in positive-unlabeled learning", AAAI'17)

    precision(q) = min(1, pi R(q) / q),    F(q) = max(0, (q - pi R(q)) / (1 - pi)),

and AUC-PR is the mean over the anomalies, in rank order, of the precision at R = j / n.

The training estimate is for rows like the training table, labelled anomalies included
(new rows hold those kinds of anomaly too): its anomaly share is pi_t = (pi N_U + N_L) /
(N_U + N_L), and the precision, alerts per 10,000 rows (10,000 times the flag rate) and
AUC-PR are those of a mixture at pi_t with the recall R and false-positive rate F above:
precision = pi_t R / (pi_t R + (1 - pi_t) F). Each value is the median of `N_DRAWS` joint
draws (the point with the least expected absolute error; the plug-in sits at precision's
cap of 1 too often) and its interval their central 90 %: pi from a split normal through the
contamination interval, R from Jeffreys' Beta(k + 1/2, n - k + 1/2) posterior of k flagged
out of n (sound at n = 5, where a bootstrap of five ranks is not; the interval reaches 1
when k = n), the ranks resampled with replacement for AUC-PR, and the binomial noise of
10,000 rows for alerts.

A scored batch (`estimate_batch`): the scores of anomalies and of normal rows keep their
training distributions and only the anomaly share moves to pi_b. The batch's flag rate is
then q_b = pi_b R + (1 - pi_b) F, solved for pi_b; the batch's precision is pi_b R / q_b,
its recall R, its AUC-PR the training curves re-weighted to pi_b, its alerts its own flag
rate. `moved` names the precision, AUC-PR or anomaly share that left the training interval
(the scoring warning; the flag rate itself is the drift report's check).

When it is wrong (measured out of sample in benchmarks/RESULTS.md, "Estimated performance",
with a table of where the error comes from):
- always: precision moves with pi, so the contamination estimate's error carries into it one
  for one in relative terms (the threshold is calibrated near the estimate, so a share off
  by half is a precision off by half), and R from n = 5 to 20 held-out labels has the
  binomial error of n trials; the intervals, not the values, are the part to read;
- labels that cover only one kind of anomaly (SCAR violated: analysts confirm the obvious
  ones): R is the recall of that kind, too high for the rest, and pi (the contamination
  estimators assume SCAR too) too low; precision and recall are both over-estimated;
- an untrusted contamination estimate (components/selection/contamination/trust.py): its
  interval, and so precision's and AUC-PR's, is wide; the estimate is kept, its `trusted`
  says so;
- the release is refitted on every label after the cross-validation, so R is that of
  models that saw fewer labels: usually a little low;
- a release that scores its own training rows lower than new ones (a deep detector that
  memorised them) flags more of new data than q, because the threshold is calibrated on the
  rows it was fitted on: on new rows it sits further down the curves, so the training
  estimate's alerts and recall are too low and its intervals miss. A batch's alerts read the
  batch's own flag rate; its anomaly share, though, reads the higher flag rate as more
  anomalies (the two cannot be told apart from one flag rate). A flag rate measured on rows
  the model was not fitted on removes this (the benchmark's "read at the test flag rate");
- a batch whose normal rows shifted (drift) or with a new kind of anomaly breaks the batch
  model: a shift that raises the flag rate is read as more anomalies and over-states
  precision. Read the drift report first; the estimate assumes none.

Import rule: numpy only (it ships inside every model, components/registry/bundle.py).
"""

from components.monitoring.performance.estimate import (
    PerformanceError,
    anomaly_ranks,
    average_precision,
    estimate_batch,
    training_basis,
)
from components.monitoring.performance.records import (
    Estimated,
    PerformanceBasis,
    PerformanceEstimate,
)
from components.monitoring.performance.report import PerformanceReport

__all__ = [
    "Estimated",
    "PerformanceBasis",
    "PerformanceError",
    "PerformanceEstimate",
    "PerformanceReport",
    "anomaly_ranks",
    "average_precision",
    "estimate_batch",
    "training_basis",
]
