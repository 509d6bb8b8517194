"""Each frame's object areas, read from its mask file once and re-read only when the file changes.

The video view shows which objects the masks hold and a chart of each object's area over time, and both
must follow the files: a propagation job rewrites masks while the view is open, and an import can
replace every mask so that an object no longer appears anywhere (it must then leave the list, even
though the workspace keeps its name and colour). Reading every mask on each refresh would cost seconds
on a long video; a ``stat`` per frame (mtime, size, inode) tells which few changed. The first read of a
long video (some 3 ms a mask) is spread over several refreshes by a time budget, so the view shows at
once and fills in.
"""

from __future__ import annotations

import time
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
    """Per-frame object areas of one workspace, cached by mask file signature.

    Args:
        budget_s: time one :meth:`update` may spend reading masks (the rest waits for the next call).
    """

    def __init__(self, budget_s: float = 0.4) -> None:
        self.budget_s = budget_s
        self._frames: dict[int, FrameAreas] = {}
        #: False while some changed masks were left for a later update.
        self.complete = False

    def update(self, ws: Workspace, frames: Iterable[int]) -> dict[int, dict[int, float]]:
        """Areas of the frames in ``frames`` whose mask file has been read (``{frame: {object: fraction}}``)."""
        seen: dict[int, dict[int, float]] = {}
        deadline = time.monotonic() + self.budget_s
        self.complete = True
        for frame in frames:
            try:
                st = ws.mask_path(frame).stat()
            except FileNotFoundError:
                continue
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
            cached = self._frames.get(frame)
            if cached is None or cached.signature != signature:
                if time.monotonic() > deadline:
                    self.complete = False
                    if cached is not None:
                        seen[frame] = cached.areas  # stale by one refresh at most
                    continue
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
