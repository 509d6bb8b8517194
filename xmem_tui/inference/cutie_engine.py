"""Cutie behind the :class:`~xmem_tui.inference.engine.Engine` protocol: numpy in, numpy out.

Everything device-specific lives here: turning frames into [0, 1] RGB tensors (Cutie normalises inside
the network), moving tensors to the device, fp16 autocast and channels_last on CUDA. Memory attention
always runs in float32 (the core disables autocast around it).

Every user mask annotates all tracked labels (an index mask), so the engine gives the core all labels as
the mask's objects: they form one memory bucket and the core skips the segmentation the mask replaces.
User masks go to permanent memory (``permanent_masks``) so an annotated frame stays in memory for the
whole run; a frame fed twice (priming, then reached by the propagation) is recognised by a digest of
frame and mask and refreshes the sensory memory without being stored again, as :class:`XMemEngine` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import torch

from xmem_tui.config import CutieSettings
from xmem_tui.inference.cutie.core import CutieCore
from xmem_tui.inference.engine import MemoryStats, annotation_digest
from xmem_tui.inference.placement import autocast, cuda_amp, frame_to_tensor, place_network
from xmem_tui.model.cutie import Cutie

#: The ``[cutie]`` defaults: the official eval config with long-term memory on and a memory frame every
#: 5 frames (:class:`~xmem_tui.config.CutieSettings`).
DEFAULT_CONFIG: dict[str, Any] = CutieSettings().core_config()


def load_cutie(path: str | PathLike[str], device: torch.device | str, backend: str = "auto") -> Cutie:
    """Load ``cutie-base-mega.pth`` safely (weights_only) onto ``device`` in eval mode.

    The layout and kernels are :func:`~xmem_tui.inference.placement.place_network`'s: channels_last on
    CUDA; on the CPU a contiguous layout (keys round as the official code's) and ``backend``
    (``processing.backend``) for the mask encoder and decoder, which only see what comes after the keys.
    """
    net = Cutie.from_checkpoint(path, map_location="cpu")
    return place_network(net, device, backend, after_keys=(net.mask_encoder, net.mask_decoder))


class CutieEngine:
    """Stateful Cutie propagation engine (one video, frames fed in propagation order).

    Args:
        network: a loaded :class:`Cutie` (see :func:`load_cutie`) already on ``device``.
        core_config: CutieCore config (official eval-config keys, nested ``long_term``).
        device: where frames are processed.
        amp: fp16 autocast for the network; only honoured on CUDA (CPU/MPS stay float32).
        permanent_masks: keep frames given with a mask in permanent memory. Public and mutable: a caller
            feeding a mask that is not the user's (a resumed run's last propagated frame) turns it off for
            that step. False is the official core's behaviour.
    """

    name = "Cutie"
    weight_free = False

    def __init__(self, network: Cutie, core_config: Mapping[str, Any], device: torch.device | str,
                 amp: bool = False, permanent_masks: bool = True) -> None:
        self.network = network
        self.config = dict(core_config)
        self.device = torch.device(device)
        self.amp = cuda_amp(amp, self.device)
        self.permanent_masks = bool(permanent_masks)
        self.core = CutieCore(network, self.config)
        self.labels: list[int] = []
        self._permanent: set[bytes] = set()  # digests of the (frame, mask) pairs in permanent memory

    def reset(self, labels: list[int]) -> None:
        """Forget all memory and objects; track ``labels`` (1..K, increasing)."""
        if any(b <= a for a, b in itertools.pairwise(labels)) or any(x < 1 for x in labels):
            raise ValueError(f"labels must be increasing positive integers, got {labels}")
        self.core = CutieCore(self.network, self.config)
        self.labels = list(labels)
        self._permanent.clear()

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment one frame (uint8 (H, W, 3) RGB); ``mask`` is a uint8 (H, W) index mask or None.

        Returns:
            float32 (K+1, H, W) probabilities, background first, channel k = ``labels[k - 1]``.
        """
        if not self.labels:
            raise ValueError("call reset(labels) with at least one object label before step()")
        image = frame_to_tensor(frame, self.device)
        mask_t = None
        permanent, write = False, True
        if mask is not None:
            if mask.shape != frame.shape[:2]:
                raise ValueError(f"mask {mask.shape} does not match frame {frame.shape[:2]}")
            mask_t = torch.from_numpy(mask.astype(np.int64)).to(self.device)
            mask_t[~torch.isin(mask_t, torch.tensor(self.labels, device=self.device))] = 0
            if self.permanent_masks and not end:
                digest = annotation_digest(frame, mask)
                permanent, write = True, digest not in self._permanent
                self._permanent.add(digest)
        with autocast(self.amp):
            probs = self.core.step(image, mask_t, self.labels if mask is not None else None, end,
                                   permanent=permanent, write_memory=write)
        return probs.float().cpu().numpy()

    def memory_stats(self) -> MemoryStats:
        """Memory sizes in elements (one element = one 1/16 pixel of a frame).

        ``working`` counts working plus permanent memory; ``extra["permanent"]`` is the permanent part.
        """
        memory = self.core.memory
        long_max = self.config["long_term"]["max_num_tokens"] if self.config["use_long_term"] else 0
        return MemoryStats(working=memory.work_tokens, long_term=memory.long_tokens,
                           extra={"long_term_max": float(long_max), "permanent": float(memory.perm_tokens)})
