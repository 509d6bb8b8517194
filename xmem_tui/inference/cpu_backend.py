"""Which runtime runs XMem's convolutions on the CPU (``processing.backend``), and its fallback.

On a CPU a 480p frame waits on convolutions, most of them the decoder's 3x3 convolutions with 256-1600
channels (about 116 G multiply-adds per object and frame, against 25 G for the key encoder). Backends:

``nnpack`` (the default on CPU)
    The 3x3 stride-1 convolutions of the decoder and the value encoder run in NNPACK, the Winograd
    F(6x6, 3x3) library that every x86-64 and ARM build of torch ships (``torch._nnpack_spatial_convolution``;
    torch itself only picks it for batches of 16 or more). Measured on a 2-core AVX-512 machine it takes
    1.5-3x less CPU time than oneDNN's direct convolution for these shapes, at a relative error of about
    1e-5. NNPACK transforms the filters on every call, which costs as much as the whole direct
    convolution of a small feature map: below :data:`MIN_PIXELS` (20x20) the direct one runs. Batched
    calls take NNPACK's training-oriented path, slower than direct convolution, so each object row is
    its own call.
``torch``
    Plain torch (oneDNN), contiguous layout: the official implementation's arithmetic.

The key encoder and key projection always stay plain torch in contiguous layout, as in the official code.
Memory keys decide a top-k selection: keys that round even 1e-7 differently swap near-tied 30th/31st
memory elements for some query pixels, which moved 480p probabilities by up to 1.4e-2 (channels_last
alone did that). Convolutions after the keys (values, hidden state, decoder) only move the output in
proportion to their rounding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

#: accepted by ``processing.backend``; "auto" means :data:`DEFAULT_CPU` where it works
BACKENDS = ("auto", "nnpack", "torch")
DEFAULT_CPU = "nnpack"
#: smallest feature map (H*W) sent to NNPACK. Measured, 1 thread, filter transform included: at 28 pixels
#: NNPACK takes 2.7-4.9x the direct time, at 448 pixels 0.68-1.04x, at 1620 (1/16 of 480p) 0.39-0.51x
MIN_PIXELS = 400


class NNPackConv2d(nn.Conv2d):
    """A 3x3/1/1 ``nn.Conv2d`` that runs in NNPACK for CPU float32 inference (same parameters and keys).

    Anything else (gradients, another device or dtype, a feature map under :data:`MIN_PIXELS`) takes the
    ordinary convolution.
    """

    def forward(self, x: Tensor) -> Tensor:
        if (x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_grad_enabled()
                or x.shape[-2] * x.shape[-1] < MIN_PIXELS):
            return super().forward(x)
        x = x.contiguous()
        rows = [torch._nnpack_spatial_convolution(x[i:i + 1], self.weight, self.bias, [1, 1], [1, 1])
                for i in range(x.shape[0])]
        return rows[0] if len(rows) == 1 else torch.cat(rows)


def _eligible(m: nn.Module) -> bool:
    return (type(m) is nn.Conv2d and m.kernel_size == (3, 3) and m.stride == (1, 1) and m.padding == (1, 1)
            and m.dilation == (1, 1) and m.groups == 1 and m.padding_mode == "zeros")


def nnpack_problem() -> str | None:
    """Why NNPACK cannot run here, or None when a probe convolution agrees with torch's own."""
    try:
        # _nnpack_available() also initialises NNPACK: the convolution fails without it
        if not torch._nnpack_available():
            return "this torch build has no NNPACK (or this CPU lacks the instructions it needs)"
        g = torch.Generator().manual_seed(0)
        x, w = torch.randn(1, 8, 7, 9, generator=g), torch.randn(4, 8, 3, 3, generator=g)
        with torch.inference_mode():
            got = torch._nnpack_spatial_convolution(x, w, None, [1, 1], [1, 1])
            want = F.conv2d(x, w, padding=1)
    except (AttributeError, RuntimeError) as exc:
        return f"its convolution failed ({exc})"
    if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4, atol=1e-4):
        return "its probe convolution disagreed with torch's"
    return None


def use_nnpack(parts: Iterable[nn.Module]) -> int:
    """Turn the 3x3 stride-1 convolutions of ``parts`` (e.g. XMem's decoder and value encoder) into
    :class:`NNPackConv2d`.

    In place, parameters shared (the state dict is unchanged). Returns how many were converted.
    """
    count = 0
    for part in parts:
        for m in part.modules():
            if _eligible(m):
                m.__class__ = NNPackConv2d
                count += 1
    return count


def apply_backend(parts: Iterable[nn.Module], wanted: str, device: torch.device | str) -> str:
    """Set up ``parts`` of a network (on ``device``) for backend ``wanted``; returns the backend it really uses.

    Off the CPU the backend is torch's own (cuDNN, MPS). A CPU backend that cannot run here falls back to
    "torch" with one logged warning. NNPACK sizes its thread pool on first use from torch's thread count,
    so set threads before calling this.
    """
    if wanted not in BACKENDS:
        raise ValueError(f"unknown XMem backend {wanted!r}; use one of {', '.join(BACKENDS)}")
    if torch.device(device).type != "cpu":
        return "torch"
    chosen = DEFAULT_CPU if wanted == "auto" else wanted
    if chosen == "nnpack":
        problem = nnpack_problem()
        if problem is None:
            use_nnpack(parts)
            return "nnpack"
        logger.warning("XMem backend nnpack is unavailable: %s; using the plain torch backend (slower). "
                       "Set processing.backend = \"torch\" to skip this check.", problem)
    return "torch"


def backend_of(net: nn.Module) -> str:
    """The backend ``net``'s convolutions run on, read from its modules (for labels)."""
    return "nnpack" if any(isinstance(m, NNPackConv2d) for m in net.modules()) else "torch"
