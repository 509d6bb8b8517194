"""Processing resolution: the size at which frames are given to the networks and masks are stored.

The rule is the official XMem one (shorter side scaled to ``size``, integer arithmetic, never upscale) so
masks made here line up pixel for pixel with those of the reference implementation. Frames are shrunk
with area interpolation (no aliasing on downscale); index masks are resized with nearest neighbour so
labels are never blended into labels that do not exist; soft masks use bilinear interpolation.
"""

from __future__ import annotations

import cv2
import numpy as np


def processing_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """The ``(height, width)`` at which a ``h`` x ``w`` frame is processed.

    Args:
        h: Frame height in pixels.
        w: Frame width in pixels.
        size: Target shorter side; -1 keeps the original size.

    Returns:
        ``(new_h, new_w)`` with ``new_w = w * size // min(h, w)`` and ``new_h = h * size // min(h, w)``,
        or ``(h, w)`` when ``size`` is -1 or the frame's shorter side is already at most ``size``.
    """
    if h <= 0 or w <= 0:
        raise ValueError(f"frame size must be positive, got {h}x{w}")
    short = min(h, w)
    if size == -1 or short <= size:
        return h, w
    if size <= 0:
        raise ValueError(f"processing size must be positive or -1, got {size}")
    return h * size // short, w * size // short


def to_processing(frame: np.ndarray, size: int) -> np.ndarray:
    """Shrink an (H, W, C) or (H, W) image to processing resolution (area interpolation).

    Returns ``frame`` itself (not a copy) when no resize is needed.
    """
    h, w = frame.shape[:2]
    new_h, new_w = processing_shape(h, w, size)
    if (new_h, new_w) == (h, w):
        return frame
    return cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)


def mask_to_shape(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 (H, W) index mask to ``shape = (h, w)`` with nearest-neighbour sampling."""
    h, w = shape
    if mask.shape[:2] == (h, w):
        return mask
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)


def soft_to_shape(soft: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 (K, H, W) soft-mask stack to (K, h, w) with bilinear interpolation."""
    h, w = shape
    if soft.ndim != 3:
        raise ValueError(f"soft mask must be (K, H, W), got shape {soft.shape}")
    k = soft.shape[0]
    if soft.shape[1:] == (h, w):
        return soft
    if k == 0:
        return np.zeros((0, h, w), dtype=soft.dtype)
    out = np.empty((k, h, w), dtype=soft.dtype)
    # One plane at a time keeps the (K, H, W) layout without transposing to channels-last and back.
    for c in range(k):
        out[c] = cv2.resize(soft[c], (w, h), interpolation=cv2.INTER_LINEAR)
    return out
