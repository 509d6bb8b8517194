"""Protocols for the interactive segmenters, so the window can use f-BRS/S2M or the GrabCut fallback alike.

Images are uint8 (H, W, 3) RGB at processing resolution; each implementation normalises as its network
needs. The window composes the returned probabilities into the frame's masks
(:mod:`xmem_tui.interaction.compose`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

#: Value of a scribble map pixel that carries no scribble.
NO_SCRIBBLE = 255


@runtime_checkable
class ClickSegmenter(Protocol):
    """Segments one object from positive and negative clicks (f-BRS, or GrabCut without weights)."""

    name: str
    weight_free: bool

    def set_image(self, image: np.ndarray) -> None:
        """Start a new click session on ``image`` (uint8 RGB (H, W, 3)); forgets earlier clicks."""

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        """Add a click at column ``x``, row ``y``; return float32 (H, W) probabilities of the object."""
        ...

    def reset(self) -> None:
        """Forget all clicks (keeps the image)."""


@runtime_checkable
class ScribbleSegmenter(Protocol):
    """Turns scribbles into per-object probabilities (S2M, or GrabCut without weights)."""

    name: str
    weight_free: bool

    def interact(self, image: np.ndarray, prev_mask: np.ndarray, scribbles: np.ndarray,
                 num_objects: int) -> np.ndarray:
        """Refine the masks of all objects.

        Args:
            image: uint8 RGB (H, W, 3).
            prev_mask: uint8 (H, W) index mask the frame has now (0 = background).
            scribbles: uint8 (H, W): 255 = no scribble, 0 = background scribble, k = object k.
            num_objects: K, the number of objects (channels returned).

        Returns:
            float32 (K, H, W) probability of each object.
        """
        ...
