"""Per-frame mattes of the chosen objects, read from the workspace, oriented and smoothed over time.

The workspace stores soft masks upright (display orientation) at processing resolution. Video exports are
written in the source's coded orientation with its display matrix carried over, so mattes are turned into
that orientation here, before upscaling (turning a 480p matte is cheaper than turning a 4K frame). A frame
without masks is an empty matte; the frames it happened on are counted for the self-check report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from xmem_tui.export.finishing import smooth_temporal, temporal_weights


class MaskSource(Protocol):
    """What exports read masks from (:class:`xmem_tui.workspace.Workspace` satisfies it)."""

    def read_soft(self, index: int) -> np.ndarray | None: ...


@dataclass(frozen=True)
class MaskSet:
    """The masks an export reads: a source, its processing shape (upright), frame count and object colours."""

    source: MaskSource
    shape: tuple[int, int]
    count: int
    colors: dict[int, tuple[int, int, int]]


class MatteStream:
    """Mattes at processing resolution for frames read in increasing order (random access works, slower).

    Args:
        masks: Where soft masks come from.
        objects: Object ids to keep (k -> soft channel k-1).
        shape: Processing (h, w), upright; used for frames without masks.
        merge: One matte for all chosen objects (sum of their probabilities) instead of one per object.
        temporal: Smooth over frames i-k..i+k (0 = off).
        rot_k: Quarter turns (numpy ``rot90`` convention) from upright to the output orientation.
        count: Number of frames (the temporal window is cut at the ends).
    """

    def __init__(self, masks: MaskSource, objects: Sequence[int], shape: tuple[int, int], *, merge: bool,
                 temporal: int, rot_k: int, count: int) -> None:
        self.masks = masks
        self.objects = list(objects)
        self.shape = shape
        self.merge = merge
        self.temporal = temporal
        self.rot_k = rot_k % 4
        self.count = count
        self.missing: set[int] = set()
        self._cache: dict[int, np.ndarray] = {}

    @property
    def channels(self) -> int:
        return 1 if self.merge else len(self.objects)

    def _raw(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        soft = self.masks.read_soft(index) if 0 <= index < self.count else None
        h, w = self.shape
        if soft is None:
            if 0 <= index < self.count:
                self.missing.add(index)
            planes = np.zeros((len(self.objects), h, w), dtype=np.uint8)
        else:
            empty = np.zeros(soft.shape[1:], dtype=np.uint8)
            planes = np.stack([soft[k - 1] if 0 < k <= soft.shape[0] else empty for k in self.objects])
        if self.merge:
            planes = np.minimum(planes.astype(np.uint16).sum(axis=0), 255).astype(np.uint8)[None]
        if self.rot_k:
            planes = np.rot90(planes, k=self.rot_k, axes=(1, 2))
        planes = np.ascontiguousarray(planes)
        self._cache[index] = planes
        return planes

    def get(self, index: int) -> np.ndarray:
        """uint8 (C, h', w') mattes of frame ``index`` in the output orientation (C = :attr:`channels`)."""
        k = self.temporal
        for old in [i for i in self._cache if i < index - k]:
            del self._cache[old]
        if not k:
            return self._raw(index)
        lo, hi = max(0, index - k), min(self.count - 1, index + k)
        window = [self._raw(i) for i in range(lo, hi + 1)]
        weights = temporal_weights(k)[lo - (index - k): len(window) + lo - (index - k)]
        weights = weights / weights.sum()
        return np.stack([smooth_temporal([m[c] for m in window], weights) for c in range(self.channels)])
