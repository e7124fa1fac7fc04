"""How the shared loop evaluates a batch's loss: eagerly, through `torch.compile`, with CUDA
graphs, and with or without bf16 autocast (`DeepDetector.compile_step` and `.bf16`).

What is compiled: the loss of a batch, for one network (`_train`) or for a stacked ensemble's
vmapped members (`_train_many`). AOTAutograd derives the backward graph from it, so forward
and backward both run as inductor kernels. The optimiser step stays eager: it already is one
fused kernel call over every parameter (`torch_kernels`), and dynamo cannot trace `backward()`
or the private fused Adam kernel into the same graph. Sampling stays eager too (compiled with
the loss, a probe's step was slower still).

Why off by default: on CPU, at the shared grid's sizes, the compiled step was not faster per
step than the eager one, and compiling takes seconds to tens of seconds, longer than a whole
fit there (benchmarks/RESULTS.md, "Compiled training step on CPU"). On a GPU the elementwise
fusion and CUDA graphs may pay: benchmarks/gpu_suite.sh measures every mode against eager, and
a mode becomes a default only where it pays and leaves AUC-PR within seed noise.

Modes: "off" (eager), "on" (torch.compile's default mode, inductor), "cudagraphs" (its
"reduce-overhead" mode: inductor kernels replayed as CUDA graphs; CUDA only). Shapes are fixed
within a fit (every sampler draws full batches), so graphs are compiled with `dynamic=False`.
Later fits of the same shapes in the process reuse the compiled code; each new feature count
compiles again, up to torch's recompile limit per function, beyond which torch runs it eagerly.

Fallback: where torch.compile refuses the step (an unknown backend or mode, a Python it does
not support) or the first call fails to compile (no C++ compiler, an operator inductor cannot
lower), the fit goes on eagerly from the same batch and one WARNING line says why. A failure
after a successful first call is an error of the step itself and is raised.

Import rule: torch only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

log = logging.getLogger(__name__)

COMPILE_MODES = {"off": None, "on": "default", "cudagraphs": "reduce-overhead"}

StepLoss = Callable[..., Tensor]


def check_step_settings(compile_step: str, bf16: bool, device: torch.device) -> None:
    """Reject settings that cannot mean anything, naming the accepted values."""
    if compile_step not in COMPILE_MODES:
        raise ValueError(
            f"compile_step must be one of {', '.join(map(repr, COMPILE_MODES))}, "
            f"got {compile_step!r}"
        )
    if compile_step == "cudagraphs" and device.type != "cuda":
        raise ValueError(f"compile_step='cudagraphs' needs a CUDA device, got {device}")
    if not isinstance(bf16, bool):
        raise ValueError(f"bf16 must be True or False, got {bf16!r}")


def step_loss(
    loss: StepLoss,
    compile_step: str,
    bf16: bool,
    device: torch.device,
    backend: str | Callable[..., Any] = "inductor",
) -> StepLoss:
    """`loss` as the loop should call it: under bf16 autocast if asked (the loss returned in
    float32), compiled if asked, with the eager fallback described above."""
    check_step_settings(compile_step, bf16, device)
    run = _autocast(loss, device) if bf16 else loss
    mode = COMPILE_MODES[compile_step]
    if mode is None:
        return run
    try:
        compiled = torch.compile(run, backend=backend, mode=mode, dynamic=False)
    except Exception as err:  # torch raises several types for an unusable backend or mode
        _warn_eager(err)
        return run
    return _FirstCallFallback(
        _graph_replays(compiled) if mode == "reduce-overhead" else compiled, run
    )


def _graph_replays(compiled: StepLoss) -> StepLoss:
    """CUDA graphs reuse their output memory on the next replay, and the loop keeps each
    step's loss until the epoch ends: each call starts a new step and returns a copy."""

    def run(*args: Any) -> Tensor:
        torch.compiler.cudagraph_mark_step_begin()
        return compiled(*args).clone()

    return run


def _autocast(loss: StepLoss, device: torch.device) -> StepLoss:
    def run(*args: Any) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            value = loss(*args)
        return value.float()

    return run


class _FirstCallFallback:
    """The compiled loss, or the eager one from the first call on if compiling failed."""

    def __init__(self, compiled: StepLoss, eager: StepLoss) -> None:
        self.compiled: StepLoss | None = compiled
        self.eager = eager
        self.proven = False

    def __call__(self, *args: Any) -> Tensor:
        if self.compiled is None:
            return self.eager(*args)
        if self.proven:
            return self.compiled(*args)
        try:
            value = self.compiled(*args)
        except Exception as err:  # dynamo and inductor raise many types while compiling
            _warn_eager(err)
            self.compiled = None
            return self.eager(*args)
        self.proven = True
        return value


def _warn_eager(err: BaseException) -> None:
    """One line: dynamo puts a backend's own error on the line after its summary."""
    reason = " ".join([line.strip() for line in str(err).splitlines() if line.strip()][:2])
    log.warning("torch.compile unavailable (%s: %s); training eagerly", type(err).__name__, reason)
