"""Batch samplers: each returns a `sample()` that draws the next batch on the rows' device
(no host round trip per batch), from the fit's seeded generator."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

Batch = tuple[Tensor, ...]


def balanced_sampler(X: Tensor, y: Tensor, batch_size: int, gen: torch.Generator):
    """DevNet's batches: half unlabelled (or confirmed normal), half labelled anomalies, drawn
    with replacement on the device (no host round trip per batch)."""
    idx_u, idx_a = torch.nonzero(y != 1).squeeze(1), torch.nonzero(y == 1).squeeze(1)
    n_u = batch_size // 2
    n_a = batch_size - n_u

    def sample() -> Batch:
        pick_u = idx_u[torch.randint(len(idx_u), (n_u,), generator=gen, device=X.device)]
        pick_a = idx_a[torch.randint(len(idx_a), (n_a,), generator=gen, device=X.device)]
        idx = torch.cat([pick_u, pick_a])
        return X[idx], y[idx]

    return sample


def shuffled_sampler(X: Tensor, y: Tensor, batch_size: int, gen: torch.Generator):
    """Plain shuffled mini-batches over all rows, a new permutation each pass (Deep SAD's
    DataLoader(shuffle=True, drop_last=True): a partial last batch, possibly one row that
    BatchNorm cannot train on, is dropped). The rows are permuted once per pass on the
    device, so each batch is a slice (a view), not a gather."""
    state: dict[str, Any] = {"X": X[:0], "y": y[:0], "pos": 0}

    def sample() -> Batch:
        if state["pos"] + batch_size > len(state["X"]):
            perm = torch.randperm(len(X), generator=gen, device=X.device)
            state.update(X=X[perm], y=y[perm], pos=0)
        start = state["pos"]
        state["pos"] = start + batch_size
        return state["X"][start : start + batch_size], state["y"][start : start + batch_size]

    return sample
