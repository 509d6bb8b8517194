"""XMem behind the :class:`~xmem_tui.inference.engine.Engine` protocol: numpy in, numpy out.

Everything device-specific lives here: ImageNet normalisation (README section 4), moving tensors to the
device, fp16 autocast and channels_last on CUDA, the CPU backend (:mod:`.cpu_backend`). Memory attention
always runs in float32 (the core disables autocast around it), because fp16 keys lose the precision the
top-k selection depends on.

User masks go to the core's permanent memory (``permanent_masks``): an annotated frame stays in memory for
the whole run. A run may feed the same annotated frame twice (once when priming memory, again when the
propagation reaches it); the engine recognises it (a digest of frame and mask) and does not store it again.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import torch

from xmem_tui.inference.core import InferenceCore
from xmem_tui.inference.cpu_backend import backend_of
from xmem_tui.inference.engine import MemoryStats, annotation_digest
from xmem_tui.inference.placement import autocast, cuda_amp, frame_to_tensor, place_network
from xmem_tui.model.network import XMem

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def image_to_tensor(frame: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> float32 (3, H, W): /255 then (x - mean) / std with float32 statistics."""
    x = frame_to_tensor(frame, device)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=x.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=x.device)[:, None, None]
    return (x - mean) / std


def load_xmem(path: str | PathLike[str], device: torch.device | str, backend: str = "auto") -> XMem:
    """Load ``XMem.pth`` safely (weights_only) onto ``device`` in eval mode.

    The layout and kernels are :func:`~xmem_tui.inference.placement.place_network`'s: channels_last on
    CUDA; on the CPU a contiguous layout (so the keys round as the official code's) and ``backend``
    (``processing.backend``) for the decoder and value encoder, which only see what comes after the keys.
    """
    net = XMem.from_checkpoint(path, map_location="cpu")
    return place_network(net, device, backend, after_keys=(net.decoder, net.value_encoder))


class XMemEngine:
    """Stateful XMem propagation engine (one video, frames fed in propagation order).

    Args:
        network: a loaded :class:`XMem` (see :func:`load_xmem`) already on ``device``.
        core_config: InferenceCore config (official key names).
        device: where frames are processed.
        amp: fp16 autocast for the network; only honoured on CUDA (CPU/MPS stay float32).
        permanent_masks: keep frames given with a mask in permanent memory (never consolidated or
            evicted), and skip the discarded segmentation of masked frames. Public and mutable: a caller
            feeding a mask that is not the user's (a resumed run's last propagated frame) turns it off
            for that step. False is the official core's behaviour.
    """

    weight_free = False

    def __init__(self, network: XMem, core_config: Mapping[str, Any], device: torch.device,
                 amp: bool = False, permanent_masks: bool = True) -> None:
        #: shown by every UI, e.g. "XMem (nnpack)": which backend runs the convolutions is visible
        self.name = f"XMem ({backend_of(network)})"
        self.device = torch.device(device)
        self.amp = cuda_amp(amp, self.device)
        self.core = InferenceCore(network, core_config)
        self.permanent_masks = bool(permanent_masks)
        self.labels: list[int] = []
        self._permanent: set[bytes] = set()  # digests of the (frame, mask) pairs in permanent memory

    def reset(self, labels: list[int]) -> None:
        """Forget all memory and track ``labels`` (1..K, increasing)."""
        if any(b <= a for a, b in itertools.pairwise(labels)) or any(x < 1 for x in labels):
            raise ValueError(f"labels must be increasing positive integers, got {labels}")
        self.core.clear_memory()
        self.core.set_all_labels(labels)
        self.labels = list(labels)
        self._permanent.clear()

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment one frame (uint8 (H, W, 3) RGB); ``mask`` is a uint8 (H, W) index mask or None.

        Returns:
            float32 (K+1, H, W) probabilities, background first.
        """
        if not self.labels:
            raise ValueError("call reset(labels) with at least one object label before step()")
        image = image_to_tensor(frame, self.device)
        mask_t = None
        valid: list[int] | None = None
        permanent, write = False, True
        if mask is not None:
            if mask.shape != frame.shape[:2]:
                raise ValueError(f"mask {mask.shape} does not match frame {frame.shape[:2]}")
            m = torch.from_numpy(np.ascontiguousarray(mask)).to(self.device)
            mask_t = torch.stack([m == label for label in self.labels]).float()
            if self.permanent_masks:
                # An index mask annotates every object, so segmenting the frame first is wasted work: the
                # official core does it and discards the result (only usage counts, and with
                # non-synchronised deep updates the hidden state, differ).
                valid = self.labels
                if not end:
                    digest = annotation_digest(frame, mask)
                    permanent, write = True, digest not in self._permanent
                    self._permanent.add(digest)
        with autocast(self.amp):
            probs = self.core.step(image, mask_t, valid, end, permanent=permanent, write_memory=write)
        return probs.float().cpu().numpy()

    def memory_stats(self) -> MemoryStats:
        """Memory sizes in elements (one element = one 1/16 pixel of a frame).

        ``working`` counts working plus permanent memory (both hold whole frames); ``extra["permanent"]``
        is the permanent part.
        """
        memory = self.core.memory
        return MemoryStats(working=memory.work.size + memory.perm.size, long_term=memory.long.size,
                           extra={"long_term_max": float(self.core.config.get("max_long_term_elements", 0)),
                                  "permanent": float(memory.perm.size)})
