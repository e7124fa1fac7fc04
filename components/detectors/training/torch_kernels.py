"""The training loop's update arithmetic, each on a private torch kernel behind a guard, with
a public path of the same arithmetic.

Why private kernels at all: the networks here are small, so a step is dominated by kernel
launches and Python, and one `torch._foreach_*` or `torch._fused_adam_` call over every
parameter tensor (stacked ensemble members included) replaces one call per tensor.
benchmarks/RESULTS.md ("Private torch kernels vs public path") has both paths' speed.

Why a guard: private names can vanish or change signature in any torch release. Each group
of kernels is probed once, on first use, with a tiny call whose result must agree with the
public path; if the name is missing, the call raises, or the result differs, every later
call takes the public path. One DEBUG line says which path each group took.

Public paths: per-tensor tensor methods for clipping and weight decay, torch.optim's
functional `adam` / `rmsprop` (single-tensor, not fused) for the updates, and for the Beta
draws two torch.distributions.Gamma draws over their sum (as a Dirichlet is built; Beta itself
samples through `_sample_dirichlet`), under a CPU RNG forked from and seeded by the caller's
generator, as torch.distributions cannot take a generator. The public Beta path is another
random stream than the private one: the same distribution, not the same draws.

Import rule: torch only.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.optim.adam import adam
from torch.optim.rmsprop import rmsprop

log = logging.getLogger(__name__)

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
RMSPROP_RHO, RMSPROP_EPS = 0.9, 1e-7  # Keras' RMSprop defaults


# Private and public implementations, pairwise the same arithmetic ---------------------------
def _clip_private(grads: list[Tensor], max_norm: float) -> None:
    norms = torch.stack(torch._foreach_norm(grads))
    torch._foreach_mul_(grads, (max_norm / (norms + 1e-6)).clamp(max=1.0).unbind())


def _clip_public(grads: list[Tensor], max_norm: float) -> None:
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    for g, scale in zip(grads, (max_norm / (norms + 1e-6)).clamp(max=1.0).unbind(), strict=True):
        g.mul_(scale)


def _decay_private(grads: list[Tensor], params: list[Tensor], weight_decay: float) -> None:
    torch._foreach_add_(grads, params, alpha=weight_decay)


def _decay_public(grads: list[Tensor], params: list[Tensor], weight_decay: float) -> None:
    for g, p in zip(grads, params, strict=True):
        g.add_(p, alpha=weight_decay)


def _adam_private(
    params: list[Tensor], grads: list[Tensor], first: list[Tensor], second: list[Tensor],
    steps: list[Tensor], lr: float,
) -> None:  # fmt: skip
    torch._foreach_add_(steps, 1)
    torch._fused_adam_(
        params, grads, first, second, [], steps, lr=lr, beta1=ADAM_BETAS[0],
        beta2=ADAM_BETAS[1], weight_decay=0.0, eps=ADAM_EPS, amsgrad=False, maximize=False,
    )  # fmt: skip


def _adam_public(
    params: list[Tensor], grads: list[Tensor], first: list[Tensor], second: list[Tensor],
    steps: list[Tensor], lr: float,
) -> None:  # fmt: skip
    adam(
        params, grads, first, second, [], steps, foreach=False, fused=False, amsgrad=False,
        beta1=ADAM_BETAS[0], beta2=ADAM_BETAS[1], lr=lr, weight_decay=0.0, eps=ADAM_EPS,
        maximize=False,
    )  # fmt: skip


def _rmsprop_private(
    params: list[Tensor], grads: list[Tensor], second: list[Tensor], lr: float
) -> None:
    torch._foreach_mul_(second, RMSPROP_RHO)
    torch._foreach_addcmul_(second, grads, grads, value=0.1)
    avg = torch._foreach_sqrt(second)
    torch._foreach_add_(avg, RMSPROP_EPS)
    torch._foreach_addcdiv_(params, grads, avg, value=-lr)


def _rmsprop_public(
    params: list[Tensor], grads: list[Tensor], second: list[Tensor], lr: float
) -> None:
    steps = [torch.zeros((), device=p.device) for p in params]  # rmsprop counts; we do not
    rmsprop(
        params, grads, second, [], [], steps, foreach=False, lr=lr, alpha=RMSPROP_RHO,
        eps=RMSPROP_EPS, weight_decay=0.0, momentum=0.0, centered=False,
    )  # fmt: skip


def _beta_private(alpha: float, n: int, gen: torch.Generator, device: torch.device) -> Tensor:
    concentration = torch.full((n, 2), float(alpha), device=device)
    return torch._sample_dirichlet(concentration, generator=gen)[:, 1]


def _beta_public(alpha: float, n: int, gen: torch.Generator, device: torch.device) -> Tensor:
    seed = int(torch.randint(2**62, (), generator=gen, device=gen.device))
    with torch.random.fork_rng(devices=[]):  # the global CPU RNG is restored on exit
        torch.default_generator.manual_seed(seed)
        gamma = torch.distributions.Gamma(torch.tensor(float(alpha)), torch.tensor(1.0))
        pairs = gamma.sample((n, 2))  # Dirichlet(alpha, alpha) = two Gammas over their sum
        return (pairs[:, 1] / pairs.sum(1)).to(device)


# The guard ----------------------------------------------------------------------------------
def _probe_tensors() -> list[Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(3, 2, generator=gen) * 4, torch.randn(2, generator=gen)]


Probe = Callable[[list[list[Tensor]]], None]


def _agree(private: Probe, public: Probe, lists: int) -> bool:
    """Run both implementations in place on the same tiny lists of tensors; equal results."""
    mine = [_probe_tensors() for _ in range(lists)]
    theirs = [[t.clone() for t in ts] for ts in mine]
    private(mine)
    public(theirs)
    return all(
        torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        for ma, mb in zip(mine, theirs, strict=True)
        for a, b in zip(ma, mb, strict=True)
    )


def _probe_foreach() -> bool:
    squares = [t.abs() for t in _probe_tensors()]
    theirs = [s.clone() for s in squares]
    return (
        _agree(lambda ls: _clip_private(ls[0], 1.0), lambda ls: _clip_public(ls[0], 1.0), 1)
        and _agree(
            lambda ls: _decay_private(ls[0], ls[1], 0.1),
            lambda ls: _decay_public(ls[0], ls[1], 0.1),
            2,
        )
        and _agree(
            lambda ls: _rmsprop_private(ls[0], ls[1], squares, 0.1),
            lambda ls: _rmsprop_public(ls[0], ls[1], theirs, 0.1),
            2,
        )
    )


def _probe_fused_adam() -> bool:
    def run(step: Callable, ls: list[list[Tensor]]) -> None:
        zeros = [[torch.zeros_like(t) for t in ls[0]] for _ in range(2)]
        step(*ls, *zeros, [torch.zeros(()) for _ in ls[0]], 0.1)

    return _agree(functools.partial(run, _adam_private), functools.partial(run, _adam_public), 2)


def _probe_dirichlet() -> bool:
    draws = _beta_private(0.5, 64, torch.Generator().manual_seed(0), torch.device("cpu"))
    return draws.shape == (64,) and bool(((draws >= 0) & (draws <= 1)).all())


_PROBES: dict[str, Callable[[], bool]] = {
    "foreach": _probe_foreach,
    "fused_adam": _probe_fused_adam,
    "sample_dirichlet": _probe_dirichlet,
}


@functools.cache
def private_kernels_work(group: str) -> bool:
    """Whether the private kernels of `group` exist, accept our call and agree with the
    public path; checked once per process (tests clear the cache after patching torch)."""
    try:
        works = _PROBES[group]()
    except (AttributeError, TypeError, RuntimeError, ValueError) as err:
        log.debug("torch private kernels %r failed their probe (%s)", group, err)
        works = False
    log.debug("torch kernels %r: %s path", group, "private" if works else "public")
    return works


# What the training loop calls ---------------------------------------------------------------
def clip_per_tensor_(grads: list[Tensor], max_norm: float) -> None:
    """Scale each gradient tensor in place to norm <= max_norm on its own (Keras' clipnorm)."""
    (_clip_private if private_kernels_work("foreach") else _clip_public)(grads, max_norm)


def add_weight_decay_(grads: list[Tensor], params: list[Tensor], weight_decay: float) -> None:
    """grad += weight_decay * param, in place, for each pair (L2 decay as Keras adds it)."""
    (_decay_private if private_kernels_work("foreach") else _decay_public)(
        grads, params, weight_decay
    )


def adam_step_(
    params: Sequence[Tensor], grads: Sequence[Tensor], first: Sequence[Tensor],
    second: Sequence[Tensor], steps: Sequence[Tensor], lr: float,
) -> None:  # fmt: skip
    """torch.optim.Adam's update (no decay, no amsgrad) of `params`; counts `steps` up."""
    step = _adam_private if private_kernels_work("fused_adam") else _adam_public
    step(list(params), list(grads), list(first), list(second), list(steps), lr)


def rmsprop_step_(
    params: Sequence[Tensor], grads: Sequence[Tensor], second: Sequence[Tensor], lr: float
) -> None:
    """torch.optim.RMSprop's update with Keras' rho and epsilon (no decay, no momentum)."""
    step = _rmsprop_private if private_kernels_work("foreach") else _rmsprop_public
    step(list(params), list(grads), list(second), lr)


def beta_draws(alpha: float, n: int, gen: torch.Generator, device: torch.device) -> Tensor:
    """n draws of Beta(alpha, alpha) from a seeded generator, as the second coordinate of a
    Dirichlet(alpha, alpha) (private) or through torch.distributions (public)."""
    draw = _beta_private if private_kernels_work("sample_dirichlet") else _beta_public
    return draw(alpha, n, gen, device)
