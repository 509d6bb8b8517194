"""The one interface every propagation engine implements (XMem and the weight-free optical-flow engine).

The propagation loop (:mod:`xmem_tui.inference.propagation`) only talks to this protocol, so it does not
care whether real XMem weights are present. Frames and masks cross this boundary as numpy arrays at
processing resolution; device placement, normalisation and autocast are the engine's business.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class MemoryStats:
    """Sizes reported for the progress display (elements for XMem, anchor frames for flow)."""

    working: int = 0
    long_term: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """A stateful video object segmentation engine fed one frame at a time, in propagation order."""

    #: Human-readable engine name shown in every UI, e.g. "XMem" or "weight-free (optical flow)".
    name: str
    #: True for the classical fallback that needs no checkpoint; UIs label it as such.
    weight_free: bool

    def reset(self, labels: list[int]) -> None:
        """Forget all memory and set the object labels (1..K, increasing) to track."""

    def step(self, frame: np.ndarray, mask: np.ndarray | None = None, *, end: bool = False) -> np.ndarray:
        """Segment one frame.

        Args:
            frame: uint8 (H, W, 3) RGB at processing resolution.
            mask: optional uint8 (H, W) index mask (0 = background, k = object k) given by the user for
                this frame; it is memorised and returned (soft-aggregated).
            end: this is the last frame of the run (it is not memorised).

        Returns:
            float32 (K+1, H, W) probabilities, channel 0 = background, summing to 1 per pixel.
        """
        ...

    def memory_stats(self) -> MemoryStats:
        """Current memory sizes, for progress display."""
        ...


@runtime_checkable
class PermanentMemory(Protocol):
    """An engine that can keep user-annotated frames in memory for the whole run (XMem).

    ``permanent_masks`` is public and mutable: a caller feeding a mask that is not the user's (a resumed
    run's last propagated frame) switches it off for that step.
    """

    permanent_masks: bool


def index_from_probs(probs: np.ndarray, labels: list[int]) -> np.ndarray:
    """Argmax over (K+1, H, W) probabilities mapped to label values (uint8 index mask)."""
    lut = np.array([0, *labels], dtype=np.uint8)
    return lut[np.argmax(probs, axis=0)]


def soft_from_probs(probs: np.ndarray) -> np.ndarray:
    """uint8 (K, H, W) soft masks (what the workspace stores) from float (K+1, H, W) probabilities (channel 0 =
    background), rounded in float32 as engines return them."""
    return np.clip(np.rint(np.asarray(probs[1:], dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def annotation_digest(frame: np.ndarray, mask: np.ndarray) -> bytes:
    """Identity of an annotated frame fed to an engine (about 1 ms for a 480p frame).

    Engines that keep user frames in permanent memory use it to recognise a frame fed twice in one run
    (priming, then reached by the propagation) and store it once.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(frame).data)
    h.update(np.ascontiguousarray(mask).data)
    return h.digest()
