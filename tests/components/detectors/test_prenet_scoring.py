"""PReNet scores with the references' mean embedding; by the head's linearity this must equal
the paper's mean over the E pairwise relations."""

from __future__ import annotations

import torch

from components.detectors import make
from tests.conftest import synthetic_task


def test_score_equals_mean_of_pairwise_relations():
    X, y, _ = synthetic_task(n=400, n_anomalies=20, n_labelled=6)
    det = make("prenet", epochs=2, batches_per_epoch=3, device="cpu").fit(X, y)
    net, rows = det.net_, torch.as_tensor(X[:50])
    with torch.no_grad():
        h = net.features(rows)[:, None, :]
        h_u = net.features(net.ref_u)[None].expand(len(rows), -1, -1)
        h_a = net.features(net.ref_a)[None].expand(len(rows), -1, -1)
        h = h.expand_as(h_u)
        pairwise = (net.relation(h_u, h).mean(1) + net.relation(h, h_a).mean(1)) / 2
    got = torch.as_tensor(det.decision_function(X[:50]), dtype=torch.float32)
    torch.testing.assert_close(got, pairwise, rtol=1e-5, atol=1e-5)
    assert got.std() > 0
