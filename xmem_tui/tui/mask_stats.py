"""Each frame's object areas, read from its mask file once and re-read only when the file changes.

The video view shows which objects the masks hold and a chart of each object's area over time, and both
must follow the files: a propagation job rewrites masks while the view is open, and an import can
replace every mask so that an object no longer appears anywhere (it must then leave the list, even
though the workspace keeps its name and colour). Reading every mask on each refresh would cost seconds
on a long video; a ``stat`` per frame (mtime, size, inode) tells which few changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xmem_tui.workspace import Workspace

Signature = tuple[int, int, int]


@dataclass(frozen=True)
class FrameAreas:
    """Fraction of the frame each object covers, for one mask file as it was when read."""

    signature: Signature
    areas: dict[int, float]


class MaskStats:
    """Per-frame object areas of one workspace, cached by mask file signature."""

    def __init__(self) -> None:
        self._frames: dict[int, FrameAreas] = {}

    def update(self, ws: Workspace, frames: Iterable[int]) -> dict[int, dict[int, float]]:
        """Areas of every frame in ``frames`` that has a mask file (``{frame: {object: fraction}}``)."""
        seen: dict[int, dict[int, float]] = {}
        for frame in frames:
            try:
                st = ws.mask_path(frame).stat()
            except FileNotFoundError:
                self._frames.pop(frame, None)
                continue
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
            cached = self._frames.get(frame)
            if cached is None or cached.signature != signature:
                mask = ws.read_mask(frame)
                cached = FrameAreas(signature, {} if mask is None else object_areas(mask))
                self._frames[frame] = cached
            seen[frame] = cached.areas
        for frame in set(self._frames) - set(seen):
            del self._frames[frame]
        return seen


def object_areas(mask: np.ndarray) -> dict[int, float]:
    """``{object id: fraction of pixels}`` of an index mask, for every object present."""
    counts = np.bincount(mask.ravel(), minlength=1)
    return {k: float(counts[k]) / mask.size for k in np.flatnonzero(counts) if k}
