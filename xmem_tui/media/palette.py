"""The DAVIS / PASCAL VOC colour palette used for index masks and object colours.

DAVIS annotations are palette PNGs whose palette is the PASCAL VOC colour map: the bits of the index are
spread over the high bits of R, G and B (bit 0 -> R, bit 1 -> G, bit 2 -> B, then the next three bits
one position lower, and so on). Computing it keeps it exact and avoids a hand-pasted table; masks written
with it open with the expected colours in any image viewer and in DAVIS tools.
"""

from __future__ import annotations

import numpy as np


def _voc_palette(n: int = 256) -> np.ndarray:
    """Build the VOC bit-interleaving colour map with ``n`` entries as uint8 (n, 3)."""
    palette = np.zeros((n, 3), dtype=np.uint8)
    for index in range(n):
        rgb = [0, 0, 0]
        code = index
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((code >> channel) & 1) << shift
            code >>= 3
        palette[index] = rgb
    palette.setflags(write=False)
    return palette


DAVIS_PALETTE: np.ndarray = _voc_palette()
"""Read-only uint8 (256, 3) palette: entry 0 black (background), 1 (128, 0, 0), 2 (0, 128, 0), ..."""


def object_color(k: int) -> tuple[int, int, int]:
    """The display colour of object ``k`` (0 = background) as an ``(r, g, b)`` tuple of ints."""
    if not 0 <= k < len(DAVIS_PALETTE):
        raise ValueError(f"object index {k} is outside 0..{len(DAVIS_PALETTE) - 1}")
    r, g, b = (int(c) for c in DAVIS_PALETTE[k])
    return r, g, b
