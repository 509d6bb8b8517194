"""Reframing: a crop window of a chosen aspect that follows the chosen objects, for vertical video.

The window is the largest one of the requested aspect that fits the (upright) frame, e.g. a 405x720
window in a 1280x720 frame for 9:16, scaled to the output size afterwards. Its centre follows the centre
of the objects' bounding box, smoothed over time with a Gaussian (a camera operator does not jerk with
every limb), and it is clamped to the frame after smoothing so it never shows outside the picture.
Frames without any object hold the nearest known centre (the frame centre if the objects never appear).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from xmem_tui.export.errors import ExportError

DEFAULT_SMOOTH = 8.0
"""Gaussian sigma of the centre path, in frames."""


def parse_aspect(text: str) -> Fraction:
    """``"9:16"`` -> Fraction(9, 16) (width over height)."""
    try:
        w, h = (int(part) for part in str(text).split(":"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise ExportError(f"aspect {text!r} is not valid; write it as W:H, e.g. 9:16.") from None
    return Fraction(w, h)


def parse_size(text: str) -> tuple[int, int]:
    """``"1080x1920"`` -> (1080, 1920) as (width, height), both even (4:2:0 needs it)."""
    try:
        w, h = (int(part) for part in str(text).lower().split("x"))
        if w <= 0 or h <= 0 or w % 2 or h % 2:
            raise ValueError
    except ValueError:
        raise ExportError(f"size {text!r} is not valid; write it as WxH with even numbers, e.g. 1080x1920.") from None
    return w, h


def crop_size(width: int, height: int, aspect: Fraction) -> tuple[int, int]:
    """The largest even-sized (w, h) window of ``aspect`` inside a ``width`` x ``height`` frame."""
    if Fraction(width, height) > aspect:
        h = height
        w = int(h * aspect)
    else:
        w = width
        h = int(w / aspect)
    return max(2, w - w % 2), max(2, h - h % 2)


def object_center(matte: np.ndarray, threshold: int = 128) -> tuple[float, float] | None:
    """Centre (x, y) of the bounding box of ``matte >= threshold`` in matte pixels, or None if empty."""
    ys = np.flatnonzero((matte >= threshold).any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero((matte >= threshold).any(axis=0))
    return (xs[0] + xs[-1] + 1) / 2.0, (ys[0] + ys[-1] + 1) / 2.0


def _fill(values: list[float | None], default: float) -> np.ndarray:
    """Fill gaps with the nearest known value (ties: the earlier one)."""
    known = [i for i, v in enumerate(values) if v is not None]
    if not known:
        return np.full(len(values), default, dtype=np.float64)
    idx = np.arange(len(values))
    pos = np.searchsorted(known, idx)
    before = np.array(known)[np.clip(pos - 1, 0, len(known) - 1)]
    after = np.array(known)[np.clip(pos, 0, len(known) - 1)]
    nearest = np.where(np.abs(idx - before) <= np.abs(after - idx), before, after)
    return np.array([values[j] for j in nearest], dtype=np.float64)


def _gaussian(path: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or len(path) < 2:
        return path
    radius = int(3 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(path, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def plan_crops(centers: list[tuple[float, float] | None], frame: tuple[int, int], window: tuple[int, int],
               smooth: float = DEFAULT_SMOOTH) -> list[tuple[int, int]]:
    """Top-left corner (x, y) of the crop window for every frame.

    Args:
        centers: Object centre per frame in frame pixels (None where no object is visible).
        frame: (width, height) of the upright frame.
        window: (width, height) of the crop window.
        smooth: Gaussian sigma of the centre path in frames (0 = follow exactly).
    """
    fw, fh = frame
    ww, wh = window
    cx = _gaussian(_fill([c[0] if c else None for c in centers], fw / 2), smooth)
    cy = _gaussian(_fill([c[1] if c else None for c in centers], fh / 2), smooth)
    xs = np.clip(np.rint(cx - ww / 2), 0, fw - ww).astype(int)
    ys = np.clip(np.rint(cy - wh / 2), 0, fh - wh).astype(int)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))
