"""Where and how a propagation network runs: frames onto the device, memory layout and kernels per
device, fp16 autocast on CUDA.

Shared by the XMem and Cutie engines. On CUDA the weights are converted to channels_last: cuDNN runs these
convolutions (and the stems' max pooling) faster in that layout, and the cores feed images in the layout of
the weights. On the CPU the layout stays contiguous, as in the official code: memory keys decide a top-k
selection, and keys that round even slightly differently swap near-tied memory elements (channels_last in the
key encoder alone moved 480p probabilities by 1.4e-2). What comes after the keys may run on a faster CPU
backend (:mod:`xmem_tui.inference.cpu_backend`). fp16 autocast is only honoured on CUDA (CPU and MPS stay
float32).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from xmem_tui.inference.cpu_backend import apply_backend

logger = logging.getLogger(__name__)

N = TypeVar("N", bound=nn.Module)


def frame_to_tensor(frame: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> float32 (3, H, W) RGB in [0, 1] on ``device`` (x / 255, float32 division)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB frame, got {frame.dtype} {frame.shape}")
    if not frame.flags.writeable:  # decoded frames are shared read-only; torch needs its own buffer
        frame = frame.copy()
    return torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1).float() / 255


def place_network(net: N, device: torch.device | str, backend: str = "auto",
                  after_keys: Iterable[nn.Module] = ()) -> N:
    """Move ``net`` to ``device`` in eval mode, in the fastest layout and kernels that keep its outputs.

    Args:
        backend: ``processing.backend`` for the CPU (see :func:`~xmem_tui.inference.cpu_backend.apply_backend`).
        after_keys: the parts of ``net`` whose outputs never feed a memory key (decoders, value encoders):
            only these run on the CPU backend.
    """
    device = torch.device(device)
    net = net.to(device).eval()
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    apply_backend(after_keys, backend, device)
    return net


def cuda_amp(amp: bool, device: torch.device) -> bool:
    """Whether fp16 autocast is used: asked for and on CUDA (logged when asked for elsewhere)."""
    used = bool(amp) and device.type == "cuda"
    if amp and not used:
        logger.info("fp16 autocast is only used on CUDA; running float32 on %s", device)
    return used


def autocast(enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """CUDA fp16 autocast when ``enabled`` (see :func:`cuda_amp`), else nothing."""
    return torch.autocast("cuda", dtype=torch.float16) if enabled else contextlib.nullcontext()
